"""`hub-image deploy`: the new image arrives in the hub's configuration as a pull request.

The image is the one the image repo's workflow pushes (registry and IMAGE_NAME), tagged
with the first 12 characters of HEAD's commit, as the workflow tags it.  In the
deployment repository every YAML file (or the files named) is searched for references
to that image: a mapping with ``name: <image>`` and a sibling ``tag:`` (Zero to
JupyterHub's ``singleuser.image``), and a string ``<image>:<tag>`` anywhere (a profile
list's ``kubespawner_override.image``).  Each gets the new tag by a minimal edit of the
file's own text (comments, quoting, order, indentation and line endings kept), read
back before it is written.  One pull request per image, from ``hub-image/deploy/<image>``;
a re-run with the same tag writes nothing, a newer tag updates that pull request.
"""

from __future__ import annotations

import io
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from . import git, github_api
from .errors import HubImageError

BRANCH_PREFIX = "hub-image/deploy/"
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class Change:
    """One reference given the new tag: where, and the line before and after."""

    path: str
    line: int
    before: str
    after: str


@dataclass
class Result:
    image: str
    tag: str
    changes: list[Change] = field(default_factory=list)
    detail: str = ""  # what happened, in words
    url: str = ""  # the pull request


def names_of(image: str) -> set[str]:
    """How configuration files may spell ``image`` (Docker Hub's may omit its host)."""
    names = {image}
    for hub in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if image.startswith(hub):
            rest = image.removeprefix(hub)
            names |= {rest, *(h + rest for h in ("docker.io/", "index.docker.io/"))}
            if rest.startswith("library/"):
                names.add(rest.removeprefix("library/"))
    return names


def image_of(project: Path) -> str:
    """The image the repo's build workflow pushes: registry/namespace/name."""
    from . import workflow

    wf = workflow.read(project)
    if not wf.image_name:
        raise HubImageError("IMAGE_NAME is not set, so nothing is pushed; run: hub-image configure --image-name NAMESPACE/NAME")
    if wf.image_is_expression:
        raise HubImageError(f"IMAGE_NAME is the expression {wf.image_name!r}; deploy needs one image: pass a literal name")
    return f"{wf.registry}/{wf.image_name}".lower()


def _scalar_text(tag: str, style: str | None) -> str:
    """``tag`` as a YAML scalar in ``style``; a plain one that YAML would read as
    something else (a number, a date, a boolean) is double-quoted."""
    if style in ("'", '"'):
        return f"{style}{tag}{style}"
    return tag if YAML(typ="safe").load(tag) == tag else f'"{tag}"'


def _edits(node: Node, text: str, names: set[str], tag: str) -> list[tuple[int, int, str]]:
    """(start, end, new text) of every reference to the image below ``node``."""
    out: list[tuple[int, int, str]] = []
    if isinstance(node, MappingNode):
        values = {k.value: v for k, v in node.value if isinstance(k, ScalarNode)}
        name, old = values.get("name"), values.get("tag")
        if isinstance(name, ScalarNode) and name.value in names and isinstance(old, ScalarNode) and old.value != tag:
            out.append((old.start_mark.index, old.end_mark.index, _scalar_text(tag, old.style)))
        for _, value in node.value:
            out += _edits(value, text, names, tag)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            out += _edits(item, text, names, tag)
    elif isinstance(node, ScalarNode) and ":" in node.value:
        ref, _, old_tag = node.value.rpartition(":")
        if ref in names and TAG.fullmatch(old_tag) and old_tag != tag:
            source = text[node.start_mark.index : node.end_mark.index]
            at = source.find(node.value)
            if at < 0:
                raise HubImageError(f"{ref}:{old_tag} is written with escapes or folded; change its tag by hand")
            start = node.start_mark.index + at + len(ref) + 1
            out.append((start, start + len(old_tag), tag))
    return out


def _references(text: str, where: str, names: set[str]) -> list[str]:
    """The tags every reference to the image in ``text`` has now."""
    root = _compose(text, where)
    found: list[str] = []

    def walk(node: Node) -> None:
        if isinstance(node, MappingNode):
            values = {k.value: v for k, v in node.value if isinstance(k, ScalarNode)}
            name, old = values.get("name"), values.get("tag")
            if isinstance(name, ScalarNode) and name.value in names and isinstance(old, ScalarNode):
                found.append(str(old.value))
            for _, value in node.value:
                walk(value)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                walk(item)
        elif isinstance(node, ScalarNode) and node.value.rpartition(":")[0] in names:
            found.append(node.value.rpartition(":")[2])

    if root is not None:
        walk(root)
    return found


def _compose(text: str, where: str) -> Node | None:
    try:
        return YAML(typ="rt").compose(io.StringIO(text))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise HubImageError(f"{where}: not valid YAML{f' (line {mark.line + 1})' if mark else ''}; fix it first") from None


def retag(text: str, where: str, image: str, tag: str) -> tuple[str, list[Change], int]:
    """``text`` with every reference to ``image`` given ``tag``: (new text, the changes,
    how many references there are).  The result is read back before it is returned."""
    names = names_of(image)
    root = _compose(text, where)
    edits = sorted(_edits(root, text, names, tag), reverse=True) if root is not None else []
    new = text
    for start, end, replacement in edits:
        new = new[:start] + replacement + new[end:]
    count = len(_references(text, where, names))
    if set(_references(new, where, names)) - {tag}:
        raise HubImageError(f"{where}: a reference to {image} could not be given the tag {tag}; change it by hand")
    old_lines, new_lines = text.splitlines(), new.splitlines()
    changes = [
        Change(where, i + 1, a.strip(), b.strip()) for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b
    ]
    return new, changes, count


def deploy(
    project: Path, repo_name: str, token: str, tag: str | None = None, paths: tuple[str, ...] = (), base: str | None = None
) -> Result:
    """Open (or update) the pull request that gives the deployment repository ``repo_name``
    the image of ``project`` at ``tag``."""
    from . import hubconfig

    project = project.resolve()
    image = image_of(project)
    tag = tag or hubconfig.head_tag(project)[0]
    if not TAG.fullmatch(tag):
        raise HubImageError(f"--tag: {tag!r} is not an image tag (letters, digits, '_', '.', '-'; at most 128)")
    repo = _writable_repo(repo_name, token)
    base = base or repo.default_branch
    result = Result(image, tag)
    with tempfile.TemporaryDirectory(prefix="hub-image-deploy-") as tmp:
        clone = Path(tmp) / "deployment"
        auth = git.auth_env(repo.clone_url, token)
        try:
            git.run(Path(tmp), "clone", "--quiet", "--depth", "1", "--branch", base, repo.clone_url, str(clone), env=auth)
        except HubImageError as exc:
            raise HubImageError(f"--base: cannot check out {base!r} of {repo_name} ({exc})") from None
        searched, count = _retag_files(clone, paths, image, tag, result)
        if not count:
            raise HubImageError(
                f"{image} is not mentioned in {repo_name} ({', '.join(searched) or 'no YAML file'}); "
                "add it there once by hand, or name its file with --path"
            )
        if not result.changes:
            result.detail = f"{repo_name} already deploys {image}:{tag} on {base}; nothing to do"
            return result
        _propose(clone, repo, base, token, _commit_link(project), result)
    return result


def _writable_repo(repo_name: str, token: str):
    gh = github_api.client(token)
    found = github_api.get_repo(gh, repo_name)
    if found is None:
        raise HubImageError(f"--repo: {repo_name} does not exist, or the token cannot see it; check the name and the token")
    if not (found.permissions and found.permissions.push):
        raise HubImageError(
            f"the token cannot write to {repo_name}: it needs contents and pull requests (write) there; "
            "use a GitHub App installed on it, or a fine-grained token with those permissions"
        )
    return found


def _retag_files(clone: Path, paths: tuple[str, ...], image: str, tag: str, result: Result) -> tuple[list[str], int]:
    listed = paths or tuple(p for p in git.run(clone, "ls-files", "-z").split("\0") if p.endswith((".yaml", ".yml")))
    count = 0
    for rel in listed:
        path = clone / rel
        if not path.is_file():
            raise HubImageError(f"--path: {rel} is not a file in the deployment repository")
        text = path.read_bytes().decode("utf-8")  # no newline translation: CRLF stays CRLF
        new, changes, found = retag(text, rel, image, tag)
        count += found
        if changes:
            path.write_bytes(new.encode("utf-8"))
            result.changes += changes
    return list(listed), count


def _commit_link(project: Path) -> str:
    """Where the image repo's HEAD commit is on the web (from origin), or its sha."""
    head = git.output(project, "rev-parse", "HEAD") or ""
    origin = git.origin_url(project) or ""
    parsed = git.parse_remote(origin)
    if not parsed:
        return f"`{head}`"
    scheme = "http" if origin.startswith("http://") else "https"
    return f"[`{head[:12]}`]({scheme}://{parsed[0]}/{parsed[1]}/{parsed[2]}/commit/{head})"


def _propose(clone: Path, repo, base: str, token: str, link: str, result: Result) -> None:
    """Commit on the image's branch; push it unless it holds this already; open the pull
    request, or update the open one."""
    branch = BRANCH_PREFIX + result.image
    title = f"Deploy {result.image}:{result.tag}"
    body = "\n".join(
        [f"Deploys `{result.image}:{result.tag}`, built from {link} (opened by `hub-image deploy`).", "", "Changed:"]
        + [f"- `{c.path}` line {c.line}: `{c.before}` → `{c.after}`" for c in result.changes]
    )
    auth = git.auth_env(repo.clone_url, token)
    git.run(clone, "checkout", "--quiet", "-B", branch)
    git.run(clone, "commit", "--quiet", "--all", "--no-verify", "--message", title, "--message", body)
    remote = git.run(clone, "ls-remote", "origin", f"refs/heads/{branch}", env=auth)
    same = False
    if remote:
        git.run(clone, "fetch", "--quiet", "--depth", "1", "origin", f"refs/heads/{branch}", env=auth)
        same = git.output(clone, "rev-parse", "FETCH_HEAD^{tree}") == git.output(clone, "rev-parse", "HEAD^{tree}")
    owner = repo.full_name.split("/")[0]
    open_prs = list(repo.get_pulls(state="open", head=f"{owner}:{branch}", base=base))
    if same and open_prs:
        result.detail, result.url = (
            f"pull request #{open_prs[0].number} already holds {title}; nothing to do",
            open_prs[0].html_url,
        )
        return
    if not same:
        git.push(clone, "origin", f"+HEAD:refs/heads/{branch}", token)
    if open_prs:
        open_prs[0].edit(title=title, body=body)
        result.detail, result.url = f"updated pull request #{open_prs[0].number}: {title}", open_prs[0].html_url
    else:
        made = repo.create_pull(base=base, head=branch, title=title, body=body)
        result.detail, result.url = f"opened pull request #{made.number}: {title}", made.html_url
