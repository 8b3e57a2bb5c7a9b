"""How a hub refers to the pushed image: one text per kind of hub, used by the
generated README and by `hub-image hub-config` alike."""

from __future__ import annotations

from pathlib import Path

PUBLIC_NOTE = "The registry repository must be public: the hub pulls the image without credentials."


def snippets(image: str, tag: str) -> list[tuple[str, str, str]]:
    """(title, code language, code) for each kind of hub, for ``image:tag``."""
    ref = f"{image}:{tag}"
    return [
        ("Zero to JupyterHub (config.yaml)", "yaml", f'singleuser:\n  image:\n    name: {image}\n    tag: "{tag}"'),
        (
            "KubeSpawner profile list (config.yaml)",
            "yaml",
            "singleuser:\n  profileList:\n    - display_name: Community image\n"
            f"      kubespawner_override:\n        image: {ref}",
        ),
        ("DockerSpawner (jupyterhub_config.py)", "python", f'c.DockerSpawner.image = "{ref}"'),
        ("2i2c hubs (Configurator, User docker image)", "text", ref),
    ]


def markdown(image: str, tag: str) -> str:
    parts = []
    for title, language, code in snippets(image, tag):
        parts.append(f"- **{title}**:\n\n  ```{language}\n" + "\n".join(f"  {line}" for line in code.splitlines()) + "\n  ```")
    return "\n\n".join(parts)


def text(image: str, tag: str) -> str:
    out = []
    for title, _, code in snippets(image, tag):
        out.append(f"# {title}\n{code}\n")
    out.append(f"# {PUBLIC_NOTE}")
    return "\n".join(out)


def for_repo(path: Path, tag: str | None = None) -> tuple[str, list[str]]:
    """`hub-image hub-config`: the text for the image repo at ``path``, pinned to ``tag``
    (default: HEAD's), and warnings about that tag."""
    from . import workflow
    from .errors import HubImageError

    wf = workflow.read(path)
    if not wf.image_name:
        raise HubImageError("IMAGE_NAME is not set, so nothing is pushed; run: hub-image configure --image-name NAMESPACE/NAME")
    warnings: list[str] = []
    if not tag:
        tag, warnings = head_tag(path)
    return text(f"{wf.registry}/{wf.image_name}", tag), warnings


def head_tag(path: Path) -> tuple[str, list[str]]:
    """The tag the workflow gives HEAD's image (its first 12 characters), and what makes
    that tag doubtful.  ``path`` must be the root of its own git repository."""
    from . import git
    from .errors import HubImageError

    top = git.output(path, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != path.resolve():
        where = f" (it is inside {top})" if top else ""
        raise HubImageError(f"{path} is not the root of a git repository{where}; run it in the image repo's root, or pass --tag")
    head = git.output(path, "rev-parse", "--verify", "--quiet", "HEAD")
    if not head:
        raise HubImageError(f"{path} has no git commit to name the tag; pass --tag (the 12-character sha of a pushed commit)")
    warnings = []
    if git.output(path, "status", "--porcelain"):
        warnings.append("uncommitted changes: the image of this commit does not have them")
    if not git.output(path, "branch", "--remotes", "--contains", "HEAD"):
        warnings.append("HEAD is not on any remote branch: push it, or no image has this tag")
    return head[:12], warnings
