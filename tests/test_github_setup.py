"""A hub admin lets cookiecutter (or `hub-image github`) set up GitHub: against the local
emulator, which holds real git repositories and decrypts the secrets it receives."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from github_emulator.server import GitHubEmulator

TOKEN = "ghp_TESTTOKENdo-not-leak-0123456789"
SENTINEL = "quay-robot-SENTINEL-7f3a9c"
ROBOT = "demo-org+builder"


@pytest.fixture
def github(tmp_path: Path):
    emu = GitHubEmulator(tmp_path / "github")
    emu.start()
    emu.add_user("alice", TOKEN, scopes=["repo", "workflow"])
    emu.add_org("demo-org", members=["alice"])
    emu.add_user("carol")
    yield emu
    emu.stop()
    assert emu.violations == [], "requests or responses outside GitHub's OpenAPI description"


@pytest.fixture
def gh_env(cc_env, github, tmp_path: Path) -> dict:
    temp = tmp_path / "tmp"
    temp.mkdir()
    return dict(
        cc_env,
        GITHUB_API_URL=github.url,
        GITHUB_TOKEN=TOKEN,
        QUAY_USERNAME=ROBOT,
        QUAY_PASSWORD=SENTINEL,
        HUB_IMAGE_SECONDS_BETWEEN_REQUESTS="0",
        HUB_IMAGE_SECONDS_BETWEEN_WRITES="0",
        HUB_IMAGE_SECONDARY_RATE_WAIT="1",
        TMPDIR=str(temp),
    )


def generate(run_cookiecutter, env, **answers):
    answers = {"repo_name": "climate-image", "image_name": "demo-org/climate-image", **answers}
    return run_cookiecutter(answers, env=env)


def git_clone(url: str, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", url, str(dest)], check=True)
    return dest


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file() and ".git" not in p.parts}


@pytest.mark.parametrize("owner", ["demo-org", "alice"])
def test_create_makes_the_repo_pushes_main_and_sets_secrets(run_cookiecutter, gh_env, github, tmp_path, owner):
    result = generate(run_cookiecutter, gh_env, github_setup="create", github_owner=owner, description="Climate lab image")
    assert result.returncode == 0, result.stderr
    project = tmp_path / "out" / "climate-image"
    repo = github.repo(f"{owner}/climate-image")
    assert repo is not None and repo.description == "Climate lab image" and not repo.private
    assert repo.secrets == {"QUAY_USERNAME": ROBOT, "QUAY_PASSWORD": SENTINEL}
    create = "POST /orgs/demo-org/repos" if owner == "demo-org" else "POST /user/repos"
    assert github.requests() == [
        "GET /user",
        f"GET /repos/{owner}/climate-image",
        create,
        f"GET /repos/{owner}/climate-image/actions/secrets/public-key",
        f"PUT /repos/{owner}/climate-image/actions/secrets/QUAY_USERNAME",
        f"PUT /repos/{owner}/climate-image/actions/secrets/QUAY_PASSWORD",
    ]
    clone = git_clone(repo.bare.as_uri(), tmp_path / "clone")
    assert tree(clone) == tree(project)
    assert 'IMAGE_NAME: "demo-org/climate-image"' in (clone / ".github/workflows/build.yaml").read_text()
    assert subprocess.run(["git", "-C", str(project), "remote", "get-url", "origin"], capture_output=True, text=True).stdout.strip() == repo.bare.as_uri()
    assert "done: pushed" in result.stdout and "is set up" in result.stdout


def test_private_repo_when_asked(run_cookiecutter, gh_env, github):
    result = generate(run_cookiecutter, gh_env, github_setup="create", github_owner="demo-org", repo_visibility="private")
    assert result.returncode == 0, result.stderr
    assert github.repo("demo-org/climate-image").private


def test_secrets_mode_only_sets_the_secrets_of_the_existing_repo(run_cookiecutter, gh_env, github):
    repo = github.add_repo("demo-org", "climate-image")
    result = generate(run_cookiecutter, gh_env, github_setup="secrets", github_owner="demo-org")
    assert result.returncode == 0, result.stderr
    assert github.requests() == [
        "GET /repos/demo-org/climate-image",
        "GET /repos/demo-org/climate-image/actions/secrets/public-key",
        "PUT /repos/demo-org/climate-image/actions/secrets/QUAY_USERNAME",
        "PUT /repos/demo-org/climate-image/actions/secrets/QUAY_PASSWORD",
    ]
    assert repo.secrets == {"QUAY_USERNAME": ROBOT, "QUAY_PASSWORD": SENTINEL}
    assert subprocess.run(["git", "--git-dir", str(repo.bare), "show-ref"], capture_output=True, text=True).stdout == ""


def test_none_mode_sends_nothing(run_cookiecutter, gh_env, github):
    result = generate(run_cookiecutter, gh_env, github_setup="none", github_owner="demo-org")
    assert result.returncode == 0, result.stderr
    assert github.requests() == []


def test_running_hub_image_github_again_changes_nothing_but_the_secrets(run_cookiecutter, gh_env, github, hub_image, tmp_path):
    assert generate(run_cookiecutter, gh_env, github_setup="create", github_owner="demo-org").returncode == 0
    project = tmp_path / "out" / "climate-image"
    before = subprocess.run(["git", "--git-dir", str(github.repo("demo-org/climate-image").bare), "show-ref"], capture_output=True, text=True).stdout
    github.clear_log()
    result = subprocess.run(["hub-image", "github", str(project), "--owner", "demo-org"], env=gh_env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "adopted it" in result.stdout and "nothing to push" in result.stdout
    assert github.requests() == [
        "GET /user",
        "GET /repos/demo-org/climate-image",
        "GET /repos/demo-org/climate-image/actions/secrets/public-key",
        "PUT /repos/demo-org/climate-image/actions/secrets/QUAY_USERNAME",
        "PUT /repos/demo-org/climate-image/actions/secrets/QUAY_PASSWORD",
    ]
    after = subprocess.run(["git", "--git-dir", str(github.repo("demo-org/climate-image").bare), "show-ref"], capture_output=True, text=True).stdout
    assert after == before
    assert len(github.repos) == 1


def test_an_existing_repo_with_history_is_adopted_never_overwritten(run_cookiecutter, gh_env, github, tmp_path):
    repo = github.add_repo("demo-org", "climate-image", with_commit=True)
    history = subprocess.run(["git", "--git-dir", str(repo.bare), "rev-parse", "main"], capture_output=True, text=True).stdout
    result = generate(run_cookiecutter, gh_env, github_setup="create", github_owner="demo-org")
    assert result.returncode == 0, result.stderr
    assert "already has history, so nothing was pushed" in result.stdout
    assert subprocess.run(["git", "--git-dir", str(repo.bare), "rev-parse", "main"], capture_output=True, text=True).stdout == history
    assert repo.secrets["QUAY_PASSWORD"] == SENTINEL
    assert "POST /orgs/demo-org/repos" not in github.requests()


def test_a_retried_creation_that_meets_already_exists_adopts_the_repo(run_cookiecutter, gh_env, github):
    # The first POST creates the repo but its answer is lost (502); PyGithub retries it.
    github.inject("POST", r"^/orgs/demo-org/repos$", 502, after=True)
    result = generate(run_cookiecutter, gh_env, github_setup="create", github_owner="demo-org")
    assert result.returncode == 0, result.stderr
    assert github.requests().count("POST /orgs/demo-org/repos") == 2
    repo = github.repo("demo-org/climate-image")
    assert repo.secrets["QUAY_USERNAME"] == ROBOT
    assert subprocess.run(["git", "--git-dir", str(repo.bare), "show-ref"], capture_output=True, text=True).stdout


def test_secondary_rate_limit_is_waited_out_and_retried(run_cookiecutter, gh_env, github):
    github.inject("PUT", r"/actions/secrets/QUAY_PASSWORD$", 403, retry_after=1)
    result = generate(run_cookiecutter, gh_env, github_setup="create", github_owner="demo-org")
    assert result.returncode == 0, result.stderr
    assert github.requests().count("PUT /repos/demo-org/climate-image/actions/secrets/QUAY_PASSWORD") == 2
    assert github.repo("demo-org/climate-image").secrets["QUAY_PASSWORD"] == SENTINEL


@pytest.mark.parametrize(
    "drop, answers, message",
    [
        ("GITHUB_TOKEN", {}, "error: github_setup: GITHUB_TOKEN (or GH_TOKEN) is not set"),
        ("QUAY_PASSWORD", {}, "error: github_setup: QUAY_PASSWORD not set and no terminal to ask on"),
        (None, {"github_owner": ""}, "error: github_owner: github_setup=create needs the GitHub owner"),
    ],
)
def test_setup_without_what_it_needs_stops_before_generating(run_cookiecutter, gh_env, github, tmp_path, drop, answers, message):
    env = {k: v for k, v in gh_env.items() if k != drop}
    result = generate(run_cookiecutter, env, **{"github_setup": "create", "github_owner": "demo-org", **answers})
    assert result.returncode != 0
    assert [line for line in result.stderr.splitlines() if line.startswith("error: ")] == [
        next(line for line in result.stderr.splitlines() if line.startswith(message))
    ]
    assert list((tmp_path / "out").iterdir()) == []
    assert github.requests() == []


def test_a_bad_token_keeps_the_project_and_prints_the_resume_command(run_cookiecutter, gh_env, github, tmp_path):
    result = generate(run_cookiecutter, dict(gh_env, GITHUB_TOKEN="ghp_revoked"), github_setup="create", github_owner="demo-org")
    project = tmp_path / "out" / "climate-image"
    assert project.is_dir(), "the generated project must survive a GitHub failure"
    assert "GitHub refused the token (401" in result.stderr
    resume = next(line for line in result.stderr.splitlines() if "Resume with: " in line).split("Resume with: ")[1]
    assert resume.startswith(f"hub-image github {project} --owner demo-org --repo-name climate-image")
    # The printed command, run as printed with a good token, finishes the job.
    done = subprocess.run(resume, shell=True, env=gh_env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert github.repo("demo-org/climate-image").secrets == {"QUAY_USERNAME": ROBOT, "QUAY_PASSWORD": SENTINEL}


@pytest.mark.parametrize(
    "scopes, message",
    [
        (["repo"], "the token lacks the 'workflow' scope"),
        (["public_repo"], "the token lacks the 'workflow' scope"),
        ([], "lacks the 'public_repo' and 'workflow' scopes"),
    ],
)
def test_missing_scopes_are_named_before_anything_is_created(hub_image, gh_env, github, tmp_path, scopes, message):
    github.add_user("dave", "ghp_dave", scopes=scopes)
    project = tmp_path / "p" / "climate-image"
    project.mkdir(parents=True)
    result = subprocess.run(["hub-image", "github", str(project), "--owner", "dave"], env=dict(gh_env, GITHUB_TOKEN="ghp_dave"),
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert message in result.stderr
    assert github.requests() == ["GET /user"]


def test_secrets_on_a_repo_without_admin_rights_say_so(gh_env, github, tmp_path):
    github.add_repo("carol", "climate-image")  # public: alice can see it, not administer it
    project = tmp_path / "climate-image"
    project.mkdir()
    result = subprocess.run(["hub-image", "github", str(project), "--owner", "carol", "--secrets-only"], env=gh_env,
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "no admin rights on carol/climate-image" in result.stderr
    assert "Resume with: hub-image github" in result.stderr and "--secrets-only" in result.stderr


def test_a_forbidden_secret_write_names_the_scope(gh_env, github, tmp_path):
    github.add_repo("demo-org", "climate-image")
    github.inject("PUT", r"/actions/secrets/", 403, headers={"X-Accepted-OAuth-Scopes": "repo"})
    project = tmp_path / "climate-image"
    project.mkdir()
    result = subprocess.run(["hub-image", "github", str(project), "--owner", "demo-org", "--secrets-only"], env=gh_env,
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "setting the registry secrets: the token lacks a scope (403); it needs: repo" in result.stderr


def test_secrets_never_touch_disk_or_output(run_cookiecutter, gh_env, github, tmp_path):
    result = generate(run_cookiecutter, gh_env, github_setup="create", github_owner="demo-org")
    assert result.returncode == 0, result.stderr
    assert github.repo("demo-org/climate-image").secrets["QUAY_PASSWORD"] == SENTINEL  # it was used
    project = tmp_path / "out" / "climate-image"
    assert TOKEN not in (project / ".git" / "config").read_text()
    for secret in (SENTINEL, TOKEN):
        assert secret not in result.stdout + result.stderr
        for where in (tmp_path / "out", tmp_path / "replay", tmp_path / "tmp", tmp_path / "cookiecutters"):
            for path in where.rglob("*") if where.exists() else []:
                if path.is_file():
                    assert secret.encode() not in path.read_bytes(), f"{secret[:8]}… found in {path}"
    # The emulator's own store is the only place that holds it (as GitHub would).
    hooks_left = list((tmp_path / "tmp").glob("*.py"))
    assert hooks_left, "expected cookiecutter's rendered hooks in TMPDIR (the check above read them)"


def test_create_as_a_template_marks_the_repo_for_other_communities(run_cookiecutter, gh_env, github):
    result = generate(run_cookiecutter, gh_env, github_setup="create", github_owner="demo-org", image_name="", is_template="true")
    assert result.returncode == 0, result.stderr
    assert github.repo("demo-org/climate-image").is_template
    assert github.requests()[2:4] == ["POST /orgs/demo-org/repos", "PATCH /repos/demo-org/climate-image"]


def test_hub_image_github_marks_an_adopted_repo_as_template(gh_env, github, tmp_path, run_cookiecutter):
    github.add_repo("demo-org", "climate-image")
    assert generate(run_cookiecutter, gh_env, image_name="").returncode == 0
    project = tmp_path / "out" / "climate-image"
    result = subprocess.run(["hub-image", "github", str(project), "--owner", "demo-org", "--template"], env=gh_env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert github.repo("demo-org/climate-image").is_template
    assert "PATCH /repos/demo-org/climate-image" in github.requests()


def test_an_unreachable_github_keeps_the_project_and_says_so(run_cookiecutter, gh_env, tmp_path):
    result = generate(run_cookiecutter, dict(gh_env, GITHUB_API_URL="http://127.0.0.1:9"), github_setup="create", github_owner="demo-org")
    assert (tmp_path / "out" / "climate-image").is_dir()
    assert "checking the token: could not reach GitHub at http://127.0.0.1:9" in result.stderr
    assert "Resume with: hub-image github" in result.stderr
    assert "Traceback" not in result.stderr


REGISTRY_ANSWERS = {
    "quay.io": {},
    "ghcr.io": {"image_name": "demo-org/climate-image"},
    "docker.io": {},
    "artifact-registry": {"registry_host": "us-central1-docker.pkg.dev/demo-project"},
    "ecr": {"registry_host": "123456789012.dkr.ecr.us-east-1.amazonaws.com"},
    "acr": {"registry_host": "demohub.azurecr.io"},
    "other": {"registry_host": "registry.example.org"},
}


@pytest.mark.parametrize("registry", list(REGISTRY_ANSWERS))
def test_setup_sets_exactly_the_secrets_the_registry_needs(run_cookiecutter, gh_env, github, registry):
    from hub_image import registries

    names = registries.get(registry).secrets
    env = {**gh_env, **{name: f"{name.lower()}-value" for name in names}}
    repo = github.add_repo("demo-org", "climate-image")
    result = generate(run_cookiecutter, env, github_setup="secrets", github_owner="demo-org", registry=registry,
                      **REGISTRY_ANSWERS[registry])
    assert result.returncode == 0, result.stderr
    assert repo.secrets == {name: f"{name.lower()}-value" for name in names}
    if not names:  # ghcr.io: the workflow's own GITHUB_TOKEN; nothing to fetch or set
        assert github.requests() == ["GET /repos/demo-org/climate-image"]


def test_a_terminal_user_is_asked_for_the_password_without_echo(gh_env, github, tmp_path, cc_env):
    import os
    import pty
    import select

    from conftest import TEMPLATE, tool

    env = {k: v for k, v in gh_env.items() if k != "QUAY_PASSWORD"}
    args = [tool("cookiecutter"), "--no-input", str(TEMPLATE), "-o", str(tmp_path / "out"), "repo_name=climate-image",
            "github_owner=demo-org", "github_setup=create", "image_name=demo-org/climate-image"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: cookiecutter on a terminal
        os.execve(args[0], args, env)
    seen, answered = b"", False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"QUAY_PASSWORD (hidden): " in seen:
            os.write(fd, SENTINEL.encode() + b"\n")
            answered = True
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, seen.decode(errors="replace")
    assert answered, seen.decode(errors="replace")
    assert SENTINEL.encode() not in seen  # not echoed
    assert github.repo("demo-org/climate-image").secrets["QUAY_PASSWORD"] == SENTINEL
