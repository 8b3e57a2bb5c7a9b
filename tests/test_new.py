"""A hub admin runs `hub-image new`: only the questions that apply, a bad answer asked
again at once, the same files as `cookiecutter`; and an installed hub-image (the wheel,
not this checkout) carries the template and renders it byte for byte."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import TEMPLATE, git, template_commit, tool, tree

QUESTIONS = {  # the start of each prompt, by answer
    "repo_name": "GitHub repository name",
    "registry_host": "Registry host",
    "push_on_pr": "Also push images built",
    "base_image": "Base image for the Dockerfile",
    "python_version": "Python version in the image",
    "repo_visibility": "Visibility of a repository",
    "is_template": "Mark the created repository",
}


def new(tmp_path: Path, *args: str, stdin: str = "", env: dict | None = None, python: list[str] | None = None):
    command = [*(python or [tool("hub-image")]), "new", *args]
    return subprocess.run(
        command, input=stdin, capture_output=True, text=True, cwd=tmp_path, timeout=120, env={**os.environ, **(env or {})}
    )


#: The README's line that installs the hub-image a repo was made with.
INSTALL_LINE = re.compile(rb"^pip install \S+$", re.M)


def assert_same_repo(made: Path, rendered: Path) -> None:
    """The same files byte for byte, and the same recorded answers.  (Each record names
    the template it came from, and the README the hub-image to install: `hub-image new`
    renders the installed one, which in an editable install is this checkout and in a
    wheel install the copy inside the package, recorded as the source it was built from.)"""
    a, b = tree(made), tree(rendered)
    for files in (a, b):
        assert len(INSTALL_LINE.findall(files["README.md"])) == 1
        files["README.md"] = INSTALL_LINE.sub(b"pip install HUB-IMAGE", files["README.md"])
    answers = [
        {k: v for k, v in json.loads(t.pop(".cruft.json"))["context"]["cookiecutter"].items() if not k.startswith("_")}
        for t in (a, b)
    ]
    assert a == b and answers[0] == answers[1]


def test_new_asks_only_what_applies_and_asks_a_bad_answer_again_at_once(tmp_path, run_cookiecutter):
    answers = [
        "climate-image",
        "demo-org",
        "",
        "quay.io",
        "Demo/Climate",
        "demo-org/climate",
        "",
        "environment.yml",
        "3.99",
        "3.12",
        "5.5",
        "none",
    ]
    result = new(tmp_path, "made", stdin="\n".join(answers) + "\n")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert QUESTIONS["registry_host"] not in out  # quay.io has one host
    assert QUESTIONS["base_image"] not in out  # environment.yml has no base image
    assert QUESTIONS["repo_visibility"] not in out and QUESTIONS["is_template"] not in out  # nothing created
    # The bad answer is reported and asked again right away, before the next question.
    bad = out.index("image_name: 'Demo/Climate' has upper-case letters; use 'demo/climate'")
    assert out.index("Image path on the registry", bad) < out.index(QUESTIONS["push_on_pr"])
    assert out.index("python_version: '3.99' is not one of") < out.index("Your hub's JupyterHub version")
    assert "Traceback" not in result.stderr
    assert "Next steps:" in out and "hub-image github --owner demo-org" in out
    same = run_cookiecutter(
        {"repo_name": "climate-image", "github_owner": "demo-org", "image_name": "demo-org/climate", "python_version": "3.12"}
    )
    assert same.returncode == 0, same.stderr
    assert_same_repo(tmp_path / "made" / "climate-image", tmp_path / "out" / "climate-image")


def test_new_without_input_takes_the_answers_given(tmp_path, run_cookiecutter):
    answers = {
        "repo_name": "astro",
        "registry": "acr",
        "registry_host": "myhub.azurecr.io",
        "image_name": "lab/astro",
        "push_on_pr": "true",
        "image_kind": "Dockerfile",
    }
    result = new(tmp_path, "made", "--no-input", *(f"{k}={v}" for k, v in answers.items()))
    assert result.returncode == 0, result.stderr
    assert run_cookiecutter(answers).returncode == 0
    assert_same_repo(tmp_path / "made" / "astro", tmp_path / "out" / "astro")


@pytest.mark.parametrize(
    "args, message",
    [
        (["registry=acr"], "Error: registry_host: registry acr needs its host, e.g. 'myhub.azurecr.io'"),
        (["colour=blue"], "Error: colour: not a question of the template"),
        (["image_name"], "Error: 'image_name': give answers as KEY=VALUE"),
    ],
)
def test_a_bad_answer_without_input_is_one_line_and_makes_nothing(tmp_path, args, message):
    result = new(tmp_path, "made", "--no-input", *args)
    assert result.returncode == 1
    assert result.stderr.strip() == message or result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "made").exists() or not any((tmp_path / "made").iterdir())


#: The template repository a wheel is built from (its origin, with a token that must
#: never reach the wheel), and what the wheel records of it.
ORIGIN = "https://x-access-token:ghp_SECRET-never-recorded@github.com/acme/hub-image.git"
RECORDED = "https://github.com/acme/hub-image.git"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """This project built as a wheel from a git checkout, and unpacked: what `pip install`
    puts in site-packages."""
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy of the repository's files: a build in place would leave build/
    # behind, and a later build would carry files deleted since.
    source = template_commit(out / "source")
    git(source, "remote", "add", "origin", ORIGIN)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("hub_image-*.whl")
    site = out / "site-packages"
    zipfile.ZipFile(built).extractall(site)
    return site


def test_a_wheel_built_from_a_checkout_records_its_origin_and_commit_without_credentials(wheel):
    commit = git(wheel.parent / "source", "rev-parse", "HEAD").strip()
    assert json.loads((wheel / "hub_image" / "_source.json").read_text()) == {"url": RECORDED, "commit": commit}
    assert b"ghp_SECRET" not in b"".join(p.read_bytes() for p in wheel.rglob("*") if p.is_file())


def test_the_wheel_carries_the_template_as_the_repository_has_it(wheel):
    packaged = wheel / "hub_image" / "_template"
    listed = subprocess.run(
        [
            "git",
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "cookiecutter.json",
            "local_extensions.py",
            "hooks",
            "{{cookiecutter.repo_name | project_dir}}",
        ],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    tracked = [t for t in listed.split("\0") if t]
    assert tracked and sorted(tree(packaged)) == sorted(tracked)
    for rel in tracked:
        assert (packaged / rel).read_bytes() == (TEMPLATE / rel).read_bytes(), rel


def test_an_installed_hub_image_renders_its_own_template_byte_for_byte(wheel, tmp_path, run_cookiecutter):
    # The installed package alone (no checkout on the path) finds and renders its template.
    env = {"PYTHONPATH": str(wheel), "PYTHONSAFEPATH": "1"}
    where = subprocess.run(
        [sys.executable, "-c", "from hub_image.template import template_dir; print(template_dir())"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout.strip()
    assert where == str(wheel / "hub_image" / "_template")
    python = [sys.executable, "-c", "import sys; from hub_image.cli import main; sys.exit(main())"]
    answers = ["image_name=demo-org/climate", "registry=ecr", "registry_host=123456789012.dkr.ecr.eu-west-1.amazonaws.com"]
    result = new(tmp_path, "installed", "--no-input", *answers, env=env, python=python)
    assert result.returncode == 0, result.stderr
    assert run_cookiecutter(dict(a.split("=", 1) for a in answers)).returncode == 0
    installed, checkout = tree(tmp_path / "installed" / "my-hub-image"), tree(tmp_path / "out" / "my-hub-image")
    # The record names the template each was made from: the source the installed copy was
    # built from, or this checkout; the README says how to install that hub-image.
    commit = git(wheel.parent / "source", "rev-parse", "HEAD").strip()
    record = json.loads(installed.pop(".cruft.json"))
    assert (record["template"], record["commit"]) == (RECORDED, commit)
    assert json.loads(checkout.pop(".cruft.json"))["context"] == {
        "cookiecutter": {**record["context"]["cookiecutter"], "_template": str(TEMPLATE), "_commit": checkout_commit()}
    }
    ours, theirs = f"pip install git+{RECORDED}@{commit}\n".encode(), f"pip install {TEMPLATE}\n".encode()
    assert ours in installed["README.md"] and theirs in checkout["README.md"]
    installed["README.md"] = installed["README.md"].replace(ours, theirs)
    assert installed == checkout


def checkout_commit() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=TEMPLATE, capture_output=True, text=True, check=True).stdout.strip()
