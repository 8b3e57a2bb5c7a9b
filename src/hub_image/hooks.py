"""What the cookiecutter hooks do; the hook files only import this and call it.

Imports are lazy: a generation that sets nothing up on GitHub never loads PyGithub.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .answers import validate_answers
from .errors import HubImageError, SetupError

#: The packages each part of generation imports (module -> its name on PyPI).
NEEDS = {"ruamel.yaml": "ruamel.yaml"}
NEEDS_FOR_GITHUB = {"github": "PyGithub", "requests": "requests"}


def missing_packages(github_setup: bool) -> list[str]:
    """The packages that are not installed (found, not imported: a hook is a process of
    its own, and importing them here would double its time)."""
    from importlib.util import find_spec

    missing = []
    for module, package in {**NEEDS, **(NEEDS_FOR_GITHUB if github_setup else {})}.items():
        try:
            found = find_spec(module)
        except ImportError:  # the parent package is missing
            found = None
        if found is None:
            missing.append(package)
    return missing


def setup_prerequisites(answers: dict[str, Any]) -> None:
    """What GitHub setup will need, checked before anything is generated: the token, and
    registry credentials in the environment or a terminal to ask on."""
    if answers["github_setup"] == "none":
        return
    from . import github_api, repo_setup

    try:
        github_api.read_token()
    except SetupError as exc:
        raise SetupError(f"github_setup: {exc}, or answer none") from None
    missing = repo_setup.credentials_available(answers["registry"], image_name=answers["image_name"])
    if missing:
        raise SetupError(f"github_setup: {', '.join(missing)} not set and no terminal to ask on; export them, or answer none")


def pre_gen(context: dict[str, Any], install_from: str = "hub-image") -> int:
    """Check the answers, the packages generation needs, and what GitHub setup will need,
    before anything is generated (the template's pre-generation hook).  On a problem
    print one line and return 1: cookiecutter then removes what it had begun."""
    try:
        answers = validate_answers(context)
        missing = missing_packages(answers["github_setup"] != "none")
        if missing:
            print(
                f"error: Python package {missing[0]!r} is missing; install the template's dependencies first: "
                f"pip install {install_from}",
                file=sys.stderr,
            )
            return 1
        setup_prerequisites(answers)
    except HubImageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def post_gen(context: dict[str, Any], project_dir: str, template_dir: str | None = None) -> int:
    """Apply the answers to the generated repo, record where it came from (.cruft.json,
    unless cruft is rendering: it keeps its own), then run the GitHub setup asked for.

    A GitHub failure returns 0 all the same: cookiecutter deletes the project when
    this hook fails, and the project is what the printed resume command needs.
    """
    from . import record
    from .template import apply_answers

    answers = validate_answers(context)
    try:
        apply_answers(answers, project_dir)
        if template_dir and "_commit" not in context:
            source, commit = record.template_source(Path(template_dir), context.get("_template"))
            record.write(Path(project_dir), answers, source, commit)
    except HubImageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if answers["github_setup"] != "none":
        from . import repo_setup

        repo_setup.run_setup(repo_setup.Request.from_answers(answers, Path(project_dir)))
    return 0
