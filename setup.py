"""The wheel records where it was built from (``hub_image/_source.json``): the git
checkout's ``origin`` URL, credentials removed, and its commit.  ``pip install
git+URL@REF`` builds from such a checkout; the release workflow builds the sdist from a
tagged checkout and the wheel from that sdist, which carries the file.  Everything else
is in pyproject.toml.
"""

import json
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
IN_TREE = ROOT / "src" / "hub_image" / "_source.json"


def _git(*args):
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def source_info():
    """{url, commit} of the checkout this is built from; the sdist's copy outside one."""
    top = _git("rev-parse", "--show-toplevel")
    if top and Path(top).resolve() == ROOT:
        url = _git("remote", "get-url", "origin") or str(ROOT)
        parts = urlsplit(url)
        if parts.scheme and "@" in parts.netloc:  # never a token in the wheel
            url = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
        return {"url": url, "commit": _git("rev-parse", "HEAD")}
    if IN_TREE.is_file():
        return json.loads(IN_TREE.read_text(encoding="utf-8"))
    return None


def _write(directory):
    info = source_info()
    if info:
        target = Path(directory) / "_source.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


class BuildPy(build_py):
    def run(self):
        super().run()
        _write(Path(self.build_lib) / "hub_image")

    def find_package_modules(self, package, package_dir):
        # The template's root is this directory: setup.py is not part of it.
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if not (package == "hub_image._template" and m[1] == "setup")]


class Sdist(sdist):
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        _write(Path(base_dir) / "src" / "hub_image")


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
