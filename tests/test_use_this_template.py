"""GitHub's "Use this template" button, simulated without GitHub.

Route 1: a copy of this template repository runs the setup workflow on its first push,
which turns it into the generated repo.  Route 2: a generated repo marked as a template
is copied; the copy builds but pushes nothing until its owner configures it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import TEMPLATE, git, tool
from github_actions import _truthy_text, build_outcome, event_context

ROOT_WORKFLOWS = TEMPLATE / ".github" / "workflows"


@pytest.fixture
def github_env(cc_env, tmp_path: Path) -> dict:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "ref": "refs/heads/main",
                "repository": {"full_name": "acme/climate-image", "description": "Climate  hub image", "is_template": False},
            }
        )
    )
    return dict(cc_env, GITHUB_REPOSITORY="acme/climate-image", GITHUB_EVENT_PATH=str(event), GITHUB_TOKEN="ghs_workflowtoken")


def tree_at(repo: Path, rev: str = "HEAD") -> dict[str, bytes]:
    names = git(repo, "ls-tree", "-r", "--name-only", "-z", rev).split("\0")
    return {
        n: subprocess.run(["git", "show", f"{rev}:{n}"], cwd=repo, capture_output=True, check=True).stdout for n in names if n
    }


def test_setup_workflow_turns_a_copy_into_the_generated_repo(copy, github_env, github, run_cookiecutter, tmp_path):
    # GitHub as the workflow sees it: the template repository, and the copy made from it.
    template = github.add_repo("demo-org", "hub-image")
    template.is_template = True
    git(copy, "push", "-q", str(template.bare), "HEAD:main")
    head = git(copy, "rev-parse", "HEAD").strip()
    github.add_user("acme", "ghs_workflowtoken")
    github.add_repo("acme", "climate-image", template=template)
    # What the setup workflow runs, with the environment GitHub gives it.
    env = dict(github_env, GITHUB_API_URL=github.url)
    result = subprocess.run(
        [tool("hub-image"), "from-template", ".", "--push"], cwd=copy, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    rendered = run_cookiecutter({"repo_name": "climate-image", "github_owner": "acme", "description": "Climate hub image"})
    assert rendered.returncode == 0, rendered.stderr
    expected = {
        p.relative_to(tmp_path / "out" / "climate-image").as_posix(): p.read_bytes()
        for p in (tmp_path / "out" / "climate-image").rglob("*")
        if p.is_file()
    }
    origin = tmp_path / "origin.git"
    pushed = tree_at(origin, "main")
    assert ".cruft.json" in pushed, result.stdout + result.stderr
    # The copy records the template repository it was made from, and the commit copied.
    ours, theirs = json.loads(pushed.pop(".cruft.json")), json.loads(expected.pop(".cruft.json"))
    assert ours["template"] == github.clone_url(template) and ours["commit"] == head
    assert answers_of(ours) == answers_of(theirs)
    # Its README installs the hub-image of that repository and commit (cookiecutter's
    # render, from a local checkout, names that checkout).
    line = f"pip install git+{github.clone_url(template)}@{head}\n".encode()
    assert line in pushed["README.md"]
    pushed["README.md"] = pushed["README.md"].replace(line, f"pip install {TEMPLATE}\n".encode())
    assert pushed == expected
    # The setup commit only deleted files under .github/workflows/ (GITHUB_TOKEN can do no more).
    changes = git(copy, "diff", "--name-status", "HEAD~1", "HEAD", "--", ".github/workflows").split("\n")
    assert [c for c in changes if c] == [
        "D\t.github/workflows/ci.yaml",
        "D\t.github/workflows/release.yaml",
        "D\t.github/workflows/setup.yaml",
    ]
    assert "ghs_workflowtoken" not in (copy / ".git" / "config").read_text()


def answers_of(state: dict) -> dict:
    return {k: v for k, v in state["context"]["cookiecutter"].items() if not k.startswith("_")}


def test_a_copy_updates_from_its_template_repository(copy, github_env, github, hub_image, tmp_path):
    template = github.add_repo("demo-org", "hub-image")
    git(copy, "push", "-q", str(template.bare), "HEAD:main")
    github.add_user("acme", "ghs_workflowtoken")
    github.add_repo("acme", "climate-image", template=template)
    env = dict(github_env, GITHUB_API_URL=github.url)
    setup = subprocess.run([tool("hub-image"), "from-template", ".", "--push"], cwd=copy, env=env, capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr
    # The template improves on GitHub; the copy takes it with hub-image update.
    work = tmp_path / "template-work"
    git(tmp_path, "clone", "-q", str(template.bare), str(work))
    readme = work / "{{cookiecutter.repo_name | project_dir}}" / "README.md"
    readme.write_text(readme.read_text().replace("## Use the image in the hub", "## Use the image in your hub"))
    git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "v2")
    git(work, "push", "-q", "origin", "main")
    # The record names the template repository; this hub-image (a checkout) is another
    # source, so the template is named explicitly: a record alone never picks what runs.
    refused = hub_image("update", str(copy))
    assert (
        refused.returncode == 1
        and f"if you trust it, run: hub-image update --template {github.clone_url(template)}" in refused.stderr
    )
    result = hub_image("update", str(copy), "--template", github.clone_url(template))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"template: {github.clone_url(template)}" in result.stdout
    assert "## Use the image in your hub" in (copy / "README.md").read_text()


def test_without_githubs_answer_the_copy_is_set_up_unrecorded(copy, github_env, tmp_path):
    env = dict(github_env, GITHUB_API_URL="http://127.0.0.1:9")
    result = subprocess.run(
        [tool("hub-image"), "from-template", ".", "--push"], cwd=copy, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "note: no .cruft.json, so hub-image update will need --adopt: could not reach GitHub" in result.stderr
    assert ".cruft.json" not in tree_at(tmp_path / "origin.git", "main")


def test_setup_refuses_when_the_templates_workflow_is_stale(copy, github_env):
    build = copy / ".github/workflows/build.yaml"
    build.write_text(build.read_text().replace("Free disk space", "Free some disk space"))
    git(copy, "commit", "-qam", "drift", "--author", "x <x@x>")
    head = git(copy, "rev-parse", "HEAD")
    result = subprocess.run([tool("hub-image"), "from-template", "."], cwd=copy, env=github_env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "Error: .github/workflows/build.yaml differs from what the template renders" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert git(copy, "rev-parse", "HEAD") == head and git(copy, "status", "--porcelain") == ""


def test_setup_refuses_to_run_in_the_template_repository_itself(copy, github_env, tmp_path):
    event = tmp_path / "template-event.json"
    event.write_text(json.dumps({"repository": {"full_name": "hub-image/hub-image", "is_template": True}}))
    head = git(copy, "rev-parse", "HEAD")
    result = subprocess.run(
        [tool("hub-image"), "from-template", "."],
        cwd=copy,
        capture_output=True,
        text=True,
        env=dict(github_env, GITHUB_REPOSITORY="hub-image/hub-image", GITHUB_EVENT_PATH=str(event)),
    )
    assert result.returncode != 0 and "is a template repository itself" in result.stderr
    assert git(copy, "rev-parse", "HEAD") == head and git(copy, "status", "--porcelain") == ""


def test_setup_outside_a_template_copy_says_so(tmp_path, github_env):
    result = subprocess.run([tool("hub-image"), "from-template", str(tmp_path)], env=github_env, capture_output=True, text=True)
    assert result.returncode != 0 and "not a copy of the hub-image template" in result.stderr


@pytest.mark.parametrize("repo_name", ["my-hub-image", "Climate_Lab.image", "x" * 100])
def test_template_carries_the_generated_workflows_byte_for_byte(run_cookiecutter, tmp_path, repo_name):
    result = run_cookiecutter({"repo_name": repo_name, "github_owner": "acme"})
    assert result.returncode == 0, result.stderr
    generated = tmp_path / "out" / repo_name / ".github" / "workflows"
    assert sorted(p.name for p in generated.iterdir()) == ["build.yaml", "hub-version.yaml"]
    for name in ("build.yaml", "hub-version.yaml"):
        assert (generated / name).read_bytes() == (ROOT_WORKFLOWS / name).read_bytes()


def _job_if(name: str) -> str:
    data = YAML(typ="safe").load((ROOT_WORKFLOWS / name).read_text())
    (job,) = data["jobs"].values()
    return job["if"]


@pytest.mark.parametrize("is_template, setup_runs", [(True, False), (False, True)])
def test_setup_runs_only_in_a_copy_and_ci_only_in_the_template(is_template, setup_runs):
    ctx = event_context("push", "acme/climate-image")
    ctx["github"]["event"] = {"repository": {"is_template": is_template}}
    assert _truthy_text(_job_if("setup.yaml"), ctx) is setup_runs
    assert _truthy_text(_job_if("ci.yaml"), ctx) is (not setup_runs)


def test_the_template_repository_never_builds_an_image(copy):
    workflow = YAML(typ="safe").load((ROOT_WORKFLOWS / "build.yaml").read_text())
    # The template repository sets the variable HUB_IMAGE_TEMPLATE (a pull request cannot).
    for kind in ("push", "pr", "fork-pr"):
        ctx = event_context(kind, "hub-image/hub-image", variables={"HUB_IMAGE_TEMPLATE": "true"})
        assert build_outcome(workflow, ctx, copy) == ("skipped", "")
    # A "Use this template" copy's first push (the branch is created) builds nothing
    # either: setup.yaml turns it into the image repository first.
    first = event_context("push", "acme/climate-image")
    first["github"]["event"]["created"] = True
    assert build_outcome(workflow, first, copy) == ("skipped", "")


def test_root_workflows_pass_githubs_schema():
    result = subprocess.run(
        [
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, sorted(ROOT_WORKFLOWS.glob("*.yaml"))),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_copy_of_a_generated_template_repo_pushes_nothing_until_configured(run_cookiecutter, hub_image, tmp_path):
    result = run_cookiecutter({"repo_name": "community-image", "github_owner": "acme", "is_template": "true"})
    assert result.returncode == 0, result.stderr
    copy = tmp_path / "out" / "community-image"  # a copy has the same files
    wf = copy / ".github/workflows/build.yaml"

    def outcomes():
        return {
            k: build_outcome(YAML(typ="safe").load(wf.read_text()), event_context(k, "newcomer/community-image"), copy)
            for k in ("push", "pr", "fork-pr")
        }

    assert outcomes() == {"push": ("no push", ""), "pr": ("no push", ""), "fork-pr": ("no push", "")}
    readme = (copy / "README.md").read_text()
    assert "QUAY_USERNAME" in readme and "hub-image configure --image-name" in readme and "hub-image github" in readme
    assert hub_image("configure", str(copy), "--image-name", "newcomer/community-image").returncode == 0
    assert outcomes()["push"] == ("push", "quay.io/newcomer/community-image")


def test_a_template_repo_cannot_have_an_image_name(run_cookiecutter, tmp_path):
    result = run_cookiecutter({"is_template": "true", "image_name": "acme/x"})
    assert result.returncode != 0
    assert "error: is_template: a template repository must not push" in result.stderr
    assert list((tmp_path / "out").iterdir()) == []
