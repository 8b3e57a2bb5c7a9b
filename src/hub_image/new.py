"""`hub-image new`: the friendly front door to the packaged template.

It asks only the questions that apply to the answers given so far, checks each answer
as soon as it is given (a bad one is asked again at once, with the reason), renders
exactly what `cookiecutter` renders with the same answers, and ends with the next steps.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import registries
from .answers import validate_answers
from .errors import AnswerError, HubImageError
from .template import render, template_defaults, template_dir

#: (key, question, default, choices or None) -> the raw answer.
Ask = Callable[[str, str, Any, "list[str] | None"], Any]


def applies(key: str, answers: dict[str, Any]) -> bool:
    """Whether question ``key`` means anything given the ``answers`` so far."""
    reg = registries.get(answers.get("registry") or registries.CHOICES[0])
    setup = answers.get("github_setup", "none")
    return {
        "registry_host": not reg.host,
        "push_on_pr": bool(answers.get("image_name")),
        "base_image": answers.get("image_kind") == "Dockerfile",
        "python_version": answers.get("image_kind", "environment.yml") == "environment.yml",
        "repo_visibility": setup == "create",
        "is_template": setup == "create" and not answers.get("image_name"),
    }.get(key, True)


def _prompts(template: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    raw = json.loads((template / "cookiecutter.json").read_text())
    prompts = {k: (v["__prompt__"] if isinstance(v, dict) else v) for k, v in raw.get("__prompts__", {}).items()}
    choices = {k: v for k, v in raw.items() if isinstance(v, list)}
    return template_defaults(template), choices, prompts


def collect(template: Path, given: dict[str, str], ask: Ask | None) -> dict[str, Any]:
    """The answers: ``given`` ones, the rest asked (``ask`` None: defaults).  Each answer
    is checked as soon as it is given; a bad given one is an error, a bad asked one is
    asked again."""
    defaults, choices, prompts = _prompts(template)
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise HubImageError(f"{unknown[0]}: not a question of the template; use one of: {', '.join(defaults)}")
    answers: dict[str, Any] = {}
    for key in defaults:
        if not applies(key, {**defaults, **answers}):
            continue
        if key in given or ask is None:
            answers[key] = given.get(key, defaults[key])
            _check(key, answers, defaults)
            continue
        while True:
            answers[key] = ask(key, prompts.get(key, key), defaults[key], choices.get(key))
            try:
                _check(key, answers, defaults)
                break
            except AnswerError as exc:
                if ask is None:
                    raise
                print(f"  {exc}")
    while True:  # rules between answers (e.g. github_setup needs github_owner)
        try:
            return validate_answers({**defaults, **answers})
        except AnswerError as exc:
            if ask is None or exc.field not in defaults:
                raise
            print(f"  {exc}")
            answers[exc.field] = ask(
                exc.field, prompts.get(exc.field, exc.field), answers.get(exc.field, defaults[exc.field]), choices.get(exc.field)
            )


def _check(key: str, answers: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Raise the error of ``key``'s answer, if the answers so far show one for it."""
    try:
        validate_answers({**defaults, **answers})
    except AnswerError as exc:
        if exc.field == key:
            raise


@dataclass
class Created:
    project: Path
    answers: dict[str, Any]
    next_steps: list[str] = field(default_factory=list)


def create(output_dir: Path, answers: dict[str, Any], template: Path | None = None) -> Created:
    """Render the template with ``answers`` into ``output_dir``: the files `cookiecutter`
    makes with the same answers, nothing half-made on failure."""
    template = template or template_dir()
    target = output_dir / answers["repo_name"]
    if target.exists():
        raise HubImageError(f"{target} exists already; choose another repo_name or directory")
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output_dir, prefix=".hub-image-new-") as tmp:
        try:
            rendered = render(template, answers, Path(tmp))
        except HubImageError:
            raise
        except Exception as exc:  # noqa: BLE001 - cookiecutter's own errors, as one line
            raise HubImageError(f"rendering the template failed: {type(exc).__name__}: {exc}") from None
        rendered.rename(target)
    return Created(target, answers, next_steps(target, answers))


def next_steps(project: Path, answers: dict[str, Any]) -> list[str]:
    reg = registries.get(answers["registry"])
    steps = [
        f"Edit {'environment.yml' if answers['image_kind'] == 'environment.yml' else 'the Dockerfile'}: "
        "add your community's packages."
    ]
    if answers["github_setup"] == "none":
        owner = answers["github_owner"] or "OWNER"
        steps.append(
            f"Put it on GitHub (creates {owner}/{answers['repo_name']}, sets the secrets, pushes): "
            f"cd {project} && hub-image github --owner {owner}"
        )
    if reg.secrets:
        how = f" (or, with OIDC, the repository variables {', '.join(reg.oidc_vars)})" if reg.oidc_vars else ""
        steps.append(
            f"The registry secrets it needs: {', '.join(reg.secrets)}{how}; "
            "hub-image github reads them from environment variables of the same names."
        )
    if not answers["image_name"]:
        steps.append("Choose where the image goes: hub-image configure --image-name NAMESPACE/NAME")
    steps.append("Then, for the hub's configuration: hub-image hub-config")
    return steps


def parse_assignments(pairs: tuple[str, ...]) -> dict[str, str]:
    """``KEY=VALUE`` arguments as answers."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise HubImageError(f"{pair!r}: give answers as KEY=VALUE, e.g. image_name=my-org/my-image")
        out[key.strip()] = value
    return out
