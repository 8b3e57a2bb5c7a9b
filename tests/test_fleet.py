"""An infrastructure team bootstraps and keeps many hub image repos from one manifest:
`hub-image fleet plan` and `apply`, against the local GitHub emulator."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import TEMPLATE, by_repo, fleet_runner, tool

MANIFEST = """\
owner: demo-org            # GitHub user or organisation
defaults:                  # any cookiecutter.json variable
  registry: quay.io
  jupyterhub_version: "5.3"
images:
  - repo_name: climate-hub-image
    image_name: demo-org/climate-hub-image
  - repo_name: astro-hub-image
    image_name: demo-org/astro-hub-image
    push_on_pr: true
  - repo_name: bio-hub-image
    image_name: demo-org/bio-hub-image
"""
REPOS = ["climate-hub-image", "astro-hub-image", "bio-hub-image"]
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def fleet(fleet_env, tmp_path: Path):
    manifest = tmp_path / "fleet.yaml"
    manifest.write_text(MANIFEST)
    return fleet_runner(fleet_env, manifest)


def started(fleet, verb: str, *options: str, **env: str) -> subprocess.Popen:
    """`hub-image fleet VERB OPTIONS MANIFEST` started as a user starts it, to be interrupted."""
    command = [tool("hub-image"), "fleet", verb, *options, str(fleet.manifest)]
    return subprocess.Popen(command, env={**fleet.env, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def writes(github) -> list[str]:
    return [r for r in github.requests() if r.startswith(WRITES)]


def test_plan_reads_only_and_says_what_apply_would_do(fleet, github):
    result = fleet("plan", "--json")
    assert result.returncode == 0, result.stderr
    rows = by_repo(result)
    assert {r: rows[r]["actions"] for r in REPOS} == {r: ["create", "push", "secrets"] for r in REPOS}
    assert writes(github) == []
    assert sorted(github.requests()) == sorted(["GET /user"] + [f"GET /repos/demo-org/{r}" for r in REPOS])


def test_apply_creates_pushes_and_configures_every_image_then_does_nothing(fleet, github, tmp_path):
    result = fleet("apply", "--json")
    assert result.returncode == 0, result.stderr
    assert {r: row["status"] for r, row in by_repo(result).items()} == {r: "done" for r in REPOS}
    for name in REPOS:
        repo = github.repo(f"demo-org/{name}")
        assert repo.secrets == {"QUAY_USERNAME": "demo-org+builder", "QUAY_PASSWORD": "fleet-secret"}
        clone = tmp_path / "clones" / name
        subprocess.run(["git", "clone", "-q", repo.bare.as_uri(), str(clone)], check=True)
        build = (clone / ".github/workflows/build.yaml").read_text()
        assert f'IMAGE_NAME: "demo-org/{name}"' in build
        assert ("head.repo.full_name" in build) == (name == "astro-hub-image")
        assert "jupyterhub-singleuser>=5.3,<5.4" in (clone / "environment.yml").read_text()
    # The fewest requests: one GET /user for the run, then per image a read, the
    # creation, the public key and one PUT per secret (the push is git, not the API).
    per_image = {r: [q for q in github.requests() if f"/{r}" in q or q.endswith(f"/{r}")] for r in REPOS}
    assert github.requests().count("GET /user") == 1
    for name, reqs in per_image.items():
        assert sorted(reqs) == sorted(
            [
                f"GET /repos/demo-org/{name}",
                f"GET /repos/demo-org/{name}/actions/secrets/public-key",
                f"PUT /repos/demo-org/{name}/actions/secrets/QUAY_USERNAME",
                f"PUT /repos/demo-org/{name}/actions/secrets/QUAY_PASSWORD",
            ]
        )
    assert github.requests().count("POST /orgs/demo-org/repos") == 3

    github.clear_log()
    again = fleet("apply")
    assert again.returncode == 0, again.stderr
    assert "nothing was changed" in again.stdout
    assert writes(github) == []


def test_a_changed_manifest_commits_only_the_toggle_lines(fleet, github, tmp_path):
    assert fleet("apply").returncode == 0
    github.clear_log()
    changed = MANIFEST.replace("    push_on_pr: true\n", "")
    result = fleet("apply", "--json", text=changed)
    assert result.returncode == 0, result.stderr
    assert by_repo(result)["astro-hub-image"]["actions"] == ["configure"]
    assert writes(github) == ["PUT /repos/demo-org/astro-hub-image/contents/.github/workflows/build.yaml"]
    clone = tmp_path / "astro"
    subprocess.run(["git", "clone", "-q", github.repo("demo-org/astro-hub-image").bare.as_uri(), str(clone)], check=True)
    diff = subprocess.run(["git", "diff", "-U0", "HEAD~1", "HEAD"], cwd=clone, capture_output=True, text=True).stdout
    changed_lines = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed_lines == [
        "-          NO_PUSH: \"${{ github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name != github.repository }}\"",
        "+          NO_PUSH: \"${{ github.event_name == 'pull_request' }}\"",
    ]


def test_org_secrets_are_shared_by_exactly_the_fleets_repos(fleet, github):
    github.add_repo("demo-org", "unrelated")
    result = fleet("apply", "--json", text=MANIFEST + "org_secrets: true\n")
    assert result.returncode == 0, result.stderr
    org = github.accounts["demo-org"]
    ids = {github.repo(f"demo-org/{r}").id for r in REPOS}
    assert {n: (s["value"], s["visibility"], s["repos"]) for n, s in org.secrets.items()} == {
        "QUAY_USERNAME": ("demo-org+builder", "selected", ids),
        "QUAY_PASSWORD": ("fleet-secret", "selected", ids),
    }
    assert all(github.repo(f"demo-org/{r}").secrets == {} for r in REPOS)
    assert len([w for w in writes(github) if "secrets" in w]) == 2  # one PUT per secret, for all repos
    github.clear_log()
    more = MANIFEST + "  - repo_name: geo-hub-image\n    image_name: demo-org/geo-hub-image\norg_secrets: true\n"
    result = fleet("apply", "--json", text=more)
    assert result.returncode == 0, result.stderr
    assert github.repo("demo-org/geo-hub-image").id in org.secrets["QUAY_PASSWORD"]["repos"]
    assert sorted(w for w in writes(github) if "secrets" in w) == [
        "PUT /orgs/demo-org/actions/secrets/QUAY_PASSWORD/repositories",
        "PUT /orgs/demo-org/actions/secrets/QUAY_USERNAME/repositories",
    ]
    github.clear_log()
    assert fleet("apply", text=more).returncode == 0
    assert writes(github) == []


@pytest.mark.parametrize(
    "text, message",
    [
        (
            MANIFEST.replace("image_name: demo-org/astro-hub-image", "image_name: Demo/Astro:latest"),
            ":9: images[1] (astro-hub-image).image_name: 'Demo/Astro:latest' has a tag",
        ),
        (MANIFEST + "  - repo_name: climate-hub-image\n", ":13: images[3] (climate-hub-image).repo_name: also used at line 6"),
        (
            MANIFEST.replace("  registry: quay.io\n", "  registry: quay.io\n  colour: blue\n"),
            ":4: defaults.colour: not a template variable",
        ),
        (
            MANIFEST.replace("  registry: quay.io\n", "  registry: quay.io\n  QUAY_PASSWORD: hunter2\n"),
            ":4: defaults.QUAY_PASSWORD: secrets never go in the manifest",
        ),
        (MANIFEST.replace("owner: demo-org ", "owner: -bad- "), ":1: owner: '-bad-' is not a GitHub user"),
        ("owner: demo-org\nimages: [\n", ": not valid YAML"),
        ("owner: demo-org\nimages: []\n", ":2: images must be a non-empty list"),
        (MANIFEST.replace("  registry: quay.io\n", "  registry: acr\n"), "registry_host: registry acr needs its host"),
        (MANIFEST + 'org_secrets: "false"\n', ':13: org_secrets: "false" is not a YAML boolean; write true or false'),
        (
            MANIFEST.replace("    push_on_pr: true", "    push_on_pr: 'yes'"),
            ":10: images[1] (astro-hub-image).push_on_pr: 'yes' is not a YAML boolean",
        ),
        (
            MANIFEST.replace('  jupyterhub_version: "5.3"', "  jupyterhub_version: 5.10"),
            ':4: defaults.jupyterhub_version: 5.10 is a number to YAML (5.10 would become 5.1); quote it: "5.10"',
        ),
        (
            MANIFEST.replace("image_name: demo-org/bio-hub-image", "image_name: {name: bio}"),
            ":12: images[2] (bio-hub-image).image_name: expected text, got a mapping",
        ),
        (
            MANIFEST.replace("image_name: demo-org/bio-hub-image", "image_name: demo-org/climate-hub-image"),
            "images (bio-hub-image).image_name: 'quay.io/demo-org/climate-hub-image' is also the image at line 6",
        ),
        (
            "owner: demo-org\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nimages: [{repo_name: x}]\n",
            ":2: YAML anchors and aliases (&, *) are not allowed in a manifest",
        ),
    ],
)
def test_an_invalid_manifest_names_the_image_and_key_and_applies_nothing(fleet, github, text, message):
    result = fleet("apply", text=text)
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert all(line.startswith("error: ") for line in result.stderr.strip().splitlines())
    assert github.requests() == []


def test_missing_registry_credentials_stop_apply_before_any_write(fleet, github):
    result = fleet("apply", env_extra={"QUAY_PASSWORD": ""})
    assert result.returncode != 0
    assert "QUAY_PASSWORD not set" in result.stderr
    assert writes(github) == []


def test_one_image_failing_does_not_stop_the_others(fleet, github):
    github.inject("PUT", r"/astro-hub-image/actions/secrets/", 403, headers={"X-Accepted-OAuth-Scopes": "repo"})
    result = fleet("apply", "--json")
    assert result.returncode == 1
    rows = by_repo(result)
    assert rows["astro-hub-image"]["status"] == "failed"
    assert "the token lacks a scope (403); it needs: repo" in rows["astro-hub-image"]["detail"]
    assert rows["climate-hub-image"]["status"] == rows["bio-hub-image"]["status"] == "done"
    # Without its secrets the project is not pushed (its first build could not log in);
    # the next run finishes the failed one, and only it.
    assert not [e for e, _ in github.git_log if e == "push demo-org/astro-hub-image"]
    github.clear_log()
    result = fleet("apply", "--json")
    assert result.returncode == 0, result.stderr
    assert by_repo(result)["astro-hub-image"]["actions"] == ["push", "secrets"]
    assert [r for r in by_repo(result) if by_repo(result)[r]["status"] == "done"] == ["astro-hub-image"]
    assert github.repo("demo-org/astro-hub-image").secrets["QUAY_PASSWORD"] == "fleet-secret"


@pytest.mark.parametrize("org_secrets", [False, True])
def test_every_first_build_has_the_registry_secrets_to_log_in(fleet, github, org_secrets):
    """A push starts the image's first build, which logs in with the registry secrets:
    each repository's push comes after its secrets (or the organisation's) are set."""
    result = fleet("apply", "--json", text=MANIFEST + f"org_secrets: {str(org_secrets).lower()}\n")
    assert result.returncode == 0, result.stderr
    log = github.requests()
    for name in REPOS:
        (pushed_at,) = [at for event, at in github.git_log if event == f"push demo-org/{name}"]
        where = "/orgs/demo-org/actions/secrets/" if org_secrets else f"/repos/demo-org/{name}/actions/secrets/"
        set_at = [i for i, r in enumerate(log) if r.startswith(f"PUT {where}QUAY_")]
        assert len(set_at) == 2 and max(set_at) < pushed_at, (name, set_at, pushed_at)


def test_server_errors_on_reads_fail_that_image_only(fleet, github):
    github.inject("GET", r"^/repos/demo-org/bio-hub-image$", 502, times=20)
    result = fleet("apply", "--json")
    assert result.returncode == 1
    rows = by_repo(result)
    assert rows["bio-hub-image"]["status"] == "failed"
    assert "GitHub kept answering 502, retries used up" in rows["bio-hub-image"]["detail"]
    assert github.repo("demo-org/bio-hub-image") is None
    assert github.repo("demo-org/climate-hub-image") is not None


def test_ctrl_c_stops_at_once_and_the_next_run_finishes(fleet, github):
    # The first creation is held in flight by the emulator: Ctrl-C arrives mid-request,
    # whatever the machine's speed.
    arrived, release = github.hold("POST", r"^/orgs/demo-org/repos$")
    proc = started(fleet, "apply", "--workers", "1")
    try:
        assert arrived.wait(120), "the first creation never arrived"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)  # it does not wait for the held request
    finally:
        release.set()
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert f"Resume with: hub-image fleet apply {fleet.manifest}" in err
    assert github.requests().count("POST /orgs/demo-org/repos") == 1  # nothing started after Ctrl-C
    deadline = time.monotonic() + 60
    while github.repo("demo-org/climate-hub-image") is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the held request completes on the server, as GitHub's would
    result = fleet("apply", "--json")
    assert result.returncode == 0, result.stderr
    assert sorted(github.repos) == sorted(f"demo-org/{r}" for r in REPOS)
    for name in REPOS:
        repo = github.repo(f"demo-org/{name}")
        assert repo.secrets == {"QUAY_USERNAME": "demo-org+builder", "QUAY_PASSWORD": "fleet-secret"}
        log = subprocess.run(
            ["git", "--git-dir", str(repo.bare), "log", "--oneline", "main"], capture_output=True, text=True
        ).stdout
        assert len(log.splitlines()) == 1  # pushed once, nothing duplicated
    assert github.requests().count("POST /orgs/demo-org/repos") == 3  # each created once, over both runs


@pytest.mark.parametrize(
    ("verb", "held", "said"),
    [
        ("plan", r"^/repos/demo-org/climate-hub-image$", "Interrupted; nothing was changed. Run again: hub-image fleet plan"),
        ("update", r"^/repos/demo-org/climate-hub-image$", "Interrupted: a branch already pushed is reused. Resume with: "),
    ],
)
def test_ctrl_c_during_plan_or_update_ends_within_seconds(fleet, github, verb, held, said):
    # A read is held in flight by the emulator when Ctrl-C arrives: the run must not wait
    # for it (or for the other threads) beyond its grace of a few seconds.
    arrived, release = github.hold("GET", held)
    proc = started(fleet, verb)
    try:
        assert arrived.wait(120), "the read never arrived"
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, err = proc.communicate(timeout=60)
        ended = time.monotonic() - sent
    finally:
        release.set()
    assert proc.returncode == 130 and said in err and "Traceback" not in err, err
    assert ended < 10  # the grace is 3 s; not the 15-30 s of waiting for every thread
    assert writes(github) == []


def test_a_long_retry_after_stops_the_run_and_says_when_to_resume(fleet, github):
    github.inject("PUT", r"/actions/secrets/QUAY_PASSWORD$", 403, retry_after=3600)
    result = fleet("apply")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error: stopped: " in result.stderr and "asks to wait 3600 s" in result.stderr
    assert "run again after" in result.stderr and "(or pass --wait)" in result.stderr
    assert f"Resume with: hub-image fleet apply {fleet.manifest}" in result.stderr
    assert "climate-hub-image" in result.stdout  # the table of what was done
    github.clear_log()
    again = fleet("apply", "--json")
    assert again.returncode == 0, again.stderr
    assert all(github.repo(f"demo-org/{r}").secrets["QUAY_PASSWORD"] == "fleet-secret" for r in REPOS)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"GITHUB_TOKEN": "ghp_not_a_token"}, "Error: checking the token: GitHub refused the token (401"),
        ({"GITHUB_API_URL": "http://127.0.0.1:9"}, "Error: checking the token: could not reach GitHub at http://127.0.0.1:9"),
    ],
)
def test_a_bad_token_or_an_unreachable_api_is_one_line(fleet, github, env, message):
    result = fleet("apply", env_extra=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and message in result.stderr, result.stderr
    assert writes(github) == []


def test_a_failed_organisation_secret_write_is_one_line_after_the_table(fleet, github):
    github.inject("PUT", r"^/orgs/demo-org/actions/secrets/", 422, times=10)
    result = fleet("apply", text=MANIFEST + "org_secrets: true\n")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "setting the organisation secrets: GitHub rejected it (422" in result.stdout
    assert all(r in result.stdout for r in REPOS)  # the per-image table is printed
    assert f"resume with: hub-image fleet apply {fleet.manifest}" in result.stderr


def test_a_run_beyond_the_hourly_limit_says_so_before_it_starts(fleet, github):
    result = fleet("apply", env_extra={"HUB_IMAGE_WRITES_PER_HOUR": "5"})
    assert result.returncode == 1
    assert "this run needs 9 writes, more than GitHub's 5 an hour: it would take about 1.8 h; run it with --wait" in result.stderr
    assert writes(github) == []


def test_apply_stays_under_githubs_write_limit(fleet, github, tmp_path, monkeypatch):
    # The emulator's "minute" is one second with 12 writes allowed; the fleet runs here,
    # in this process, with its pacer told the same: 16 images x 3 writes must be paced.
    from hub_image.fleet import Fleet
    from hub_image.pacing import Pacer

    github.writes_per_minute = 12
    github.time_scale = 1 / 60
    images = "".join(f"  - repo_name: hub-{i}\n    image_name: demo-org/hub-{i}\n" for i in range(16))
    fleet.manifest.write_text("owner: demo-org\nimages:\n" + images)
    for name, value in fleet.env.items():
        monkeypatch.setenv(name, value)
    runner = Fleet.load(fleet.manifest, str(TEMPLATE), pacer=Pacer([(12, 1.0), (500, 60.0)]))
    started = time.monotonic()
    plans = runner.run_apply()
    elapsed = time.monotonic() - started
    assert [p.status for p in plans] == ["done"] * 16, [p.detail for p in plans]
    assert len(github.repos) == 16
    assert len(writes(github)) == 48
    assert github.rate_limit_violations == 0
    assert github.max_in_flight_seen <= 48  # far below GitHub's 100 concurrent requests
    assert elapsed >= (48 / 12 - 1)  # the limit, not luck, set the pace
    for i in (0, 15):
        clone = tmp_path / f"hub-{i}"
        subprocess.run(["git", "clone", "-q", github.repo(f"demo-org/hub-{i}").bare.as_uri(), str(clone)], check=True)
        assert f'IMAGE_NAME: "demo-org/hub-{i}"' in (clone / ".github" / "workflows" / "build.yaml").read_text()


def test_org_secrets_reach_the_first_minutes_repositories_before_the_rest_are_created(fleet, github, monkeypatch):
    # A 1 s "minute" of 6 writes, told to the emulator and the pacer: 6 repositories and 2
    # organisation secrets take 2 minutes, and so do 2 rounds (4 + 2, then 2 + 2): the
    # first 4 are given the secrets and pushed in the first minute.
    from hub_image.fleet import Fleet
    from hub_image.pacing import Pacer

    github.writes_per_minute = 6
    github.time_scale = 1 / 60
    images = "".join(f"  - repo_name: hub-{i}\n    image_name: demo-org/hub-{i}\n" for i in range(6))
    fleet.manifest.write_text("owner: demo-org\norg_secrets: true\nimages:\n" + images)
    for name, value in fleet.env.items():
        monkeypatch.setenv(name, value)
    runner = Fleet.load(fleet.manifest, str(TEMPLATE), pacer=Pacer([(6, 1.0), (500, 60.0)]))
    plans = runner.run_apply()
    assert [p.status for p in plans] == ["done"] * 6, [p.detail for p in plans]
    assert runner.org_changes == [
        "create organisation secret QUAY_PASSWORD for 4 repositories",
        "create organisation secret QUAY_USERNAME for 4 repositories",
        "give organisation secret QUAY_PASSWORD to 2 more repositories",
        "give organisation secret QUAY_USERNAME to 2 more repositories",
    ]
    assert github.rate_limit_violations == 0
    org = github.accounts["demo-org"]
    ids = {github.repo(f"demo-org/hub-{i}").id for i in range(6)}
    assert all(org.secrets[n]["repos"] == ids for n in ("QUAY_PASSWORD", "QUAY_USERNAME"))
    log = github.requests()
    created = [i for i, r in enumerate(log) if r == "POST /orgs/demo-org/repos"]
    first = [i for i, r in enumerate(log) if re.fullmatch(r"PUT /orgs/demo-org/actions/secrets/QUAY_\w+", r)]
    more = [i for i, r in enumerate(log) if re.fullmatch(r"PUT /orgs/demo-org/actions/secrets/QUAY_\w+/repositories", r)]
    assert len(created) == 6 and len(first) == 2 and len(more) == 2
    assert sorted(created)[3] < min(first) and max(first) < sorted(created)[4]  # 4 repositories, their secrets, the rest
    pushed = {event.removeprefix("push demo-org/"): at for event, at in github.git_log if event.startswith("push ")}
    assert all(pushed[f"hub-{i}"] > max(first) for i in range(4))
    assert all(pushed[f"hub-{i}"] > max(more) for i in (4, 5))


def test_ctrl_c_while_the_second_round_waits_for_githubs_next_minute_exits_and_a_rerun_finishes(fleet, github):
    # 4 writes a minute: 2 repositories and the 2 organisation secrets fill the first; the
    # other 2 repositories wait for the next minute, and Ctrl-C comes during that wait.
    images = "".join(f"  - repo_name: hub-{i}\n    image_name: demo-org/hub-{i}\n" for i in range(4))
    fleet.manifest.write_text("owner: demo-org\norg_secrets: true\nimages:\n" + images)
    proc = started(fleet, "apply", HUB_IMAGE_WRITES_PER_MINUTE="4")
    said: list[str] = []
    try:
        assert proc.stderr is not None
        while not any("for GitHub's rate limits" in line for line in said):
            line = proc.stderr.readline()
            assert line, f"the run ended without waiting: {said}"
            said.append(line)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert f"Resume with: hub-image fleet apply {fleet.manifest}" in err
    assert github.requests().count("POST /orgs/demo-org/repos") == 2  # the second round never started
    result = fleet("apply", "--json")
    assert result.returncode == 0, result.stderr
    ids = {github.repo(f"demo-org/hub-{i}").id for i in range(4)}
    assert all(github.accounts["demo-org"].secrets[n]["repos"] == ids for n in ("QUAY_PASSWORD", "QUAY_USERNAME"))
    for i in range(4):
        log = subprocess.run(
            ["git", "--git-dir", str(github.repo(f"demo-org/hub-{i}").bare), "log", "--format=%s", "main"],
            capture_output=True,
            text=True,
        )
        assert log.stdout.splitlines() == ["Generated by hub-image"], (i, log.stderr)


def test_the_example_fleet_repository_is_valid(fleet, github):
    example = TEMPLATE / "examples" / "fleet"
    result = fleet("plan", "--json", text=(example / "fleet.yaml").read_text())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["organisation_secrets"] == [
        "create organisation secret QUAY_PASSWORD for 2 repositories",
        "create organisation secret QUAY_USERNAME for 2 repositories",
    ]
    check = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(example / ".github/workflows/fleet.yaml")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_example_fleet_workflow_runs_only_a_pinned_template():
    # The job that holds the organisation-admin token installs the template: never from a
    # branch, whose next push would run with that token.
    workflow = YAML(typ="safe").load((TEMPLATE / "examples/fleet/.github/workflows/fleet.yaml").read_text())
    (checkout,) = [s for s in workflow["jobs"]["apply"]["steps"] if s.get("with", {}).get("path") == "hub-image"]
    assert re.fullmatch(r"[0-9a-f]{40}", str(checkout["with"]["ref"]))


def test_deploy_repo_sets_each_repositorys_variable_once_and_follows_the_manifest(fleet, github):
    with_deploy = MANIFEST.replace(
        '  jupyterhub_version: "5.3"\n', '  jupyterhub_version: "5.3"\n  deploy_repo: demo-org/hub-config\n'
    )
    result = fleet("apply", "--json", text=with_deploy)
    assert result.returncode == 0, result.stderr
    assert all("variable" in row["actions"] for row in by_repo(result).values())
    assert {r: github.repo(f"demo-org/{r}").variables for r in REPOS} == {
        r: {"HUB_DEPLOY_REPO": "demo-org/hub-config"} for r in REPOS
    }
    github.clear_log()
    again = fleet("apply", "--json")
    assert again.returncode == 0 and writes(github) == []
    moved = with_deploy.replace(
        "    image_name: demo-org/bio-hub-image\n",
        "    image_name: demo-org/bio-hub-image\n    deploy_repo: demo-org/bio-config\n",
    )
    plan = fleet("plan", "--json", text=moved)
    assert by_repo(plan)["bio-hub-image"]["detail"] == "set variable HUB_DEPLOY_REPO=demo-org/bio-config"
    assert fleet("apply", "--json").returncode == 0
    assert writes(github) == ["PATCH /repos/demo-org/bio-hub-image/actions/variables/HUB_DEPLOY_REPO"]
    assert github.repo("demo-org/bio-hub-image").variables == {"HUB_DEPLOY_REPO": "demo-org/bio-config"}


def test_a_deploy_repo_that_is_not_owner_name_is_refused(fleet, github):
    result = fleet("plan", text=MANIFEST.replace("  registry: quay.io\n", "  registry: quay.io\n  deploy_repo: just-a-name\n"))
    assert result.returncode == 2
    assert "defaults.deploy_repo: just-a-name is not OWNER/NAME" in result.stderr
