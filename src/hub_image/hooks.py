"""What the cookiecutter hooks do; the hook files only import this and call it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from . import github, workflow
from .context import AnswerError, validate_answers


def pre_gen(context: dict[str, Any]) -> int:
    """Check the answers, and what GitHub setup will need, before anything is generated.
    On a problem print one line and return 1."""
    try:
        answers = validate_answers(context)
        if answers["github_setup"] != "none":
            try:
                github.read_token()
            except github.SetupError as exc:
                raise AnswerError("github_setup", f"{exc}, or answer none") from None
            missing = github.credentials_available(answers["registry"])
            if missing:
                raise AnswerError(
                    "github_setup",
                    f"{', '.join(missing)} not set and no terminal to ask on; export them, or answer none",
                )
    except AnswerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def apply_answers(answers: dict[str, Any], project_dir: str | Path) -> None:
    """What generation does after rendering: set IMAGE_NAME / NO_PUSH from the answers."""
    if answers["image_name"]:
        workflow.configure(project_dir, image_name=answers["image_name"], push_on_pr=answers["push_on_pr"])


def post_gen(context: dict[str, Any], project_dir: str) -> int:
    """Apply the answers to the generated repo, then run the GitHub setup asked for.

    A GitHub failure returns 0 all the same: cookiecutter deletes the project when
    this hook fails, and the project is what the printed resume command needs.
    """
    answers = validate_answers(context)
    try:
        apply_answers(answers, project_dir)
    except workflow.WorkflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if answers["github_setup"] != "none":
        request = github.Request(
            project_dir=Path(project_dir).resolve(),
            owner=answers["github_owner"],
            repo_name=answers["repo_name"],
            mode=answers["github_setup"],
            description=answers["description"],
            private=answers["repo_visibility"] == "private",
            registry=answers["registry"],
            is_template=answers["is_template"],
        )
        github.run_setup(request)
    return 0
