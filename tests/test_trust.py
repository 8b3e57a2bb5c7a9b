"""Trust boundaries: a template is code (cookiecutter runs its hooks and extensions), so
hub-image runs only the template the user or fleet operator named, and never with a
token, password or cloud key in its environment."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import TOKEN, first_commit, fleet_runner, recording_template, tool
from test_fleet_update import MANIFEST, second_commit

#: Secrets an operator's shell may hold while hub-image renders.
SECRETS = {
    "GITHUB_TOKEN": TOKEN,
    "GH_TOKEN": "gh-SENTINEL-token",
    "QUAY_PASSWORD": "fleet-secret",
    "AWS_SECRET_ACCESS_KEY": "aws-SENTINEL-key",
    "ACR_PASSWORD": "acr-SENTINEL",
    "GOOGLE_APPLICATION_CREDENTIALS": "/home/op/gcp-key.json",
}


def recorded_environments(records: Path) -> list[dict[str, str]]:
    found = [json.loads(p.read_text()) for p in sorted(records.iterdir())]
    assert found, "the template's hook never ran"
    return found


def assert_no_secret(environments: list[dict[str, str]]) -> None:
    for environ in environments:
        assert not set(SECRETS) & set(environ), sorted(set(SECRETS) & set(environ))
        text = json.dumps(environ)
        for value in SECRETS.values():
            assert value not in text


def test_a_fleet_apply_runs_the_templates_hook_without_any_secret(fleet_env, github, tmp_path):
    records = tmp_path / "records"
    template = recording_template(tmp_path / "hub-image", records)
    manifest = tmp_path / "fleet.yaml"
    manifest.write_text(MANIFEST)
    run = fleet_runner({**fleet_env, **SECRETS, "HUB_IMAGE_TEMPLATE_DIR": str(template)}, manifest)
    applied = run("apply", "--json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    environments = recorded_environments(records)
    assert len(environments) == 2  # one render per image, each through the hook
    assert_no_secret(environments)


def test_new_and_update_run_the_templates_hook_without_any_secret(hub_image, tmp_path, cc_env):
    records = tmp_path / "records"
    template = recording_template(tmp_path / "hub-image", records)
    env = {**cc_env, **SECRETS, "QUAY_API_TOKEN": "quay-SENTINEL-api", "HUB_IMAGE_TEMPLATE_DIR": str(template)}
    made = subprocess.run(
        [tool("hub-image"), "new", str(tmp_path / "made"), "--no-input", "image_name=acme/stats"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    project = tmp_path / "made" / "my-hub-image"
    first_commit(project)
    second_commit(template)
    updated = subprocess.run(
        [tool("hub-image"), "update", str(project), "--template", str(template)], env=env, capture_output=True, text=True
    )
    assert updated.returncode == 0, updated.stdout + updated.stderr
    environments = recorded_environments(records)
    assert len(environments) == 3  # new, then update's old and new sides
    assert_no_secret(environments)


def test_update_refuses_a_record_naming_another_template_unless_named_explicitly(tmp_path, cc_env, hub_image):
    records = tmp_path / "records"
    hostile = recording_template(tmp_path / "hostile", records)
    made = subprocess.run(
        [tool("hub-image"), "new", str(tmp_path / "made"), "--no-input"],
        env={**cc_env, "HUB_IMAGE_TEMPLATE_DIR": str(hostile)},
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    assert f"note: .cruft.json records the template as the local path {hostile}" in made.stderr
    project = tmp_path / "made" / "my-hub-image"
    first_commit(project)
    for path in records.iterdir():
        path.unlink()
    refused = hub_image("update", str(project))
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert f".cruft.json records the template {hostile}, not this hub-image's" in refused.stderr
    assert f"if you trust it, run: hub-image update --template {hostile}" in refused.stderr
    assert not any(records.iterdir())  # nothing of it ran
    other = hub_image("update", str(project), "--template", str(tmp_path / "elsewhere"))
    assert other.returncode == 1 and "is not the template .cruft.json records" in other.stderr
