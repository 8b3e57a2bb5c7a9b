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
