"""The generated image-tests/ prove the image fits the hub. Without Docker, they run here
against a virtual environment from PyPI that stands in for the image."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

STAND_IN_HUB = "5.5"  # the JupyterHub series installed in the stand-in environment
PYTHON = "{}.{}".format(*sys.version_info[:2])


@pytest.fixture(scope="session")
def image(tmp_path_factory) -> Path:
    """A stand-in for a built image: JupyterHub 5.5, JupyterLab and pytest, from PyPI."""
    root = tmp_path_factory.mktemp("image") / "venv"
    venv.EnvBuilder(with_pip=True).create(root)
    subprocess.run(
        [
            str(root / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            f"jupyterhub=={STAND_IN_HUB}.*",
            "jupyterlab",
            "pytest",
        ],
        check=True,
        timeout=900,
    )
    return root


def run_image_tests(image: Path, project: Path) -> dict[str, str]:
    """Run image-tests/ as repo2docker-action does (pytest, in the repo dir); outcome per test."""
    env = dict(os.environ, PATH=f"{image / 'bin'}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(
        [str(image / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider", "-rA", "image-tests/"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outcomes = {}
    for line in result.stdout.splitlines():
        for word in ("PASSED", "FAILED"):
            if line.startswith(word + " "):
                outcomes[line.split("::")[1].split(" ")[0]] = word
    assert outcomes, result.stdout + result.stderr
    return outcomes


def expected(**failing: bool) -> dict[str, str]:
    tests = [
        "test_jupyterhub_singleuser_is_on_path",
        "test_jupyterhub_matches_the_hub",
        "test_a_notebook_server_is_installed",
        "test_python_version",
        "test_runs_as_a_regular_user",
    ]
    # Run as root (as CI is), the image's root check fails, as it should.
    failing = {**failing, "test_runs_as_a_regular_user": os.getuid() == 0}
    return {t: "FAILED" if failing.get(t) else "PASSED" for t in tests}


@pytest.mark.parametrize("kind", ["environment.yml", "Dockerfile"])
def test_image_tests_pass_for_an_image_that_fits_the_hub(run_cookiecutter, image, tmp_path, kind):
    result = run_cookiecutter({"jupyterhub_version": "5.5.3", "python_version": PYTHON, "image_kind": kind})
    assert result.returncode == 0, result.stderr
    assert run_image_tests(image, tmp_path / "out" / "my-hub-image") == expected()


def test_image_tests_fail_when_the_hub_runs_another_jupyterhub(run_cookiecutter, image, tmp_path):
    result = run_cookiecutter({"jupyterhub_version": "4.1", "python_version": PYTHON})
    assert result.returncode == 0, result.stderr
    assert run_image_tests(image, tmp_path / "out" / "my-hub-image") == expected(test_jupyterhub_matches_the_hub=True)


def test_image_tests_fail_when_python_is_not_the_requested_one(run_cookiecutter, image, tmp_path):
    other = "3.10" if PYTHON != "3.10" else "3.12"
    result = run_cookiecutter({"python_version": other, "jupyterhub_version": STAND_IN_HUB})
    assert result.returncode == 0, result.stderr
    assert run_image_tests(image, tmp_path / "out" / "my-hub-image") == expected(test_python_version=True)


def test_image_tests_fail_without_jupyterhub(run_cookiecutter, tmp_path):
    bare = tmp_path / "bare"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(bare)
    subprocess.run([str(bare / "bin" / "python"), "-m", "pip", "install", "--quiet", "pytest"], check=True, timeout=300)
    result = run_cookiecutter({"python_version": PYTHON})
    assert result.returncode == 0, result.stderr
    outcomes = run_image_tests(bare, tmp_path / "out" / "my-hub-image")
    assert outcomes["test_jupyterhub_singleuser_is_on_path"] == "FAILED"
    assert outcomes["test_jupyterhub_matches_the_hub"] == "FAILED"
    assert outcomes["test_a_notebook_server_is_installed"] == "FAILED"
