"""The last step to the hub: `hub-image deploy` proposes the new image to the hub's
deployment repository as a pull request, against the GitHub emulator (real git over
HTTP, pull requests held to GitHub's OpenAPI description); the generated workflow's
deploy job runs it only after a push to main that pushed the image."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import TOKEN, first_commit, git, template_commit, tool
from github_actions import _truthy_text, event_context

IMAGE = "quay.io/acme/stats"
VALUES = """\
# The hub's Zero to JupyterHub configuration.
singleuser:
  image:
    name: quay.io/acme/stats   # the community image
    tag: "2024-01-01"
  profileList:
    - display_name: "Stats (default)"
      kubespawner_override:
        image: 'quay.io/acme/stats:2024-01-01'
    - display_name: Another team's image
      kubespawner_override:
        image: quay.io/other/team:0a1b2c3d4e5f
    - display_name: Stats, pinned by hand
      kubespawner_override: {image: quay.io/acme/stats:old-one}
hub:
  config:
    JupyterHub:
      admin_access: false
"""
STAGING = "singleuser:\r\n  image:\r\n    name: quay.io/acme/stats\r\n    tag: 111111111111  # staging\r\n"
README = "The image quay.io/acme/stats:2024-01-01 runs here.\n"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def deployment(github, tmp_path: Path):
    """demo-org/hub-config on the emulator: a Zero to JupyterHub config (comments, quoted
    and unquoted tags, a profile list with this image and another team's), a CRLF file, a
    README that mentions the image."""
    repo = github.add_repo("demo-org", "hub-config")
    work = tmp_path / "hub-config"
    (work / "config").mkdir(parents=True)
    (work / "config" / "values.yaml").write_text(VALUES)
    (work / "config" / "staging.yaml").write_bytes(STAGING.encode())
    (work / "other.yml").write_text("singleuser:\n  image:\n    name: quay.io/other/team\n    tag: v1\n")
    (work / "README.md").write_text(README)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-qm", "the hub")
    git(work, "push", "-q", str(repo.bare), "main")
    return repo


def image_repo(run_cookiecutter, tmp_path: Path, image_name: str = "acme/stats") -> Path:
    result = run_cookiecutter({"repo_name": "stats-image", "image_name": image_name})
    assert result.returncode == 0, result.stderr
    project = tmp_path / "out" / "stats-image"
    git(project, "init", "-q", "-b", "main")
    git(project, "remote", "add", "origin", "https://github.com/acme/stats-image.git")
    git(project, "add", "-A")
    git(project, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qm", "generated")
    return project


def deploy(github, project: Path, *args: str, token: str = TOKEN) -> subprocess.CompletedProcess:
    env = {**os.environ, "GITHUB_TOKEN": token, "GITHUB_API_URL": github.url, "HUB_IMAGE_SECONDS_BETWEEN_WRITES": "0"}
    return subprocess.run(
        [tool("hub-image"), "deploy", str(project), "--repo", "demo-org/hub-config", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def files_on(github, tmp_path: Path, branch: str) -> dict[str, bytes]:
    work = tmp_path / f"check-{branch.replace('/', '-')}-{len(list(tmp_path.iterdir()))}"
    git(tmp_path, "clone", "-q", "--branch", branch, github.clone_url(github.repo("demo-org/hub-config")), str(work))
    return {p.relative_to(work).as_posix(): p.read_bytes() for p in work.rglob("*") if p.is_file() and ".git" not in p.parts}


def changed_lines(before: bytes, after: bytes) -> list[tuple[bytes, bytes]]:
    old, new = before.split(b"\n"), after.split(b"\n")
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def test_deploy_opens_one_pull_request_that_changes_only_the_tag_lines(github, deployment, run_cookiecutter, tmp_path):
    project = image_repo(run_cookiecutter, tmp_path)
    tag = git(project, "rev-parse", "HEAD").strip()[:12]
    result = deploy(github, project)
    assert result.returncode == 0, result.stderr
    assert f"opened pull request #1: Deploy {IMAGE}:{tag}" in result.stdout
    (pr,) = deployment.pulls
    assert (pr["head"], pr["base"], pr["title"]) == (f"hub-image/deploy/{IMAGE}", "main", f"Deploy {IMAGE}:{tag}")
    assert "[`" + tag + "`](https://github.com/acme/stats-image/commit/" in pr["body"]
    assert f'- `config/values.yaml` line 5: `tag: "2024-01-01"` → `tag: "{tag}"`' in pr["body"]
    base, proposed = files_on(github, tmp_path, "main"), files_on(github, tmp_path, f"hub-image/deploy/{IMAGE}")
    assert changed_lines(base["config/values.yaml"], proposed["config/values.yaml"]) == [
        (b'    tag: "2024-01-01"', f'    tag: "{tag}"'.encode()),
        (b"        image: 'quay.io/acme/stats:2024-01-01'", f"        image: 'quay.io/acme/stats:{tag}'".encode()),
        (
            b"      kubespawner_override: {image: quay.io/acme/stats:old-one}",
            f"      kubespawner_override: {{image: quay.io/acme/stats:{tag}}}".encode(),
        ),
    ]
    assert changed_lines(base["config/staging.yaml"], proposed["config/staging.yaml"]) == [
        (b"    tag: 111111111111  # staging\r", f"    tag: {tag}  # staging\r".encode())
    ]
    assert proposed["config/staging.yaml"].count(b"\r\n") == STAGING.count("\r\n")  # CRLF kept
    assert proposed["README.md"] == base["README.md"] and proposed["other.yml"] == base["other.yml"]
    yaml = YAML(typ="safe")
    assert yaml.load(proposed["config/values.yaml"])["singleuser"]["image"] == {"name": IMAGE, "tag": tag}


def test_a_rerun_writes_nothing_and_a_newer_tag_updates_the_same_pull_request(github, deployment, run_cookiecutter, tmp_path):
    project = image_repo(run_cookiecutter, tmp_path)
    assert deploy(github, project).returncode == 0
    github.clear_log()
    again = deploy(github, project)
    assert again.returncode == 0, again.stderr
    assert "already holds" in again.stdout
    assert [r for r in github.requests() if r.startswith(WRITES)] == []
    assert not any(entry[0].startswith("push") for entry in github.git_log[-3:])
    (project / "environment.yml").write_text((project / "environment.yml").read_text() + "  - numpy\n")
    git(project, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qam", "numpy")
    newer = git(project, "rev-parse", "HEAD").strip()[:12]
    updated = deploy(github, project)
    assert updated.returncode == 0, updated.stderr
    assert f"updated pull request #1: Deploy {IMAGE}:{newer}" in updated.stdout
    (pr,) = deployment.pulls
    assert pr["title"] == f"Deploy {IMAGE}:{newer}" and pr["state"] == "open"
    proposed = files_on(github, tmp_path, f"hub-image/deploy/{IMAGE}")
    assert f'tag: "{newer}"'.encode() in proposed["config/values.yaml"]


def test_an_image_the_deployment_repository_never_mentions_is_refused(github, deployment, run_cookiecutter, tmp_path):
    project = image_repo(run_cookiecutter, tmp_path, image_name="acme/unknown")
    result = deploy(github, project)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        "Error: quay.io/acme/unknown is not mentioned in demo-org/hub-config (config/staging.yaml, config/values.yaml, "
        "other.yml); add it there once by hand, or name its file with --path"
    )
    assert deployment.pulls == [] and [r for r in github.requests() if r.startswith(WRITES)] == []


def test_a_token_that_cannot_write_there_is_told_what_it_lacks(github, deployment, run_cookiecutter, tmp_path):
    github.add_user("bob", "ghp_bob_reads_only", scopes=["repo"])
    project = image_repo(run_cookiecutter, tmp_path)
    result = deploy(github, project, token="ghp_bob_reads_only")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "the token cannot write to demo-org/hub-config: it needs contents and pull requests (write) there" in line
    assert deployment.pulls == []


def deploy_job(project: Path) -> dict:
    return YAML(typ="safe").load((project / ".github/workflows/build.yaml").read_text())["jobs"]["deploy"]


@pytest.mark.parametrize(
    ("kind", "ref", "pushed", "variables", "runs"),
    [
        ("push", "refs/heads/main", "true", {"HUB_DEPLOY_REPO": "demo-org/hub-config"}, True),
        ("push", "refs/heads/main", "false", {"HUB_DEPLOY_REPO": "demo-org/hub-config"}, False),
        ("push", "refs/heads/main", "true", {}, False),
        ("push", "refs/heads/feature", "true", {"HUB_DEPLOY_REPO": "demo-org/hub-config"}, False),
        ("dispatch", "refs/heads/main", "true", {"HUB_DEPLOY_REPO": "demo-org/hub-config"}, False),
        ("pr", "refs/pull/7/merge", "true", {"HUB_DEPLOY_REPO": "demo-org/hub-config"}, False),
        ("fork-pr", "refs/pull/7/merge", "true", {"HUB_DEPLOY_REPO": "demo-org/hub-config"}, False),
    ],
    ids=["push-main", "nothing-pushed", "not-switched-on", "other-branch", "manual-run", "same-repo-pr", "fork-pr"],
)
def test_the_deploy_job_runs_only_after_a_push_to_main_that_pushed_the_image(
    run_cookiecutter, tmp_path, kind, ref, pushed, variables, runs
):
    job = deploy_job(image_repo(run_cookiecutter, tmp_path))
    context = event_context(kind, variables=variables)
    context["github"]["ref"] = ref
    context["needs"] = {"build-and-push": {"outputs": {"pushed": pushed}}}
    assert _truthy_text(job["if"], context) is runs
    assert job["needs"] == "build-and-push" and job["permissions"] == {"contents": "read"}
    text = str(job)
    assert "QUAY_PASSWORD" not in text and "QUAY_USERNAME" not in text  # no registry credential


def test_the_deploy_jobs_steps_install_the_recorded_hub_image_and_open_the_pull_request(github, deployment, tmp_path, cc_env):
    # The template repository served by the emulator; the image repo made from it by an
    # installed hub-image, so .cruft.json names a URL and a commit the job can install.
    template = github.add_repo("demo-org", "hub-image")
    work = template_commit(tmp_path / "template-work", author="t", message="v1")
    git(work, "push", "-q", str(template.bare), "HEAD:main")
    url, commit = github.clone_url(template), git(work, "rev-parse", "HEAD").strip()
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(site)]
    subprocess.run([*pip, f"git+{url}@{commit}"], check=True, capture_output=True, timeout=300)
    env = {**cc_env, "PYTHONPATH": str(site), "PYTHONSAFEPATH": "1"}
    made = subprocess.run(
        [sys.executable, "-c", "import sys; from hub_image.cli import main; sys.exit(main())"]
        + ["new", "out", "--no-input", "repo_name=stats-image", "image_name=acme/stats"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    project = tmp_path / "out" / "stats-image"
    first_commit(project)
    steps = {s["name"]: s for s in deploy_job(project)["steps"]}
    # The runner: each step's script in the checkout, GITHUB_OUTPUT, and the step's env.
    job_site = tmp_path / "job-site"
    output = tmp_path / "github-output"
    runner = {
        **cc_env,
        "GITHUB_OUTPUT": str(output),
        "PIP_TARGET": str(job_site),  # pip install, into a folder of the test's own
        "PIP_NO_DEPS": "1",
        "PIP_NO_BUILD_ISOLATION": "0",
        "PYTHONPATH": str(job_site),
        "PATH": f"{job_site / 'bin'}:{Path(sys.executable).parent}:/usr/bin:/bin",
        "GITHUB_API_URL": github.url,
        "HUB_IMAGE_SECONDS_BETWEEN_WRITES": "0",
    }
    step_env = {
        "HUB_DEPLOY_REPO": "demo-org/hub-config",
        "HUB_DEPLOY_PATHS": "config/values.yaml",
        "GITHUB_TOKEN": TOKEN,
    }
    for name in ("Name the deployment repository's owner and name", "Install hub-image", "Open or update the pull request"):
        script = steps[name]["run"]
        done = subprocess.run(
            ["bash", "-e", "-c", script], cwd=project, env={**runner, **step_env}, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{name}: {done.stderr}"
    assert output.read_text() == "owner=demo-org\nname=hub-config\n"
    assert (job_site / "hub_image" / "_source.json").is_file()  # the recorded hub-image, installed
    (pr,) = deployment.pulls
    assert pr["title"] == f"Deploy {IMAGE}:{git(project, 'rev-parse', 'HEAD').strip()[:12]}"
    assert "config/staging.yaml" not in pr["body"]  # only the path HUB_DEPLOY_PATHS names
