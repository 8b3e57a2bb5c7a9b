"""A hub admin mistypes an answer: cookiecutter stops with one line that names the
field and the fix, exits non-zero, and leaves no directory behind."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import TEMPLATE
from hub_image.answers import validate_answers
from hub_image.errors import AnswerError
from hub_image.template import template_defaults

DEFAULTS = template_defaults(TEMPLATE)

# Answers that are wrong only together with others: (answers, field, hint).
BAD_TOGETHER = [
    ({"registry": "acr"}, "registry_host", "registry acr needs its host, e.g. 'myhub.azurecr.io'"),
    ({"registry": "ecr", "registry_host": "ecr.amazonaws.com"}, "registry_host", "is not a host for Amazon ECR"),
    (
        {"registry": "artifact-registry", "registry_host": "us-central1-docker.pkg.dev"},
        "registry_host",
        "it looks like 'us-central1-docker.pkg.dev/my-project'",
    ),
    ({"registry": "other", "registry_host": "not a host"}, "registry_host", "is not a host for another registry"),
    ({"registry": "quay.io", "registry_host": "myhub.azurecr.io"}, "registry_host", "quay.io needs none; leave it empty"),
    (
        {"registry": "ghcr.io", "github_owner": "acme", "image_name": "someone-else/image"},
        "image_name",
        "a ghcr.io image of this repo lives under its owner; use 'acme/image'",
    ),
    (
        {"registry": "acr", "registry_host": "myhub.azurecr.io", "image_name": "quay.io/acme/image"},
        "image_name",
        "but the registry is 'myhub.azurecr.io'",
    ),
    ({"image_kind": "Dockerfile", "base_image": "quay.io/jupyter/scipy-notebook"}, "base_image", "has no tag; pin one"),
    ({"image_kind": "Dockerfile", "base_image": "quay.io/jupyter/scipy-notebook:latest"}, "base_image", "uses 'latest'"),
    ({"image_kind": "Dockerfile", "base_image": "Not An Image"}, "base_image", "is not an image reference"),
]


@pytest.mark.parametrize("answers, field, hint", BAD_TOGETHER, ids=[f"{f}-{i}" for i, (_, f, _) in enumerate(BAD_TOGETHER)])
def test_answers_that_do_not_fit_together_are_refused(answers, field, hint):
    with pytest.raises(AnswerError) as refused:
        validate_answers({**DEFAULTS, **answers})
    assert refused.value.field == field and hint in str(refused.value)
    assert str(refused.value).startswith(f"{field}: ") and "\n" not in str(refused.value)


BAD = [
    ("repo_name", "my hub image", "is not a GitHub repository name"),
    ("repo_name", "org/my-hub-image", "is not a GitHub repository name"),
    ("repo_name", "..", "is not a GitHub repository name"),
    ("repo_name", "my-hub-image.git", "drop that suffix"),
    ("repo_name", "x" * 101, "at most 100"),
    ("github_owner", "-my-org", "is not a GitHub user or organisation name"),
    ("github_owner", "my--org", "single hyphens"),
    ("description", "two\nlines", "use a single line"),
    ("description", "x" * 351, "GitHub allows 350"),
    ("image_name", "My-Org/Image", "use 'my-org/image'"),
    ("image_name", "my-org/image:latest", "has a tag ':latest'; drop it"),
    ("image_name", "my-org/image@sha256:abc", "has a digest"),
    # Answers are data (no Jinja evaluation): this one arrives as typed, and is refused.
    ("image_name", "{{ '${{ secrets.QUAY_PASSWORD }}' }}", "quotes or expressions"),
    ("image_name", 'my-org/"image"', "quotes or expressions"),
    ("image_name", "my-org/image\nNO_PUSH: false", "quotes or expressions"),
    ("image_name", "image", "must be 'namespace/name'"),
    ("image_name", "ghcr.io/my-org/image", "but the registry is 'quay.io'"),
    ("image_name", "my-org/-image", "is not a valid path part"),
    ("push_on_pr", "true", "set image_name too"),
    ("python_version", "3.9", "is not one of 3.10"),
    ("python_version", "python3.12", "is not one of 3.10"),
    ("jupyterhub_version", "latest", "is not a JupyterHub version"),
    ("jupyterhub_version", "5", "give your hub's version as major.minor"),
]


@pytest.mark.parametrize("field, value, hint", BAD, ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(BAD)])
def test_a_bad_answer_is_refused_with_its_field_and_the_fix(field, value, hint):
    with pytest.raises(AnswerError) as refused:
        validate_answers({**DEFAULTS, field: value})
    assert refused.value.field == field and hint in str(refused.value)
    assert str(refused.value).startswith(f"{field}: ") and "\n" not in str(refused.value)


#: The same rules through cookiecutter itself, for a sample of each kind.
THROUGH_COOKIECUTTER = [({f: v}, f, h) for f, v, h in (BAD[1], BAD[10], BAD[12], BAD[18], BAD[21])] + BAD_TOGETHER[:2]


@pytest.mark.parametrize(
    "answers, field, hint", THROUGH_COOKIECUTTER, ids=[f"{f}-{i}" for i, (_, f, _) in enumerate(THROUGH_COOKIECUTTER)]
)
def test_a_bad_answer_stops_cookiecutter_with_one_line_and_leaves_nothing(run_cookiecutter, tmp_path: Path, answers, field, hint):
    out = tmp_path / "out"
    result = run_cookiecutter(answers, out=out)
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(ours) == 1, result.stdout + result.stderr
    assert ours[0].startswith(f"error: {field}: ") and hint in ours[0]
    # cookiecutter logs its own traceback for a failed hook; none may come from ours.
    assert not re.search(r'File ".*(hub_image|\.py", line \d+, in <module>)', result.stderr), result.stderr
    assert list(out.iterdir()) == [], "a half-made project was left behind"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("registry", "registry.example.org", "provided for choice variable registry"),
        ("push_on_pr", "maybe", "provided for variable push_on_pr could not be converted to a boolean"),
        ("image_kind", "Containerfile", "provided for choice variable image_kind"),
    ],
)
def test_cookiecutter_itself_refuses_a_value_outside_the_type(run_cookiecutter, tmp_path: Path, field, value, message):
    out = tmp_path / "out"
    result = run_cookiecutter({field: value}, out=out)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert list(out.iterdir()) == []


def test_missing_dependency_gives_an_install_hint_before_generating(run_cookiecutter, cc_env, tmp_path: Path):
    # A Python where ruamel.yaml cannot be imported, as on a machine without it.
    shadow = tmp_path / "no-ruamel" / "ruamel"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'ruamel'\", name='ruamel')\n")
    env = dict(cc_env, PYTHONPATH=str(shadow.parent))
    out = tmp_path / "out"
    result = run_cookiecutter({"image_name": "my-org/x"}, out=out, env=env, template=".", cwd=TEMPLATE)
    assert result.returncode != 0
    assert (
        f"error: Python package 'ruamel.yaml' is missing; install the template's dependencies first: pip install {TEMPLATE}"
        in result.stderr
    )
    assert list(out.iterdir()) == []


def test_hooks_use_the_templates_own_library_even_if_another_is_installed(run_cookiecutter, cc_env, tmp_path: Path):
    # An unusable `hub_image` ahead on the path (as if an old or broken copy were
    # installed): the hooks must still import the template's own copy and succeed.
    shadow = tmp_path / "broken" / "hub_image"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('wrong hub_image')\n")
    env = dict(cc_env, PYTHONPATH=str(shadow.parent))
    # From the checkout, as README says: the template given as `.`.
    result = run_cookiecutter({"image_name": "my-org/x"}, env=env, template=".", cwd=TEMPLATE)
    assert result.returncode == 0, result.stderr
    wf = tmp_path / "out" / "my-hub-image" / ".github/workflows/build.yaml"
    assert 'IMAGE_NAME: "my-org/x"' in wf.read_text()


def test_an_existing_directory_is_not_deleted_by_a_bad_answer(run_cookiecutter, tmp_path: Path):
    out = tmp_path / "out"
    keep = out / "my-hub-image" / "notes.txt"
    keep.parent.mkdir(parents=True)
    keep.write_text("mine")
    result = run_cookiecutter({"image_name": "BAD"}, out=out)
    assert result.returncode != 0
    assert keep.read_text() == "mine"
    assert os.listdir(out) == ["my-hub-image"]
