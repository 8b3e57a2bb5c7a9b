"""The "Use this template" route: turn a copy of the template repository into the
image repo cookiecutter would generate, in place, with the copy's own answers."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from . import git, record
from .answers import validate_answers
from .errors import AnswerError, HubImageError, TemplateError
from .source import Source
from .template import files, render, template_defaults

WORKFLOWS = Path(".github") / "workflows"


def answers_from_github(environ: dict | None = None) -> dict[str, str]:
    """Owner, name and description of the repository a workflow runs in, from
    GITHUB_REPOSITORY and the event payload at GITHUB_EVENT_PATH."""
    env = os.environ if environ is None else environ
    full_name = env.get("GITHUB_REPOSITORY", "")
    if "/" not in full_name:
        raise TemplateError("GITHUB_REPOSITORY is not set (owner/name); pass --owner and --repo-name")
    owner, name = full_name.split("/", 1)
    answers = {"github_owner": owner, "repo_name": name}
    event_path = env.get("GITHUB_EVENT_PATH")
    if event_path and Path(event_path).is_file():
        repository = json.loads(Path(event_path).read_text()).get("repository") or {}
        if repository.get("is_template"):
            raise TemplateError(f"{full_name} is a template repository itself; only its copies are set up")
        description = repository.get("description")
        if description:
            answers["description"] = " ".join(description.split())
    return answers


def template_origin(full_name: str, token: str) -> tuple[str, str]:
    """(clone URL, commit) of the template repository ``full_name`` was made from: GitHub
    names it (``template_repository``); its default branch's head is the commit copied."""
    import requests
    from github import GithubException

    from . import github_api

    gh = github_api.client(token)
    try:
        template = gh.get_repo(full_name).template_repository
    except GithubException as exc:
        raise TemplateError(github_api.explain(exc, "looking up the template repository", full_name)) from None
    except requests.RequestException as exc:
        raise TemplateError(github_api.describe_network_error(exc, gh.requester.base_url)) from None
    if template is None:
        raise TemplateError(f"GitHub names no template repository for {full_name}")
    heads = git.run(
        Path.cwd(),
        "ls-remote",
        template.clone_url,
        f"refs/heads/{template.default_branch}",
        env=git.auth_env(template.clone_url, token),
    )
    if not heads:
        raise TemplateError(f"{template.full_name} has no branch {template.default_branch}")
    return template.clone_url, heads.split()[0]


def setup_template_copy(
    checkout: Path, answers: dict[str, Any], commit: bool = True, origin: tuple[str, str] | None = None
) -> list[str]:
    """Turn ``checkout`` (a git checkout of a copy of the template repository) into the
    repo cookiecutter generates with ``answers``.

    Workflow files may only be deleted (a workflow's GITHUB_TOKEN cannot create or
    change them): the generated ones must already be in place, byte for byte, or
    nothing is touched.  ``origin``: the template repository and commit the copy was
    made from, recorded in .cruft.json.  Returns the changed paths, as ``A``/``M``/``D``
    lines.
    """
    checkout = checkout.resolve()
    if not (checkout / "cookiecutter.json").is_file():
        raise TemplateError(f"{checkout} is not a copy of the hub-image template (no cookiecutter.json); nothing to do")
    try:
        validated = validate_answers({**template_defaults(checkout), **answers})
    except AnswerError as exc:
        raise TemplateError(str(exc)) from None
    bot = git.ACTIONS_BOT
    tracked = set(git.run(checkout, "ls-files", "-z", identity=bot).split("\0")) - {""}
    with tempfile.TemporaryDirectory() as tmp:
        project = render(checkout, answers, Path(tmp), Source(*origin) if origin else None)
        wanted = files(project)
        wanted.pop(record.FILE, None)  # it names this checkout: the record is the template's, below
    if origin is not None:
        known = {k: validated[k] for k in template_defaults(checkout)}
        state = {
            "template": origin[0],
            "commit": origin[1],
            "checkout": None,
            "context": record.context(known, *origin),
            "directory": None,
        }
        wanted[record.FILE] = record.dumps(state).encode()
    for path, data in wanted.items():
        if path.startswith(f"{WORKFLOWS.as_posix()}/"):
            current = checkout / path
            if not current.is_file() or current.read_bytes() != data:
                raise TemplateError(
                    f"{path} differs from what the template renders; a workflow cannot create or change it, "
                    "so the template repository must carry it as generated"
                )
    changes = []
    for path in sorted(tracked - set(wanted)):
        git.run(checkout, "rm", "--quiet", "--", path, identity=bot)
        changes.append(f"D {path}")
    for path, data in wanted.items():
        target = checkout / path
        if target.is_file() and target.read_bytes() == data:
            continue
        changes.append(f"{'M' if target.exists() else 'A'} {path}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    git.run(checkout, "add", "--", *wanted, identity=bot)
    if commit and changes:
        git.run(
            checkout, "commit", "--quiet", "--message", "Set up this image repository from the hub-image template", identity=bot
        )
    return changes


def push_main(checkout: Path, token: str) -> None:
    """Push HEAD to origin's main, authenticated through git's environment only."""
    git.push(checkout, "origin", "HEAD:main", token)


def run(
    path: Path, *, owner: str | None, repo_name: str | None, description: str | None, commit: bool, push: bool
) -> tuple[str, list[str], bool, list[str]]:
    """`hub-image from-template`: the answers from the options or GitHub's environment, the
    copy set up, committed and pushed as asked.  With a token (``--push``), the template
    repository the copy was made from is recorded (.cruft.json), so `hub-image update`
    works on it.  Returns (owner/name, changes, pushed, notes)."""
    answers: dict[str, Any] = answers_from_github() if not (owner and repo_name) else {}
    answers.update({k: v for k, v in (("github_owner", owner), ("repo_name", repo_name), ("description", description)) if v})
    full_name = f"{answers['github_owner']}/{answers['repo_name']}"
    token, origin, notes = None, None, []
    if push:
        from .github_api import read_token

        token = read_token()
        try:
            origin = template_origin(full_name, token)
        except HubImageError as exc:
            notes.append(f"no {record.FILE}, so hub-image update will need --adopt: {exc}")
    changes = setup_template_copy(path, answers, commit=commit, origin=origin)
    pushed = bool(push and changes)
    if pushed and token:
        push_main(path, token)
    return full_name, changes, pushed, notes
