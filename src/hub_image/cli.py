"""The `hub-image` command line."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import click

from . import __version__, github, hubconfig, registries, render, workflow
from .context import AnswerError, normalize_image_name, validate_github_owner, validate_repo_name


def _fail(message: str) -> None:
    raise click.ClickException(message)


@click.group()
@click.version_option(__version__, prog_name="hub-image")
def main() -> None:
    """Make and maintain JupyterHub user-image repositories."""


@main.command()
@click.argument("path", default=".", type=click.Path(exists=True, dir_okay=True, file_okay=True))
@click.option("--image-name", metavar="NAMESPACE/NAME", help="Image path on the registry; turns pushing on.")
@click.option("--clear-image-name", is_flag=True, help="Remove IMAGE_NAME; nothing is pushed any more.")
@click.option("--push-on-pr/--no-push-on-pr", default=None, help="Also push images built from same-repo pull requests.")
def configure(path: str, image_name: str | None, clear_image_name: bool, push_on_pr: bool | None) -> None:
    """Set where and when the build workflow pushes the image; with no option, only
    print what it does now.

    PATH is a generated repo (default: the current directory) or its workflow file.
    Only the IMAGE_NAME and NO_PUSH lines change.
    """
    if image_name is not None and clear_image_name:
        _fail("--image-name and --clear-image-name exclude each other; give one")
    try:
        wf = workflow.read(path)
        kwargs: dict = {}
        if image_name is not None:
            try:
                kwargs["image_name"] = normalize_image_name(image_name, wf.registry)
            except AnswerError as exc:
                hint = "" if wf.inputs.get("DOCKER_REGISTRY") else " (no DOCKER_REGISTRY: the action pushes to Docker Hub)"
                _fail(f"--image-name: {exc.message}{hint}")
            if not kwargs["image_name"]:
                _fail("--image-name is empty; give namespace/name, or use --clear-image-name")
        elif clear_image_name:
            kwargs["image_name"] = None
        change = workflow.apply(workflow.plan_change(wf, push_on_pr=push_on_pr, **kwargs))
    except workflow.WorkflowError as exc:
        _fail(str(exc))
    asked = image_name is not None or clear_image_name or push_on_pr is not None
    status = ("updated" if change.changed else "unchanged") if asked else "current settings"
    repo_name = wf.path.resolve().parents[2].name if wf.path.parent.name == "workflows" else "<repository>"
    events, warnings = workflow.describe(change.after, repo_name)
    click.echo(f"{wf.path}: {status}")
    for event, what in events:
        click.echo(f"  {event + ':':36} {what}")
    for note in change.notes:
        click.echo(f"note: {note}")
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


@main.command(name="github")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--owner", help="GitHub user or organisation (default: from origin, or the recorded answers).")
@click.option("--repo-name", help="Repository name (default: from origin, the recorded answers, or the directory's name).")
@click.option("--secrets-only", is_flag=True, help="The repository exists: only set its secrets.")
@click.option("--visibility", type=click.Choice(["public", "private"]), default="public", show_default=True,
              help="Visibility of a repository this creates.")
@click.option("--description", default="", help="Description of a repository this creates.")
@click.option("--registry", type=click.Choice(registries.CHOICES),
              help="Which registry's secrets to set (default: from the workflow's DOCKER_REGISTRY).")
@click.option("--template", "is_template", is_flag=True, help="Mark the repository as a template for other communities.")
def github_command(path, owner, repo_name, secrets_only, visibility, description, registry, is_template) -> None:
    """Create (or adopt) the GitHub repository of a generated image repo at PATH, set its
    registry secrets and push it to main; or, with --secrets-only, set the secrets.

    The repository is the one origin points at (or the recorded answers name); --owner
    and --repo-name are needed only when neither exists.  The token comes from
    GITHUB_TOKEN or GH_TOKEN, the API from GITHUB_API_URL, the registry credentials from
    the environment (for quay.io QUAY_USERNAME and QUAY_PASSWORD; a multi-line key from
    the file NAME_FILE names) or the terminal (user names visibly, passwords hidden).
    Safe to run again: it finishes what is left.
    """
    project = Path(path).resolve()
    if registry is None:
        try:
            registry = registries.choice_for_host(workflow.read(project).registry)
        except workflow.WorkflowError:
            registry = registries.CHOICES[0]
    try:
        if owner:
            validate_github_owner(owner)
        if repo_name:
            validate_repo_name(repo_name)
        owner, repo_name = github.identify(project, owner, repo_name)
        validate_repo_name(repo_name)
    except AnswerError as exc:
        _fail(f"--{'repo-name' if exc.field == 'repo_name' else 'owner'}: {exc.message}")
    except github.SetupError as exc:
        _fail(str(exc))
    request = github.Request(
        project_dir=project, owner=owner, repo_name=repo_name,
        mode="secrets" if secrets_only else "create", description=description,
        private=visibility == "private", registry=registry, is_template=is_template, from_cli=True,
    )
    if is_template:
        try:
            pushes = workflow.read(project).image_name
        except workflow.WorkflowError as exc:
            _fail(str(exc))
        if pushes:
            _fail("--template: this repo pushes to an image, and its copies would too; run "
                  "'hub-image configure --clear-image-name' first")
    raise SystemExit(github.run_setup(request, out=click.echo, err=lambda line: click.echo(line, err=True)))


@main.command(name="from-template")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--owner", help="GitHub owner (default: from GITHUB_REPOSITORY).")
@click.option("--repo-name", help="Repository name (default: from GITHUB_REPOSITORY).")
@click.option("--description", help="One-line description (default: the repository's, from the event payload).")
@click.option("--commit/--no-commit", default=True, show_default=True, help="Commit the result.")
@click.option("--push", is_flag=True, help="Push the commit to origin's main (token from GITHUB_TOKEN).")
def from_template(path, owner, repo_name, description, commit, push) -> None:
    """Turn a copy of the hub-image template repository (made with GitHub's "Use this
    template") into the image repo cookiecutter would generate, in place.

    The setup workflow of such a copy runs this on its first push; it can be run and
    tested locally the same way.
    """
    try:
        answers = render.answers_from_github() if not (owner and repo_name) else {}
        answers.update({k: v for k, v in (("github_owner", owner), ("repo_name", repo_name), ("description", description)) if v})
        changes = render.setup_template_copy(Path(path), answers, commit=commit or push)
        if push and changes:
            render.push_main(Path(path), github.read_token())
    except (render.RenderError, github.SetupError) as exc:
        _fail(str(exc))
    for line in changes:
        click.echo(line)
    click.echo(f"{path}: now the image repo {answers['github_owner']}/{answers['repo_name']}"
               f"{' (pushed)' if push and changes else ' (committed)' if commit and changes else ''}")


@main.command(name="hub-config")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--tag", help="Image tag (default: the first 12 characters of PATH's git HEAD).")
def hub_config(path, tag) -> None:
    """Print how a hub refers to this repo's image, pinned to one pushed tag: for Zero to
    JupyterHub, KubeSpawner profiles, DockerSpawner and the 2i2c Configurator."""
    try:
        wf = workflow.read(Path(path))
    except workflow.WorkflowError as exc:
        _fail(str(exc))
    if not wf.image_name:
        _fail("IMAGE_NAME is not set, so nothing is pushed; run: hub-image configure --image-name NAMESPACE/NAME")
    if not tag:
        tag, warnings = git_tag_for(Path(path))
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)
    click.echo(hubconfig.text(f"{wf.registry}/{wf.image_name}", tag))


def git_tag_for(path: Path) -> tuple[str, list[str]]:
    """The tag the workflow gives HEAD's image (its first 12 characters), and what makes
    that tag doubtful.  ``path`` must be the root of its own git repository."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=path, capture_output=True, text=True)

    top = git("rev-parse", "--show-toplevel")
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != path.resolve():
        where = f" (it is inside {top.stdout.strip()})" if top.returncode == 0 else ""
        _fail(f"{path} is not the root of a git repository{where}; run it in the image repo's root, or pass --tag")
    head = git("rev-parse", "--verify", "--quiet", "HEAD")
    if head.returncode != 0:
        _fail(f"{path} has no git commit to name the tag; pass --tag (the 12-character sha of a pushed commit)")
    warnings = []
    if git("status", "--porcelain").stdout.strip():
        warnings.append("uncommitted changes: the image of this commit does not have them")
    if not git("branch", "--remotes", "--contains", "HEAD").stdout.strip():
        warnings.append("HEAD is not on any remote branch: push it, or no image has this tag")
    return head.stdout.strip()[:12], warnings


def _template_dir(template: str | None) -> Path:
    """The template to render from: --template, HUB_IMAGE_TEMPLATE, or the checkout
    this package runs from."""
    candidate = template or os.environ.get("HUB_IMAGE_TEMPLATE") or str(Path(__file__).resolve().parents[2])
    path = Path(candidate)
    if not (path / "cookiecutter.json").is_file():
        _fail(f"--template: {candidate} is not a hub-image template checkout (no cookiecutter.json); "
              "pass --template PATH or set HUB_IMAGE_TEMPLATE")
    return path


@main.group()
def fleet() -> None:
    """Many hub image repos from one manifest (see README)."""


def _load_fleet(manifest: str, template: str | None, workers: int = 8, wait: bool = False):
    from . import fleet as fleet_mod

    template_dir = _template_dir(template)
    try:
        loaded = fleet_mod.load_manifest(Path(manifest), template_dir)
    except fleet_mod.ManifestError as exc:
        for line in str(exc).splitlines():
            click.echo(f"error: {line}", err=True)
        raise SystemExit(2)
    try:
        token = github.read_token()
    except github.SetupError as exc:
        _fail(str(exc))

    def on_wait(seconds: float) -> None:
        until = time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + seconds))
        click.echo(f"waiting {seconds:.0f} s, until {until}: GitHub's rate limit asks to (Ctrl-C stops; a re-run resumes)",
                   err=True)

    runner = fleet_mod.Fleet(loaded, template_dir, token, workers=workers, max_wait=float("inf") if wait else None,
                             on_wait=on_wait)
    return fleet_mod, runner


def _resume(verb: str, manifest: str, template: str | None) -> str:
    return shlex.join(["hub-image", "fleet", verb, manifest] + (["--template", template] if template else []))


def _run_with_progress(what: str, total: int, work, as_json: bool):
    """Run ``work(on_done)``; a progress bar on a terminal, nothing otherwise."""
    from rich.progress import Progress

    if as_json or not sys.stderr.isatty():
        return work(lambda p: None)
    with Progress(transient=True) as progress:
        task = progress.add_task(what, total=total)
        return work(lambda p: progress.advance(task))


def _report(fleet_mod, runner, plans, as_json: bool, verb: str, resume: str) -> None:
    from rich.console import Console
    from rich.table import Table

    rows = fleet_mod.summary(plans)
    if as_json:
        click.echo(json.dumps({"owner": runner.manifest.owner, "images": rows, "organisation_secrets": runner.org_changes},
                              indent=2))
    else:
        table = Table(title=f"{verb}: {runner.manifest.owner} ({len(rows)} images)")
        for column in ("repository", "status", "what"):
            table.add_column(column)
        for row in rows:
            table.add_row(row["repo"], row["status"], row["detail"])
        Console().print(table)
        for line in runner.org_changes:
            click.echo(line)
        if all(r["status"] in ("unchanged",) for r in rows) and not runner.org_changes:
            click.echo("Everything is as the manifest says; nothing was changed.")
    if runner.stop_reason:
        click.echo(f"error: stopped: {runner.stop_reason}", err=True)
        click.echo(f"Resume with: {resume}", err=True)
        raise SystemExit(1)
    if runner.org_failed or any(r["status"] == "failed" for r in rows):
        click.echo(f"Some steps failed (see above); once fixed, resume with: {resume}", err=True)
        raise SystemExit(1)


@fleet.command(name="plan")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.option("--template", help="The hub-image template checkout to render from.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.option("--wait", is_flag=True, help="Wait as long as GitHub's rate limits ask (default: stop after 5 minutes).")
def fleet_plan(manifest, template, as_json, wait) -> None:
    """Read GitHub and print, per image, what `apply` would do. Changes nothing."""
    fleet_mod, runner = _load_fleet(manifest, template, wait=wait)
    resume = _resume("plan", manifest, template)
    try:
        runner.prepare()
        plans = _run_with_progress("reading", len(runner.manifest.images), runner.plan, as_json)
        if runner.manifest.org_secrets and not runner.stop_reason:
            runner.org_changes = [text for _, text in runner.org_secret_changes(plans, apply=False)]
    except github.SetupError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        click.echo(f"Interrupted; nothing was changed. Run again: {resume}", err=True)
        raise SystemExit(130)
    for p in plans:
        if p.status == "planned":
            p.status, p.detail = ("planned" if p.actions else "unchanged"), p.describe()
    _report(fleet_mod, runner, plans, as_json, "plan", resume)


@fleet.command(name="apply")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.option("--template", help="The hub-image template checkout to render from.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.option("--workers", default=8, show_default=True, type=click.IntRange(1, 32), help="Images worked on at once.")
@click.option("--wait", is_flag=True, help="Wait as long as GitHub's limits ask, with a countdown (default: stop "
              "when a wait would pass 5 minutes, and say when to resume).")
def fleet_apply(manifest, template, as_json, workers, wait) -> None:
    """Create, push and configure every image repo of MANIFEST; safe to run again."""
    fleet_mod, runner = _load_fleet(manifest, template, workers, wait)
    resume = _resume("apply", manifest, template)
    try:
        runner.prepare()
        plans = _run_with_progress("reading", len(runner.manifest.images), runner.plan, as_json)
        if runner.stop_reason:
            _report(fleet_mod, runner, plans, as_json, "apply", resume)
        planned = [p for p in plans if p.status == "planned"]
        missing = sorted(n for n in runner.needed_secrets(planned) if not os.environ.get(n))
        if missing:
            _fail(f"{', '.join(missing)} not set; export the registry credentials (they never go in the manifest)")
        writes, per_hour = runner.writes_needed(planned), runner.pacer.writes_per_hour()
        if writes > per_hour:
            hours = runner.pacer.hours_for(writes)
            if not wait:
                _fail(f"this run needs {writes} writes, more than GitHub's {per_hour} an hour: it would take about "
                      f"{hours:.1f} h; run it with --wait (a countdown shows each wait), or split the manifest")
            click.echo(f"note: {writes} writes at {per_hour} an hour: this run takes about {hours:.1f} h", err=True)
        runner.secrets = {n: os.environ[n] for n in runner.needed_secrets(plans)}
        plans = _run_with_progress("applying", len(plans), lambda done: runner.apply(plans, done), as_json)
    except github.SetupError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        click.echo(f"Interrupted: no write was left half-done (GitHub holds the state). Resume with: {resume}", err=True)
        sys.stderr.flush()
        os._exit(130)  # workers still waiting on a request must not hold the exit
    _report(fleet_mod, runner, plans, as_json, "apply", resume)
