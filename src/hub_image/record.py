"""Where a generated repo came from, in cruft's own format (`.cruft.json`): the template
as given, its git commit, and the answers (never a secret), so that `hub-image update`
and the real `cruft check` / `cruft update` can carry the template's changes to it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import HubImageError

FILE = ".cruft.json"


def template_source(template_dir: Path, given: str | None = None) -> tuple[str, str | None]:
    """(the template as a clonable source, its git commit or None when unknown).

    ``given`` (``gh:org/hub-image``, a URL) is kept as given; the template inside an
    installed hub-image is recorded as the source that hub-image was built from (never a
    path inside the package); any other local path is recorded absolute, as given."""
    import os

    from . import source

    told = os.environ.get(source.RENDER_SOURCE)
    if told:  # hub-image renders a template whose source it knows (template.render)
        return told, os.environ.get(source.RENDER_COMMIT) or None
    template_dir = template_dir.resolve()
    checkout = source.of_checkout(template_dir)
    commit = checkout.commit if checkout else None
    if given and not source.is_local(given):
        return given, commit  # a remote, as given (cookiecutter cloned it: its commit)
    if checkout is None and template_dir == source.INFO.parent.resolve() / "_template":
        built = source.installed()  # this package's own template: where it was built from
        if built is not None:
            return built.url, built.commit
    return str(template_dir), commit


def context(answers: dict[str, Any], template: str, commit: str | None) -> dict[str, Any]:
    """The answers as cruft records them: every template variable (GitHub setup is a
    one-time action, so never again: ``none``), plus ``_template`` and ``_commit``."""
    recorded = {k: v for k, v in sorted(answers.items()) if not k.startswith("_")}
    recorded["github_setup"] = "none"
    return {"cookiecutter": {**recorded, "_template": template, "_commit": commit}}


def dumps(state: dict[str, Any]) -> str:
    """cruft's own layout (two-space indent, UTF-8, a final newline)."""
    return json.dumps(state, ensure_ascii=False, indent=2, separators=(",", ": ")) + "\n"


def write(project: Path, answers: dict[str, Any], template: str, commit: str | None) -> None:
    state = {
        "template": template,
        "commit": commit,
        "checkout": None,
        "context": context(answers, template, commit),
        "directory": None,
    }
    (project / FILE).write_text(dumps(state), encoding="utf-8")


def read(project: Path) -> dict[str, Any]:
    path = project / FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        state["context"]["cookiecutter"]
    except FileNotFoundError:
        raise HubImageError(
            f"{project} has no {FILE} (made before hub-image recorded its answers); run: hub-image update --adopt"
        ) from None
    except (ValueError, KeyError, TypeError):
        raise HubImageError(f"{path} is not a cruft record (template, commit, context.cookiecutter); fix or remove it") from None
    return state


def recorded_answers(project: Path) -> dict[str, Any]:
    """The answers ``project`` records, or {} when it records none (or nothing readable)."""
    try:
        return answers(read(project))
    except HubImageError:
        return {}


def answers(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state["context"]["cookiecutter"].items() if not k.startswith("_")}
