"""Day two: a generated repo records where it came from (.cruft.json), and `hub-image
update` (or the real cruft) brings the template's later changes to it while keeping the
hub admin's own edits."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import git, template_commit, tool

PROJECT_DIR = "{{cookiecutter.repo_name | project_dir}}"
COMMENT = "    # Raise it if a large image takes longer to build.\n"


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """A template repository of our own (this checkout's files, one commit)."""
    return template_commit(tmp_path / "hub-image", author="t", message="v1")


def second_commit(template_repo: Path) -> str:
    """The template improves: a comment of build.yaml and a line of the README change."""
    build = template_repo / PROJECT_DIR / ".github/workflows/build.yaml"
    assert COMMENT in build.read_text()
    build.write_text(build.read_text().replace(COMMENT, "    # A large image may need longer: raise it then.\n"))
    readme = template_repo / PROJECT_DIR / "README.md"
    readme.write_text(readme.read_text().replace("## Use the image in the hub", "## Use the image in your hub"))
    git(template_repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "v2")
    return git(template_repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def project(template_repo: Path, run_cookiecutter, tmp_path: Path) -> Path:
    """A repo generated at the template's first commit, committed, then edited by its admin."""
    result = run_cookiecutter({"repo_name": "stats-image", "image_name": "acme/stats"}, template=str(template_repo))
    assert result.returncode == 0, result.stderr
    repo = tmp_path / "out" / "stats-image"
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qm", "generated")
    env = repo / "environment.yml"
    env.write_text(env.read_text() + "  - numpy\n")
    (repo / "image-tests" / "test_numpy.py").write_text("def test_numpy():\n    import numpy  # noqa: F401\n")
    readme = repo / "README.md"
    readme.write_text(readme.read_text() + "\nMaintained by the stats group.\n")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qm", "our packages")
    return repo


def test_every_generated_repo_records_its_template_commit_and_answers(project, template_repo):
    state = json.loads((project / ".cruft.json").read_text())
    v1 = git(template_repo, "rev-parse", "HEAD").strip()
    assert state["template"] == str(template_repo) and state["commit"] == v1
    assert state["checkout"] is None and state["directory"] is None
    answers = state["context"]["cookiecutter"]
    assert answers["image_name"] == "acme/stats" and answers["github_setup"] == "none"
    assert answers["_commit"] == v1 and answers["_template"] == str(template_repo)


def test_update_brings_the_templates_change_and_keeps_the_admins_edits(project, template_repo, hub_image):
    v2 = second_commit(template_repo)
    result = hub_image("update", str(project), "--template", str(template_repo))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "changed: .cruft.json, .github/workflows/build.yaml, README.md" in result.stdout
    build = (project / ".github/workflows/build.yaml").read_text()
    assert "# A large image may need longer: raise it then." in build and COMMENT not in build
    assert 'IMAGE_NAME: "acme/stats"' in build  # the answers applied, as at generation
    readme = (project / "README.md").read_text()
    assert "## Use the image in your hub" in readme and "Maintained by the stats group." in readme
    assert "  - numpy\n" in (project / "environment.yml").read_text()
    assert (project / "image-tests/test_numpy.py").is_file()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == v2
    git(project, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qam", "update")
    again = hub_image("update", str(project), "--template", str(template_repo))
    assert again.returncode == 0 and "already up to date" in again.stdout
    assert git(project, "status", "--porcelain") == ""


def test_a_changed_answer_is_rendered_and_merged_the_same_way(project, template_repo, hub_image):
    result = hub_image("update", str(project), "--template", str(template_repo), "--set", "jupyterhub_version=6.1")
    assert result.returncode == 0, result.stdout + result.stderr
    env = (project / "environment.yml").read_text()
    assert "jupyterhub-singleuser>=6.1,<6.2" in env and "  - numpy\n" in env
    assert 'JUPYTERHUB_SERIES = "6.1"' in (project / "image-tests/test_hub_ready.py").read_text()
    assert json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]["jupyterhub_version"] == "6.1"


def test_a_conflict_is_left_marked_and_the_exit_status_says_so(project, template_repo, hub_image):
    build = project / ".github/workflows/build.yaml"
    build.write_text(build.read_text().replace(COMMENT, "    # Our images are big: 90 minutes.\n"))
    git(project, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qam", "our comment")
    second_commit(template_repo)
    result = hub_image("update", str(project), "--template", str(template_repo))
    assert result.returncode == 1
    assert "conflicts in .github/workflows/build.yaml" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    text = build.read_text()
    assert "<<<<<<<" in text and "# Our images are big: 90 minutes." in text and "raise it then." in text
    assert "## Use the image in your hub" in (project / "README.md").read_text()  # the rest applied


def test_update_refuses_a_dirty_working_tree(project, template_repo, hub_image):
    second_commit(template_repo)
    (project / "environment.yml").write_text((project / "environment.yml").read_text() + "  - scipy\n")
    result = hub_image("update", str(project), "--template", str(template_repo))
    assert result.returncode == 1 and "has uncommitted changes; commit or stash them first" in result.stderr
    assert "raise it then" not in (project / ".github/workflows/build.yaml").read_text()


def test_the_real_cruft_checks_and_updates_a_generated_repo(project, template_repo):
    check = subprocess.run([tool("cruft"), "check"], cwd=project, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    v2 = second_commit(template_repo)
    stale = subprocess.run([tool("cruft"), "check"], cwd=project, capture_output=True, text=True, timeout=120)
    assert stale.returncode != 0 and "out of date" in (stale.stdout + stale.stderr).lower()
    updated = subprocess.run(
        [tool("cruft"), "update", "--skip-apply-ask"], cwd=project, capture_output=True, text=True, timeout=300
    )
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "raise it then" in (project / ".github/workflows/build.yaml").read_text()
    assert "  - numpy\n" in (project / "environment.yml").read_text()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == v2


def test_a_repo_made_before_records_is_adopted_with_the_answers_its_files_show(project, template_repo, hub_image):
    recorded = json.loads((project / ".cruft.json").read_text())
    git(project, "rm", "-q", ".cruft.json")
    git(project, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qm", "made before records")
    result = hub_image("update", str(project), "--adopt", "--template", str(template_repo))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "  image_name: acme/stats" in result.stdout and "  jupyterhub_version: 5.5" in result.stdout
    adopted = json.loads((project / ".cruft.json").read_text())
    assert adopted == recorded  # the files told everything the template asked
    second_commit(template_repo)
    git(project, "add", ".cruft.json")
    git(project, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qm", "adopted")
    assert hub_image("update", str(project), "--template", str(template_repo)).returncode == 0
    assert "raise it then" in (project / ".github/workflows/build.yaml").read_text()


def test_the_upstream_2i2c_layout_is_adopted_as_far_as_it_goes(template_repo, hub_image, tmp_path):
    from conftest import FIXTURES

    repo = tmp_path / "old-image"
    shutil.copytree(FIXTURES / "upstream" / "2i2c-hub-user-image-template", repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", "https://github.com/acme/old-image.git")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qm", "from the 2i2c template")
    result = hub_image("update", str(repo), "--adopt", "--template", str(template_repo))
    assert result.returncode == 0, result.stdout + result.stderr
    answers = json.loads((repo / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert {k: answers[k] for k in ("github_owner", "repo_name", "registry", "image_kind", "python_version")} == {
        "github_owner": "acme",
        "repo_name": "old-image",
        "registry": "quay.io",
        "image_kind": "environment.yml",
        "python_version": "3.10",
    }
    assert answers["jupyterhub_version"] == "3.0"  # the stale pin this project exists to fix


def test_a_repo_from_an_installed_hub_image_is_told_how_to_update(project, template_repo, hub_image):
    state = json.loads((project / ".cruft.json").read_text())
    state["template"], state["commit"] = "/site-packages/hub_image/_template", None
    (project / ".cruft.json").write_text(json.dumps(state))
    git(project, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qam", "from an installed hub-image")
    result = hub_image("update", str(project), "--template", str(template_repo))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "records no template commit" in result.stderr and "--adopt --template SOURCE" in result.stderr
    adopted = hub_image("update", str(project), "--adopt", "--template", str(template_repo))
    assert adopted.returncode == 0, adopted.stderr
    assert json.loads((project / ".cruft.json").read_text())["commit"] == git(template_repo, "rev-parse", "HEAD").strip()
