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
EXPECT = {
    "defaults": dict(repo="my-hub-image", image="", pr=False, python="3.13", series="5.5", upper="5.6"),
    "configured": dict(repo="my-hub-image", image="my-org/climate-image", pr=False, python="3.10", series="4.1", upper="4.2"),
    "host-prefix-and-pr-pushes": dict(repo="astro-image", image="astro-lab/astro-image", pr=True, python="3.14", series="5.3", upper="5.4"),
    "awkward-text": dict(repo="Climate_Lab.image", image="", pr=False, python="3.13", series="5.5", upper="5.6"),
}
TEMPLATE_WORKFLOW = TEMPLATE / "{{cookiecutter.repo_name | project_dir}}" / ".github" / "workflows" / "build.yaml"


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
    _, project = generated
    files = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert files == [".github/workflows/build.yaml", ".gitignore", "README.md", "environment.yml"]


def test_generated_files_have_no_jinja_left(generated):
    _, project = generated
    for path in project.rglob("*"):
        if path.is_file():
            text = path.read_text()
            leftovers = re.findall(r"(?<!\$)\{\{|\{%|\{#", text)
            assert not leftovers, f"{path.name}: unrendered Jinja {leftovers}"


def test_workflow_github_expressions_survive_rendering(generated):
    name, project = generated
    got = expressions((project / ".github/workflows/build.yaml").read_text())
    template = expressions(TEMPLATE_WORKFLOW.read_text())
    no_push = {"": [], NO_PUSH_MAIN_ONLY: [NO_PUSH_MAIN_ONLY], NO_PUSH_MAIN_AND_PRS: [NO_PUSH_MAIN_AND_PRS]}
    expected_no_push = NO_PUSH_MAIN_AND_PRS if EXPECT[name]["pr"] else NO_PUSH_MAIN_ONLY if EXPECT[name]["image"] else ""
    assert sorted(got) == sorted(template + [e[3:-2] for e in no_push[expected_no_push]])
    for expr in got:
        check_parses(expr)


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
    assert f"Building conda environment for python={EXPECT[name]['python']}" in result.stderr
    assert f"environment.py-{EXPECT[name]['python']}-linux-64.lock" in result.stdout.replace("-2d", "-").replace("-2e", ".")


def test_environment_pins_python_and_the_hub_series(generated):
    name, project = generated
    env = YAML(typ="safe").load((project / "environment.yml").read_text())
    e = EXPECT[name]
    assert env["channels"] == ["conda-forge"]
    assert f"python={e['python']}" in env["dependencies"]
    assert f"jupyterhub-singleuser>={e['series']},<{e['upper']}" in env["dependencies"]
    assert "jupyterlab=4" in env["dependencies"] and "nbgitpuller" in env["dependencies"]


@pytest.mark.parametrize("filename", [".github/workflows/build.yaml", "environment.yml"])
def test_ruamel_round_trip_is_byte_identical(generated, filename):
    _, project = generated
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
    image = f"quay.io/{e['image']}"
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
    ref = f"quay.io/{e['image'] or '<namespace>/<name>'}"
    assert f"name: {ref}\n" in readme  # the Zero to JupyterHub snippet
    assert f"{ref}:<tag>" in readme
    assert "QUAY_USERNAME" in readme and "QUAY_PASSWORD" in readme
    assert ("hub-image configure --image-name" in readme) == (not e["image"])
    assert COMBOS[name].get("description", "The user image of our JupyterHub") in readme
