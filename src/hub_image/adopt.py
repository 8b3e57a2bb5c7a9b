"""`hub-image update --adopt`: record the template and the answers of an image repo made
without hub-image (or before it recorded them), read from its files as repo2docker reads
them: its configuration directory (``binder/`` or ``.binder/``) when there is one, and
there a ``Dockerfile`` before an ``environment.yml``.  A repo hub-image cannot manage is
refused in one line, and nothing is written.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from . import git, record
from .answers import validate_answers
from .errors import HubImageError
from .template import template_defaults
from .update import Result, _template_at, fetch_at, require_clean, trusted_source

#: Where repo2docker looks for its configuration before the repository's root.
CONFIG_DIRS = ("binder", ".binder")
PIN = r"\s*(?:==|=|>=|~=)\s*(\d+\.\d+)"


def adopt(project: Path, template: str | None = None, to: str | None = None) -> Result:
    """Record the template and the answers of a repo made before hub-image recorded them:
    the answers are read from its files (what cannot be read keeps the template's
    default, and ``Result.notes`` says so), the template at ``to`` (default: this
    hub-image's commit, or the newest) becomes its base."""
    project = project.resolve()
    require_clean(project)
    if (project / record.FILE).exists() and record.read(project).get("commit"):
        raise HubImageError(f"{project} already records its template ({record.FILE}); run: hub-image update")
    inferred, unread = infer_answers(project)  # refuses a repo it cannot manage, before any fetch
    trusted = trusted_source(template)
    with tempfile.TemporaryDirectory(prefix="hub-image-adopt-") as tmp_str:
        tmp = Path(tmp_str)
        clone, commit = fetch_at(trusted, to, tmp)
        defaults = template_defaults(_template_at(clone, commit, tmp / "files"))
    answers = validate_answers({**defaults, **inferred})
    answers = {k: answers[k] for k in defaults}
    record.write(project, answers, trusted.url, commit)
    from . import workflow

    notes = [note for note in (workflow.locate(project)[1],) if note]
    config, _ = build_files(project)
    if config != project:
        notes.append(
            f"repo2docker reads only {config.name}/ here, while the template's files (and what hub-image update "
            f"changes) are at the repository's root: move them, or keep {config.name}/ in step by hand"
        )
    notes += [f"{key}: {why}; keeps the template's default {defaults.get(key)!r}" for key, why in unread.items()]
    return Result(commit, commit, changed=[record.FILE], inferred=inferred, source=trusted.url, notes=notes)


def build_files(project: Path) -> tuple[Path, str]:
    """Where repo2docker reads the build from, and the flavour it builds."""
    config = next((project / d for d in CONFIG_DIRS if (project / d).is_dir()), project)
    for kind in ("Dockerfile", "environment.yml"):
        if (config / kind).is_file():
            return config, kind
    where = f" in {config.name}/" if config != project else ""
    raise HubImageError(
        f"{project}: repo2docker builds it from neither a Dockerfile nor an environment.yml{where}; "
        "hub-image manages those two flavours; nothing was changed"
    )


def infer_answers(project: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers a repo's files show (the build workflow: registry, image name and
    pushes; repo2docker's files: flavour, base image, Python and JupyterHub versions;
    origin: owner and name), and why each value that could not be read was not."""
    from . import registries, workflow

    found: dict[str, Any] = {"repo_name": project.name}
    origin = git.origin_url(project)
    parsed = git.parse_remote(origin) if origin else None
    if parsed:
        found["github_owner"], found["repo_name"] = parsed[1], parsed[2]
    wf = workflow.read(project)
    found["registry"] = registries.choice_for_host(wf.registry)
    if not registries.get(found["registry"]).host:
        found["registry_host"] = wf.registry
    if wf.image_name and not wf.image_is_expression:
        found["image_name"] = wf.image_name
        found["push_on_pr"] = wf.state == workflow.MAIN_AND_PRS
    config, kind = build_files(project)
    found["image_kind"] = kind
    unread: dict[str, str] = {}
    texts = {
        name: (config / name).read_text(encoding="utf-8")
        for name in ("Dockerfile", "environment.yml")
        if (config / name).is_file()
    }
    places = " or ".join(texts)
    if kind == "Dockerfile":
        base = base_image(texts["Dockerfile"])
        if base:
            found["base_image"] = base
        else:
            unread["base_image"] = "the Dockerfile's FROM names no fixed image (an ARG, or none)"
    python = _pin(texts, r"^\s*-\s*python" + PIN, r"\bpython" + PIN)
    if python:
        found["python_version"] = python
    elif kind == "environment.yml":
        unread["python_version"] = f"no Python pin in {places}"
    hub = _hub_series(project) or _pin(texts, r"jupyterhub(?:-singleuser)?" + PIN, r"jupyterhub(?:-singleuser)?" + PIN)
    if hub:
        found["jupyterhub_version"] = hub
    else:
        unread["jupyterhub_version"] = f"no JupyterHub pin in {places} (the base image decides it)"
    return found, unread


def base_image(dockerfile: str) -> str | None:
    """The image the Dockerfile's last stage starts from (following stage names back)."""
    stages: dict[str, str] = {}
    image = None
    for match in re.finditer(r"^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$", dockerfile, re.M | re.I):
        image = stages.get(match.group(1).lower(), match.group(1))
        if match.group(2):
            stages[match.group(2).lower()] = image
    return None if image is None or "$" in image else image


def _pin(texts: dict[str, str], in_environment: str, in_dockerfile: str) -> str | None:
    for name, pattern in (("environment.yml", in_environment), ("Dockerfile", in_dockerfile)):
        match = re.search(pattern, texts.get(name, ""), re.M)
        if match:
            return match.group(1)
    return None


def _hub_series(project: Path) -> str | None:
    """The series a repo made by hub-image checks in its image-tests."""
    from . import hubversion

    try:
        return hubversion.current_series(project)
    except HubImageError:
        return None
