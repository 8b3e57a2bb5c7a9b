"""The template: where it is (inside the installed package, or this checkout), its
defaults, rendering it with answers, and applying the answers to a rendered project."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import TemplateError

if TYPE_CHECKING:
    from .source import Source

#: Where the wheel carries the template (the same files as the repository's root).
PACKAGED = "_template"


def template_dir(explicit: str | None = None) -> Path:
    """The template to render: ``explicit`` (``--template``), ``HUB_IMAGE_TEMPLATE_DIR``, the
    copy inside the installed package, or the checkout this package runs from."""
    given = explicit or os.environ.get("HUB_IMAGE_TEMPLATE_DIR")
    if given:
        if not (Path(given) / "cookiecutter.json").is_file():
            raise TemplateError(
                f"--template: {given} is not a hub-image template (no cookiecutter.json); "
                "pass the template's directory, or leave it out to use the installed one"
            )
        return Path(given)
    from importlib import resources

    packaged = Path(str(resources.files("hub_image"))) / PACKAGED
    checkout = Path(__file__).resolve().parents[2]
    for candidate in (packaged, checkout):
        if (candidate / "cookiecutter.json").is_file():
            return candidate
    raise TemplateError(
        "the hub-image template is missing from this installation; reinstall hub-image, "
        "or pass --template PATH (a checkout of the template)"
    )


def template_defaults(template: Path) -> dict[str, Any]:
    """cookiecutter.json's defaults as answers (a choice's default is its first item)."""
    raw = json.loads((template / "cookiecutter.json").read_text())
    return {k: (v[0] if isinstance(v, list) else v) for k, v in raw.items() if not k.startswith("_")}


#: What a template's code (its hooks and Jinja extensions) may see of the environment: no
#: token, password, cloud key, proxy or git configuration, whatever its name.
SAFE_VARIABLES = frozenset(
    {
        *("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TERM", "NO_COLOR"),
        *("TMPDIR", "TEMP", "TMP", "SYSTEMROOT", "COMSPEC", "PATHEXT", "VIRTUAL_ENV"),
        *("PYTHONDONTWRITEBYTECODE", "PYTHONUTF8", "PYTHONIOENCODING", "PYTHONSAFEPATH", "PYTHONPATH"),
    }
)


def safe_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default: this process's) with only what rendering needs: an allow-list,
    so a secret under any name stays out of a template's hooks and extensions."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in environ.items() if k in SAFE_VARIABLES or k.startswith("LC_")}


def render(template: Path, answers: dict[str, Any], output_dir: Path, source: Source | None = None) -> Path:
    """Render ``template`` with ``answers`` (no prompts) into ``output_dir``, as the
    `cookiecutter` command does (the template's hooks and extension included), in a
    process of its own whose environment holds no secret (:func:`safe_environment`);
    return the project.  ``source``: where the template came from, recorded in
    .cruft.json and named in the README (default: what ``template`` itself shows).
    GitHub setup is never run from here: callers do it after."""
    return Rendering(template, answers, output_dir, source).result()


class Rendering:
    """One render under way (:func:`render`): started when made, so that a caller can do
    other work, such as waiting for GitHub, before it asks for the :meth:`result`."""

    def __init__(
        self, template: Path, answers: dict[str, Any], output_dir: Path, source: Source | None = None, background: bool = False
    ):
        """``background``: at a lower CPU priority (``nice``), so that work that waits on
        the network goes first."""
        import shutil
        import subprocess
        import sys
        import tempfile

        from . import record
        from .source import RENDER_COMMIT, RENDER_SOURCE, Source

        source = source or Source(*record.template_source(template))
        self.output_dir = output_dir.resolve()
        self.output_dir.mkdir(parents=True, exist_ok=True)
        given = {**{k: v for k, v in answers.items() if not k.startswith("_")}, "github_setup": "none"}
        args = [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in given.items()]
        self.stderr = ""
        self.tmp = tempfile.TemporaryDirectory(prefix="hub-image-render-")
        config = Path(self.tmp.name) / "cookiecutter.yaml"  # replays and clones stay out of ~
        config.write_text(f"replay_dir: {config.parent / 'replay'}\ncookiecutters_dir: {config.parent / 'cookiecutters'}\n")
        env = {
            **safe_environment(),
            "COOKIECUTTER_CONFIG": str(config),
            RENDER_SOURCE: source.url,
            RENDER_COMMIT: source.commit or "",
        }
        nice = ["nice", "-n", "10"] if background and shutil.which("nice") else []
        self.process = subprocess.Popen(
            [
                *nice,
                sys.executable,
                "-m",
                "cookiecutter",
                "--no-input",
                str(template.resolve()),
                "-o",
                str(self.output_dir),
                *args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=self.tmp.name,
        )

    def result(self) -> Path:
        """The project, once cookiecutter is done (asked again, the same); a failure is one line."""
        if self.process.returncode is None:
            try:
                _, self.stderr = self.process.communicate()
            finally:
                self.tmp.cleanup()
        if self.process.returncode != 0:
            said = self.stderr.splitlines()
            ours = [line.removeprefix("error: ") for line in said if line.startswith("error: ")]
            raise TemplateError(f"rendering the template failed: {(ours or [s for s in said if s.strip()] or ['?'])[-1]}")
        (project,) = [p for p in self.output_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
        return project

    def close(self) -> None:
        """Stop it, when its result is not wanted any more (nothing, once it was taken)."""
        if self.process.returncode is None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.communicate()
        self.tmp.cleanup()


def apply_answers(answers: dict[str, Any], project_dir: str | Path) -> None:
    """What generation does after rendering: set IMAGE_NAME / NO_PUSH from the answers."""
    if answers["image_name"]:
        from . import workflow  # ruamel.yaml: only when there is something to set

        workflow.configure(project_dir, image_name=answers["image_name"], push_on_pr=answers["push_on_pr"])


def files(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (not .git), by its POSIX path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
