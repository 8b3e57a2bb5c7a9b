"""Adopting the field's real repositories (`hub-image update --adopt`): the flavour and
the values as repo2docker reads them, the build workflow found by what it does, and a
one-line refusal, with nothing written, for a repo hub-image cannot manage.  On copies
of real repositories' build files (tests/fixtures/real, sources named there)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, git, template_commit

REAL = FIXTURES / "real"


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    return template_commit(tmp_path / "hub-image", author="t", message="v1")


def checkout(tmp_path: Path, source: Path, owner_repo: str) -> Path:
    """A clone of the real repository, as its admin has it (origin on GitHub)."""
    repo = tmp_path / owner_repo.split("/")[1]
    shutil.copytree(source, repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", f"https://github.com/{owner_repo}.git")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qm", "as on GitHub")
    return repo


def adopt_then_update(hub_image, repo: Path, template_repo: Path) -> tuple[dict, str]:
    """Adopt, commit the record, run update: it must change nothing at all."""
    adopted = hub_image("update", str(repo), "--adopt", "--template", str(template_repo))
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    assert git(repo, "status", "--porcelain").strip() == "?? .cruft.json"  # the record, nothing else
    git(repo, "add", ".cruft.json")
    git(repo, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qm", "adopted")
    updated = hub_image("update", str(repo), "--template", str(template_repo))
    assert updated.returncode == 0 and "already up to date" in updated.stdout, updated.stdout + updated.stderr
    assert git(repo, "status", "--porcelain") == ""
    return json.loads((repo / ".cruft.json").read_text())["context"]["cookiecutter"], adopted.stdout


def test_the_2i2c_successor_is_adopted_as_the_dockerfile_repo_it_is(tmp_path, hub_image, template_repo):
    repo = checkout(tmp_path, REAL / "example-inherit-from-community-image", "2i2c-org/example-inherit-from-community-image")
    answers, said = adopt_then_update(hub_image, repo, template_repo)
    assert {k: answers[k] for k in ("image_kind", "base_image", "registry", "image_name", "github_owner")} == {
        "image_kind": "Dockerfile",  # repo2docker builds the Dockerfile; environment.yml is only what it copies
        "base_image": "quay.io/jupyter/scipy-notebook:2026-03-09",
        "registry": "quay.io",
        "image_name": "yuvipanda/example-inherit-from-community-image",
        "github_owner": "2i2c-org",
    }
    assert answers["jupyterhub_version"] == "5.5"  # the template's default, and it says so
    assert "note: 2 workflows use jupyterhub/repo2docker-action (build.yaml, test.yaml); chose build.yaml" in said
    assert (
        "note: jupyterhub_version: no JupyterHub pin in Dockerfile or environment.yml (the base image decides it); "
        "keeps the template's default '5.5'"
    ) in said
    config = hub_image("configure", str(repo))
    assert config.returncode == 0
    assert (
        "note: 2 workflows use jupyterhub/repo2docker-action (build.yaml, test.yaml); chose build.yaml, the one that pushes"
        in config.stdout
    )


def test_the_deprecated_2i2c_template_is_adopted_and_then_left_alone(tmp_path, hub_image, template_repo):
    repo = checkout(tmp_path, FIXTURES / "upstream" / "2i2c-hub-user-image-template", "acme/old-image")
    answers, said = adopt_then_update(hub_image, repo, template_repo)
    assert (answers["image_kind"], answers["python_version"], answers["jupyterhub_version"]) == ("environment.yml", "3.10", "3.0")
    assert "note:" not in said  # every value was there to read


@pytest.mark.parametrize(
    ("fixture", "owner_repo", "why"),
    [
        (
            "datahub-user-image",
            "berkeley-dsep-infra/datahub-user-image",
            ".github/workflows/build-push-create-pr.yaml runs the reusable workflow "
            "berkeley-dsep-infra/update-deployment/.github/workflows/shared-build-push-create-pr.yaml@main",
        ),
        (
            "uwgda-image",
            "UW-GDA/uwgda-image",
            ".github/workflows/repo2docker.yml builds with the repo2docker command, not the action",
        ),
        (
            "jupyterhub-container-images",
            "manics/jupyterhub-container-images",
            ".github/workflows/build.yml builds with docker buildx",
        ),
    ],
    ids=["reusable-workflow", "repo2docker-command", "docker-buildx"],
)
def test_a_repo_built_another_way_is_refused_in_one_line_and_nothing_is_written(
    tmp_path, hub_image, template_repo, fixture, owner_repo, why
):
    repo = checkout(tmp_path, REAL / fixture, owner_repo)
    result = hub_image("update", str(repo), "--adopt", "--template", str(template_repo))
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        f"Error: {repo}: hub-image manages repos whose workflow uses jupyterhub/repo2docker-action, and none here does: "
    )
    assert why in line and line.endswith("; nothing was changed")
    assert git(repo, "status", "--porcelain") == ""
    configured = hub_image("configure", str(repo), "--image-name", "acme/x")
    assert configured.returncode == 1 and why in configured.stderr
    assert git(repo, "status", "--porcelain") == ""


def test_repo2dockers_configuration_directory_comes_first(tmp_path, hub_image, template_repo):
    # The successor's files moved into binder/, and an environment.yml left at the root:
    # repo2docker reads only binder/, so the flavour is binder/'s Dockerfile.
    repo = checkout(tmp_path, REAL / "example-inherit-from-community-image", "acme/binder-image")
    (repo / "binder").mkdir()
    git(repo, "mv", "Dockerfile", "binder/Dockerfile")
    (repo / "binder" / "environment.yml").write_text((repo / "environment.yml").read_text())
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qm", "binder/")
    answers, said = adopt_then_update(hub_image, repo, template_repo)
    assert (answers["image_kind"], answers["base_image"]) == ("Dockerfile", "quay.io/jupyter/scipy-notebook:2026-03-09")
    assert "note: repo2docker reads only binder/ here" in said
