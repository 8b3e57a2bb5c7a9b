"""The emulator itself holds to GitHub's OpenAPI description and its limits, so that a
test passing against it means something."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path

import pytest

from github_emulator.server import GitHubEmulator
from github_emulator.spec import Spec

TOKEN = "ghp_emulator"


@pytest.fixture
def emu(tmp_path: Path):
    e = GitHubEmulator(tmp_path / "gh", writes_per_minute=2, max_concurrent=3)
    e.start()
    e.add_user("alice", TOKEN)
    e.add_org("demo-org", ["alice"])
    yield e
    e.stop()


def call(emu, method: str, path: str, body=None, token=TOKEN):
    req = urllib.request.Request(
        emu.url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_a_request_body_outside_the_spec_is_a_violation(emu):
    emu.add_repo("demo-org", "img")
    call(emu, "PUT", "/repos/demo-org/img/actions/secrets/X", {"encrypted_value": "not base64!"})
    assert any("key_id" in v or "does not match" in v for v in emu.violations), emu.violations


def test_an_operation_github_does_not_have_is_a_violation(emu):
    status, _, _ = call(emu, "POST", "/repos/demo-org/img/make-it-so", {})
    assert status == 404
    assert emu.violations == ["POST /repos/demo-org/img/make-it-so: not an operation of GitHub's API (or not in the subset)"]


def test_a_response_missing_a_required_field_is_caught():
    spec = Spec()
    op = spec.operation("GET", "/repos/a/b")
    assert op is not None
    good = spec.instance(spec.schema("full-repository"))
    assert spec.response_errors(op, 200, good) == []
    del good["clone_url"]
    assert "'clone_url' is a required property" in spec.response_errors(op, 200, good)[0]


def test_unknown_token_gets_401(emu):
    status, _, body = call(emu, "GET", "/user", token="nope")
    assert status == 401 and json.loads(body)["message"] == "Bad credentials"


def test_content_creating_requests_over_the_limit_get_403_and_retry_after(emu):
    statuses = [call(emu, "POST", "/orgs/demo-org/repos", {"name": f"r{i}"})[0] for i in range(3)]
    assert statuses == [201, 201, 403]
    status, headers, _ = call(emu, "POST", "/orgs/demo-org/repos", {"name": "r9"})
    assert status == 403 and int(headers["retry-after"]) >= 1
    assert emu.rate_limit_violations == 2


def test_too_many_concurrent_requests_are_refused(emu):
    emu.latency = 0.3
    results = []
    threads = [threading.Thread(target=lambda: results.append(call(emu, "GET", "/user")[0])) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 200, 200, 403, 403]
    assert emu.rate_limit_violations == 2


def test_a_first_push_kept_without_git_is_a_repository_git_accepts(emu, tmp_path):
    """The emulator takes a new repository's first push (a pack of whole objects) itself;
    what it keeps must be what `git receive-pack` would keep: fsck-clean, indexed, and
    cloned over HTTP as pushed.  A second push to it goes through git again."""
    import subprocess

    from hub_image import git

    project = tmp_path / "project"
    (project / ".github" / "workflows").mkdir(parents=True)
    (project / ".github" / "workflows" / "build.yaml").write_text("on: push\n")
    (project / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (project / "run.sh").chmod(0o755)
    (project / "README.md").write_text("é ✓\n")
    assert call(emu, "POST", "/orgs/demo-org/repos", {"name": "fresh"})[0] == 201
    repo = emu.repo("demo-org/fresh")
    assert repo is not None
    commit = git.first_push(project, emu.clone_url(repo), TOKEN)

    def run(*args: str, cwd: Path = repo.bare) -> str:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout

    assert ("push demo-org/fresh", 1) in emu.git_log
    assert run("rev-parse", "refs/heads/main").strip() == commit
    run("fsck", "--strict", "--no-dangling")
    (index,) = (repo.bare / "objects" / "pack").glob("*.idx")
    assert run("verify-pack", "-v", str(index)).rstrip().endswith(": ok")
    clone = tmp_path / "clone"
    run("clone", "-q", emu.clone_url(repo), str(clone), cwd=tmp_path)
    assert (clone / "README.md").read_text() == "é ✓\n" and (clone / "run.sh").stat().st_mode & 0o111
    assert run("ls-tree", "-r", "--name-only", "HEAD", cwd=clone).split() == [
        ".github/workflows/build.yaml",
        "README.md",
        "run.sh",
    ]
    with pytest.raises(Exception, match="already has history"):
        git.first_push(project, emu.clone_url(repo), TOKEN)


def test_a_first_push_without_the_workflow_scope_is_still_refused_by_gits_hook(tmp_path):
    """A token without `workflow` is not taken in-process: git's pre-receive hook refuses it."""
    from hub_image import git
    from hub_image.errors import GitError

    emu = GitHubEmulator(tmp_path / "gh")
    emu.start()
    try:
        emu.add_user("bob", "ghp_no_workflow", scopes=["repo"])
        assert call(emu, "POST", "/user/repos", {"name": "fresh"}, token="ghp_no_workflow")[0] == 201
        project = tmp_path / "project"
        (project / ".github" / "workflows").mkdir(parents=True)
        (project / ".github" / "workflows" / "build.yaml").write_text("on: push\n")
        repo = emu.repo("bob/fresh")
        assert repo is not None
        with pytest.raises(GitError, match="ng refs/heads/main pre-receive hook declined"):
            git.first_push(project, emu.clone_url(repo), "ghp_no_workflow")
        assert not list((repo.bare / "refs" / "heads").iterdir())
    finally:
        emu.stop()
