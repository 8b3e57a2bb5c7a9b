"""With QUAY_API_TOKEN, a hub admin never visits quay.io: the repository, a robot that may
push, and public visibility are set up through Quay's API, and the robot's name and token
go straight into the GitHub secrets. Against the Quay emulator (held to the schemas in
the quay/quay sources) and the GitHub emulator."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import tool
from quay_emulator.server import QuayEmulator

QUAY_TOKEN = "quay-oauth-SENTINEL-5d1e"
ROBOT = "demo-org+climate_image_builder"


@pytest.fixture
def quay():
    emu = QuayEmulator()
    emu.start()
    emu.add_token("alice", QUAY_TOKEN)
    emu.add_org("demo-org", admins=["alice"])
    yield emu
    emu.stop()
    assert emu.violations == [], "requests or answers outside Quay's declared API"


@pytest.fixture
def env(gh_env, quay) -> dict:
    """GitHub setup's environment with a Quay API token instead of registry credentials."""
    env = {k: v for k, v in gh_env.items() if k not in ("QUAY_USERNAME", "QUAY_PASSWORD")}
    return dict(env, QUAY_API_TOKEN=QUAY_TOKEN, QUAY_API_URL=quay.url)


def generate(run_cookiecutter, env, **answers):
    answers = {
        "repo_name": "climate-image",
        "image_name": "demo-org/climate-image",
        "github_setup": "create",
        "github_owner": "demo-org",
        **answers,
    }
    return run_cookiecutter(answers, env=env)


def test_cookiecutter_sets_up_quay_and_puts_the_robot_into_the_github_secrets(run_cookiecutter, env, github, quay, tmp_path):
    result = generate(run_cookiecutter, env)
    assert result.returncode == 0, result.stdout + result.stderr
    repo = quay.repos["demo-org/climate-image"]
    assert repo.public and repo.permissions == {ROBOT: "write"}
    assert quay.writes() == [
        "POST /api/v1/repository",
        f"PUT /api/v1/organization/demo-org/robots/{ROBOT.split('+')[1]}",
        f"PUT /api/v1/repository/demo-org/climate-image/permissions/user/{ROBOT}",
    ]
    assert github.repo("demo-org/climate-image").secrets == {"QUAY_USERNAME": ROBOT, "QUAY_PASSWORD": quay.robots[ROBOT]}
    assert "done: quay.io: create robot demo-org+climate_image_builder" in result.stdout
    # Neither the Quay token nor the robot's token is on disk or in the output.
    for secret in (QUAY_TOKEN, quay.robots[ROBOT]):
        assert secret not in result.stdout + result.stderr
        for where in ("out", "replay", "tmp", "cookiecutters"):
            for path in (tmp_path / where).rglob("*"):
                if path.is_file():
                    assert secret.encode() not in path.read_bytes(), f"{secret[:8]}… in {path}"


def test_running_it_again_changes_nothing_on_quay(run_cookiecutter, env, github, quay, hub_image, tmp_path):
    assert generate(run_cookiecutter, env).returncode == 0
    token = quay.robots[ROBOT]
    quay.log.clear()
    again = subprocess.run(
        [tool("hub-image"), "github", str(tmp_path / "out" / "climate-image")], env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert quay.writes() == [] and quay.robots[ROBOT] == token
    assert github.repo("demo-org/climate-image").secrets["QUAY_PASSWORD"] == token
    assert "done: quay.io: demo-org/climate-image and its robot were ready" in again.stdout


def test_an_existing_private_repository_is_adopted_and_made_public(run_cookiecutter, env, github, quay):
    quay.add_repo("demo-org", "climate-image", public=False)
    result = generate(run_cookiecutter, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert quay.repos["demo-org/climate-image"].public
    assert "POST /api/v1/repository" not in quay.log
    assert "POST /api/v1/repository/demo-org/climate-image/changevisibility" in quay.log


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda q: q.add_token("alice", QUAY_TOKEN, scopes=()), "QUAY_API_TOKEN was refused (401)"),
        (lambda q: q.add_token("alice", QUAY_TOKEN, scopes=("repo:admin", "org:admin")), "give it the 'repo:create' scope"),
        (lambda q: q.add_token("alice", QUAY_TOKEN, scopes=("repo:create", "repo:admin")), "give it the 'org:admin' scope"),
        (lambda q: q.orgs.pop("demo-org"), "the Quay organisation 'demo-org' does not exist"),
        (
            lambda q: (q.add_repo("demo-org", "climate-image"), q.orgs["demo-org"].clear()),
            "quay.io/demo-org/climate-image exists and this Quay token cannot administer it",
        ),
        (lambda q: q.inject("PUT", "/robots/", 503), "creating the robot: the Quay API answered 503; try again later"),
    ],
    ids=["bad-token", "no-repo-create", "no-org-admin", "no-namespace", "taken", "quay-down"],
)
def test_each_quay_error_is_one_line_keeps_the_project_and_prints_the_resume_command(
    run_cookiecutter, env, github, quay, tmp_path, setup, message
):
    if "401" in message:
        quay.tokens.clear()
    else:
        setup(quay)
    result = generate(run_cookiecutter, env)
    assert result.returncode == 0  # the project is kept
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert "Resume with: hub-image github" in result.stderr
    assert (tmp_path / "out" / "climate-image" / ".cruft.json").is_file()
    assert github.repo("demo-org/climate-image") is None  # nothing made on GitHub
    assert QUAY_TOKEN not in result.stdout + result.stderr


def test_without_a_quay_token_the_credentials_come_from_the_environment(run_cookiecutter, env, github, quay):
    env = {k: v for k, v in env.items() if k != "QUAY_API_TOKEN"}
    result = generate(run_cookiecutter, dict(env, QUAY_USERNAME="demo-org+mine", QUAY_PASSWORD="pw"))
    assert result.returncode == 0, result.stderr
    assert quay.log == []
    assert github.repo("demo-org/climate-image").secrets == {"QUAY_USERNAME": "demo-org+mine", "QUAY_PASSWORD": "pw"}


MANIFEST = """\
owner: demo-org
defaults:
  registry: quay.io
images:
  - repo_name: climate-image
    image_name: demo-org/climate-image
  - repo_name: astro-image
    image_name: demo-org/astro-image
"""


def test_a_fleet_sets_up_quay_per_image_and_its_plan_shows_it(env, github, quay, tmp_path):
    manifest = tmp_path / "fleet.yaml"
    manifest.write_text(MANIFEST)

    def fleet(verb: str):
        return subprocess.run(
            [tool("hub-image"), "fleet", verb, "--json", str(manifest)], env=env, capture_output=True, text=True, timeout=300
        )

    plan = fleet("plan")
    assert plan.returncode == 0, plan.stderr
    rows = {r["repo"]: r for r in json.loads(plan.stdout)["images"]}
    assert rows["astro-image"]["actions"] == ["quay", "create", "push", "secrets"]
    assert "create robot demo-org+astro_image_builder" in rows["astro-image"]["detail"]
    assert quay.writes() == []
    applied = fleet("apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    for name in ("climate-image", "astro-image"):
        robot = f"demo-org+{name.replace('-', '_')}_builder"
        assert quay.repos[f"demo-org/{name}"].permissions == {robot: "write"}
        assert github.repo(f"demo-org/{name}").secrets == {"QUAY_USERNAME": robot, "QUAY_PASSWORD": quay.robots[robot]}
    assert QUAY_TOKEN not in applied.stdout + applied.stderr
    quay.log.clear()
    again = fleet("apply")
    assert again.returncode == 0 and quay.writes() == []
    assert {r["status"] for r in json.loads(again.stdout)["images"]} == {"unchanged"}
