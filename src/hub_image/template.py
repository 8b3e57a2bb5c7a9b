"""The template: where it is (inside the installed package, or this checkout), its
defaults, rendering it with answers, and applying the answers to a rendered project."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from .errors import TemplateError

#: Where the wheel carries the template (the same files as the repository's root).
PACKAGED = "_template"

_RENDER_LOCK = threading.Lock()


def template_dir(explicit: str | None = None) -> Path:
    """The template to render: ``explicit`` (``--template``), ``HUB_IMAGE_TEMPLATE``, the
    copy inside the installed package, or the checkout this package runs from."""
    given = explicit or os.environ.get("HUB_IMAGE_TEMPLATE")
    if given:
        if not (Path(given) / "cookiecutter.json").is_file():
            raise TemplateError(
                f"--template: {given} is not a hub-image template (no cookiecutter.json); "
                "pass the template's directory, or leave it out to use the installed one"
            )
        return Path(given)
    from importlib import resources

    packaged = Path(str(resources.files("hub_image"))) / PACKAGED
    checkout = Path(__file__).resolve().parents[2]
    for candidate in (packaged, checkout):
        if (candidate / "cookiecutter.json").is_file():
            return candidate
    raise TemplateError(
        "the hub-image template is missing from this installation; reinstall hub-image, "
        "or pass --template PATH (a checkout of the template)"
    )


def template_defaults(template: Path) -> dict[str, Any]:
    """cookiecutter.json's defaults as answers (a choice's default is its first item)."""
    raw = json.loads((template / "cookiecutter.json").read_text())
    return {k: (v[0] if isinstance(v, list) else v) for k, v in raw.items() if not k.startswith("_")}


def render(
    template: Path,
    answers: dict[str, Any],
    output_dir: Path,
    in_process: bool = False,
    source: tuple[str, str | None] | None = None,
) -> Path:
    """Render ``template`` with ``answers`` (no prompts) into ``output_dir``; return the project.

    ``in_process``: ``answers`` are already validated; skip cookiecutter's hook processes
    and apply the answers here (the fleet renders many repos this way).  ``source``: the
    template and commit to record, when already known (:func:`record.template_source`)."""
    from cookiecutter.main import cookiecutter

    with _RENDER_LOCK:  # cookiecutter changes the working directory while it renders
        project = Path(
            cookiecutter(
                str(template),
                no_input=True,
                extra_context={k: v for k, v in answers.items() if not k.startswith("_")},
                output_dir=str(output_dir),
                accept_hooks=not in_process,
            )
        )
    if in_process:
        from . import record

        apply_answers(answers, project)
        record.write(project, answers, *(source or record.template_source(template)))
    return project


def apply_answers(answers: dict[str, Any], project_dir: str | Path) -> None:
    """What generation does after rendering: set IMAGE_NAME / NO_PUSH from the answers."""
    if answers["image_name"]:
        from . import workflow  # ruamel.yaml: only when there is something to set

        workflow.configure(project_dir, image_name=answers["image_name"], push_on_pr=answers["push_on_pr"])


def files(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (not .git), by its POSIX path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
