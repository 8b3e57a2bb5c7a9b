"""A security auditor's checks: answers are data on every route, no secret reaches an
image's build context, and zizmor finds nothing in any workflow we ship or generate."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import REGISTRY_HOSTS, TEMPLATE, TOKEN, git, tool
from github_actions import ALL_SECRETS, evaluate, event_context, run_steps

# --- answers are data ------------------------------------------------------------------

MARKER_NAME = "jinja-ran-python"
#: Descriptions that Jinja would evaluate; each must reach the README as typed.
PAYLOADS = [
    "{{ 7*7 }}",
    "Data 8 {{ semester }} hub",
    "{% raw %}x{% endraw %}{{ 7*7 }}",
    "{{ cycler.__init__.__globals__.os.popen('touch " + MARKER_NAME + "').read() }}",
    "{{ cycler.__init__.__globals__.os.environ.QUAY_PASSWORD }}",
    # A file name in the template: rendered as a name, written as a description (one
    # process compiles both, and keeps what it compiled).
    '{% if cookiecutter.image_kind == "Dockerfile" %}Dockerfile{% endif %}',
]
SECRET = "quay-password-never-in-a-file"


def _assert_literal(project: Path, payload: str, cwd: Path) -> None:
    readme = (project / "README.md").read_text()
    assert f"\n{payload}\n" in readme
    assert "\n49\n" not in readme and SECRET not in readme
    assert not list(cwd.rglob(MARKER_NAME)) and not (TEMPLATE / MARKER_NAME).exists()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_cookiecutter_writes_every_answer_literally(run_cookiecutter, cc_env, tmp_path, payload):
    result = run_cookiecutter({"description": payload}, env=dict(cc_env, QUAY_PASSWORD=SECRET), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _assert_literal(tmp_path / "out" / "my-hub-image", payload, tmp_path)
    # The replay file records the answer as given, too.
    (replay,) = (tmp_path / "replay").glob("*.json")
    assert json.loads(replay.read_text())["cookiecutter"]["description"] == payload


def test_the_literal_rule_does_not_touch_the_templates_own_jinja():
    """Only answers are made literal: the template's files, hooks and directory name still
    render (a failure here would show as unrendered Jinja in every generated file)."""
    from jinja2 import Environment

    from hub_image.extension import literal_template, template_sources

    for text in ["{{ 7*7 }}", "plain", "é ✓ \U0001f600 '\"\\ \n{% endraw %}"]:
        assert Environment().from_string(literal_template(text)).render() == text
    sources = template_sources(TEMPLATE)
    assert "{{cookiecutter.repo_name | project_dir}}" in sources
    assert (TEMPLATE / "hooks" / "post_gen_project.py").read_text() in sources


def test_fleet_manifest_values_reach_the_pushed_repo_literally(github, tmp_path, cc_env):
    manifest = tmp_path / "fleet.yaml"
    images = "".join(f"  - repo_name: image-{i}\n    description: {json.dumps(p)}\n" for i, p in enumerate(PAYLOADS))
    manifest.write_text(f"owner: demo-org\nimages:\n{images}")
    env = dict(
        cc_env,
        GITHUB_API_URL=github.url,
        GITHUB_TOKEN=TOKEN,
        QUAY_USERNAME="demo-org+robot",
        QUAY_PASSWORD=SECRET,
        HUB_IMAGE_TEMPLATE_DIR=str(TEMPLATE),
    )
    result = subprocess.run(
        [tool("hub-image"), "fleet", "apply", str(manifest), "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for i, payload in enumerate(PAYLOADS):
        repo = github.repo(f"demo-org/image-{i}")
        assert repo is not None and repo.description == payload
        clone = tmp_path / "clones" / f"image-{i}"
        subprocess.run(["git", "clone", "-q", repo.bare.as_uri(), str(clone)], check=True)
        _assert_literal(clone, payload, tmp_path)
        assert not [p for p in clone.rglob("*") if "{" in p.name], "a file name was written as an answer"


@pytest.mark.parametrize("via", ["event payload", "--description"])
def test_use_this_template_writes_the_description_literally(copy, tmp_path, cc_env, via):
    payload = PAYLOADS[3]
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "repository": {
                    "full_name": "acme/climate-image",
                    "is_template": False,
                    "description": payload if via == "event payload" else "x",
                }
            }
        )
    )
    env = dict(cc_env, GITHUB_REPOSITORY="acme/climate-image", GITHUB_EVENT_PATH=str(event), QUAY_PASSWORD=SECRET)
    args = [tool("hub-image"), "from-template", "."] + (["--description", payload] if via == "--description" else [])
    result = subprocess.run(args, cwd=copy, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    _assert_literal(copy, payload, tmp_path)


# --- no secret in the build context --------------------------------------------------------

SENTINEL = "SENTINEL-9f2c"
SECRETS = {name: f"{SENTINEL}-{name}" for name in ALL_SECRETS}
GITHUB_TOKEN = f"ghs_{SENTINEL}_workflow_token"


def run_workspace_steps(workflow: dict, workspace: Path, ctx: dict, tmp_path: Path) -> None:
    """Do to ``workspace`` what the steps before the build do on a runner, as each action
    documents it: actions/checkout keeps the token in .git/config unless
    ``persist-credentials: false``; docker/login-action and amazon-ecr-login write
    ``$DOCKER_CONFIG/config.json`` (GitHub does not expand ``$HOME`` in ``env:``, so a
    relative path lands in the checkout); google-github-actions/auth writes a credentials
    file into the workspace unless ``create_credentials_file: false``.  ``run:`` steps are
    run for real with bash in the workspace, with stand-ins for ``sudo`` and ``aws``."""
    stubs = tmp_path / "stubs"
    stubs.mkdir(exist_ok=True)
    (stubs / "sudo").write_text("#!/bin/sh\nexit 0\n")
    (stubs / "aws").write_text(f"#!/bin/sh\necho {SENTINEL}-ecr-password\n")
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    for step, step_ctx, inputs in run_steps(workflow, ctx, workspace):
        if "__failed__" in step:
            pytest.fail(step["__failed__"])
        uses = step.get("uses", "")
        env = {k: evaluate(v, step_ctx) for k, v in {**step_ctx.get("env", {}), **(step.get("env") or {})}.items()}
        if "repo2docker-action" in uses:
            return
        if inputs is None:
            continue
        if uses.startswith("actions/checkout@"):
            git(workspace, "init", "-q", "-b", "main")
            git(workspace, "remote", "add", "origin", "https://github.com/acme/climate-image")
            if inputs.get("persist-credentials", "true") != "false":
                basic = base64.b64encode(f"x-access-token:{GITHUB_TOKEN}".encode()).decode()
                git(workspace, "config", "--local", "http.https://github.com/.extraheader", f"AUTHORIZATION: basic {basic}")
        elif uses.startswith(("docker/login-action@", "aws-actions/amazon-ecr-login@")):
            config = Path(env.get("DOCKER_CONFIG") or runner_temp / "home/.docker")
            config = config if config.is_absolute() else workspace / config
            config.mkdir(parents=True, exist_ok=True)
            auth = base64.b64encode(f"{inputs.get('username', 'AWS')}:{inputs.get('password', SENTINEL)}".encode()).decode()
            (config / "config.json").write_text(json.dumps({"auths": {"registry": {"auth": auth}}}))
        elif uses.startswith("google-github-actions/auth@"):
            if inputs.get("create_credentials_file", "true") != "false":
                (workspace / "gha-creds-0123456789abcdef.json").write_text(json.dumps({"token": f"{SENTINEL}-oidc"}))
        elif "run" in step:
            outputs = runner_temp / "output"
            result = subprocess.run(
                ["bash", "-e", "-c", step["run"]],
                cwd=workspace,
                capture_output=True,
                text=True,
                env={
                    **env,
                    "PATH": f"{stubs}:{os.environ['PATH']}",
                    "GITHUB_OUTPUT": str(outputs),
                    "GITHUB_STEP_SUMMARY": str(runner_temp / "summary"),
                    "HOME": str(runner_temp),
                },
            )
            assert result.returncode == 0, result.stderr


def build_context(workspace: Path) -> dict[str, bytes]:
    """The files repo2docker sends to the container engine to build ``workspace``: repo2docker
    itself (as a library) assembles it, with a stand-in engine that keeps what it is sent."""
    from repo2docker.__main__ import make_r2d
    from repo2docker.engine import ContainerEngine

    sent: dict[str, bytes] = {}

    class KeepingEngine(ContainerEngine):
        string_output = False

        def build(self, *, fileobj=None, path="", **kwargs):
            if fileobj is not None:  # repo2docker's own Dockerfile, with the repo under src/
                with tarfile.open(fileobj=fileobj) as tar:
                    for member in tar.getmembers():
                        if member.isfile():
                            data = tar.extractfile(member)
                            assert data is not None
                            sent[member.name] = data.read()
            else:  # the repo's Dockerfile: the engine is sent the directory itself
                for p in Path(path).rglob("*"):
                    if p.is_file():
                        sent[p.relative_to(path).as_posix()] = p.read_bytes()
            yield {"stream": "built"}

        def inspect_image(self, image):
            return None

        def run(self, *args, **kwargs):
            raise AssertionError("not run")

        def push(self, image_spec):
            raise AssertionError("not pushed")

    r2d = make_r2d(
        [
            "--no-run",
            "--user-id",
            "1000",
            "--user-name",
            "jovyan",
            "--target-repo-dir",
            "/srv/repo",
            "--image-name",
            "test/image:sha",
            str(workspace),
        ]
    )
    r2d.get_engine = lambda: KeepingEngine(parent=r2d)
    cwd = os.getcwd()
    try:
        r2d.build()
    finally:
        os.chdir(cwd)
    assert sent, "repo2docker sent nothing to build"
    return sent


def secrets_in(context: dict[str, bytes]) -> list[str]:
    """Where a sentinel secret or the workflow token is in ``context``, also base64-encoded."""
    found = []
    for name, data in context.items():
        candidates = [data] + [_b64(tok) for tok in re.findall(rb"[A-Za-z0-9+/=]{16,}", data)]
        if any(SENTINEL.encode() in c for c in candidates):
            found.append(name)
    return found


def _b64(token: bytes) -> bytes:
    try:
        return base64.b64decode(token + b"=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return b""


@pytest.mark.parametrize("kind", ["environment.yml", "Dockerfile"])
@pytest.mark.parametrize("registry", list(REGISTRY_HOSTS))
def test_no_secret_reaches_the_images_build_context(run_cookiecutter, tmp_path, registry, kind):
    result = run_cookiecutter(
        {
            "repo_name": "climate-image",
            "registry": registry,
            "registry_host": REGISTRY_HOSTS[registry],
            "image_kind": kind,
            "image_name": "acme/climate-image",
            "push_on_pr": "true",
        }
    )
    assert result.returncode == 0, result.stderr
    workspace = tmp_path / "out" / "climate-image"
    workflow = YAML(typ="safe").load((workspace / ".github/workflows/build.yaml").read_text())
    variables = {"GCP_WORKLOAD_IDENTITY_PROVIDER": "projects/1/x", "GCP_SERVICE_ACCOUNT": "sa@x", "AWS_ROLE_ARN": "arn:x"}
    for ctx in (
        event_context("push", "acme/climate-image", secrets=SECRETS),
        event_context("pr", "acme/climate-image", secrets=SECRETS, variables=variables),
    ):
        ctx["secrets"]["GITHUB_TOKEN"] = GITHUB_TOKEN
        shutil.rmtree(workspace / ".git", ignore_errors=True)
        run_workspace_steps(workflow, workspace, ctx, tmp_path)
        context = build_context(workspace)
        assert "src/.git/config" in context or ".git/config" in context  # the checkout's git directory goes in
        assert secrets_in(context) == []


def test_the_check_finds_what_yesterdays_workflow_leaked(tmp_path):
    """The same check on the workflow this project generated before: a persisted checkout
    token and a `DOCKER_CONFIG: $HOME/.docker` login both end up in the build context."""
    workspace = tmp_path / "repo"
    workspace.mkdir()
    (workspace / "environment.yml").write_text("dependencies:\n  - python=3.12\n")
    old = YAML(typ="safe").load("""
jobs:
  build-and-push:
    env:
      DOCKER_CONFIG: $HOME/.docker
    steps:
      - uses: actions/checkout@v5
      - uses: docker/login-action@v3
        with:
          registry: us-central1-docker.pkg.dev
          username: _json_key
          password: ${{ secrets.GCP_SA_KEY }}
      - uses: jupyterhub/repo2docker-action@master
        with:
          NO_PUSH: "false"
""")
    ctx = event_context("push", "acme/climate-image", secrets=SECRETS)
    ctx["secrets"]["GITHUB_TOKEN"] = GITHUB_TOKEN
    run_workspace_steps(old, workspace, ctx, tmp_path)
    assert sorted(secrets_in(build_context(workspace))) == ["src/$HOME/.docker/config.json", "src/.git/config"]


# --- zizmor ----------------------------------------------------------------------------------


def test_zizmor_finds_nothing_in_this_repositorys_workflows():
    paths = [TEMPLATE / ".github/workflows", TEMPLATE / "examples/fleet/.github/workflows"]
    result = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", *map(str, paths)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "No findings" in result.stdout, result.stdout + result.stderr
