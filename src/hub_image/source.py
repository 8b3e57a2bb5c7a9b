"""Where a template comes from: the installed hub-image's own source, and when two
sources are the same one.

A wheel built from a git checkout (what ``pip install git+URL@REF`` does, and what the
release workflow does from a tag) carries ``_source.json``: the checkout's ``origin``
URL, credentials removed, and its commit (see ``setup.py``).  Run from a checkout, the
source is that checkout's path and commit.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from . import git

#: Written into the wheel by setup.py, beside this module.
INFO = Path(__file__).with_name("_source.json")
#: How hub-image tells a template it renders where that template came from (a copy in a
#: temporary directory cannot tell): its hooks record it, its README names it.
RENDER_SOURCE = "HUB_IMAGE_RENDER_SOURCE"
RENDER_COMMIT = "HUB_IMAGE_RENDER_COMMIT"
ABBREVIATIONS = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/", "bb:": "https://bitbucket.org/"}


@dataclass(frozen=True)
class Source:
    """A template source as cruft records it (a git URL or a local path) and a commit."""

    url: str
    commit: str | None

    @property
    def is_local(self) -> bool:
        return is_local(self.url)

    def pip_line(self) -> str:
        """The ``pip install`` line that installs hub-image from this source."""
        if self.is_local:
            return f"pip install {self.url}"
        return f"pip install git+{clone_url(self.url)}" + (f"@{self.commit}" if self.commit else "")


def clone_url(source: str) -> str:
    """``gh:org/name`` and the like as the URL git clones."""
    for short, long in ABBREVIATIONS.items():
        if source.startswith(short):
            return long + source[len(short) :]
    return source


def is_local(source: str) -> bool:
    return not ("://" in source or source.startswith(("gh:", "gl:", "bb:", "git@")))


def without_credentials(url: str) -> str:
    """``https://user:token@host/x`` -> ``https://host/x`` (an scp-like or local path is kept)."""
    parts = urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return url


def normalized(source: str) -> str:
    """One spelling per source: abbreviations expanded, no credentials, no trailing
    ``/`` or ``.git``, the scheme and host in lower case; a local path absolute."""
    if is_local(source):
        path = source.removeprefix("file://")
        return os.path.normcase(str(Path(path).expanduser().resolve()))
    url = without_credentials(clone_url(source))
    if url.startswith("git@"):  # git@host:org/name
        host, _, path = url[4:].partition(":")
        url = f"https://{host}/{path}"
    parts = urlsplit(url)
    path = parts.path.rstrip("/").removesuffix(".git")
    scheme = "https" if parts.scheme in ("http", "https", "ssh", "git") else parts.scheme
    return f"{scheme}://{parts.netloc.lower()}{path}"


def same(a: str, b: str) -> bool:
    return normalized(a) == normalized(b)


def installed() -> Source | None:
    """This hub-image's own source: what its wheel records, or the checkout it runs from."""
    if INFO.is_file():
        data = json.loads(INFO.read_text(encoding="utf-8"))
        return Source(data["url"], data.get("commit"))
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "cookiecutter.json").is_file():
        return of_checkout(checkout)
    return None


def of_checkout(path: Path) -> Source | None:
    """A git checkout's path and HEAD commit (None when ``path`` is no checkout's root)."""
    path = path.resolve()
    found = (git.output(path, "rev-parse", "--show-toplevel", "HEAD") or "").splitlines()
    if len(found) == 2 and Path(found[0]).resolve() == path:
        return Source(str(path), found[1])
    return None
