"""The hub's JupyterHub series, everywhere a generated repo keeps it: the pin in
`environment.yml` (or the `Dockerfile`), what `image-tests/` expect, the README and the
recorded answers.  One minimal edit changes them all, or nothing.

JupyterHub itself warns only when the hub's and the server's **major** versions differ;
the series pin (``>=X.Y,<X.(Y+1)``) goes further and keeps the image on the hub's exact
series, so a rebuild never pulls a JupyterHub the hub was not run with.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .answers import jupyterhub_series, series_upper_bound
from .errors import HubImageError
from .record import dumps as record_dumps
from .workflow import write_atomic

_V = r"\d+\.\d+"
#: (file, pattern, what it is); group 1 is the series, group 2 (if any) its upper bound.
PLACES = [
    ("environment.yml", rf"(?<=jupyterhub-singleuser>=)({_V}),<({_V})", "the jupyterhub-singleuser pin"),
    ("environment.yml", rf"(?<=the hub's JupyterHub version \()({_V})(?=\.x\))", "the comment on the pin"),
    ("Dockerfile", rf"(?<='jupyterhub>=)({_V}),<({_V})(?=')", "the jupyterhub pin"),
    ("Dockerfile", rf"(?<=the hub's JupyterHub version \()({_V})(?=\.x\))", "the comment on the pin"),
    ("image-tests/test_hub_ready.py", rf'(?<=^JUPYTERHUB_SERIES = ")({_V})(?="$)', "the series the image-tests expect"),
    ("README.md", rf"(?<=The image is made for JupyterHub )({_V})(?=\.x)", "the README"),
    ("README.md", rf"(?<=pins JupyterHub to the hub's series \()({_V})(?=\.x\))", "the README's upgrade section"),
]


def current_series(repo: Path) -> str:
    """The series the image-tests expect (what the build checks)."""
    tests = repo / "image-tests" / "test_hub_ready.py"
    match = re.search(PLACES[4][1], tests.read_text(), re.M) if tests.is_file() else None
    if not match:
        raise HubImageError(f"{tests}: no JUPYTERHUB_SERIES here; is {repo} an image repo made by hub-image?")
    return match.group(1)


def set_series(repo: Path, version: str) -> tuple[str, str, list[str]]:
    """Change the series everywhere in ``repo`` to ``version``'s (major.minor[.patch]).
    Returns (old series, new series, changed files).  Writes nothing unless every
    required place was found."""
    new = jupyterhub_series(version)
    upper = series_upper_bound(new)
    old = current_series(repo)
    texts: dict[str, str] = {}
    found: set[str] = set()
    for name, pattern, what in PLACES:
        path = repo / name
        if not path.is_file():
            continue
        text = texts.get(name, path.read_bytes().decode("utf-8"))
        regex = re.compile(pattern, re.M)
        if regex.search(text):
            found.add(what)
            text = regex.sub(lambda m: new if m.lastindex == 1 else f"{new},<{upper}", text)
        texts[name] = text
    missing = [] if "the series the image-tests expect" in found else ["JUPYTERHUB_SERIES in image-tests/test_hub_ready.py"]
    if not {"the jupyterhub-singleuser pin", "the jupyterhub pin"} & found:
        missing.append("the jupyterhub-singleuser pin in environment.yml (or the jupyterhub pin in the Dockerfile)")
    if missing:
        raise HubImageError(
            f"{repo}: {' and '.join(missing)} not found as hub-image writes it; change it by hand "
            f"to the series {new} (>={new},<{upper}); nothing was changed"
        )
    changed = [name for name, text in texts.items() if text != (repo / name).read_bytes().decode("utf-8")]
    record = repo / ".cruft.json"
    if record.is_file():
        data = json.loads(record.read_text())
        cookiecutter = data.get("context", {}).get("cookiecutter", {})
        if cookiecutter.get("jupyterhub_version") not in (new, None):
            cookiecutter["jupyterhub_version"] = new
            texts[".cruft.json"] = record_dumps(data)
            changed.append(".cruft.json")
    for name in changed:
        write_atomic(repo / name, texts[name])
    return old, new, changed


def hub_version(url: str, timeout: float = 20) -> str:
    """The JupyterHub version a hub reports at ``GET <url>/hub/api/`` (no token needed)."""
    import requests

    base = url.rstrip("/")
    for suffix in ("/hub/api", "/hub"):
        base = base.removesuffix(suffix)
    try:
        answer = requests.get(f"{base}/hub/api/", timeout=timeout)
        answer.raise_for_status()
        version = answer.json()["version"]
    except requests.RequestException as exc:
        raise HubImageError(f"--hub-url: could not ask {base}/hub/api/ for its version ({type(exc).__name__})") from None
    except (ValueError, KeyError, TypeError):
        raise HubImageError(f'--hub-url: {base}/hub/api/ did not answer like a JupyterHub ({{"version": ...}})') from None
    return str(version)
