"""`hub-image update`: carry the template's changes (or changed answers) to a generated
repo, three-way, keeping the repo's own edits.

The template is rendered at the recorded commit with the recorded answers, and at the
new commit with the new answers (by `cookiecutter` itself, hooks included, from the
template's own files); the difference between the two is applied to the repo with
``git apply --3way``, so the repo's own changes to the same files are merged, and what
cannot be merged is left marked as a conflict.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import git, record, source
from .answers import validate_answers
from .errors import GitError, HubImageError
from .source import Source
from .template import render, template_defaults


@dataclass
class Result:
    old: str
    new: str
    changed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    inferred: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    notes: list[str] = field(default_factory=list)


def trusted_source(template: str | None = None) -> Source:
    """The template an update may run: the one named with ``--template`` (at its newest
    commit), or the installed hub-image's own source at the installed commit."""
    if template:
        return Source(template, None)
    mine = source.installed()
    if mine is None:
        raise HubImageError("this hub-image does not know where it was installed from; pass --template SOURCE")
    return mine


def check_record(recorded: str, trusted: Source, explicit: bool) -> None:
    """A template runs only from the source the user named (or this hub-image's own):
    never from one named only by the repository's record, which anyone who can push to
    the repository can change."""
    if source.same(recorded, trusted.url):
        return
    if explicit:
        raise HubImageError(
            f"--template: {trusted.url} is not the template {record.FILE} records ({recorded}); "
            f"name that one, or fix {record.FILE}'s template if the repo moved"
        )
    raise HubImageError(
        f"{record.FILE} records the template {recorded}, not this hub-image's {trusted.url}; "
        f"if you trust it, run: hub-image update --template {recorded}"
    )


def fetch(url: str, dest: Path) -> None:
    """A clone of the template (no work tree), or one line naming the URL and what to do."""
    try:
        git.run(dest.parent, "clone", "--quiet", "--no-checkout", source.clone_url(url), str(dest))
    except GitError as exc:
        raise HubImageError(
            f"cannot fetch the template from {url} ({str(exc).split(': ', 1)[-1]}); "
            "connect to the network (or check the URL) and run again"
        ) from None


def fetch_at(trusted: Source, ref: str | None, tmp: Path) -> tuple[Path, str]:
    """A clone of ``trusted`` in ``tmp``, and the commit ``ref`` names (default: the
    trusted commit, else the newest)."""
    clone = tmp / "template"
    fetch(trusted.url, clone)
    commit = git.output(clone, "rev-parse", "--verify", "--quiet", f"{ref or trusted.commit or 'HEAD'}^{{commit}}")
    if not commit:
        raise HubImageError(f"--to: {ref or trusted.commit!r} is not a commit, branch or tag of {trusted.url}")
    return clone, commit


def update(project: Path, to: str | None = None, sets: dict[str, str] | None = None, trusted: Source | None = None) -> Result:
    """Update ``project`` to the template at ``to`` (default: ``trusted``'s commit, else
    its newest) with the recorded answers changed by ``sets``.  The template is fetched
    from ``trusted`` (default: this hub-image's own source), which must be the one the
    repository records.  Refuses a dirty working tree."""
    project = project.resolve()
    require_clean(project)
    state = record.read(project)
    old_answers = record.answers(state)
    old_commit = state.get("commit")
    if not old_commit:
        raise HubImageError(
            f"{record.FILE} records no template commit (it was made from an older installed hub-image); "
            "run: hub-image update --adopt --template SOURCE (the template's git URL or path)"
        )
    explicit = trusted is not None
    trusted = trusted or trusted_source()
    check_record(state["template"], trusted, explicit)
    with tempfile.TemporaryDirectory(prefix="hub-image-update-") as tmp_str:
        tmp = Path(tmp_str)
        clone, new_commit = fetch_at(trusted, to, tmp)
        if not git.output(clone, "rev-parse", "--verify", "--quiet", f"{old_commit}^{{commit}}"):
            raise HubImageError(
                f"{record.FILE} records the commit {old_commit[:12]}, which {trusted.url} does not have; "
                f"fix {record.FILE}'s commit, or run: hub-image update --adopt"
            )
        new_answers = _answers(old_answers, sets or {}, _template_at(clone, new_commit, tmp / "new-template"))
        result = Result(old_commit, new_commit, source=state["template"])
        if new_commit == old_commit and new_answers == old_answers:
            return result
        recorded = state["template"]
        old = _render(
            _template_at(clone, old_commit, tmp / "old-template"), old_answers, tmp / "old", Source(recorded, old_commit)
        )
        new = _render(tmp / "new-template", new_answers, tmp / "new", Source(recorded, new_commit))
        patch = _diff(old, new, tmp / "diff")
        if patch:
            _apply(project, old, patch, result)
        record.write(project, new_answers, state["template"], new_commit)
        result.changed = sorted({*result.changed, record.FILE})
        return result


def require_clean(project: Path) -> None:
    top = git.output(project, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != project:
        raise HubImageError(f"{project} is not the root of a git repository; run it in the image repo's root")
    if git.output(project, "status", "--porcelain"):
        raise HubImageError(f"{project} has uncommitted changes; commit or stash them first, so the update can be reviewed")


def _answers(old: dict[str, Any], sets: dict[str, str], template: Path) -> dict[str, Any]:
    known = template_defaults(template)
    unknown = sorted(set(sets) - set(known))
    if unknown:
        raise HubImageError(f"--set {unknown[0]}: not a question of the template; use one of: {', '.join(known)}")
    merged = {**known, **old, **sets}
    validated = validate_answers(merged)
    return {k: validated[k] for k in known}


def _template_at(source: Path, commit: str, dest: Path) -> Path:
    """The template's files at ``commit``, in ``dest``."""
    if not dest.exists():
        dest.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=source, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def _render(template: Path, answers: dict[str, Any], out: Path, origin: Source) -> Path:
    """Render ``template`` (a copy of ``origin``) with ``answers`` as `cookiecutter` does
    (its own hooks and extension, no secret in their environment); the project, without
    its record."""
    project = render(template, answers, out, origin)
    (project / record.FILE).unlink(missing_ok=True)
    return project


def _diff(old: Path, new: Path, repo: Path) -> str:
    """The patch from ``old`` to ``new`` (paths relative to the project, binary-safe)."""
    shutil.copytree(old, repo)
    git.run(repo, "init", "--quiet")
    git.run(repo, "add", "--all")
    git.run(repo, "commit", "--quiet", "--allow-empty", "--message", "old")
    for path in repo.iterdir():
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    shutil.copytree(new, repo, dirs_exist_ok=True)
    # Hash every file anew: the two renders were made within the same second, and a file
    # of the same size and time stamp would otherwise pass for unchanged.
    git.run(repo, "rm", "-r", "--cached", "--quiet", "--ignore-unmatch", ".")
    git.run(repo, "add", "--all")
    return subprocess.run(
        ["git", "diff", "--cached", "--binary", "--no-color", "--no-renames", "HEAD"], cwd=repo, capture_output=True, check=True
    ).stdout.decode("utf-8", "surrogateescape")


def _apply(project: Path, old: Path, patch: str, result: Result) -> None:
    """Apply ``patch`` three-way: the old render's files are written into the project's
    object store, so git can merge the template's change with the repo's own edits."""
    files = [str(p) for p in sorted(old.rglob("*")) if p.is_file()]
    if files:
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin-paths"],
            cwd=project,
            input="\n".join(files),
            text=True,
            capture_output=True,
            check=True,
        )
    patch_file = project / ".git" / "hub-image-update.patch"
    patch_file.write_text(patch, encoding="utf-8", errors="surrogateescape")
    try:
        applied = subprocess.run(
            ["git", "apply", "--3way", "--whitespace=nowarn", str(patch_file)], cwd=project, capture_output=True, text=True
        )
        if applied.returncode != 0:
            result.conflicts = (git.output(project, "diff", "--name-only", "--diff-filter=U") or "").split()
            if not result.conflicts:  # nothing merged at all: leave .rej files, as cruft does
                git.run(project, "reset", "--quiet")
                subprocess.run(
                    ["git", "apply", "--reject", "--whitespace=nowarn", str(patch_file)],
                    cwd=project,
                    capture_output=True,
                    text=True,
                )
                result.rejected = sorted(str(p.relative_to(project)) for p in project.rglob("*.rej"))
                if not result.rejected:
                    raise GitError(f"git apply failed: {(applied.stderr.strip().splitlines() or ['?'])[-1]}")
        changed = git.output(project, "diff", "--name-only", "HEAD") or ""
        result.changed = sorted(set(changed.split()) | set(result.conflicts))
    finally:
        patch_file.unlink(missing_ok=True)
