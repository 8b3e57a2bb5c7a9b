"""Day two for a fleet: `hub-image fleet update` brings the template's changes to every
repository as one pull request each, against the GitHub emulator (real git over HTTP,
pull requests held to GitHub's OpenAPI description)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import TOKEN, by_repo, fleet_runner, git, recording_template, template_commit
from test_update import COMMENT, second_commit

MANIFEST = """\
owner: demo-org
defaults:
  registry: quay.io
images:
  - repo_name: climate-hub-image
    image_name: demo-org/climate-hub-image
  - repo_name: astro-hub-image
    image_name: demo-org/astro-hub-image
"""
REPOS = ["climate-hub-image", "astro-hub-image"]
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    return template_commit(tmp_path / "hub-image", author="t", message="v1")


@pytest.fixture
def fleet(fleet_env, tmp_path: Path, template_repo):
    """The fleet, applied from the template's first commit."""
    manifest = tmp_path / "fleet.yaml"
    manifest.write_text(MANIFEST)
    run = fleet_runner(dict(fleet_env, HUB_IMAGE_TEMPLATE_DIR=str(template_repo)), manifest)
    applied = run("apply", "--json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    return run


def url(github, repo: str) -> str:
    return github.url.replace("http://", f"http://x-access-token:{TOKEN}@") + f"/demo-org/{repo}.git"


def admin_edits(github, tmp_path: Path, repo: str, edit) -> None:
    """The hub admin changes the repository on GitHub (a commit pushed to main)."""
    work = tmp_path / f"edit-{repo}"
    git(tmp_path, "clone", "-q", url(github, repo), str(work))
    edit(work)
    git(work, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qam", "our change")
    git(work, "push", "-q", "origin", "main")


def branch_files(github, tmp_path: Path, repo: str, branch: str) -> Path:
    work = tmp_path / f"check-{repo}-{branch.replace('/', '-')}"
    git(tmp_path, "clone", "-q", "--branch", branch, url(github, repo), str(work))
    return work


def main_sha(github, repo: str) -> str:
    return git(Path(github.root), "--git-dir", str(github.repo(f"demo-org/{repo}").bare), "rev-parse", "main").strip()


def add_numpy(work: Path) -> None:
    env = work / "environment.yml"
    env.write_text(env.read_text() + "  - numpy\n")


def retitle_the_readme(work: Path) -> None:
    readme = work / "README.md"
    readme.write_text(readme.read_text().replace("## Use the image in the hub", "## Use it on our hub"))


def test_fleet_update_opens_one_pull_request_per_repo_and_never_pushes_to_main(fleet, github, template_repo, tmp_path):
    admin_edits(github, tmp_path, "climate-hub-image", add_numpy)
    admin_edits(github, tmp_path, "astro-hub-image", retitle_the_readme)  # the template changes this line too
    v2 = second_commit(template_repo)
    mains = {r: main_sha(github, r) for r in REPOS}
    github.clear_log()

    result = fleet("update", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = by_repo(result)
    assert {r: main_sha(github, r) for r in REPOS} == mains  # main is never touched
    climate, astro = github.repo("demo-org/climate-hub-image"), github.repo("demo-org/astro-hub-image")
    assert [(p["head"], p["base"], p["draft"], p["state"]) for p in climate.pulls] == [
        ("hub-image/update", "main", False, "open")
    ]
    assert [(p["head"], p["draft"]) for p in astro.pulls] == [("hub-image/update", True)]
    assert "opened pull request #1" in rows["climate-hub-image"]["detail"]
    assert "opened draft pull request #1 (to resolve: README.md)" in rows["astro-hub-image"]["detail"]
    assert "`README.md`" in astro.pulls[0]["body"] and "To resolve" in astro.pulls[0]["body"]

    # The branch holds the template's change and the admin's edit.
    work = branch_files(github, tmp_path, "climate-hub-image", "hub-image/update")
    build = (work / ".github/workflows/build.yaml").read_text()
    assert "# A large image may need longer: raise it then." in build and COMMENT not in build
    assert "  - numpy\n" in (work / "environment.yml").read_text()
    assert json.loads((work / ".cruft.json").read_text())["commit"] == v2
    assert "<<<<<<<" in (branch_files(github, tmp_path, "astro-hub-image", "hub-image/update") / "README.md").read_text()

    # A re-run finds its own pull requests holding the update: nothing is written.
    github.clear_log()
    pushes = len(github.git_log)
    again = fleet("update", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    assert {r: row["status"] for r, row in by_repo(again).items()} == {r: "unchanged" for r in REPOS}
    assert [r for r in github.requests() if r.startswith(WRITES)] == []
    assert not [e for e, _ in github.git_log[pushes:] if e.startswith("push")]
    assert len(climate.pulls) == len(astro.pulls) == 1


def test_a_changed_answer_in_the_manifest_updates_the_open_pull_request(fleet, github, template_repo):
    second_commit(template_repo)
    assert fleet("update", "--json").returncode == 0
    fleet.manifest.write_text(MANIFEST.replace("registry: quay.io", 'registry: quay.io\n  jupyterhub_version: "5.3"'))
    github.clear_log()
    result = fleet("update", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert {r: row["detail"] for r, row in by_repo(result).items()} == {r: "updated pull request #1" for r in REPOS}
    climate = github.repo("demo-org/climate-hub-image")
    assert len(climate.pulls) == 1 and "PATCH /repos/demo-org/climate-hub-image/pulls/1" in github.requests()
    pinned = git(Path(climate.bare), "show", "hub-image/update:environment.yml")
    assert "  - jupyterhub-singleuser>=5.3,<5.4\n" in pinned


def test_fleet_update_with_nothing_new_changes_nothing(fleet, github):
    github.clear_log()
    result = fleet("update", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert {r: row["status"] for r, row in by_repo(result).items()} == {r: "unchanged" for r in REPOS}
    assert [r for r in github.requests() if r.startswith(WRITES)] == []
    assert github.repo("demo-org/climate-hub-image").pulls == []


def test_an_update_beyond_the_hourly_limit_says_so_before_it_starts(fleet, github):
    github.clear_log()
    result = fleet("update", env_extra={"HUB_IMAGE_WRITES_PER_HOUR": "3"})
    assert result.returncode == 1
    assert "this run needs 4 writes, more than GitHub's 3 an hour: it would take about 1.3 h; run it with --wait" in result.stderr
    assert "Traceback" not in result.stderr and [r for r in github.requests() if r.startswith(WRITES)] == []


def test_a_token_without_the_workflow_scope_is_refused_up_front(fleet, github, template_repo):
    second_commit(template_repo)
    github.add_user("alice", "ghp_noworkflow", scopes=["repo", "admin:org"])
    github.clear_log()
    result = fleet("update", env_extra={"GITHUB_TOKEN": "ghp_noworkflow"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: the token lacks the 'workflow' scope (it has: admin:org, repo); 'workflow' is needed to push .github/workflows/"
    ]
    assert github.requests() == ["GET /user"]


def test_github_refuses_a_workflow_change_pushed_without_the_workflow_scope(fleet, github, tmp_path):
    """The emulator holds GitHub's rule that makes the up-front check necessary."""
    github.add_user("alice", "ghp_noworkflow", scopes=["repo"])
    work = tmp_path / "w"
    git(tmp_path, "clone", "-q", url(github, "climate-hub-image"), str(work))
    build = work / ".github/workflows/build.yaml"
    build.write_text(build.read_text() + "# changed\n")
    git(work, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qam", "change")
    pushed = subprocess.run(
        ["git", "push", url(github, "climate-hub-image").replace(TOKEN, "ghp_noworkflow"), "HEAD:refs/heads/x"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert pushed.returncode != 0 and "without `workflow` scope" in pushed.stderr


def test_fleet_update_never_runs_a_template_named_only_by_a_repositorys_record(fleet, github, template_repo, tmp_path):
    # A collaborator of one image repository points its record at a template of their own.
    records = tmp_path / "hostile-records"
    hostile = recording_template(tmp_path / "hostile", records)
    hostile_commit = git(hostile, "rev-parse", "HEAD").strip()

    def point_at_hostile(work: Path) -> None:
        state = json.loads((work / ".cruft.json").read_text())
        state["template"], state["commit"] = str(hostile), hostile_commit
        (work / ".cruft.json").write_text(json.dumps(state, indent=2) + "\n")

    admin_edits(github, tmp_path, "astro-hub-image", point_at_hostile)
    second_commit(template_repo)
    result = fleet("update", "--json")
    assert result.returncode == 1
    rows = by_repo(result)
    assert not records.exists() or not any(records.iterdir()), "the hostile template ran"
    assert rows["astro-hub-image"]["status"] == "failed"
    assert rows["astro-hub-image"]["detail"] == (
        f"records template {hostile}, not the fleet's {template_repo}: update it by hand or fix its .cruft.json"
    )
    assert github.repo("demo-org/astro-hub-image").pulls == []
    assert rows["climate-hub-image"]["status"] == "done"  # the others go on
    assert len(github.repo("demo-org/climate-hub-image").pulls) == 1
