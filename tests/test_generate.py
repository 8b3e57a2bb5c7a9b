"""A hub admin generates an image repo with cookiecutter: every meaningful combination
of answers is rendered once, and each render is checked with the real tools."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from conftest import ACTION_YML, REGISTRY_HOSTS, TEMPLATE, tool
from github_actions import action_inputs, build_outcome, check_parses, event_context, expressions
from hub_image import registries
from hub_image.workflow import NO_PUSH_MAIN_AND_PRS, NO_PUSH_MAIN_ONLY, round_trip_yaml

COMBOS: dict[str, dict[str, str]] = {
    "defaults": {},
    "configured": {
        "github_owner": "my-org",
        "image_name": "my-org/climate-image",
        "python_version": "3.10",
        "jupyterhub_version": "4.1",
    },
    "host-prefix-and-pr-pushes": {
        "repo_name": "astro-image",
        "image_name": "quay.io/astro-lab/astro-image",
        "push_on_pr": "yes",
        "python_version": "3.14",
        "jupyterhub_version": "5.3.1",
    },
    "awkward-text": {
        "repo_name": "Climate_Lab.image",
        "description": "Climate \"lab\" — ünïcode & <b>data</b> 'quoted' $HOME \\n",
    },
}
# What each combination should produce.
_DEFAULT = dict(
    repo="my-hub-image",
    image="",
    pr=False,
    python="3.13",
    series="5.5",
    upper="5.6",
    host="quay.io",
    registry="quay.io",
    kind="environment.yml",
)
EXPECT: dict[str, dict[str, Any]] = {
    "defaults": _DEFAULT,
    "configured": {**_DEFAULT, "image": "my-org/climate-image", "python": "3.10", "series": "4.1", "upper": "4.2"},
    "host-prefix-and-pr-pushes": {
        **_DEFAULT,
        "repo": "astro-image",
        "image": "astro-lab/astro-image",
        "pr": True,
        "python": "3.14",
        "series": "5.3",
        "upper": "5.4",
    },
    "awkward-text": {**_DEFAULT, "repo": "Climate_Lab.image"},
}
# Every registry with every image flavour, configured to push.
for _registry, _host in REGISTRY_HOSTS.items():
    for _kind in ("environment.yml", "Dockerfile"):
        _name = f"{_registry}-{_kind}"
        COMBOS[_name] = {
            "repo_name": "hub-image",
            "github_owner": "my-org",
            "registry": _registry,
            "registry_host": _host,
            "image_kind": _kind,
            "image_name": "my-org/hub-image",
        }
        EXPECT[_name] = {
            **_DEFAULT,
            "repo": "hub-image",
            "image": "my-org/hub-image",
            "registry": _registry,
            "host": _host or _registry,
            "kind": _kind,
        }
assert set(REGISTRY_HOSTS) == set(registries.CHOICES)


@pytest.fixture(scope="module", params=list(COMBOS))
def generated(request, tmp_path_factory) -> tuple[str, Path]:
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    config = tmp / "config.yaml"
    config.write_text(f"replay_dir: {tmp / 'replay'}\ncookiecutters_dir: {tmp / 'cc'}\n")
    args = [tool("cookiecutter"), "--no-input", str(TEMPLATE), "-o", str(tmp / "out")]
    args += [f"{k}={v}" for k, v in COMBOS[name].items()]
    result = subprocess.run(
        args, capture_output=True, text=True, env=dict(os.environ, COOKIECUTTER_CONFIG=str(config)), timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return name, tmp / "out" / EXPECT[name]["repo"]


def _with(project: Path) -> dict:
    data = YAML(typ="safe").load((project / ".github/workflows/build.yaml").read_text())
    (step,) = [s for s in data["jobs"]["build-and-push"]["steps"] if "repo2docker-action" in s.get("uses", "")]
    return step["with"]


def test_generate_makes_exactly_the_image_repo_files(generated):
    name, project = generated
    files = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert files == sorted(
        [
            ".cruft.json",
            ".github/workflows/build.yaml",
            ".github/workflows/hub-version.yaml",
            ".github/dependabot.yml",
            ".gitignore",
            "README.md",
            EXPECT[name]["kind"],
            "image-tests/test_hub_ready.py",
        ]
    )


def test_generated_files_have_no_jinja_left(generated):
    _, project = generated
    for path in project.rglob("*"):
        if path.is_file():
            text = path.read_text()
            leftovers = re.findall(r"(?<!\$)\{\{|\{%|\{#", text)
            assert not leftovers, f"{path.name}: unrendered Jinja {leftovers}"


def test_workflow_github_expressions_survive_rendering(generated):
    name, project = generated
    e = EXPECT[name]
    text = (project / ".github/workflows/build.yaml").read_text()
    found = expressions(text)
    assert text.count("${{") == len(found), "an unterminated ${{ expression"
    for expr in found:
        check_parses(expr)
    assert " github.workflow " in found and " github.event_name == 'pull_request' " in found
    secrets = set(re.findall(r"secrets\.([A-Z0-9_]+)", " ".join(found)))
    # The registry's secrets (the build job), and the deploy job's token (never a registry's).
    deploy = {"HUB_DEPLOY_APP_KEY", "HUB_DEPLOY_TOKEN"}
    assert (
        secrets
        == set(registries.get(e["registry"]).secrets) | ({"GITHUB_TOKEN"} if e["registry"] == "ghcr.io" else set()) | deploy
    )
    no_push = NO_PUSH_MAIN_AND_PRS if e["pr"] else NO_PUSH_MAIN_ONLY if e["image"] else None
    if no_push:
        assert f'NO_PUSH: "{no_push}"' in text


def test_workflows_pass_githubs_workflow_schema(generated):
    _, project = generated
    workflows = sorted(str(p) for p in (project / ".github/workflows").iterdir())
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *workflows],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_uses_only_inputs_the_action_declares(generated):
    _, project = generated
    declared = set(YAML(typ="safe").load(ACTION_YML.read_text())["inputs"])
    used = set(_with(project))
    assert used <= declared, used - declared
    assert {"IMAGE_NAME", "NO_PUSH", "DOCKER_REGISTRY", "REPO_DIR", "LATEST_TAG_OFF"} <= used


def test_repo2docker_builds_it_with_conda_and_the_pinned_python(generated):
    name, project = generated
    result = subprocess.run(
        [tool("repo2docker"), "--no-build", "--no-run", "--user-id", "1000", "--user-name", "jovyan", str(project)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    if EXPECT[name]["kind"] == "Dockerfile":
        assert "conda" not in result.stderr
        assert "\nFROM quay.io/jupyter/scipy-notebook:2025-12-31\n" in result.stdout  # repo2docker builds our Dockerfile
        assert "'jupyterhub>=5.5,<5.6'" in result.stdout and 'CMD ["jupyterhub-singleuser"]' in result.stdout
        return
    assert f"Building conda environment for python={EXPECT[name]['python']}" in result.stderr
    assert f"environment.py-{EXPECT[name]['python']}-linux-64.lock" in result.stdout.replace("-2d", "-").replace("-2e", ".")


def test_environment_pins_python_and_the_hub_series(generated):
    name, project = generated
    if EXPECT[name]["kind"] == "Dockerfile":
        dockerfile = (project / "Dockerfile").read_text()
        assert f"'jupyterhub>={EXPECT[name]['series']},<{EXPECT[name]['upper']}'" in dockerfile
        assert "USER ${NB_UID:-1000}" in dockerfile and ":latest" not in dockerfile
        return
    env = YAML(typ="safe").load((project / "environment.yml").read_text())
    e = EXPECT[name]
    assert env["channels"] == ["conda-forge"]
    assert f"python={e['python']}" in env["dependencies"]
    assert f"jupyterhub-singleuser>={e['series']},<{e['upper']}" in env["dependencies"]
    assert "jupyterlab=4" in env["dependencies"] and "nbgitpuller" in env["dependencies"]


@pytest.mark.parametrize("filename", [".github/workflows/build.yaml", "environment.yml"])
def test_ruamel_round_trip_is_byte_identical(generated, filename):
    _, project = generated
    if not (project / filename).exists():
        pytest.skip(f"no {filename} in this flavour")
    text = (project / filename).read_text()
    yaml = round_trip_yaml()
    out = StringIO()
    yaml.dump(yaml.load(text), out)
    assert out.getvalue() == text


def test_push_happens_only_where_it_should(generated):
    name, project = generated
    e = EXPECT[name]
    workflow = YAML(typ="safe").load((project / ".github/workflows/build.yaml").read_text())
    repository = f"my-org/{e['repo']}"
    outcomes = {kind: build_outcome(workflow, event_context(kind, repository), project) for kind in ("push", "pr", "fork-pr")}
    image = f"{e['host']}/{e['image']}"
    if not e["image"]:
        assert outcomes == {"push": ("no push", ""), "pr": ("no push", ""), "fork-pr": ("no push", "")}
    elif e["pr"]:
        assert outcomes == {"push": ("push", image), "pr": ("push", image), "fork-pr": ("no push", "")}
    else:
        assert outcomes == {"push": ("push", image), "pr": ("no push", ""), "fork-pr": ("no push", "")}


def test_readme_tells_the_admin_the_image_and_how_to_use_it(generated):
    name, project = generated
    e = EXPECT[name]
    readme = (project / "README.md").read_text()
    ref = f"{e['host']}/{e['image'] or '<namespace>/<name>'}"
    assert f"name: {ref}\n" in readme  # the Zero to JupyterHub snippet
    assert f'c.DockerSpawner.image = "{ref}:<tag>"' in readme
    assert f"{ref}:<tag>" in readme and "must be public" in readme
    for secret in registries.get(e["registry"]).secrets:
        assert f"`{secret}`" in readme
    assert ("hub-image configure --image-name" in readme) == (not e["image"])
    assert COMBOS[name].get("description", "The user image of our JupyterHub") in readme


def _workflow(project: Path) -> dict:
    return YAML(typ="safe").load((project / ".github/workflows/build.yaml").read_text())


def test_zizmor_finds_nothing_in_the_workflows(generated):
    _, project = generated
    result = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", str(project / ".github/workflows")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "No findings" in result.stdout, result.stdout + result.stderr


def test_every_action_is_pinned_to_a_commit_with_its_version(generated):
    _, project = generated
    text = (project / ".github/workflows/build.yaml").read_text()
    uses = re.findall(r"^\s*uses: (\S+)(.*)$", text, re.M)
    assert uses
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), ref
        assert re.fullmatch(r" # (v\d+\.\d+\.\d+|master)", comment), (ref, comment)
    # repo2docker-action has no releases: its last commit, with a comment saying why.
    assert "repo2docker-action@daa77f929833dcd836a711bc7837af945e9d27cc # master" in text
    assert "# The action's last commit (2024-10-20): it publishes no releases to pin to." in text
    assert _with(project)["FORCE_REPO2DOCKER_VERSION"] == "jupyter-repo2docker==2026.4.0"


def test_dependabot_keeps_actions_and_packages_current(generated):
    name, project = generated
    path = project / ".github/dependabot.yml"
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.dependabot", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    updates = {u["package-ecosystem"]: u for u in YAML(typ="safe").load(path.read_text())["updates"]}
    if EXPECT[name]["kind"] == "environment.yml":
        assert set(updates) == {"github-actions", "conda"}
        # The hub decides the JupyterHub series and Python: never bumped behind its back.
        assert {i["dependency-name"] for i in updates["conda"]["ignore"]} == {"jupyterhub-singleuser", "python"}
    else:
        assert set(updates) == {"github-actions", "docker"}


def test_no_step_can_leave_a_credential_in_the_checkout(generated):
    _, project = generated
    workflow = _workflow(project)
    text = (project / ".github/workflows/build.yaml").read_text()
    assert "DOCKER_CONFIG" not in text and "docker/login-action" not in text and "amazon-ecr-login" not in text
    steps = workflow["jobs"]["build-and-push"]["steps"]
    (checkout,) = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["persist-credentials"] is False
    for step in steps:
        if step.get("uses", "").startswith("google-github-actions/auth@"):
            assert step["with"]["create_credentials_file"] is False


def test_operators_get_manual_runs_a_timeout_and_a_summary(generated):
    _, project = generated
    workflow = _workflow(project)
    assert "workflow_dispatch" in workflow["on"]
    job = workflow["jobs"]["build-and-push"]
    assert job["timeout-minutes"] == 60
    (summary,) = [s for s in job["steps"] if s.get("name") == "Say which image was pushed"]
    assert "GITHUB_STEP_SUMMARY" in summary["run"] and "${{" not in summary["run"]
    assert summary["env"]["IMAGE"] == "${{ steps.build.outputs.IMAGE_SHA_NAME }}"
    # A manual run on another branch does nothing (it would push that branch's image).
    elsewhere = event_context("dispatch", f"my-org/{EXPECT[generated[0]]['repo']}")
    elsewhere["github"]["ref"] = "refs/heads/experiment"
    assert build_outcome(workflow, elsewhere, project) == ("skipped", "")


def test_pull_request_images_get_a_tag_a_person_can_find(generated):
    name, project = generated
    workflow = _workflow(project)
    repository = f"my-org/{EXPECT[name]['repo']}"
    assert action_inputs(workflow, event_context("pr", repository), project)["ADDITIONAL_TAG"] == "pr-7"
    assert action_inputs(workflow, event_context("push", repository), project)["ADDITIONAL_TAG"] == ""


def test_a_pull_request_adding_cookiecutter_json_is_still_built(generated, tmp_path):
    name, project = generated
    workflow = _workflow(project)
    repository = f"my-org/{EXPECT[name]['repo']}"
    checkout = tmp_path / "checkout"
    shutil.copytree(project, checkout)
    (checkout / "cookiecutter.json").write_text("{}")
    for kind in ("push", "pr", "fork-pr"):
        assert build_outcome(workflow, event_context(kind, repository), checkout)[0] != "skipped", kind
    # Only the hub-image template repository itself (its variable) skips; and the first
    # commit of a "Use this template" copy, which still has the template's files.
    template = event_context("pr", repository, variables={"HUB_IMAGE_TEMPLATE": "true"})
    assert build_outcome(workflow, template, project) == ("skipped", "")
    first = event_context("push", repository)
    first["github"]["event"]["created"] = True
    assert build_outcome(workflow, first, checkout) == ("skipped", "")
    assert build_outcome(workflow, first, project)[0] != "skipped"


OIDC_VARS = {
    "artifact-registry": {
        "GCP_WORKLOAD_IDENTITY_PROVIDER": "projects/1/locations/global/workloadIdentityPools/p/providers/gh",
        "GCP_SERVICE_ACCOUNT": "pusher@my-project.iam.gserviceaccount.com",
    },
    "ecr": {"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/hub-image-push"},
}


@pytest.mark.parametrize("registry", list(OIDC_VARS))
def test_cloud_registries_log_in_by_oidc_without_any_stored_key(run_cookiecutter, tmp_path, registry):
    answers = {
        "repo_name": "hub-image",
        "registry": registry,
        "registry_host": REGISTRY_HOSTS[registry],
        "image_name": "my-org/hub-image",
    }
    assert run_cookiecutter(answers).returncode == 0
    project = tmp_path / "out" / "hub-image"
    e = {"repo": "hub-image", "registry": registry, "host": REGISTRY_HOSTS[registry], "image": "my-org/hub-image"}
    workflow = _workflow(project)
    repository = f"my-org/{e['repo']}"
    assert workflow["jobs"]["build-and-push"]["permissions"]["id-token"] == "write"
    oidc = event_context("push", repository, secrets={}, variables=OIDC_VARS[e["registry"]])
    inputs = action_inputs(workflow, oidc, project)
    expected = (
        {"DOCKER_USERNAME": "oauth2accesstoken", "DOCKER_PASSWORD": "gcp-oidc-access-token"}
        if e["registry"] == "artifact-registry"
        else {"DOCKER_USERNAME": "AWS", "DOCKER_PASSWORD": "ecr-short-lived-password"}
    )
    assert {k: inputs[k] for k in expected} == expected
    assert build_outcome(workflow, oidc, project) == ("push", f"{e['host']}/{e['image']}")
    # With a stored key instead (no variables).
    key = action_inputs(workflow, event_context("push", repository), project)
    assert key["DOCKER_USERNAME"] == ("_json_key" if e["registry"] == "artifact-registry" else "AWS")
    assert key["DOCKER_PASSWORD"] in ("value-of-GCP_SA_KEY", "ecr-short-lived-password")
    # Neither set up yet, or a fork's pull request: it builds, and nothing fails.
    for kind in ("push", "fork-pr"):
        nothing = event_context(kind, repository, secrets={}, variables=OIDC_VARS[e["registry"]] if kind == "fork-pr" else {})
        assert build_outcome(workflow, nothing, project)[0] in ("no push", "fail"), kind
        assert not build_outcome(workflow, nothing, project)[1].startswith("Get "), kind
