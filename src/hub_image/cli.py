"""The `hub-image` command line: it parses options, makes one call, and prints.

Every error is a :class:`~hub_image.errors.HubImageError` (a click exception): click
prints its one line and exits with its code.  Heavy modules (cookiecutter, PyGithub,
ruamel.yaml) are imported inside the command that needs them, so `--help` is instant.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import click

from . import __version__, registries
from .errors import HubImageError


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from . import source

    mine = source.installed()
    click.echo(f"hub-image {__version__}")
    click.echo(f"source: {mine.url if mine else 'unknown'}")
    click.echo(f"commit: {(mine.commit if mine else None) or 'unknown'}")
    ctx.exit()


@click.group()
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version, help="Version, source and commit.")
def main() -> None:
    """Make and maintain JupyterHub user-image repositories."""


@main.command()
@click.argument("path", default=".", type=click.Path(exists=True, dir_okay=True, file_okay=True))
@click.option("--image-name", metavar="NAMESPACE/NAME", help="Image path on the registry; turns pushing on.")
@click.option("--clear-image-name", is_flag=True, help="Remove IMAGE_NAME; nothing is pushed any more.")
@click.option("--push-on-pr/--no-push-on-pr", default=None, help="Also push images built from same-repo pull requests.")
@click.option("--jupyterhub-version", metavar="X.Y[.Z]", help="Build for this JupyterHub series (pin, image-tests, README).")
@click.option("--hub-url", metavar="URL", help="Build for the JupyterHub series this hub reports (GET URL/hub/api/).")
def configure(
    path: str,
    image_name: str | None,
    clear_image_name: bool,
    push_on_pr: bool | None,
    jupyterhub_version: str | None,
    hub_url: str | None,
) -> None:
    """Set where and when the build workflow pushes the image, and which JupyterHub
    series it is built for; with no option, only print what it does now.

    PATH is a generated repo (default: the current directory) or its workflow file.
    Only the lines that must change do.
    """
    from . import workflow

    if image_name is not None and clear_image_name:
        raise HubImageError("--image-name and --clear-image-name exclude each other; give one")
    if jupyterhub_version and hub_url:
        raise HubImageError("--jupyterhub-version and --hub-url exclude each other; give one")
    if jupyterhub_version or hub_url:
        from . import hubversion

        repo = Path(path) if Path(path).is_dir() else workflow.find_workflow(path).resolve().parents[2]
        version = jupyterhub_version or hubversion.hub_version(hub_url or "")
        old, new, changed = hubversion.set_series(repo, version)
        source = f" (the hub at {hub_url} runs {version})" if hub_url else ""
        click.echo(f"{repo}: JupyterHub {old}.x -> {new}.x{source}: {', '.join(changed) if changed else 'unchanged'}")
    asked = image_name is not None or clear_image_name or push_on_pr is not None
    chosen = workflow.locate(path)[1]
    if chosen:
        click.echo(f"note: {chosen}")
    wf, change = workflow.configure_from_options(path, image_name, clear_image_name, push_on_pr)
    events, warnings = workflow.describe(change.after, wf.repo_dir_name)
    click.echo(f"{wf.path}: {('updated' if change.changed else 'unchanged') if asked else 'current settings'}")
    for event, what in events:
        click.echo(f"  {event + ':':36} {what}")
    for note in change.notes:
        click.echo(f"note: {note}")
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.argument("assignments", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--no-input", is_flag=True, help="Ask nothing: the defaults, and the KEY=VALUE answers given.")
def new(directory: str, assignments: tuple[str, ...], no_input: bool) -> None:
    """Make a new image repo in DIRECTORY (default: here), asking only the questions
    that apply.  KEY=VALUE answers are taken as given (see README for the keys)."""
    from . import new as new_mod
    from .template import template_dir

    template = template_dir()
    given = new_mod.parse_assignments(assignments)
    answers = new_mod.collect(template, given, None if no_input else _ask)
    from .hooks import setup_prerequisites

    setup_prerequisites(answers)
    created = new_mod.create(Path(directory), answers, template)
    click.echo(f"Created {created.project}")
    from . import record, source

    recorded = record.read(created.project)["template"]
    if source.is_local(recorded):
        click.echo(
            f"note: .cruft.json records the template as the local path {recorded}: "
            "hub-image update works only where that path exists",
            err=True,
        )
    if answers["github_setup"] != "none":
        from . import repo_setup

        status = repo_setup.run_setup(
            repo_setup.Request.from_answers(answers, created.project), out=click.echo, err=lambda line: click.echo(line, err=True)
        )
        if status:
            raise SystemExit(status)
    click.echo("Next steps:")
    for number, step in enumerate(created.next_steps, 1):
        click.echo(f"  {number}. {step}")


def _ask(key: str, question: str, default: Any, choices: list[str] | None) -> Any:
    if isinstance(default, bool):
        return click.confirm(question, default=default)
    if choices:
        return click.prompt(question, default=choices[0], type=click.Choice(choices), show_choices=True)
    return (
        click.prompt(question, default=default, show_default=True)
        if default != ""
        else click.prompt(question, default="", show_default=False)
    )


@main.command(name="github")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--owner", help="GitHub user or organisation (default: from origin, or the recorded answers).")
@click.option("--repo-name", help="Repository name (default: from origin, the recorded answers, or the directory's name).")
@click.option("--secrets-only", is_flag=True, help="The repository exists: only set its secrets.")
@click.option(
    "--visibility",
    type=click.Choice(["public", "private"]),
    default="public",
    show_default=True,
    help="Visibility of a repository this creates.",
)
@click.option("--description", default="", help="Description of a repository this creates.")
@click.option(
    "--registry",
    type=click.Choice(registries.CHOICES),
    help="Which registry's secrets to set (default: from the workflow's DOCKER_REGISTRY).",
)
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
    from . import repo_setup

    request = repo_setup.request_from_options(
        Path(path),
        owner=owner,
        repo_name=repo_name,
        secrets_only=secrets_only,
        private=visibility == "private",
        description=description,
        registry=registry,
        is_template=is_template,
    )
    raise SystemExit(repo_setup.run_setup(request, out=click.echo, err=lambda line: click.echo(line, err=True)))


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
    from . import template_copy

    full_name, changes, pushed, notes = template_copy.run(
        Path(path), owner=owner, repo_name=repo_name, description=description, commit=commit or push, push=push
    )
    for line in changes:
        click.echo(line)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"{path}: now the image repo {full_name}{' (pushed)' if pushed else ' (committed)' if commit and changes else ''}")


@main.command(name="hub-config")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--tag", help="Image tag (default: the first 12 characters of PATH's git HEAD).")
def hub_config(path, tag) -> None:
    """Print how a hub refers to this repo's image, pinned to one pushed tag: for Zero to
    JupyterHub, KubeSpawner profiles, DockerSpawner and the 2i2c Configurator."""
    from . import hubconfig

    text, warnings = hubconfig.for_repo(Path(path), tag)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(text)


@main.command()
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--repo", "repo_name", required=True, metavar="OWNER/NAME", help="The hub's deployment repository.")
@click.option("--tag", help="Image tag (default: the first 12 characters of PATH's git HEAD, as the workflow tags).")
@click.option(
    "--path", "paths", multiple=True, metavar="FILE", help="Only this file of it (repeatable; default: every YAML file)."
)
@click.option("--base", metavar="BRANCH", help="The branch to propose the change to (default: its default branch).")
def deploy(path: str, repo_name: str, tag: str | None, paths: tuple[str, ...], base: str | None) -> None:
    """Open (or update) a pull request in the hub's deployment repository that moves every
    reference to this repo's image to the new tag: Zero to JupyterHub's `name:`/`tag:`,
    and `IMAGE:TAG` strings such as a profile list's.  One pull request per image, from
    the branch hub-image/deploy/IMAGE; a re-run with the same tag writes nothing.

    The token comes from GITHUB_TOKEN or GH_TOKEN (a GitHub App's installation token, or a
    fine-grained token with contents and pull requests: write on that repository)."""
    from . import github_api
    from .deploy import deploy as deploy_image

    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo_name):
        raise HubImageError(f"--repo: {repo_name!r} is not OWNER/NAME; give the deployment repository, e.g. my-org/hub-config")
    result = deploy_image(Path(path), repo_name, github_api.read_token(), tag, paths, base)
    for change in result.changes:
        click.echo(f"{change.path}:{change.line}: {change.before} -> {change.after}")
    click.echo(result.detail + (f" ({result.url})" if result.url else ""))


@main.command()
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--to", "ref", metavar="REF", help="The template's commit, branch or tag to update to (default: its newest).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Change a recorded answer (repeatable).")
@click.option("--adopt", is_flag=True, help="A repo made before hub-image recorded answers: infer them and record them.")
@click.option(
    "--template",
    metavar="SOURCE",
    help="The template's git URL or path, when it is not this hub-image's own (it must be the one .cruft.json records).",
)
def update(path: str, ref: str | None, sets: tuple[str, ...], adopt: bool, template: str | None) -> None:
    """Bring the image repo at PATH up to date with its template (recorded in .cruft.json),
    or re-render it with changed answers, keeping your own edits (a three-way merge).

    The template runs only from this hub-image's own source (the new side at the
    installed commit), or from the SOURCE --template names; a record naming any other
    source is refused.  The result is left for review; conflicts are marked in the files."""
    from . import new as new_mod
    from . import update as update_mod

    if adopt:
        from .adopt import adopt as adopt_repo

        adopted = adopt_repo(Path(path), template, ref)
        click.echo(f"{path}: recorded the template {adopted.source} at {adopted.new[:12]} and the answers it shows:")
        for key, value in adopted.inferred.items():
            click.echo(f"  {key}: {value}")
        for note in adopted.notes:
            click.echo(f"note: {note}")
        click.echo(
            "Other answers keep the template's defaults; check .cruft.json, commit it, and from now on run hub-image update."
        )
        return
    trusted = update_mod.trusted_source(template)
    click.echo(f"template: {trusted.url}")
    result = update_mod.update(Path(path), ref, new_mod.parse_assignments(sets), trusted if template else None)
    if not result.changed:
        click.echo(f"{path}: already up to date with the template ({result.new[:12]}); nothing changed")
        return
    click.echo(f"{path}: template {result.old[:12]} -> {result.new[:12]}; changed: {', '.join(result.changed)}")
    if result.conflicts or result.rejected:
        what = [f"conflicts in {', '.join(result.conflicts)} (resolve the <<<<<<< markers)"] if result.conflicts else []
        what += [f"rejected hunks in {', '.join(result.rejected)}"] if result.rejected else []
        raise HubImageError(f"{'; '.join(what)}; then git add and commit")
    click.echo("Review with `git diff HEAD`, then commit.")


# --- fleets ----------------------------------------------------------------------------


@main.group()
def fleet() -> None:
    """Many hub image repos from one manifest (the docs: How-to, Fleets)."""


def _fleet(manifest: str, template: str | None, workers: int = 16, wait: bool = False):
    from . import fleet as fleet_mod

    def on_wait(seconds: float) -> None:
        until = time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + seconds))
        click.echo(f"waiting {seconds:.0f} s, until {until}, for GitHub's rate limits (Ctrl-C stops; a re-run resumes)", err=True)

    return fleet_mod.Fleet.load(
        Path(manifest),
        template,
        workers=workers,
        max_wait=float("inf") if wait else None,
        on_wait=on_wait,
        notify=lambda line: click.echo(line, err=True),
    )


def _resume(verb: str, manifest: str, template: str | None) -> str:
    return shlex.join(["hub-image", "fleet", verb, manifest] + (["--template", template] if template else []))


def _interrupted(message: str) -> None:
    """Ctrl-C: say how to resume and exit 130 now; threads still waiting on a request
    (given a few seconds already) must not hold the exit."""
    click.echo(message, err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


def _with_progress(what: str, total: int, work, as_json: bool):
    """Run ``work(on_done)``; a progress bar on a terminal, nothing otherwise."""
    if as_json or not sys.stderr.isatty():
        return work(lambda p: None)
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task(what, total=total)
        return work(lambda p: progress.advance(task))


def _report(runner: Any, plans: list, as_json: bool, verb: str, resume: str) -> None:
    from . import fleet as fleet_mod

    rows = fleet_mod.summary(plans)
    if as_json:
        click.echo(
            json.dumps({"owner": runner.manifest.owner, "images": rows, "organisation_secrets": runner.org_changes}, indent=2)
        )
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{verb}: {runner.manifest.owner} ({len(rows)} images)")
        for column in ("repository", "status", "what"):
            table.add_column(column)
        for row in rows:
            table.add_row(row["repo"], row["status"], row["detail"])
        Console().print(table)
        for line in runner.org_changes:
            click.echo(line)
        if all(r["status"] == "unchanged" for r in rows) and not runner.org_changes:
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
@click.option("--template", help="The hub-image template to render from (default: the installed one).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.option("--wait", is_flag=True, help="Wait as long as GitHub's rate limits ask (default: stop after 5 minutes).")
def fleet_plan(manifest, template, as_json, wait) -> None:
    """Read GitHub and print, per image, what `apply` would do. Changes nothing."""
    runner = _fleet(manifest, template, wait=wait)
    resume = _resume("plan", manifest, template)
    try:
        plans = _with_progress("reading", len(runner.manifest.images), runner.run_plan, as_json)
    except KeyboardInterrupt:
        _interrupted(f"Interrupted; nothing was changed. Run again: {resume}")
    _report(runner, plans, as_json, "plan", resume)


@fleet.command(name="apply")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.option("--template", help="The hub-image template to render from (default: the installed one).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.option("--workers", default=32, show_default=True, type=click.IntRange(1, 32), help="Images worked on at once.")
@click.option(
    "--wait",
    is_flag=True,
    help="Wait as long as GitHub's limits ask, with a countdown (default: stop "
    "when a wait would pass 5 minutes, and say when to resume).",
)
def fleet_apply(manifest, template, as_json, workers, wait) -> None:
    """Create, push and configure every image repo of MANIFEST; safe to run again."""
    runner = _fleet(manifest, template, workers, wait)
    resume = _resume("apply", manifest, template)
    try:
        plans = _with_progress("working", 2 * len(runner.manifest.images), runner.run_apply, as_json)
    except KeyboardInterrupt:
        _interrupted(f"Interrupted: no write was left half-done (GitHub holds the state). Resume with: {resume}")
    _report(runner, plans, as_json, "apply", resume)


@fleet.command(name="update")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.option("--to", metavar="REF", help="Update to this commit, branch or tag of the template (default: its newest).")
@click.option("--template", help="The hub-image template whose questions the manifest answers (default: the installed one).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 32), help="Repositories worked on at once.")
@click.option("--wait", is_flag=True, help="Wait as long as GitHub's limits ask (default: stop after 5 minutes).")
def fleet_update(manifest, to, template, as_json, workers, wait) -> None:
    """Bring the template's changes, and the manifest's changed answers, to every image
    repo of MANIFEST: one pull request per repository (a draft when something did not
    merge), never a push to main. A re-run updates its own pull request."""
    from .fleet_update import FleetUpdate

    runner = _fleet(manifest, template, workers, wait)
    resume = _resume("update", manifest, template)
    try:
        plans = _with_progress("updating", len(runner.manifest.images), FleetUpdate(runner, to).run, as_json)
    except KeyboardInterrupt:
        _interrupted(f"Interrupted: a branch already pushed is reused. Resume with: {resume}")
    _report(runner, plans, as_json, "update", resume)
