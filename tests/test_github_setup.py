"""A hub admin lets cookiecutter (or `hub-image github`) set up GitHub: against the local
emulator, which holds real git repositories and decrypts the secrets it receives."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROBOT, SENTINEL, TOKEN, tree

#: A service account's JSON key: several lines, as Google hands it out.
JSON_KEY = '{\n  "type": "service_account",\n  "project_id": "my-project",\n  "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n"\n}\n'


def generate(run_cookiecutter, env, **answers):
    answers = {"repo_name": "climate-image", "image_name": "demo-org/climate-image", **answers}
    return run_cookiecutter(answers, env=env)


def git_clone(url: str, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", url, str(dest)], check=True)
    return dest


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
    assert subprocess.run(
        ["git", "-C", str(project), "remote", "get-url", "origin"], capture_output=True, text=True
    ).stdout.strip() == github.clone_url(repo)
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
    before = subprocess.run(
        ["git", "--git-dir", str(github.repo("demo-org/climate-image").bare), "show-ref"], capture_output=True, text=True
    ).stdout
    github.clear_log()
    result = subprocess.run(
        ["hub-image", "github", str(project), "--owner", "demo-org"], env=gh_env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "adopted it" in result.stdout and "nothing to push" in result.stdout
    assert github.requests() == [
        "GET /user",
        "GET /repos/demo-org/climate-image",
        "GET /repos/demo-org/climate-image/actions/secrets/public-key",
        "PUT /repos/demo-org/climate-image/actions/secrets/QUAY_USERNAME",
        "PUT /repos/demo-org/climate-image/actions/secrets/QUAY_PASSWORD",
    ]
    after = subprocess.run(
        ["git", "--git-dir", str(github.repo("demo-org/climate-image").bare), "show-ref"], capture_output=True, text=True
    ).stdout
    assert after == before
    assert len(github.repos) == 1


def test_an_existing_repo_with_history_is_adopted_never_overwritten(run_cookiecutter, gh_env, github, tmp_path):
    repo = github.add_repo("demo-org", "climate-image", with_commit=True)
    history = subprocess.run(["git", "--git-dir", str(repo.bare), "rev-parse", "main"], capture_output=True, text=True).stdout
    result = generate(run_cookiecutter, gh_env, github_setup="create", github_owner="demo-org")
    assert result.returncode == 0, result.stderr
    assert "already has history, so nothing was pushed" in result.stdout
    assert (
        subprocess.run(["git", "--git-dir", str(repo.bare), "rev-parse", "main"], capture_output=True, text=True).stdout
        == history
    )
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
    result = subprocess.run(
        ["hub-image", "github", str(project), "--owner", "dave"],
        env=dict(gh_env, GITHUB_TOKEN="ghp_dave"),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert message in result.stderr
    assert github.requests() == ["GET /user"]


def test_secrets_on_a_repo_without_admin_rights_say_so(gh_env, github, tmp_path):
    github.add_repo("carol", "climate-image")  # public: alice can see it, not administer it
    project = tmp_path / "climate-image"
    project.mkdir()
    result = subprocess.run(
        ["hub-image", "github", str(project), "--owner", "carol", "--secrets-only"], env=gh_env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "no admin rights on carol/climate-image" in result.stderr
    assert "Resume with: hub-image github" in result.stderr and "--secrets-only" in result.stderr


def test_a_forbidden_secret_write_names_the_scope(gh_env, github, tmp_path):
    github.add_repo("demo-org", "climate-image")
    github.inject("PUT", r"/actions/secrets/", 403, headers={"X-Accepted-OAuth-Scopes": "repo"})
    project = tmp_path / "climate-image"
    project.mkdir()
    result = subprocess.run(
        ["hub-image", "github", str(project), "--owner", "demo-org", "--secrets-only"], env=gh_env, capture_output=True, text=True
    )
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
    result = subprocess.run(
        ["hub-image", "github", str(project), "--owner", "demo-org", "--template"], env=gh_env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert github.repo("demo-org/climate-image").is_template
    assert "PATCH /repos/demo-org/climate-image" in github.requests()


def test_an_unreachable_github_keeps_the_project_and_says_so(run_cookiecutter, gh_env, tmp_path):
    result = generate(
        run_cookiecutter, dict(gh_env, GITHUB_API_URL="http://127.0.0.1:9"), github_setup="create", github_owner="demo-org"
    )
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
    values = {name: JSON_KEY if name == "GCP_SA_KEY" else f"{name.lower()}-value" for name in names}
    env = {**gh_env, **values}
    repo = github.add_repo("demo-org", "climate-image")
    result = generate(
        run_cookiecutter, env, github_setup="secrets", github_owner="demo-org", registry=registry, **REGISTRY_ANSWERS[registry]
    )
    assert result.returncode == 0, result.stderr
    assert repo.secrets == values
    if not names:  # ghcr.io: the workflow's own GITHUB_TOKEN; nothing to fetch or set
        assert github.requests() == ["GET /repos/demo-org/climate-image"]


def test_a_terminal_user_is_asked_for_the_password_without_echo(gh_env, github, tmp_path, cc_env):
    import os
    import pty
    import select

    from conftest import TEMPLATE, tool

    env = {k: v for k, v in gh_env.items() if k not in ("QUAY_USERNAME", "QUAY_PASSWORD")}
    args = [
        tool("cookiecutter"),
        "--no-input",
        str(TEMPLATE),
        "-o",
        str(tmp_path / "out"),
        "repo_name=climate-image",
        "github_owner=demo-org",
        "github_setup=create",
        "image_name=demo-org/climate-image",
    ]
    pid, fd = pty.fork()
    if pid == 0:  # the child: cookiecutter on a terminal
        os.execve(args[0], args, env)
    seen, answered, named = b"", False, False
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
        if not named and b"QUAY_USERNAME: " in seen:
            os.write(fd, ROBOT.encode() + b"\n")
            named = True
        if not answered and b"QUAY_PASSWORD (hidden): " in seen:
            os.write(fd, SENTINEL.encode() + b"\n")
            answered = True
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, seen.decode(errors="replace")
    assert answered, seen.decode(errors="replace")
    assert SENTINEL.encode() not in seen  # the password is not echoed
    assert seen.count(ROBOT.encode()) >= 1  # the user name is: a typo can be seen
    assert github.repo("demo-org/climate-image").secrets == {"QUAY_USERNAME": ROBOT, "QUAY_PASSWORD": SENTINEL}


def _hub_image(env: dict, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    from conftest import tool

    return subprocess.run([tool("hub-image"), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_hub_image_github_takes_the_repository_from_origin(run_cookiecutter, gh_env, github, tmp_path):
    assert generate(run_cookiecutter, gh_env, github_setup="create", github_owner="demo-org").returncode == 0
    project = tmp_path / "out" / "climate-image"
    github.repo("demo-org/climate-image").secrets.clear()
    result = _hub_image(gh_env, "github", str(project), "--secrets-only")  # no --owner: origin says
    assert result.returncode == 0, result.stderr
    assert github.repo("demo-org/climate-image").secrets == {"QUAY_USERNAME": ROBOT, "QUAY_PASSWORD": SENTINEL}
    github.clear_log()
    refused = _hub_image(gh_env, "github", str(project), "--owner", "alice")
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert "--owner alice disagrees with origin (" in refused.stderr and "which is demo-org/climate-image" in refused.stderr
    assert github.requests() == [] and "alice/climate-image" not in github.repos


def test_without_origin_or_recorded_answers_the_owner_is_needed(run_cookiecutter, gh_env, github, tmp_path):
    assert generate(run_cookiecutter, gh_env).returncode == 0
    result = _hub_image(gh_env, "github", str(tmp_path / "out" / "climate-image"))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "--owner: this repo has no GitHub origin and no recorded answers" in result.stderr
    assert github.requests() == []


def test_an_origin_elsewhere_is_never_rewritten_and_nothing_is_created(run_cookiecutter, gh_env, github, tmp_path):
    assert generate(run_cookiecutter, gh_env).returncode == 0
    project = tmp_path / "out" / "climate-image"
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project, check=True)
    subprocess.run(["git", "remote", "add", "origin", "https://gitlab.example/climate/image.git"], cwd=project, check=True)
    result = _hub_image(gh_env, "github", str(project), "--owner", "demo-org")
    assert result.returncode == 1
    assert "origin is https://gitlab.example/climate/image.git, not demo-org/climate-image" in result.stderr
    assert "Resume with: hub-image github" in result.stderr and "Traceback" not in result.stderr
    assert github.repo("demo-org/climate-image") is None
    origin = subprocess.run(["git", "remote", "get-url", "origin"], cwd=project, capture_output=True, text=True).stdout.strip()
    assert origin == "https://gitlab.example/climate/image.git"


def test_secrets_are_set_before_the_first_push_over_https_with_the_token(run_cookiecutter, gh_env, github):
    assert generate(run_cookiecutter, gh_env, github_setup="create", github_owner="demo-org").returncode == 0
    requests = github.requests()
    (push,) = [(event, before) for event, before in github.git_log if event.startswith("push")]
    assert push[0] == "push demo-org/climate-image"
    secret_puts = [i for i, r in enumerate(requests) if r.startswith("PUT /repos/demo-org/climate-image/actions/secrets/")]
    assert len(secret_puts) == 2 and max(secret_puts) < push[1]  # both secrets before the push


def test_the_emulator_refuses_a_push_without_the_token(github, tmp_path):
    """What makes the test above meaningful: the git endpoint checks the token."""
    github.add_repo("demo-org", "locked")
    work = tmp_path / "work"
    work.mkdir()
    for args in (
        ["init", "-q", "-b", "main"],
        ["-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "--allow-empty", "-m", "x"],
    ):
        subprocess.run(["git", *args], cwd=work, check=True)
    url = f"{github.url}/demo-org/locked.git"
    result = subprocess.run(
        ["git", "push", "-q", url, "main"],
        cwd=work,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "GIT_TERMINAL_PROMPT": "0", "HOME": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "refused push demo-org/locked" in [event for event, _ in github.git_log]


def test_a_json_key_is_read_whole_from_a_file_and_a_first_line_is_refused(run_cookiecutter, gh_env, github, tmp_path):
    answers = {"registry": "artifact-registry", "registry_host": "us-central1-docker.pkg.dev/my-project"}
    assert generate(run_cookiecutter, gh_env, **answers).returncode == 0
    project = tmp_path / "out" / "climate-image"
    github.add_repo("demo-org", "climate-image")
    key = tmp_path / "key.json"
    key.write_text(JSON_KEY)
    result = _hub_image({**gh_env, "GCP_SA_KEY_FILE": str(key)}, "github", str(project), "--owner", "demo-org", "--secrets-only")
    assert result.returncode == 0, result.stderr
    assert github.repo("demo-org/climate-image").secrets == {"GCP_SA_KEY": JSON_KEY}  # every line of it
    pasted = _hub_image({**gh_env, "GCP_SA_KEY": "{"}, "github", str(project), "--owner", "demo-org", "--secrets-only")
    assert pasted.returncode == 1
    assert (
        "GCP_SA_KEY is not a whole JSON key: it looks like the first line of a pasted key; give the key file with "
        "GCP_SA_KEY_FILE=path/to/key.json" in pasted.stderr
    )


def test_messages_use_the_clis_words(run_cookiecutter, gh_env, github, tmp_path):
    assert generate(run_cookiecutter, gh_env).returncode == 0
    result = _hub_image(gh_env, "github", str(tmp_path / "out" / "climate-image"), "--owner", "demo-org", "--secrets-only")
    assert result.returncode == 1
    assert "demo-org/climate-image does not exist on GitHub; create it first, or run without --secrets-only" in result.stderr
    assert "github_setup" not in result.stderr
