"""The documentation builds without a warning, and names every command and option,
every template question, every manifest key and every environment variable."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys

import click
import pytest

from conftest import TEMPLATE
from hub_image import cli, manifest
from hub_image.settings import ENVIRONMENT


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("docs")
    built = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(TEMPLATE / "docs"), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    pages = [html.unescape(re.sub(r"<[^>]+>", " ", p.read_text())) for p in out.rglob("*.html")]
    return " ".join(" ".join(pages).split())


def commands(group: click.Group, prefix: str = "hub-image") -> list[tuple[str, click.Command]]:
    out = []
    for name, command in group.commands.items():
        out.append((f"{prefix} {name}", command))
        if isinstance(command, click.Group):
            out += commands(command, f"{prefix} {name}")
    return out


def test_every_command_and_option_is_documented(site):
    for path, command in commands(cli.main):
        assert path in site, path
        for param in command.params:
            for flag in getattr(param, "opts", []):
                if flag.startswith("--"):
                    assert flag in site, f"{path} {flag}"


def test_every_question_and_manifest_key_is_documented(site):
    questions = [k for k in json.loads((TEMPLATE / "cookiecutter.json").read_text()) if not k.startswith("_")]
    for key in [*questions, *manifest.TOP_KEYS, *manifest.IMAGE_OPTIONS]:
        assert key in site, key


def test_every_environment_variable_the_package_reads_is_documented(site):
    source = "\n".join(p.read_text() for p in (TEMPLATE / "src" / "hub_image").glob("*.py"))
    read = set(re.findall(r"""env(?:iron)?\.get\(\s*["']([A-Z][A-Z0-9_]+)["']""", source))
    read |= set(re.findall(r'^(?:\w*VARIABLE|RENDER_\w+)\s*=\s*"([A-Z0-9_]+)"', source, re.M))
    assert read, "the scan found nothing: it is broken"
    assert read <= set(ENVIRONMENT), sorted(read - set(ENVIRONMENT))
    for name in ENVIRONMENT:
        assert name in site, name
