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
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

ACTION = "jupyterhub/repo2docker-action"

#: NO_PUSH values, one per state.  Not configured: never push (without IMAGE_NAME
#: the action would push to DOCKER_USERNAME/<repo>, a wrong path for a robot account).
NO_PUSH_NEVER = "true"
#: Push on main only (the exact value the 2i2c template uses).
NO_PUSH_MAIN_ONLY = "${{ github.event_name == 'pull_request' }}"
#: Push on main and on pull requests from this repository; forks get no secrets.
NO_PUSH_MAIN_AND_PRS = (
    "${{ github.event_name == 'pull_request' && "
    "github.event.pull_request.head.repo.full_name != github.repository }}"
)


class WorkflowError(ValueError):
    """The workflow cannot be edited; ``str()`` is a one-line message."""


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
    p = Path(path)
    if p.is_dir():
        for name in ("build.yaml", "build.yml"):
            candidate = p / ".github" / "workflows" / name
            if candidate.is_file():
                return candidate
        raise WorkflowError(f"{p}: no .github/workflows/build.yaml here; give the repo directory or the workflow file")
    if not p.is_file():
        raise WorkflowError(f"{p}: no such file or directory")
    return p


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


def read_settings(path: str | os.PathLike) -> PushSettings:
    """What a workflow does now: the image it pushes to and whether PRs push."""
    wf = find_workflow(path)
    values = with_values(wf)
    return PushSettings(
        image_name=values.get("IMAGE_NAME") or "",
        push_on_pr=_same(values.get("NO_PUSH"), NO_PUSH_MAIN_AND_PRS),
    )


def with_values(path: str | os.PathLike) -> dict[str, str | None]:
    """The `with:` inputs of the workflow's (first) repo2docker-action step, as strings."""
    wf = find_workflow(path)
    return _with_values(wf.read_text(encoding="utf-8"), str(wf))


def _with_values(text: str, where: str) -> dict[str, str | None]:
    with_ = _action_with_blocks(_compose(text, where), where)[0]
    return {k.value: (v.value if isinstance(v, ScalarNode) else None) for k, v in with_.value}


def _same(a: str | None, b: str) -> bool:
    return a is not None and " ".join(a.split()) == " ".join(b.split())


_UNSET = object()


def configure(
    path: str | os.PathLike,
    image_name: str | None | object = _UNSET,
    push_on_pr: bool | None = None,
) -> tuple[Path, bool, PushSettings]:
    """Set (``image_name='ns/name'``) or clear (``image_name=None``) IMAGE_NAME and/or
    switch pushes from pull requests, in the build workflow at ``path``.

    Leaves every other line as it was, and is idempotent.  Returns the file, whether
    it changed, and the settings now in force.  Raises :class:`WorkflowError` (file
    untouched) when the file is not YAML, has no repo2docker-action step, or the
    request makes no sense (PR pushes without an image).
    """
    wf = find_workflow(path)
    where = str(wf)
    text = wf.read_text(encoding="utf-8")
    current = read_settings(wf)
    new_image = current.image_name if image_name is _UNSET else (image_name or "")
    new_pr = current.push_on_pr if push_on_pr is None else push_on_pr
    if new_pr and not new_image:
        if push_on_pr:
            raise WorkflowError(
                f"{where}: --push-on-pr needs an image to push to; pass --image-name NAME too"
            )
        new_pr = False
    wanted = PushSettings(new_image, new_pr)
    new_text = edit_text(text, where, wanted, set_image=image_name is not _UNSET)
    changed = new_text != text
    if changed:
        _write_atomic(wf, new_text)
    return wf, changed, wanted


def edit_text(text: str, where: str, wanted: PushSettings, set_image: bool = True) -> str:
    """Return ``text`` with IMAGE_NAME and NO_PUSH of every repo2docker-action step set
    to ``wanted`` (IMAGE_NAME only when ``set_image``)."""
    root = _compose(text, where)
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in characters
    for with_ in _action_with_blocks(root, where):
        edits += _edits_for(text, with_, "NO_PUSH", wanted.no_push)
        if set_image:
            edits += _edits_for(text, with_, "IMAGE_NAME", wanted.image_name)
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    # Read the result back: it must say exactly what was asked.
    values = _with_values(text, where)
    if values.get("NO_PUSH") != wanted.no_push or (
        set_image and (values.get("IMAGE_NAME") or "") != wanted.image_name
    ):
        raise WorkflowError(f"{where}: could not edit the {ACTION} step safely; edit IMAGE_NAME and NO_PUSH by hand")
    return text


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _edits_for(text: str, with_: MappingNode, key: str, value: str) -> list[tuple[int, int, str]]:
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
            return [(start, end, new)]
        return [(start, end, _quoted(value))]
    if key == "IMAGE_NAME" and not value:
        return []  # absent is already "not configured"
    indent = " " * with_.value[0][0].start_mark.column
    line = f"{indent}{key}: {_quoted(value)}"
    lines_start = with_.start_mark.index - with_.start_mark.column
    # A commented-out placeholder (`# IMAGE_NAME: ...`) inside the block becomes the key.
    block_end = _block_end(text, with_)
    pattern = re.compile(rf"^[ \t]*#[ \t]*{key}[ \t]*:.*$", re.M)
    match = pattern.search(text, lines_start, block_end)
    if match:
        return [(match.start(), match.end(), line)]
    # Otherwise the key goes on a new line after the block's last value.
    end = with_.value[-1][1].end_mark
    if end.column == 0:  # a block scalar ends at the start of the next line
        return [(end.index, end.index, line + "\n")]
    eol = text.find("\n", end.index)
    if eol == -1:
        return [(len(text), len(text), "\n" + line)]
    return [(eol + 1, eol + 1, line + "\n")]


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


def _write_atomic(path: Path, text: str) -> None:
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
