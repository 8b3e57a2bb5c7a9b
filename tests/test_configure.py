"""A hub admin turns pushing on and off with `hub-image configure`, on a generated repo
and on the verbatim upstream 2i2c workflow."""

from __future__ import annotations

import difflib
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import UPSTREAM_BUILD
from github_actions import build_outcome, event_context
from hub_image.workflow import NO_PUSH_MAIN_AND_PRS, NO_PUSH_MAIN_ONLY

PR_ONLY_SAME_REPO = f'NO_PUSH: "{NO_PUSH_MAIN_AND_PRS}"'
MAIN_ONLY = f'NO_PUSH: "{NO_PUSH_MAIN_ONLY}"'


def changed_lines(before: str, after: str) -> list[str]:
    """The removed (-) and added (+) lines, sorted."""
    return sorted(
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )


@pytest.fixture
def project(run_cookiecutter, tmp_path) -> Path:
    result = run_cookiecutter()
    assert result.returncode == 0, result.stderr
    return tmp_path / "out" / "my-hub-image"


@pytest.fixture
def upstream(tmp_path) -> Path:
    path = tmp_path / "upstream" / "build.yaml"
    path.parent.mkdir()
    shutil.copy(UPSTREAM_BUILD, path)
    path.chmod(0o644)
    return path


def outcomes(workflow: Path) -> dict:
    data = YAML(typ="safe").load(workflow.read_text())
    checkout = workflow.parents[2] if workflow.parent.name == "workflows" else workflow.parent
    return {k: build_outcome(data, event_context(k), checkout) for k in ("push", "pr", "fork-pr")}


def test_configure_image_name_on_generated_repo_changes_two_lines(project, hub_image):
    wf = project / ".github/workflows/build.yaml"
    before = wf.read_text()
    result = hub_image("configure", "--image-name", "quay.io/my-org/my-hub-image", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "updated" in result.stdout and "my-org/my-hub-image" in result.stdout
    assert changed_lines(before, wf.read_text()) == sorted(
        [
            '-          IMAGE_NAME: ""',
            '-          NO_PUSH: "true"',
            '+          IMAGE_NAME: "my-org/my-hub-image"',
            f"+          {MAIN_ONLY}",
        ]
    )
    assert outcomes(wf) == {
        "push": ("push", "quay.io/my-org/my-hub-image"),
        "pr": ("no push", ""),
        "fork-pr": ("no push", ""),
    }


def test_configure_twice_is_idempotent(project, hub_image):
    wf = project / ".github/workflows/build.yaml"
    hub_image("configure", str(project), "--image-name", "my-org/x", "--push-on-pr")
    once = wf.read_text()
    result = hub_image("configure", str(project), "--image-name", "my-org/x", "--push-on-pr")
    assert result.returncode == 0 and "unchanged" in result.stdout
    assert wf.read_text() == once


def test_push_on_pr_then_clear_returns_to_the_generated_file(project, hub_image):
    wf = project / ".github/workflows/build.yaml"
    pristine = wf.read_text()
    hub_image("configure", str(wf), "--image-name", "my-org/x")
    main_only = wf.read_text()
    assert hub_image("configure", str(wf), "--push-on-pr").returncode == 0
    assert changed_lines(main_only, wf.read_text()) == sorted([f"-          {MAIN_ONLY}", f"+          {PR_ONLY_SAME_REPO}"])
    assert outcomes(wf) == {"push": ("push", "quay.io/my-org/x"), "pr": ("push", "quay.io/my-org/x"), "fork-pr": ("no push", "")}
    assert hub_image("configure", str(wf), "--no-push-on-pr").returncode == 0
    assert wf.read_text() == main_only
    assert hub_image("configure", str(wf), "--clear-image-name").returncode == 0
    assert wf.read_text() == pristine


def test_configure_without_options_reports_and_changes_nothing(project, hub_image):
    wf = project / ".github/workflows/build.yaml"
    before = wf.read_text()
    result = hub_image("configure", cwd=project)
    assert result.returncode == 0
    assert result.stdout.splitlines()[1:] == [
        "  push to main:                        builds only",
        "  pull request from this repository:   builds only",
        "  pull request from a fork:            builds only (forks get no secrets)",
    ]
    assert wf.read_text() == before


def test_configure_upstream_2i2c_workflow_changes_one_line(upstream, hub_image):
    before = upstream.read_text()
    result = hub_image("configure", str(upstream), "--image-name", "my-org/my-image")
    assert result.returncode == 0, result.stderr
    after = upstream.read_text()
    assert changed_lines(before, after) == sorted(
        [
            '-        # IMAGE_NAME: "<quay-username>/<repository-name>"',
            '+        IMAGE_NAME: "my-org/my-image"',
        ]
    )
    assert outcomes(upstream)["push"] == ("push", "quay.io/my-org/my-image")
    assert outcomes(upstream)["pr"] == ("no push", "")
    # Idempotent: the second run leaves the bytes alone.
    assert "unchanged" in hub_image("configure", str(upstream), "--image-name", "my-org/my-image").stdout
    assert upstream.read_text() == after


def test_configure_upstream_push_on_pr_and_clear(upstream, hub_image):
    before = upstream.read_text()
    hub_image("configure", str(upstream), "--image-name", "my-org/my-image", "--push-on-pr")
    after = upstream.read_text()
    assert changed_lines(before, after) == sorted(
        [
            "-        NO_PUSH: \"${{ github.event_name == 'pull_request' }}\"",
            '-        # IMAGE_NAME: "<quay-username>/<repository-name>"',
            f"+        {PR_ONLY_SAME_REPO}",
            '+        IMAGE_NAME: "my-org/my-image"',
        ]
    )
    assert hub_image("configure", str(upstream), "--clear-image-name").returncode == 0
    assert outcomes(upstream) == {"push": ("no push", ""), "pr": ("no push", ""), "fork-pr": ("no push", "")}


def test_configure_on_the_upstream_clear_only_stops_pushes(upstream, hub_image):
    before = upstream.read_text()
    assert hub_image("configure", str(upstream), "--clear-image-name").returncode == 0
    assert changed_lines(before, upstream.read_text()) == sorted(
        [
            "-        NO_PUSH: \"${{ github.event_name == 'pull_request' }}\"",
            '+        NO_PUSH: "true"',
        ]
    )


@pytest.mark.parametrize(
    "content, message",
    [
        ("on: [push\njobs: {}\n", "not valid YAML (line"),
        (
            "on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v5\n",
            "no step uses jupyterhub/repo2docker-action",
        ),
        ("- just\n- a list\n", "not a GitHub workflow"),
        (
            "jobs:\n  b:\n    steps:\n      - uses: jupyterhub/repo2docker-action@master\n        with: {NO_PUSH: 'true'}\n",
            "not a block mapping",
        ),
    ],
)
def test_configure_refuses_a_broken_or_foreign_workflow(tmp_path, hub_image, content, message):
    wf = tmp_path / "build.yaml"
    wf.write_text(content)
    result = hub_image("configure", str(wf), "--image-name", "my-org/x")
    assert result.returncode != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert wf.read_text() == content


@pytest.mark.parametrize(
    "args, message",
    [
        (["--image-name", "My-Org/X"], "--image-name: 'My-Org/X' has upper-case letters; use 'my-org/x'"),
        (["--image-name", "my-org/x:v1"], "drop it"),
        (["--image-name", "x"], "must be 'namespace/name'"),
        (["--image-name", "${{ secrets.X }}/y"], "quotes or expressions"),
        (["--image-name", "a/b", "--clear-image-name"], "exclude each other"),
        (["--push-on-pr"], "--push-on-pr needs an image"),
    ],
)
def test_configure_rejects_bad_options_and_leaves_the_file(project, hub_image, args, message):
    wf = project / ".github/workflows/build.yaml"
    before = wf.read_text()
    result = hub_image("configure", str(project), *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert wf.read_text() == before


def test_configure_in_a_directory_without_workflow_says_so(tmp_path, hub_image):
    result = hub_image("configure", str(tmp_path), "--image-name", "a/b")
    assert result.returncode != 0
    assert "none here does (no workflow in .github/workflows builds an image); nothing was changed" in result.stderr


def test_configure_on_another_registry_accepts_its_host_prefix(run_cookiecutter, hub_image, tmp_path):
    result = run_cookiecutter({"registry": "acr", "registry_host": "myhub.azurecr.io"})
    assert result.returncode == 0, result.stderr
    wf = tmp_path / "out" / "my-hub-image" / ".github/workflows/build.yaml"
    assert hub_image("configure", str(wf), "--image-name", "myhub.azurecr.io/acme/img").returncode == 0
    assert 'IMAGE_NAME: "acme/img"' in wf.read_text()
    assert outcomes(wf)["push"] == ("push", "myhub.azurecr.io/acme/img")


def test_hub_config_prints_the_image_pinned_to_the_current_commit(run_cookiecutter, hub_image, tmp_path):
    assert run_cookiecutter({"image_name": "acme/climate"}).returncode == 0
    project = tmp_path / "out" / "my-hub-image"
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(
        ["git", "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "--allow-empty", "-m", "x"], cwd=project, check=True
    )
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()
    result = hub_image("hub-config", str(project))
    assert result.returncode == 0, result.stderr
    ref = f"quay.io/acme/climate:{sha[:12]}"
    assert f'    name: quay.io/acme/climate\n    tag: "{sha[:12]}"' in result.stdout  # Zero to JupyterHub
    assert f"image: {ref}" in result.stdout  # KubeSpawner profile
    assert f'c.DockerSpawner.image = "{ref}"' in result.stdout
    assert f"\n{ref}\n" in result.stdout  # the 2i2c Configurator
    assert "must be public" in result.stdout


def test_hub_config_without_an_image_name_says_what_to_do(project, hub_image):
    result = hub_image("hub-config", str(project), "--tag", "abc")
    assert result.returncode != 0
    assert "IMAGE_NAME is not set" in result.stderr and "hub-image configure --image-name" in result.stderr


# --- what real-world workflows do, and configure tells the truth about them ------------------

HAND_WRITTEN = """\
name: Build
on:
  push:
    branches: [master]
  pull_request:
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: jupyterhub/repo2docker-action@master
        with:
          DOCKER_USERNAME: ${{ secrets.QUAY_USERNAME }}
          DOCKER_PASSWORD: ${{ secrets.QUAY_PASSWORD }}
          DOCKER_REGISTRY: "quay.io"
          IMAGE_NAME: "my-org/stats"
          # Our own rule: push only tags' and main's builds.
          NO_PUSH: ${{ github.event_name == 'pull_request' || github.ref_type == 'branch' && github.ref != 'refs/heads/master' }}
"""
MATRIX = """\
on: push
jobs:
  build:
    strategy:
      matrix:
        image: [cpu, gpu]
    runs-on: ubuntu-latest
    steps:
      - uses: jupyterhub/repo2docker-action@master
        with:
          IMAGE_NAME: "my-org/${{ matrix.image }}"
          NO_PUSH: ${{ github.event_name == 'pull_request' }}
"""
DOCKER_HUB = """\
on:
  push:
    branches:
      - main
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: jupyterhub/repo2docker-action@master
        with:
          DOCKER_USERNAME: ${{ secrets.DOCKER_USERNAME }}
          DOCKER_PASSWORD: ${{ secrets.DOCKER_PASSWORD }}
          NO_PUSH: "true"
"""


def _workflow_file(tmp_path: Path, text: str, newline: str = "\n") -> Path:
    wf = tmp_path / "repo" / ".github" / "workflows" / "build.yaml"
    wf.parent.mkdir(parents=True)
    wf.write_bytes(text.replace("\n", newline).encode())
    return wf


def test_looking_at_the_upstream_2i2c_workflow_changes_nothing_and_warns_of_its_fallback(upstream, hub_image):
    before = upstream.read_bytes()
    result = hub_image("configure", str(upstream))
    assert result.returncode == 0, result.stderr
    assert upstream.read_bytes() == before
    assert "  push to main:                        pushes quay.io/<secret QUAY_USERNAME>/<repository>:<sha>" in result.stdout
    assert "warning: IMAGE_NAME is not set, so the action pushes to its fallback" in result.stderr
    assert "wrong path" in result.stderr and "hub-image configure --image-name" in result.stderr


def test_an_image_name_with_no_push_true_is_reported_as_not_pushing_and_left_alone(project, hub_image):
    wf = project / ".github/workflows/build.yaml"
    wf.write_text(wf.read_text().replace('IMAGE_NAME: ""', 'IMAGE_NAME: "my-org/paused"'))
    before = wf.read_bytes()
    result = hub_image("configure", str(project))
    assert result.returncode == 0 and wf.read_bytes() == before
    assert "  push to main:                        builds only" in result.stdout


def test_a_hand_written_no_push_is_kept_unless_asked_and_the_branch_is_named(tmp_path, hub_image):
    wf = _workflow_file(tmp_path, HAND_WRITTEN)
    result = hub_image("configure", str(wf), "--image-name", "my-org/stats-v2")
    assert result.returncode == 0, result.stderr
    assert changed_lines(HAND_WRITTEN, wf.read_text()) == [
        '+          IMAGE_NAME: "my-org/stats-v2"',
        '-          IMAGE_NAME: "my-org/stats"',
    ]
    assert "note: kept your NO_PUSH" in result.stdout and "--push-on-pr or --no-push-on-pr replaces it" in result.stdout
    assert "  push to master:" in result.stdout and "push to main" not in result.stdout
    assert "depends on NO_PUSH" in result.stdout
    assert hub_image("configure", str(wf), "--no-push-on-pr").returncode == 0
    assert f"          {MAIN_ONLY}" in wf.read_text()


def test_an_image_name_that_differs_per_matrix_leg_is_never_replaced(tmp_path, hub_image):
    wf = _workflow_file(tmp_path, MATRIX)
    result = hub_image("configure", str(wf), "--image-name", "my-org/one")
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "IMAGE_NAME is the expression 'my-org/${{ matrix.image }}', one image per matrix leg" in result.stderr
    assert "would make them all push to the same image" in result.stderr
    assert wf.read_text() == MATRIX
    # Pushes from pull requests can still be switched, and reading it is fine.
    assert hub_image("configure", str(wf), "--push-on-pr").returncode == 0
    assert "my-org/${{ matrix.image }}" in wf.read_text()
    assert "  push (any branch):" in hub_image("configure", str(wf)).stdout


def test_a_crlf_workflow_stays_crlf_and_only_the_changed_lines_change(tmp_path, hub_image):
    wf = _workflow_file(tmp_path, UPSTREAM_BUILD.read_text(), newline="\r\n")
    before = wf.read_bytes()
    assert hub_image("configure", str(wf), "--image-name", "my-org/img", "--push-on-pr").returncode == 0
    after = wf.read_bytes()
    assert after.count(b"\r\n") == before.count(b"\r\n") and b"\n" not in after.replace(b"\r\n", b"")
    diff = changed_lines(before.decode(), after.decode())
    assert len(diff) == 4  # the two lines, nothing else
    assert hub_image("configure", str(wf), "--clear-image-name").returncode == 0
    assert b"\n" not in wf.read_bytes().replace(b"\r\n", b"")


def test_no_docker_registry_means_docker_hub(tmp_path, hub_image):
    wf = _workflow_file(tmp_path, DOCKER_HUB)
    refused = hub_image("configure", str(wf), "--image-name", "quay.io/my-org/img")
    assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1
    assert "but the registry is 'docker.io'" in refused.stderr and "Docker Hub" in refused.stderr
    assert wf.read_text() == DOCKER_HUB
    result = hub_image("configure", str(wf), "--image-name", "docker.io/my-org/img")
    assert result.returncode == 0, result.stderr
    assert 'IMAGE_NAME: "my-org/img"' in wf.read_text()
    assert "pushes docker.io/my-org/img:<sha>" in result.stdout
    data = YAML(typ="safe").load(wf.read_text())
    hub = event_context("push", secrets={"DOCKER_USERNAME": "me", "DOCKER_PASSWORD": "token"})
    assert build_outcome(data, hub, wf.parents[2]) == ("push", "my-org/img")  # no registry: Docker Hub


def test_hub_config_refuses_a_directory_inside_another_repository(run_cookiecutter, hub_image, tmp_path):
    outer = tmp_path / "out"
    assert run_cookiecutter({"image_name": "acme/climate"}).returncode == 0
    subprocess.run(["git", "init", "-q"], cwd=outer, check=True)
    subprocess.run(
        ["git", "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "--allow-empty", "-m", "x"], cwd=outer, check=True
    )
    result = hub_image("hub-config", str(outer / "my-hub-image"))
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    assert "is not the root of a git repository (it is inside" in result.stderr and "--tag" in result.stderr


def test_hub_config_warns_when_the_commit_has_no_image_yet(run_cookiecutter, hub_image, tmp_path):
    assert run_cookiecutter({"image_name": "acme/climate"}).returncode == 0
    project = tmp_path / "out" / "my-hub-image"
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "x"],
        ["remote", "add", "origin", origin.as_uri()],
        ["push", "-q", "origin", "main"],
        ["fetch", "-q", "origin"],
    ):
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)
    clean = hub_image("hub-config", str(project))
    assert clean.returncode == 0 and clean.stderr == ""
    (project / "environment.yml").write_text((project / "environment.yml").read_text() + "  - numpy\n")
    dirty = hub_image("hub-config", str(project))
    assert dirty.returncode == 0 and "warning: uncommitted changes" in dirty.stderr
    subprocess.run(["git", "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "numpy"], cwd=project, check=True)
    unpushed = hub_image("hub-config", str(project))
    assert unpushed.returncode == 0 and "warning: HEAD is not on any remote branch" in unpushed.stderr


@pytest.mark.parametrize(
    "expression", ["${{ github.repository }}", "${{ env.IMAGE }}", "${{ vars.IMAGE }}", "my-org/${{ inputs.name }}"]
)
def test_an_image_name_with_one_value_per_run_is_replaced_with_a_minimal_edit(tmp_path, hub_image, expression):
    text = HAND_WRITTEN.replace('IMAGE_NAME: "my-org/stats"', f'IMAGE_NAME: "{expression}"')
    wf = _workflow_file(tmp_path, text)
    result = hub_image("configure", str(wf), "--image-name", "my-org/one")
    if "inputs." in expression:
        assert result.returncode == 1 and "one image per workflow input" in result.stderr
        assert wf.read_text() == text
        return
    assert result.returncode == 0, result.stderr
    assert f"note: replaced the expression {expression!r} (one value per run) with 'my-org/one'" in result.stdout
    changed = [(a, b) for a, b in zip(text.splitlines(), wf.read_text().splitlines(), strict=True) if a != b]
    assert [b.strip() for _, b in changed] == ['IMAGE_NAME: "my-org/one"']
