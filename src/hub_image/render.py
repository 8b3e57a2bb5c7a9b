"""Rendering the template in-process, and turning a "Use this template" copy of the
template repository into the generated image repo, in place."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from cookiecutter.main import cookiecutter

from .context import AnswerError, validate_answers
from .github import auth_env

WORKFLOWS = Path(".github") / "workflows"
BOT = {"GIT_AUTHOR_NAME": "github-actions[bot]", "GIT_AUTHOR_EMAIL": "41898282+github-actions[bot]@users.noreply.github.com"}


_RENDER_LOCK = threading.Lock()


class RenderError(Exception):
    """A copy cannot be set up; ``str()`` is one line."""


def render(template: Path, answers: dict[str, Any], output_dir: Path, in_process: bool = False) -> Path:
    """Render ``template`` with ``answers`` (no prompts) into ``output_dir``; return the project.

    ``in_process``: ``answers`` are already validated; skip cookiecutter's hook processes
    and apply the answers here (the fleet renders many repos this way)."""
    with _RENDER_LOCK:  # cookiecutter changes the working directory while it renders
        project = Path(cookiecutter(str(template), no_input=True,
                                    extra_context={k: v for k, v in answers.items() if not k.startswith("_")},
                                    output_dir=str(output_dir), accept_hooks=not in_process))
    if in_process:
        from .hooks import apply_answers

        apply_answers(answers, project)
    return project


def answers_from_github(environ: dict | None = None) -> dict[str, str]:
    """Owner, name and description of the repository a workflow runs in, from
    GITHUB_REPOSITORY and the event payload at GITHUB_EVENT_PATH."""
    env = os.environ if environ is None else environ
    full_name = env.get("GITHUB_REPOSITORY", "")
    if "/" not in full_name:
        raise RenderError("GITHUB_REPOSITORY is not set (owner/name); pass --owner and --repo-name")
    owner, name = full_name.split("/", 1)
    answers = {"github_owner": owner, "repo_name": name}
    event_path = env.get("GITHUB_EVENT_PATH")
    if event_path and Path(event_path).is_file():
        repository = json.loads(Path(event_path).read_text()).get("repository") or {}
        if repository.get("is_template"):
            raise RenderError(f"{full_name} is a template repository itself; only its copies are set up")
        description = repository.get("description")
        if description:
            answers["description"] = " ".join(description.split())
    return answers


def _git(checkout: Path, *args: str) -> str:
    env = {**os.environ, **BOT, "GIT_COMMITTER_NAME": BOT["GIT_AUTHOR_NAME"], "GIT_COMMITTER_EMAIL": BOT["GIT_AUTHOR_EMAIL"]}
    result = subprocess.run(["git", *args], cwd=checkout, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RenderError(f"git {args[0]} failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
    return result.stdout


def files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def setup_template_copy(checkout: Path, answers: dict[str, Any], commit: bool = True) -> list[str]:
    """Turn ``checkout`` (a git checkout of a copy of the template repository) into the
    repo cookiecutter generates with ``answers``.

    Workflow files may only be deleted (a workflow's GITHUB_TOKEN cannot create or
    change them): the generated ones must already be in place, byte for byte, or
    nothing is touched.  Returns the changed paths, as ``A``/``M``/``D`` lines.
    """
    checkout = checkout.resolve()
    if not (checkout / "cookiecutter.json").is_file():
        raise RenderError(f"{checkout} is not a copy of the hub-image template (no cookiecutter.json); nothing to do")
    try:
        validate_answers({**template_defaults(checkout), **answers})
    except AnswerError as exc:
        raise RenderError(str(exc)) from None
    tracked = set(_git(checkout, "ls-files", "-z").split("\0")) - {""}
    with tempfile.TemporaryDirectory() as tmp:
        project = render(checkout, answers, Path(tmp))
        wanted = files(project)
    for path, data in wanted.items():
        if path.startswith(f"{WORKFLOWS.as_posix()}/"):
            current = checkout / path
            if not current.is_file() or current.read_bytes() != data:
                raise RenderError(
                    f"{path} differs from what the template renders; a workflow cannot create or change it, "
                    "so the template repository must carry it as generated"
                )
    changes = []
    for path in sorted(tracked - set(wanted)):
        _git(checkout, "rm", "--quiet", "--", path)
        changes.append(f"D {path}")
    for path, data in wanted.items():
        target = checkout / path
        if target.is_file() and target.read_bytes() == data:
            continue
        changes.append(f"{'M' if target.exists() else 'A'} {path}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    _git(checkout, "add", "--", *wanted)
    if commit and changes:
        _git(checkout, "commit", "--quiet", "--message", "Set up this image repository from the hub-image template")
    return changes


def template_defaults(template: Path) -> dict[str, Any]:
    """cookiecutter.json's defaults as answers (a choice's default is its first item)."""
    raw = json.loads((template / "cookiecutter.json").read_text())
    return {k: (v[0] if isinstance(v, list) else v) for k, v in raw.items() if not k.startswith("_")}


def push_main(checkout: Path, token: str) -> None:
    """Push HEAD to origin's main, authenticated through git's environment only."""
    origin = _git(checkout, "remote", "get-url", "origin").strip()
    result = subprocess.run(["git", "push", "--quiet", "origin", "HEAD:main"], cwd=checkout, capture_output=True, text=True,
                            env={**os.environ, **auth_env(origin, token), "GIT_TERMINAL_PROMPT": "0"})
    if result.returncode != 0:
        raise RenderError(f"git push failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
