"""The `hub-image` command line."""

from __future__ import annotations

import click

from . import __version__, workflow
from .context import AnswerError, normalize_image_name


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
        _fail(f"--{exc}".replace("--image_name:", "--image-name:"))
    except workflow.WorkflowError as exc:
        _fail(str(exc))
    click.echo(f"{wf}: {'updated' if changed else 'unchanged'}; {describe(settings)}")
