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
SCOPES = ("repo:create", "repo:admin", "org:admin")  # without user:admin


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


def test_an_existing_private_repository_stays_private_without_consent(run_cookiecutter, env, github, quay, tmp_path):
    quay.add_repo("demo-org", "climate-image", public=False)
    result = generate(run_cookiecutter, env)
    assert result.returncode == 0  # the project is kept
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "quay.io/demo-org/climate-image is private" in errors[0], result.stderr
    assert "HUB_IMAGE_QUAY_MAKE_PUBLIC=1" in errors[0] and "Resume with: hub-image github" in result.stderr
    assert not quay.repos["demo-org/climate-image"].public and quay.writes() == []
    assert github.repo("demo-org/climate-image") is None
    assert (tmp_path / "out" / "climate-image" / ".cruft.json").is_file()


def test_an_existing_private_repository_is_made_public_with_consent(run_cookiecutter, env, github, quay):
    quay.add_repo("demo-org", "climate-image", public=False)
    result = generate(run_cookiecutter, dict(env, HUB_IMAGE_QUAY_MAKE_PUBLIC="1"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert quay.repos["demo-org/climate-image"].public
    assert "POST /api/v1/repository" not in quay.log
    assert "POST /api/v1/repository/demo-org/climate-image/changevisibility" in quay.log


def test_a_robot_that_can_write_elsewhere_is_refused_and_its_token_never_used(run_cookiecutter, env, github, quay):
    robot = quay.add_robot("demo-org", "climate_image_builder", writes=("climate-image", "payroll"))
    quay.repos["demo-org/climate-image"].public = True
    result = generate(run_cookiecutter, env)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert f"the robot {robot} exists and can also reach demo-org/payroll" in errors[0]
    assert quay.robots[robot] not in result.stdout + result.stderr
    assert github.repo("demo-org/climate-image") is None and quay.writes() == []


def test_a_robot_limited_to_this_repository_is_adopted(run_cookiecutter, env, github, quay):
    robot = quay.add_robot("demo-org", "climate_image_builder", writes=("climate-image",))
    quay.repos["demo-org/climate-image"].public = True
    result = generate(run_cookiecutter, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert quay.writes() == []
    assert github.repo("demo-org/climate-image").secrets == {"QUAY_USERNAME": robot, "QUAY_PASSWORD": quay.robots[robot]}


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
        (
            lambda q: (q.add_robot("demo-org", "climate_image_builder"), q.add_token("alice", QUAY_TOKEN, scopes=SCOPES)),
            "give it the 'user:admin' scope",
        ),
    ],
    ids=["bad-token", "no-repo-create", "no-org-admin", "no-namespace", "taken", "quay-down", "no-user-admin"],
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


def test_a_fleet_makes_a_private_repository_public_only_where_the_manifest_consents(env, github, quay, tmp_path):
    quay.add_repo("demo-org", "climate-image", public=False)
    quay.add_repo("demo-org", "astro-image", public=False)
    manifest = tmp_path / "fleet.yaml"
    manifest.write_text(
        MANIFEST.replace(
            "    image_name: demo-org/astro-image\n", "    image_name: demo-org/astro-image\n    quay_make_public: true\n"
        )
    )
    result = subprocess.run(
        [tool("hub-image"), "fleet", "apply", "--json", str(manifest)], env=env, capture_output=True, text=True, timeout=300
    )
    rows = {r["repo"]: r for r in json.loads(result.stdout)["images"]}
    assert result.returncode == 1 and rows["climate-image"]["status"] == "failed"
    assert "is private" in rows["climate-image"]["detail"] and "HUB_IMAGE_QUAY_MAKE_PUBLIC=1" in rows["climate-image"]["detail"]
    assert rows["astro-image"]["status"] == "done"
    assert quay.repos["demo-org/astro-image"].public and not quay.repos["demo-org/climate-image"].public
