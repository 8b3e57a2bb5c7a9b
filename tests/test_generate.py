"""A hub admin generates an image repo with cookiecutter: every meaningful combination
of answers is rendered once, and each render is checked with the real tools."""

from __future__ import annotations

import os
import re
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import ACTION_YML, TEMPLATE, tool
from github_actions import build_outcome, check_parses, event_context, expressions
from hub_image.workflow import NO_PUSH_MAIN_AND_PRS, NO_PUSH_MAIN_ONLY, round_trip_yaml

from hub_image import registries

COMBOS = {
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
_DEFAULT = dict(repo="my-hub-image", image="", pr=False, python="3.13", series="5.5", upper="5.6",
                host="quay.io", registry="quay.io", kind="environment.yml")
EXPECT = {
    "defaults": _DEFAULT,
    "configured": {**_DEFAULT, "image": "my-org/climate-image", "python": "3.10", "series": "4.1", "upper": "4.2"},
    "host-prefix-and-pr-pushes": {**_DEFAULT, "repo": "astro-image", "image": "astro-lab/astro-image", "pr": True,
                                  "python": "3.14", "series": "5.3", "upper": "5.4"},
    "awkward-text": {**_DEFAULT, "repo": "Climate_Lab.image"},
}
# Every registry with every image flavour, configured to push.
REGISTRY_HOSTS = {
    "quay.io": "", "ghcr.io": "", "docker.io": "",
    "artifact-registry": "us-central1-docker.pkg.dev/my-project",
    "ecr": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "acr": "myhub.azurecr.io",
    "other": "registry.example.org:5000",
}
for _registry, _host in REGISTRY_HOSTS.items():
    for _kind in ("environment.yml", "Dockerfile"):
        _name = f"{_registry}-{_kind}"
        COMBOS[_name] = {"repo_name": "hub-image", "github_owner": "my-org", "registry": _registry,
                         "registry_host": _host, "image_kind": _kind, "image_name": "my-org/hub-image"}
        EXPECT[_name] = {**_DEFAULT, "repo": "hub-image", "image": "my-org/hub-image", "registry": _registry,
                         "host": _host or _registry, "kind": _kind}
assert set(REGISTRY_HOSTS) == set(registries.CHOICES)


@pytest.fixture(scope="module", params=list(COMBOS))
def generated(request, tmp_path_factory) -> tuple[str, Path]:
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    config = tmp / "config.yaml"
    config.write_text(f"replay_dir: {tmp / 'replay'}\ncookiecutters_dir: {tmp / 'cc'}\n")
    args = [tool("cookiecutter"), "--no-input", str(TEMPLATE), "-o", str(tmp / "out")]
    args += [f"{k}={v}" for k, v in COMBOS[name].items()]
    result = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, COOKIECUTTER_CONFIG=str(config)), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return name, tmp / "out" / EXPECT[name]["repo"]


def _with(project: Path) -> dict:
    data = YAML(typ="safe").load((project / ".github/workflows/build.yaml").read_text())
    (step,) = [s for s in data["jobs"]["build-and-push"]["steps"] if "repo2docker-action" in s.get("uses", "")]
    return step["with"]


def test_generate_makes_exactly_the_image_repo_files(generated):
    name, project = generated
    files = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert files == sorted([".github/workflows/build.yaml", ".gitignore", "README.md", EXPECT[name]["kind"],
                            "image-tests/test_hub_ready.py"])


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
    assert secrets == set(registries.get(e["registry"]).secrets) | ({"GITHUB_TOKEN"} if e["registry"] == "ghcr.io" else set())
    no_push = NO_PUSH_MAIN_AND_PRS if e["pr"] else NO_PUSH_MAIN_ONLY if e["image"] else None
    if no_push:
        assert f'NO_PUSH: "{no_push}"' in text


def test_workflow_passes_githubs_workflow_schema(generated):
    _, project = generated
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(project / ".github/workflows/build.yaml")],
        capture_output=True, text=True, timeout=120,
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
        capture_output=True, text=True, timeout=300,
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
