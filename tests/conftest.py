from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from github_emulator.server import GitHubEmulator

TEMPLATE = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
UPSTREAM_BUILD = FIXTURES / "upstream" / "2i2c-hub-user-image-template" / ".github" / "workflows" / "build.yaml"
ACTION_YML = FIXTURES / "upstream" / "repo2docker-action" / "action.yml"
BIN = Path(sys.executable).parent
#: A host for every registry (none where the registry has one fixed host).
REGISTRY_HOSTS = {
    "quay.io": "",
    "ghcr.io": "",
    "docker.io": "",
    "artifact-registry": "us-central1-docker.pkg.dev/my-project",
    "ecr": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "acr": "myhub.azurecr.io",
    "other": "registry.example.org:5000",
}


def tool(name: str) -> str:
    """A console script installed beside this Python (the test venv), else on PATH."""
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed; run: pip install '.[test]'")
    return found


@pytest.fixture
def cc_env(tmp_path: Path) -> dict[str, str]:
    """Environment for running cookiecutter with its config, replay and clone dirs in tmp."""
    config = tmp_path / "cookiecutter-config.yaml"
    config.write_text(f"cookiecutters_dir: {tmp_path / 'cookiecutters'}\nreplay_dir: {tmp_path / 'replay'}\n")
    # This venv's commands first, as in an activated venv.
    env = dict(os.environ, COOKIECUTTER_CONFIG=str(config), PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return env


@pytest.fixture
def run_cookiecutter(tmp_path: Path, cc_env):
    """Run the `cookiecutter` command as a user would, with --no-input and answers."""

    def run(
        answers: dict[str, str] | None = None,
        out: Path | None = None,
        env: dict | None = None,
        template: str = str(TEMPLATE),
        cwd: Path | None = None,
    ):
        out = out or tmp_path / "out"
        out.mkdir(exist_ok=True)
        args = [tool("cookiecutter"), "--no-input", template, "--output-dir", str(out)]
        args += [f"{k}={v}" for k, v in (answers or {}).items()]
        return subprocess.run(args, capture_output=True, text=True, env=env or cc_env, cwd=cwd, timeout=120)

    return run


@pytest.fixture
def hub_image(tmp_path: Path):
    """Run the `hub-image` command as a user would."""

    def run(*args: str, cwd: Path | None = None):
        return subprocess.run([tool("hub-image"), *args], capture_output=True, text=True, cwd=cwd or tmp_path, timeout=60)

    return run


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def tracked_template_files() -> list[str]:
    """What a copy of this repository holds: its tracked files (and new, unignored ones)."""
    out = git(TEMPLATE, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return sorted({p for p in out.split("\0") if p and (TEMPLATE / p).is_file()})


def template_commit(dest: Path, author: str = "GitHub", message: str = "Initial commit") -> Path:
    """A git repository at ``dest`` holding the template's files in one commit on main."""
    for rel in tracked_template_files():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(TEMPLATE / rel, dest / rel)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "-c", f"user.name={author}", "-c", "user.email=noreply@github.com", "commit", "-qm", message)
    return dest


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A fresh repository made from the template's files, as GitHub makes it: one commit
    on main, pushed to a bare `origin`."""
    work = template_commit(tmp_path / "climate-image")
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(work, "remote", "add", "origin", origin.as_uri())
    git(work, "push", "-q", "origin", "main")
    return work


#: The token of alice, the emulator's user: in tests, a secret that must never leak.
TOKEN = "ghp_TESTTOKENdo-not-leak-0123456789"


@pytest.fixture
def github(tmp_path: Path):
    """A GitHub emulator: alice (a token with repo, workflow and admin:org), her
    organisation demo-org, and carol.  Fails the test on any request or response outside
    GitHub's OpenAPI description, and on any rate-limit violation."""
    emu = GitHubEmulator(tmp_path / "github")
    emu.start()
    emu.add_user("alice", TOKEN, scopes=["repo", "workflow", "admin:org"])
    emu.add_org("demo-org", members=["alice"])
    emu.add_user("carol")
    yield emu
    emu.stop()
    assert emu.violations == [], "requests or responses outside GitHub's OpenAPI description"
    assert emu.rate_limit_violations == 0


def tree(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (not .git) and its bytes, by its POSIX path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
