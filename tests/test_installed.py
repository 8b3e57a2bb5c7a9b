"""Day two on the route people take: `pip install git+URL@REF` of the template repository
(served over git's smart HTTP by the GitHub emulator), `hub-image new`, later an upgraded
hub-image and `hub-image update` with no flags.  The installed hub-image records where it
came from, never a path of this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import TEMPLATE, by_repo, first_commit, git, template_commit, tool, tree
from test_update import COMMENT, second_commit


def pip_install(target: Path, url: str, commit: str) -> Path:
    """hub-image from ``url`` at ``commit``, as pip installs it (a wheel built from a clone)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target)]
        + [f"git+{url}@{commit}"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def installed(site: Path, *args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """The installed hub-image alone (no checkout on the path), run as its command runs."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; from hub_image.cli import main; sys.exit(main())", *args],
        env={**os.environ, **(env or {}), "PYTHONPATH": str(site), "PYTHONSAFEPATH": "1"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def no_local_paths(root: Path, *paths: Path) -> None:
    for rel, data in tree(root).items():
        for path in paths:
            assert str(path).encode() not in data, f"{rel} names {path}"


@pytest.fixture
def served(github, tmp_path: Path):
    """The template repository on the emulator, at its first commit: (clone URL, work tree)."""
    repo = github.add_repo("demo-org", "hub-image")
    work = template_commit(tmp_path / "hub-image-work", author="t", message="v1")
    git(work, "remote", "add", "origin", str(repo.bare))  # pushed straight to the emulator's store
    git(work, "push", "-q", "origin", "main")
    return github.clone_url(repo), work


def test_an_installed_hub_image_records_its_source_and_update_just_works_after_an_upgrade(served, tmp_path, github):
    url, work = served
    a = git(work, "rev-parse", "HEAD").strip()
    site_a = pip_install(tmp_path / "site-a", url, a)
    assert json.loads((site_a / "hub_image" / "_source.json").read_text()) == {"url": url, "commit": a}
    version = installed(site_a, "--version", cwd=tmp_path)
    assert version.returncode == 0 and f"source: {url}\ncommit: {a}\n" in version.stdout

    made = installed(site_a, "new", "made", "--no-input", "image_name=acme/stats", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "note:" not in made.stderr  # a portable source: nothing to warn about
    project = tmp_path / "made" / "my-hub-image"
    state = json.loads((project / ".cruft.json").read_text())
    assert (state["template"], state["commit"]) == (url, a)
    assert f"pip install git+{url}@{a}\n" in (project / "README.md").read_text()
    no_local_paths(project, tmp_path, TEMPLATE, site_a)
    first_commit(project)
    env_file = project / "environment.yml"
    env_file.write_text(env_file.read_text() + "  - numpy\n")
    git(project, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qam", "our packages")

    # The template improves; the hub admin upgrades hub-image and runs update, no flags.
    b = second_commit(work)
    git(work, "push", "-q", "origin", "main")
    site_b = pip_install(tmp_path / "site-b", url, b)
    result = installed(site_b, "update", str(project), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"template: {url}" in result.stdout
    assert "# A large image may need longer: raise it then." in (project / ".github/workflows/build.yaml").read_text()
    assert COMMENT not in (project / ".github/workflows/build.yaml").read_text()
    assert "  - numpy\n" in env_file.read_text()  # the admin's edit kept
    assert json.loads((project / ".cruft.json").read_text())["commit"] == b
    assert f"pip install git+{url}@{b}\n" in (project / "README.md").read_text()
    no_local_paths(project, tmp_path, TEMPLATE, site_a, site_b)
    git(project, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qam", "update")
    check = subprocess.run([tool("cruft"), "check"], cwd=project, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr


def test_update_says_what_to_do_when_the_template_cannot_be_fetched(served, tmp_path, github):
    url, work = served
    a = git(work, "rev-parse", "HEAD").strip()
    site = pip_install(tmp_path / "site", url, a)
    assert installed(site, "new", "made", "--no-input", cwd=tmp_path).returncode == 0
    project = tmp_path / "made" / "my-hub-image"
    first_commit(project)
    github.stop()  # offline
    result = installed(site, "update", str(project), cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: cannot fetch the template from {url} (") and line.endswith(
        "connect to the network (or check the URL) and run again"
    )
    github.start()  # the fixture stops it again


def test_a_fleet_run_by_an_installed_hub_image_records_its_source(served, tmp_path, github, fleet_env):
    url, work = served
    a = git(work, "rev-parse", "HEAD").strip()
    site = pip_install(tmp_path / "site", url, a)
    manifest = tmp_path / "fleet.yaml"
    manifest.write_text("owner: demo-org\nimages:\n  - repo_name: climate-image\n    image_name: demo-org/climate\n")
    env = {k: v for k, v in fleet_env.items() if k != "HUB_IMAGE_TEMPLATE_DIR"}
    result = installed(site, "fleet", "apply", "--json", str(manifest), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert by_repo(result)["climate-image"]["status"] == "done"
    clone = tmp_path / "climate-image"
    git(tmp_path, "clone", "-q", github.clone_url(github.repo("demo-org/climate-image")), str(clone))
    state = json.loads((clone / ".cruft.json").read_text())
    assert (state["template"], state["commit"]) == (url, a)
    no_local_paths(clone, tmp_path, TEMPLATE, site)


def test_a_release_build_from_a_tag_passes_the_release_workflows_own_check(tmp_path):
    """The release workflow's steps, run as its runner runs them: the sdist and the wheel
    built from a tagged checkout of this repository, and the workflow's check script."""
    workflow = YAML(typ="safe").load((TEMPLATE / ".github/workflows/release.yaml").read_text())
    steps = {s["name"]: s for s in workflow["jobs"]["build"]["steps"]}
    assert steps["Check out the tag, with the history the version is read from"]["with"]["fetch-depth"] == 0
    build = steps["Build the sdist, and the wheel from it"]["run"]
    assert "python -m build\n" in build
    check = steps["Check that the wheel carries the template, its source and its commit"]["run"]
    script = check.split("<<'PY'\n", 1)[1].rsplit("PY\n", 1)[0]
    checkout = template_commit(tmp_path / "hub-image", author="t", message="release")
    git(checkout, "remote", "add", "origin", "https://github.com/acme/hub-image")
    git(checkout, "tag", "v1.2.0")
    subprocess.run([sys.executable, "-m", "build", "--no-isolation"], cwd=checkout, check=True, capture_output=True, timeout=300)
    (wheel,) = (checkout / "dist").glob("hub_image-1.2.0-*.whl")
    site = tmp_path / "site-packages"
    zipfile.ZipFile(wheel).extractall(site)
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "PYTHONSAFEPATH": "1",
        "EXPECTED_URL": "https://github.com/acme/hub-image",
        "GITHUB_SHA": git(checkout, "rev-parse", "HEAD").strip(),
        "GITHUB_REF_NAME": "v1.2.0",
    }
    done = subprocess.run([sys.executable, "-"], input=script, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"hub-image 1.2.0 from https://github.com/acme/hub-image at {env['GITHUB_SHA']}"
    # The wheel was built from the sdist, which carried the record (no git there).
    with tarfile.open(next((checkout / "dist").glob("*.tar.gz"))) as sdist:
        assert "hub_image-1.2.0/src/hub_image/_source.json" in sdist.getnames()


def test_the_real_cruft_updates_a_repo_made_by_an_installed_hub_image(served, tmp_path):
    url, work = served
    a = git(work, "rev-parse", "HEAD").strip()
    site = pip_install(tmp_path / "site", url, a)
    assert installed(site, "new", "made", "--no-input", "image_name=acme/stats", cwd=tmp_path).returncode == 0
    project = first_commit(tmp_path / "made" / "my-hub-image")
    b = second_commit(work)
    git(work, "push", "-q", "origin", "main")
    stale = subprocess.run([tool("cruft"), "check"], cwd=project, capture_output=True, text=True, timeout=120)
    assert stale.returncode != 0 and "out of date" in (stale.stdout + stale.stderr).lower()
    updated = subprocess.run(
        [tool("cruft"), "update", "--skip-apply-ask"], cwd=project, capture_output=True, text=True, timeout=300
    )
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert json.loads((project / ".cruft.json").read_text())["commit"] == b
    assert "# A large image may need longer: raise it then." in (project / ".github/workflows/build.yaml").read_text()
    assert f"pip install git+{url}@{b}\n" in (project / "README.md").read_text()  # the same line hub-image writes
