"""The `hub-image` command line."""

from __future__ import annotations

import click

from pathlib import Path

from . import __version__, github, registries, workflow
from .context import AnswerError, normalize_image_name, validate_github_owner, validate_repo_name


def _fail(message: str) -> None:
    raise click.ClickException(message)


def describe(settings: workflow.PushSettings) -> str:
    if not settings.image_name:
        return "IMAGE_NAME not set: builds only, never pushes"
    when = "main and same-repo pull requests" if settings.push_on_pr else "main only"
    return f"IMAGE_NAME={settings.image_name}: pushes on {when}"


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
    """Set where and when the build workflow pushes the image.

    PATH is a generated repo (default: the current directory) or its workflow file.
    Only the IMAGE_NAME and NO_PUSH lines change; with no option, print the settings.
    """
    if image_name is not None and clear_image_name:
        _fail("--image-name and --clear-image-name exclude each other; give one")
    kwargs: dict = {}
    try:
        if image_name is not None:
            wf = workflow.find_workflow(path)
            registry = workflow.with_values(wf).get("DOCKER_REGISTRY") or "quay.io"
            kwargs["image_name"] = normalize_image_name(image_name, registry)
            if not kwargs["image_name"]:
                _fail("--image-name is empty; give namespace/name, or use --clear-image-name")
        elif clear_image_name:
            kwargs["image_name"] = None
        wf, changed, settings = workflow.configure(path, push_on_pr=push_on_pr, **kwargs)
    except AnswerError as exc:
        _fail(f"--image-name: {exc.message}")
    except workflow.WorkflowError as exc:
        _fail(str(exc))
    click.echo(f"{wf}: {'updated' if changed else 'unchanged'}; {describe(settings)}")


@main.command(name="github")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--owner", required=True, help="GitHub user or organisation that owns the repository.")
@click.option("--repo-name", help="Repository name (default: the directory's name).")
@click.option("--secrets-only", is_flag=True, help="The repository exists: only set its secrets.")
@click.option("--visibility", type=click.Choice(["public", "private"]), default="public", show_default=True,
              help="Visibility of a repository this creates.")
@click.option("--description", default="", help="Description of a repository this creates.")
@click.option("--registry", type=click.Choice(registries.CHOICES), default=registries.CHOICES[0], show_default=True)
def github_command(path, owner, repo_name, secrets_only, visibility, description, registry) -> None:
    """Create (or adopt) the GitHub repository of a generated image repo at PATH, push
    it to main, and set its registry secrets; or, with --secrets-only, set the secrets.

    The token comes from GITHUB_TOKEN or GH_TOKEN, the API from GITHUB_API_URL, the
    registry credentials from the environment (for quay.io QUAY_USERNAME and
    QUAY_PASSWORD) or a hidden prompt.  Safe to run again: it finishes what is left.
    """
    project = Path(path).resolve()
    try:
        validate_repo_name(repo_name or project.name)
        validate_github_owner(owner)
    except AnswerError as exc:
        _fail(f"--{'repo-name' if exc.field == 'repo_name' else 'owner'}: {exc.message}")
    request = github.Request(
        project_dir=project, owner=owner, repo_name=repo_name or project.name,
        mode="secrets" if secrets_only else "create", description=description,
        private=visibility == "private", registry=registry,
    )
    raise SystemExit(github.run_setup(request, out=click.echo, err=lambda line: click.echo(line, err=True)))
