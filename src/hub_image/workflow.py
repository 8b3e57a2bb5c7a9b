"""Edits to a repo2docker-action workflow: set or clear IMAGE_NAME, switch PR pushes.

ruamel.yaml reads the workflow and says where each node starts and ends; the edit
then replaces exactly those characters, so comments, blank lines, quoting and the
file's own (even mixed) indentation stay as they were, and only the lines that must
change do.  The result is read back and checked before the file is written.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .errors import AnswerError, WorkflowError

ACTION = "jupyterhub/repo2docker-action"

#: NO_PUSH values, one per state.  Not configured: never push (without IMAGE_NAME
#: the action would push to DOCKER_USERNAME/<repo>, a wrong path for a robot account).
NO_PUSH_NEVER = "true"
#: Push on main only (the exact value the 2i2c template uses).
NO_PUSH_MAIN_ONLY = "${{ github.event_name == 'pull_request' }}"
#: Push on main and on pull requests from this repository; forks get no secrets.
NO_PUSH_MAIN_AND_PRS = (
    "${{ github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name != github.repository }}"
)


@dataclass(frozen=True)
class PushSettings:
    image_name: str  # '' = not configured
    push_on_pr: bool

    @property
    def no_push(self) -> str:
        if not self.image_name:
            return NO_PUSH_NEVER
        return NO_PUSH_MAIN_AND_PRS if self.push_on_pr else NO_PUSH_MAIN_ONLY


def find_workflow(path: str | os.PathLike) -> Path:
    """A repo directory or a workflow file → the workflow file to edit."""
    return locate(path)[0]


def locate(path: str | os.PathLike) -> tuple[Path, str]:
    """The build workflow of a repo directory (or the workflow file given), and a note
    when it was chosen among several: the workflow that uses repo2docker-action, whatever
    its name.  A repo built some other way is refused with the reason, in one line."""
    p = Path(path)
    if p.is_file():
        return p, ""
    if not p.is_dir():
        raise WorkflowError(f"{p}: no such file or directory")
    found = [_builder(f) for f in sorted((p / ".github" / "workflows").glob("*.y*ml"))]
    using = [f for f, how in found if how == ACTION]
    if len(using) == 1:
        return using[0], ""
    if not using:
        others = [f"{f.relative_to(p).as_posix()} {how}" for f, how in found if how]
        why = f": {'; '.join(others)}" if others else " (no workflow in .github/workflows builds an image)"
        raise WorkflowError(
            f"{p}: hub-image manages repos whose workflow uses {ACTION}, and none here does{why}; nothing was changed"
        )
    pushing = [f for f in using if _pushes(f)]
    names = ", ".join(f.name for f in using)
    if len(pushing) == 1:
        return pushing[0], f"{len(using)} workflows use {ACTION} ({names}); chose {pushing[0].name}, the one that pushes"
    raise WorkflowError(
        f"{p}: {len(using)} workflows use {ACTION} ({names}); give the one that builds and pushes the image, "
        f"e.g. {p / '.github' / 'workflows' / using[0].name}"
    )


def _steps(data: Any) -> list[tuple[dict, dict]]:
    """(job, step) for every step of every job of a parsed workflow."""
    jobs = data.get("jobs") if isinstance(data, dict) else None
    out = []
    for job in (jobs or {}).values() if isinstance(jobs, dict) else []:
        if isinstance(job, dict):
            out += [(job, step) for step in job.get("steps") or [] if isinstance(step, dict)]
    return out


def _builder(path: Path) -> tuple[Path, str]:
    """What builds the image in the workflow at ``path``: the repo2docker action, a
    reusable workflow, docker or repo2docker on the command line; '' when nothing does."""
    try:
        data = YAML(typ="safe").load(path.read_bytes())
    except (YAMLError, OSError, UnicodeDecodeError):
        return path, ""
    if any(str(step.get("uses", "")).split("@")[0] == ACTION for _, step in _steps(data)):
        return path, ACTION
    jobs = data.get("jobs") if isinstance(data, dict) else None
    for job in jobs.values() if isinstance(jobs, dict) else []:
        if isinstance(job, dict) and isinstance(job.get("uses"), str):
            return path, f"runs the reusable workflow {job['uses']}"
    for _, step in _steps(data):
        uses, run = str(step.get("uses", "")).split("@")[0], str(step.get("run", ""))
        if uses == "docker/build-push-action" or re.search(r"\bdocker\s+(buildx\s+)?build\b", run):
            return path, "builds with docker buildx" if "buildx" in run or uses.startswith(
                "docker/"
            ) else "builds with docker build"
        if re.search(r"\b(jupyter-)?repo2docker\s", run):
            return path, "builds with the repo2docker command, not the action"
    return path, ""


def _pushes(path: Path) -> bool:
    """Whether the repo2docker-action workflow at ``path`` runs on a push and may push."""
    data = YAML(typ="safe").load(path.read_bytes())
    on = data.get("on") if isinstance(data, dict) else None
    triggered = "push" in on if isinstance(on, (dict, list)) else on == "push"
    never = all(
        str((step.get("with") or {}).get("NO_PUSH", "")).strip().lower() == "true"
        for _, step in _steps(data)
        if str(step.get("uses", "")).split("@")[0] == ACTION
    )
    return triggered and not never


def round_trip_yaml() -> YAML:
    """The ruamel.yaml set-up whose round trip of the template's workflows is byte-identical."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _compose(text: str, where: str) -> MappingNode:
    try:
        root = round_trip_yaml().compose(io.StringIO(text))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise WorkflowError(f"{where}: not valid YAML{at}; fix the file and run again") from None
    if not isinstance(root, MappingNode):
        raise WorkflowError(f"{where}: not a GitHub workflow (no top-level mapping)")
    return root


def _get(node: MappingNode, key: str):
    for k, v in node.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return k, v
    return None, None


def _action_with_blocks(root: MappingNode, where: str) -> list[MappingNode]:
    """Every `with:` mapping of a step that uses repo2docker-action."""
    found: list[MappingNode] = []
    _, jobs = _get(root, "jobs")
    if isinstance(jobs, MappingNode):
        for _, job in jobs.value:
            if not isinstance(job, MappingNode):
                continue
            _, steps = _get(job, "steps")
            if not isinstance(steps, SequenceNode):
                continue
            for step in steps.value:
                if not isinstance(step, MappingNode):
                    continue
                _, uses = _get(step, "uses")
                if isinstance(uses, ScalarNode) and uses.value.split("@")[0] == ACTION:
                    wkey, with_ = _get(step, "with")
                    if with_ is None or (isinstance(with_, ScalarNode) and with_.value in ("", None)):
                        raise WorkflowError(f"{where}: the {ACTION} step has no 'with:' block; add one")
                    if not isinstance(with_, MappingNode) or with_.flow_style:
                        raise WorkflowError(
                            f"{where}: the {ACTION} step's 'with:' is not a block mapping; write one key per line"
                        )
                    found.append(with_)
    if not found:
        raise WorkflowError(f"{where}: no step uses {ACTION}; is this the image build workflow?")
    return found


#: What NO_PUSH makes the action do, by state.
NEVER, MAIN, MAIN_AND_PRS, ALWAYS, CUSTOM = "never", "main", "main+prs", "always", "custom"


def no_push_state(value: str | None) -> str:
    """Classify a NO_PUSH value: one of the states above (CUSTOM: a hand-written one)."""
    if value is None or value.strip() in ("", "false"):
        return ALWAYS  # the action treats an empty NO_PUSH as false
    if value.strip() == NO_PUSH_NEVER:
        return NEVER
    if _same(value, NO_PUSH_MAIN_ONLY):
        return MAIN
    if _same(value, NO_PUSH_MAIN_AND_PRS):
        return MAIN_AND_PRS
    return CUSTOM


@dataclass(frozen=True)
class Workflow:
    """A build workflow as read once: its text and what its repo2docker-action step says."""

    path: Path
    text: str
    inputs: dict[str, str | None]  # the `with:` inputs of the (first) action step
    branch: str | None  # the branch a push builds ('main'), None if pushes to any branch build
    root: MappingNode | None = field(default=None, repr=False, compare=False)  # the parsed text, for edits

    @property
    def image_name(self) -> str:
        return self.inputs.get("IMAGE_NAME") or ""

    @property
    def image_is_expression(self) -> bool:
        return "${{" in self.image_name

    @property
    def no_push(self) -> str | None:
        return self.inputs.get("NO_PUSH")

    @property
    def state(self) -> str:
        return no_push_state(self.no_push)

    @property
    def registry(self) -> str:
        """Where the action pushes: DOCKER_REGISTRY, or Docker Hub when it is not set."""
        return (self.inputs.get("DOCKER_REGISTRY") or "").strip() or "docker.io"

    @property
    def repo_dir_name(self) -> str:
        """The repository's directory name, standing in for its name on GitHub."""
        return self.path.resolve().parents[2].name if self.path.parent.name == "workflows" else "<repository>"


def read(path: str | os.PathLike) -> Workflow:
    """Find and parse the build workflow at ``path`` (a repo or the file), once."""
    wf = find_workflow(path)
    text = wf.read_bytes().decode("utf-8")  # no newline translation: CRLF stays CRLF
    where = str(wf)
    root = _compose(text, where)
    return Workflow(wf, text, _inputs(_action_with_blocks(root, where)[0]), _push_branch(root), root)


def _push_branch(root: MappingNode) -> str | None:
    _, on = _get(root, "on")
    if isinstance(on, MappingNode):
        _, push = _get(on, "push")
        if isinstance(push, MappingNode):
            _, branches = _get(push, "branches")
            if isinstance(branches, SequenceNode) and branches.value and isinstance(branches.value[0], ScalarNode):
                return branches.value[0].value
            if isinstance(branches, ScalarNode) and branches.value:
                return branches.value
    return None


def _with_values(text: str, where: str) -> dict[str, str | None]:
    return _inputs(_action_with_blocks(_compose(text, where), where)[0])


def _inputs(with_: MappingNode) -> dict[str, str | None]:
    """A `with:` block's inputs as text (None for a value that is not a scalar)."""
    return {k.value: (v.value if isinstance(v, ScalarNode) else None) for k, v in with_.value}


def _same(a: str | None, b: str) -> bool:
    return a is not None and " ".join(a.split()) == " ".join(b.split())


_UNSET: Any = object()


@dataclass
class Change:
    """What :func:`configure` did: the workflow before, the text after, and notes for the user."""

    before: Workflow
    text: str
    notes: list[str]
    inputs: dict[str, str | None]  # the action's inputs in ``text`` (as read back after the edit)

    @property
    def changed(self) -> bool:
        return self.text != self.before.text

    @property
    def after(self) -> Workflow:
        return Workflow(self.before.path, self.text, self.inputs, self.before.branch)


def plan_change(wf: Workflow, image_name: str | None | Any = _UNSET, push_on_pr: bool | None = None) -> Change:
    """The edit that sets (``image_name='ns/name'``) or clears (``image_name=None``)
    IMAGE_NAME and/or switches pushes from pull requests; nothing asked, nothing changed.

    A hand-written NO_PUSH is kept unless ``push_on_pr`` is given; clearing the image
    always stops pushes (else the action would push to its fallback path).  An
    IMAGE_NAME built from an expression with one value per run (``github.*``, ``env.*``,
    ``vars.*``) is replaced like a literal; one that differs per matrix leg or per
    workflow input is never replaced by one name.
    """
    where = str(wf.path)
    notes: list[str] = []
    set_image = image_name is not _UNSET
    per_leg = re.search(r"\b(matrix|inputs|github\.event\.inputs)\.", wf.image_name) if wf.image_is_expression else None
    if set_image and image_name and per_leg:
        what = "matrix leg" if per_leg.group(1) == "matrix" else "workflow input"
        raise WorkflowError(
            f"{where}: IMAGE_NAME is the expression {wf.image_name!r}, one image per {what}; one literal name "
            "would make them all push to the same image: edit it by hand"
        )
    if set_image and image_name and wf.image_is_expression:
        notes.append(f"replaced the expression {wf.image_name!r} (one value per run) with {image_name!r}")
    new_image = (image_name or "") if set_image else wf.image_name
    if not set_image and push_on_pr is None:
        return Change(wf, wf.text, notes, wf.inputs)
    if not new_image:
        if push_on_pr:
            raise WorkflowError(f"{where}: --push-on-pr needs an image to push to; pass --image-name NAME too")
        no_push: str | None = NO_PUSH_NEVER
    elif push_on_pr is not None:
        no_push = NO_PUSH_MAIN_AND_PRS if push_on_pr else NO_PUSH_MAIN_ONLY
    elif wf.state in (CUSTOM, ALWAYS):
        no_push = None
        kept = f"NO_PUSH {wf.no_push!r}" if wf.no_push is not None else "NO_PUSH unset (every build pushes)"
        notes.append(f"kept your {kept}; --push-on-pr or --no-push-on-pr replaces it")
    elif wf.state == NEVER:
        no_push = NO_PUSH_MAIN_ONLY  # an image name turns pushing on
    else:
        no_push = None  # main only, or main and same-repo PRs: as it was
    text, inputs = _edit(wf.text, where, new_image if set_image else None, no_push, wf.root)
    return Change(wf, text, notes, inputs)


def describe(wf: Workflow, repo_name: str) -> tuple[list[tuple[str, str]], list[str]]:
    """What the workflow does, per event: [(event, what happens)], and warnings.

    Without IMAGE_NAME the action pushes to ``<registry>/<DOCKER_USERNAME>/<repo>``
    (``github.actor`` without a username), which for a robot account or a token's user is
    rarely the image anyone wants.
    """
    branch = f"push to {wf.branch}" if wf.branch else "push (any branch)"
    warnings: list[str] = []
    if wf.image_is_expression or wf.image_name:
        target = f"{wf.registry}/{wf.image_name}"
    else:
        user = wf.inputs.get("DOCKER_USERNAME") or ""
        secret = re.fullmatch(r"\$\{\{\s*secrets\.(\w+)\s*\}\}", user.strip())
        who = f"<secret {secret.group(1)}>" if secret else (user or "<github.actor>")
        target = f"{wf.registry}/{who}/{repo_name.lower()}"
    sha = f"{target}:<sha>"
    state = wf.state
    if state == CUSTOM:
        when = f"depends on NO_PUSH {wf.no_push!r}; if it is false, pushes {sha}"
        on_push = on_pr = on_fork = when
    else:
        on_push = f"pushes {sha}" if state in (MAIN, MAIN_AND_PRS, ALWAYS) else "builds only"
        on_pr = f"pushes {sha} (also tagged pr-<number>)" if state in (MAIN_AND_PRS, ALWAYS) else "builds only"
        on_fork = "tries to push, and fails: forks get no secrets" if state == ALWAYS else "builds only (forks get no secrets)"
    pushes = state != NEVER
    if pushes and not wf.image_name:
        warnings.append(
            f"IMAGE_NAME is not set, so the action pushes to its fallback {target}: with a robot account "
            "(org+robot) or another user that is a wrong path; run: hub-image configure --image-name NAMESPACE/NAME"
        )
    if state == ALWAYS:
        warnings.append("NO_PUSH is false or unset: pull requests push too, and forks' pull requests fail")
    return [(branch, on_push), ("pull request from this repository", on_pr), ("pull request from a fork", on_fork)], warnings


def configure(
    path: str | os.PathLike,
    image_name: str | None | Any = _UNSET,
    push_on_pr: bool | None = None,
) -> Change:
    """Apply :func:`plan_change` to the build workflow at ``path`` and write it (atomically,
    only when it changed).  Raises :class:`WorkflowError` (file untouched) when the file is
    not YAML, has no repo2docker-action step, or the request makes no sense."""
    return apply(plan_change(read(path), image_name, push_on_pr))


def configure_from_options(
    path: str | os.PathLike, image_name: str | None, clear_image_name: bool, push_on_pr: bool | None
) -> tuple[Workflow, Change]:
    """`hub-image configure`: read the workflow once, check ``--image-name`` against the
    registry it pushes to (no DOCKER_REGISTRY: Docker Hub), and apply what was asked."""
    from .answers import normalize_image_name

    wf = read(path)
    kwargs: dict[str, Any] = {}
    if image_name is not None:
        try:
            kwargs["image_name"] = normalize_image_name(image_name, wf.registry)
        except AnswerError as exc:
            hint = "" if wf.inputs.get("DOCKER_REGISTRY") else " (no DOCKER_REGISTRY: the action pushes to Docker Hub)"
            raise AnswerError("--image-name", f"{exc.reason}{hint}") from None
        if not kwargs["image_name"]:
            raise AnswerError("--image-name", "is empty; give namespace/name, or use --clear-image-name")
    elif clear_image_name:
        kwargs["image_name"] = None
    return wf, apply(plan_change(wf, push_on_pr=push_on_pr, **kwargs))


def apply(change: Change) -> Change:
    """Write a planned change (atomically; nothing when it changes nothing)."""
    if change.changed:
        write_atomic(change.before.path, change.text)
    return change


def edit_text(text: str, where: str, wanted: PushSettings, set_image: bool = True) -> str:
    """Return ``text`` with IMAGE_NAME and NO_PUSH of every repo2docker-action step set
    to ``wanted`` (IMAGE_NAME only when ``set_image``)."""
    return _edit(text, where, wanted.image_name if set_image else None, wanted.no_push)[0]


def _edit(
    text: str, where: str, image_name: str | None, no_push: str | None, root: MappingNode | None = None
) -> tuple[str, dict[str, str | None]]:
    """Set IMAGE_NAME and NO_PUSH of every repo2docker-action step; None leaves one as it
    is.  New lines get the file's own line ending.  The result is read back and checked;
    returns it and the action's inputs in it.  ``root``: ``text`` already parsed."""
    root = root if root is not None else _compose(text, where)
    newline = "\r\n" if "\r\n" in text else "\n"
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in characters
    for with_ in _action_with_blocks(root, where):
        if no_push is not None:
            edits += _edits_for(text, with_, "NO_PUSH", no_push, newline)
        if image_name is not None:
            edits += _edits_for(text, with_, "IMAGE_NAME", image_name, newline)
    if not edits:
        return text, {
            k.value: (v.value if isinstance(v, ScalarNode) else None) for k, v in _action_with_blocks(root, where)[0].value
        }
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    values = _with_values(text, where)  # read back as the action will read it
    if (no_push is not None and values.get("NO_PUSH") != no_push) or (
        image_name is not None and (values.get("IMAGE_NAME") or "") != image_name
    ):
        raise WorkflowError(f"{where}: could not edit the {ACTION} step safely; edit IMAGE_NAME and NO_PUSH by hand")
    return text, values


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _edits_for(text: str, with_: MappingNode, key: str, value: str, newline: str = "\n") -> list[tuple[int, int, str]]:
    knode, vnode = _get(with_, key)
    if knode is not None:
        if isinstance(vnode, ScalarNode) and vnode.value == value:
            return []
        start, end = vnode.start_mark.index, vnode.end_mark.index
        if not isinstance(vnode, ScalarNode) or vnode.style in ("|", ">") or start == end:
            # An empty or block value: rewrite from the key's colon to the value's end.
            start = text.index(":", knode.end_mark.index) + 1
            new = " " + _quoted(value)
            if vnode.style in ("|", ">"):
                end = text.rindex("\n", start, end) if "\n" in text[start:end] else end
                end -= text[end - 1 : end] == "\r"
            return [(start, end, new)]
        return [(start, end, _quoted(value))]
    if key == "IMAGE_NAME" and not value:
        return []  # absent is already "not configured"
    indent = " " * with_.value[0][0].start_mark.column
    line = f"{indent}{key}: {_quoted(value)}"
    lines_start = with_.start_mark.index - with_.start_mark.column
    # A commented-out placeholder (`# IMAGE_NAME: ...`) inside the block becomes the key.
    block_end = _block_end(text, with_)
    pattern = re.compile(rf"^[ \t]*#[ \t]*{key}[ \t]*:[^\r\n]*", re.M)
    match = pattern.search(text, lines_start, block_end)
    if match:
        return [(match.start(), match.end(), line)]
    # Otherwise the key goes on a new line after the block's last value.
    end = with_.value[-1][1].end_mark
    if end.column == 0:  # a block scalar ends at the start of the next line
        return [(end.index, end.index, line + newline)]
    eol = text.find("\n", end.index)
    if eol == -1:
        return [(len(text), len(text), newline + line)]
    return [(eol + 1, eol + 1, line + newline)]


def _block_end(text: str, with_: MappingNode) -> int:
    """Index of the first non-blank line after the `with:` block's last value that is
    less indented than the block's keys (comments at key depth still belong to it)."""
    indent = with_.value[0][0].start_mark.column
    end = with_.value[-1][1].end_mark
    pos = end.index if end.column == 0 else text.find("\n", end.index) + 1
    for match in re.compile(r"^([ \t]*)(\S?).*$", re.M).finditer(text, pos or len(text)):
        if match.group(2) and len(match.group(1)) < indent:
            return match.start()
    return len(text)


def write_atomic(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o777
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
