"""The generated image-tests/ start the image's server as a hub would and fail an image a
hub cannot use. Without Docker, they run here in virtual environments from PyPI that
stand in for built images (conftest.StandIns); test_real_hub.py shows a real JupyterHub
agrees with their verdicts."""

from __future__ import annotations

import pytest

from conftest import PYTHON, STAND_IN_HUB, run_image_tests

TESTS = [
    "test_jupyterhub_singleuser_is_on_path",
    "test_jupyterhub_is_the_pinned_series",
    "test_python_version",
    "test_the_server_starts_and_answers_with_the_hubs_token",
    "test_the_server_reports_the_hubs_major_version",
    "test_the_server_serves_jupyterlab_or_notebook",
    "test_the_server_shuts_down_cleanly",
]
SERVER = [t for t in TESTS if "the_server" in t]


def expected(*failing: str, extra: tuple[str, ...] = ()) -> dict[str, str]:
    return {t: "FAILED" if t in failing else "PASSED" for t in [*TESTS, *extra]}


def generate(run_cookiecutter, tmp_path, **answers: str):
    result = run_cookiecutter({"python_version": PYTHON, "jupyterhub_version": STAND_IN_HUB, **answers})
    assert result.returncode == 0, result.stderr
    return tmp_path / "out" / "my-hub-image"


def test_image_tests_pass_for_an_image_a_hub_can_start(run_cookiecutter, stand_ins, tmp_path):
    project = generate(run_cookiecutter, tmp_path)
    assert run_image_tests(stand_ins.get("good"), project) == expected()


def test_the_dockerfile_flavour_also_checks_its_last_user(run_cookiecutter, stand_ins, tmp_path):
    project = generate(run_cookiecutter, tmp_path, image_kind="Dockerfile")
    dockerfile_user = "test_the_dockerfile_ends_as_a_regular_user"
    assert run_image_tests(stand_ins.get("good"), project) == expected(extra=(dockerfile_user,))
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("USER ${NB_UID:-1000}", "USER root"))
    assert run_image_tests(stand_ins.get("good"), project)[dockerfile_user] == "FAILED"


@pytest.mark.parametrize(
    ("hub", "failing"),
    [
        ("5.4", ["test_jupyterhub_is_the_pinned_series"]),  # same major: the server is fine, the pin is not
        ("6.1", ["test_jupyterhub_is_the_pinned_series", "test_the_server_reports_the_hubs_major_version"]),
        ("4.1", ["test_jupyterhub_is_the_pinned_series", "test_the_server_reports_the_hubs_major_version"]),
    ],
)
def test_image_tests_fail_when_the_hub_runs_another_jupyterhub(run_cookiecutter, stand_ins, tmp_path, hub, failing):
    project = generate(run_cookiecutter, tmp_path, jupyterhub_version=hub)
    assert run_image_tests(stand_ins.get("good"), project) == expected(*failing)


def test_image_tests_fail_when_python_is_not_the_requested_one(run_cookiecutter, stand_ins, tmp_path):
    project = generate(run_cookiecutter, tmp_path, python_version="3.10" if PYTHON != "3.10" else "3.12")
    assert run_image_tests(stand_ins.get("good"), project) == expected("test_python_version")


def test_image_tests_fail_without_jupyterlab(run_cookiecutter, stand_ins, tmp_path):
    project = generate(run_cookiecutter, tmp_path)
    assert run_image_tests(stand_ins.get("no-lab"), project) == expected("test_the_server_serves_jupyterlab_or_notebook")


def test_image_tests_fail_when_the_server_crashes_at_start(run_cookiecutter, stand_ins, tmp_path):
    project = generate(run_cookiecutter, tmp_path)
    assert run_image_tests(stand_ins.get("crash"), project) == expected(*SERVER)


def test_image_tests_fail_without_jupyterhub(run_cookiecutter, stand_ins, tmp_path):
    project = generate(run_cookiecutter, tmp_path)
    outcomes = run_image_tests(stand_ins.get("bare"), project)
    assert outcomes == expected(*TESTS[:2], *SERVER)
