"""How a hub refers to the pushed image: one text per kind of hub, used by the
generated README and by `hub-image hub-config` alike."""

from __future__ import annotations

PUBLIC_NOTE = (
    "The registry repository must be public: the hub pulls the image without credentials."
)


def snippets(image: str, tag: str) -> list[tuple[str, str, str]]:
    """(title, code language, code) for each kind of hub, for ``image:tag``."""
    ref = f"{image}:{tag}"
    return [
        ("Zero to JupyterHub (config.yaml)", "yaml",
         f'singleuser:\n  image:\n    name: {image}\n    tag: "{tag}"'),
        ("KubeSpawner profile list (config.yaml)", "yaml",
         "singleuser:\n  profileList:\n    - display_name: Community image\n"
         f"      kubespawner_override:\n        image: {ref}"),
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
