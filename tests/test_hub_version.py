"""A hub admin follows the hub's JupyterHub version: `hub-image configure
--jupyterhub-version` / `--hub-url` change the series everywhere in one edit, and the
generated weekly workflow opens, updates and closes one issue while hub and image differ."""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from conftest import tree


@pytest.fixture
def hub():
    """A stand-in for a hub's public API: `GET /hub/api/` answers its version."""
    state: dict[str, Any] = {"version": "6.1.1", "asked": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            state["asked"] += 1
            if self.path != "/hub/api/":
                self.send_error(404)
                return
            data = json.dumps({"version": state["version"]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def _generate(run_cookiecutter, tmp_path, **answers) -> Path:
    result = run_cookiecutter({"repo_name": "stats-image", **answers})
    assert result.returncode == 0, result.stderr
    return tmp_path / "out" / "stats-image"


@pytest.mark.parametrize("kind", ["environment.yml", "Dockerfile"])
def test_a_new_series_changes_every_place_and_nothing_else(run_cookiecutter, hub_image, tmp_path, kind):
    project = _generate(run_cookiecutter, tmp_path, image_kind=kind)
    before = tree(project)
    result = hub_image("configure", str(project), "--jupyterhub-version", "6.1.1")
    assert result.returncode == 0, result.stderr
    assert "JupyterHub 5.5.x -> 6.1.x" in result.stdout
    after = tree(project)
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {kind, "image-tests/test_hub_ready.py", "README.md", ".cruft.json"}
    pin = "jupyterhub-singleuser>=6.1,<6.2" if kind == "environment.yml" else "'jupyterhub>=6.1,<6.2'"
    assert pin in after[kind].decode() and "(6.1.x)" in after[kind].decode()
    assert 'JUPYTERHUB_SERIES = "6.1"' in after["image-tests/test_hub_ready.py"].decode()
    for name in changed:  # one line per place, nothing else
        lines = zip(before[name].decode().splitlines(), after[name].decode().splitlines(), strict=True)
        assert all(a == b or a.replace("5.5", "6.1").replace("5.6", "6.2") == b for a, b in lines)
    # The result is what the template renders for 6.1 in the first place.
    fresh = run_cookiecutter(
        {"repo_name": "stats-image", "image_kind": kind, "jupyterhub_version": "6.1"}, out=tmp_path / "fresh"
    )
    assert fresh.returncode == 0, fresh.stderr
    assert tree(tmp_path / "fresh" / "stats-image") == after
    again = hub_image("configure", str(project), "--jupyterhub-version", "6.1")
    assert again.returncode == 0 and "6.1.x -> 6.1.x: unchanged" in again.stdout


def test_the_hubs_own_version_is_read_from_its_public_api(run_cookiecutter, hub_image, tmp_path, hub):
    project = _generate(run_cookiecutter, tmp_path)
    result = hub_image("configure", str(project), "--hub-url", hub["url"] + "/hub/")
    assert result.returncode == 0, result.stderr
    assert f"(the hub at {hub['url']}/hub/ runs 6.1.1)" in result.stdout
    assert "jupyterhub-singleuser>=6.1,<6.2" in (project / "environment.yml").read_text()
    unreachable = hub_image("configure", str(project), "--hub-url", "http://127.0.0.1:9")
    assert unreachable.returncode == 1 and len(unreachable.stderr.strip().splitlines()) == 1
    assert "could not ask http://127.0.0.1:9/hub/api/ for its version" in unreachable.stderr


def test_a_hand_edited_pin_is_refused_and_nothing_changes(run_cookiecutter, hub_image, tmp_path):
    project = _generate(run_cookiecutter, tmp_path)
    env = project / "environment.yml"
    env.write_text(env.read_text().replace("jupyterhub-singleuser>=5.5,<5.6", "jupyterhub-singleuser=5.5.3"))
    before = tree(project)
    result = hub_image("configure", str(project), "--jupyterhub-version", "6.1")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "the jupyterhub-singleuser pin in environment.yml" in result.stderr and "nothing was changed" in result.stderr
    assert tree(project) == before


# --- the weekly check in the generated repo ---------------------------------------------------


def _run_check(project: Path, hub_url: str, tmp_path: Path, open_issue: str = "", status: int = 0) -> list[list[str]]:
    """Run the workflow's script as the runner would, with `gh` recording what it is asked."""
    workflow = YAML(typ="safe").load((project / ".github/workflows/hub-version.yaml").read_text())
    job = workflow["jobs"]["check"]
    assert job["if"] == "vars.HUB_URL != ''" and job["permissions"] == {"contents": "read", "issues": "write"}
    script = job["steps"][-1]["run"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "gh-calls.jsonl"
    calls.write_text("")
    gh = bin_dir / "gh"
    gh.write_text(
        "#!/usr/bin/env python3\nimport json, sys\n"
        f"open({str(calls)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"if sys.argv[1:3] == ['issue', 'list']:\n    print({open_issue!r})\n"
    )
    gh.chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HUB_URL": hub_url,
        "GH_TOKEN": "t",
        "GH_REPO": "acme/stats-image",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
    result = subprocess.run(["bash", "-e", "-c", script], cwd=project, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == status, result.stderr
    if status:
        assert result.stderr.strip() == f"The hub at {hub_url} did not answer a version at /hub/api/; nothing was changed."
    return [json.loads(line) for line in calls.read_text().splitlines()]


def test_the_weekly_check_opens_updates_and_closes_one_issue(run_cookiecutter, tmp_path, hub):
    project = _generate(run_cookiecutter, tmp_path)
    opened = _run_check(project, hub["url"], tmp_path)
    assert opened[0][:2] == ["issue", "list"]
    (create,) = [c for c in opened if c[:2] == ["issue", "create"]]
    body = create[create.index("--body") + 1]
    assert create[create.index("--title") + 1] == "The image is not built for the hub's JupyterHub version"
    assert f"The hub at {hub['url']} runs JupyterHub 6.1.1, but this image is built for JupyterHub 5.5.x." in body
    assert "    hub-image configure --jupyterhub-version 6.1\n" in body
    updated = _run_check(project, hub["url"], tmp_path, open_issue="12")
    assert [c[:3] for c in updated[1:]] == [["issue", "edit", "12"]]
    hub["version"] = "5.5.4"
    closed = _run_check(project, hub["url"], tmp_path, open_issue="12")
    assert [c[:3] for c in closed[1:]] == [["issue", "close", "12"]]
    quiet = _run_check(project, hub["url"], tmp_path)
    assert [c[:2] for c in quiet] == [["issue", "list"]]


@pytest.mark.parametrize(
    "answer",
    ["[6.1.1](https://evil.example)", "6.1.1`; rm -rf ~`", "6.1.1\n::set-output name=x::y", "", "6", "6.1.1-beta", ["6.1.1"]],
    ids=["markdown", "backticks", "newline", "empty", "major-only", "suffix", "a-list"],
)
def test_a_hub_that_does_not_answer_a_version_writes_no_issue(run_cookiecutter, tmp_path, hub, answer):
    project = _generate(run_cookiecutter, tmp_path)
    hub["version"] = answer
    calls = _run_check(project, hub["url"], tmp_path, open_issue="12", status=1)
    assert calls == []  # gh was never run: no issue listed, opened, edited or closed
