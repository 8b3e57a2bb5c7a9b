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


def test_a_project_pushed_with_git_is_cloned_back_as_pushed(emu, tmp_path):
    """hub-image pushes with git itself; the emulator takes it through `git http-backend`."""
    import subprocess

    from hub_image.repo_setup import push_project

    project = tmp_path / "project"
    (project / ".github" / "workflows").mkdir(parents=True)
    (project / ".github" / "workflows" / "build.yaml").write_text("on: push\n")
    (project / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (project / "run.sh").chmod(0o755)
    (project / "README.md").write_text("é ✓\n")
    assert call(emu, "POST", "/orgs/demo-org/repos", {"name": "fresh"})[0] == 201
    repo = emu.repo("demo-org/fresh")
    assert repo is not None
    done = push_project(project, emu.clone_url(repo), TOKEN)
    assert done[-1].startswith("pushed ") and done[-1].endswith(" to main")
    assert any(entry[0] == "push demo-org/fresh" for entry in emu.git_log)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", emu.clone_url(repo), str(clone)], check=True)
    assert (clone / "README.md").read_text() == "é ✓\n" and (clone / "run.sh").stat().st_mode & 0o111
    assert TOKEN not in (project / ".git" / "config").read_text()


def test_a_refused_push_is_one_line_with_githubs_reason(tmp_path):
    """A token without `workflow` may not push workflow files: git's stderr (side-band
    messages and all) comes down to the line that says why."""
    from hub_image.errors import GitError
    from hub_image.repo_setup import push_project

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
        with pytest.raises(GitError) as refused:
            push_project(project, emu.clone_url(repo), "ghp_no_workflow")
        assert str(refused.value) == (
            f"git push to {emu.clone_url(repo)} was refused: refusing to allow an OAuth App to create or update "
            "workflow `.github/workflows/build.yaml` without `workflow` scope"
        )
        assert not list((repo.bare / "refs" / "heads").iterdir())
    finally:
        emu.stop()


def test_a_push_refusal_is_reduced_to_its_reason():
    from hub_image.git import refusal

    protected = (
        "remote: error: GH013: Repository rule violations found for refs/heads/main.\n"
        "remote: - GITHUB PUSH PROTECTION\n"
        "remote:   —————————————————————————————————————————\n"
        "To https://github.com/acme/x.git\n"
        " ! [remote rejected] main -> main (push declined due to repository rule violations)\n"
        "error: failed to push some refs to 'https://github.com/acme/x.git'\n"
    )
    assert refusal(protected) == "push declined due to repository rule violations"
    sso = "remote: The 'acme' organization has enabled or enforced SAML SSO.\nfatal: unable to access 'x': The requested URL returned error: 403\n"
    assert refusal(sso) == "The 'acme' organization has enabled or enforced SAML SSO."
    assert refusal("fatal: unable to access 'x': Could not resolve host: github.com\n") == (
        "fatal: unable to access 'x': Could not resolve host: github.com"
    )
