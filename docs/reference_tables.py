"""Reference tables generated from the code at every docs build: the template's
questions (cookiecutter.json), the manifest's keys (hub_image.manifest) and the
environment variables hub-image reads (hub_image.settings)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def questions() -> str:
    raw = json.loads((ROOT / "cookiecutter.json").read_text())
    prompts = raw.get("__prompts__", {})
    rows = ["| question | default | choices | what it asks |", "|---|---|---|---|"]
    for key, value in raw.items():
        if key.startswith("_"):
            continue
        prompt = prompts.get(key, key)
        prompt = prompt["__prompt__"] if isinstance(prompt, dict) else prompt
        default = value[0] if isinstance(value, list) else value
        choices = ", ".join(f"`{c}`" for c in value) if isinstance(value, list) else ""
        rows.append(f"| `{key}` | `{_cell(json.dumps(default))}` | {choices} | {_cell(prompt)} |")
    return "\n".join(rows) + "\n"


def manifest_keys() -> str:
    from hub_image import manifest

    template = json.loads((ROOT / "cookiecutter.json").read_text())
    answers = [k for k in template if not k.startswith("_") and k not in manifest.NOT_IN_MANIFEST]
    rows = ["| key | where | what |", "|---|---|---|"]
    tops = {
        "owner": "the GitHub user or organisation that owns every repository (required)",
        "defaults": "answers (and the options below) every image gets unless it sets its own",
        "images": "the images, each a mapping with at least `repo_name` (required)",
        "org_secrets": "`true`: one organisation secret per name, visible to exactly the fleet's repositories",
        "visibility": "`public` (default) or `private`: of the repositories the fleet creates",
    }
    for key in manifest.TOP_KEYS:
        rows.append(f"| `{key}` | top level | {tops[key]} |")
    options = {
        "quay_make_public": "`true`: consent to make an existing private quay.io repository public",
        "deploy_repo": "`OWNER/NAME`: the hub's deployment repository, set as each repository's variable `HUB_DEPLOY_REPO`",
    }
    for key in manifest.IMAGE_OPTIONS:
        rows.append(f"| `{key}` | `defaults` or an image | {options[key]} |")
    for key in answers:
        rows.append(f"| `{key}` | `defaults` or an image | the template question of that name |")
    return "\n".join(rows) + "\n"


def environment() -> str:
    from hub_image.settings import ENVIRONMENT

    rows = ["| variable | what it does |", "|---|---|"]
    rows += [f"| `{name}` | {_cell(text)} |" for name, text in ENVIRONMENT.items()]
    return "\n".join(rows) + "\n"


def write(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (("questions.md", questions()), ("manifest.md", manifest_keys()), ("environment.md", environment())):
        path = out / name
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
