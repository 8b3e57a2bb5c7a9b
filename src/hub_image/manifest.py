"""A fleet's manifest: many images from one YAML file (owner, defaults, images, and a few
fleet settings).  It is plain data, read strictly: every problem is reported with its
line, and an invalid manifest raises before anything is planned or applied."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from . import registries
from .answers import validate_answers, validate_github_owner
from .errors import AnswerError, ManifestError
from .template import template_defaults

#: Cookiecutter answers that make no sense per image in a manifest.
NOT_IN_MANIFEST = {"github_owner", "github_setup", "repo_visibility"}
SECRET_WORDS = ("password", "token", "secret", "key")
#: Manifest keys beside the template's questions (in ``defaults`` or per image), and
#: their defaults: the consent to make an existing private quay.io repository public,
#: and the hub's deployment repository (the variable HUB_DEPLOY_REPO of each repository).
IMAGE_OPTIONS: dict[str, bool | str] = {"quay_make_public": False, "deploy_repo": ""}
DEPLOY_REPO = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+")
TOP_KEYS = ("owner", "defaults", "images", "org_secrets", "visibility")


@dataclass
class Image:
    answers: dict[str, Any]  # validated, as the template validates them
    line: int
    quay_make_public: bool = False
    deploy_repo: str = ""  # OWNER/NAME, or '' (no deployment pull requests)

    @property
    def repo_name(self) -> str:
        return self.answers["repo_name"]

    @property
    def registry(self) -> str:
        return self.answers["registry"]


@dataclass
class Manifest:
    path: Path
    owner: str
    images: list[Image]
    org_secrets: bool = False
    visibility: str = "public"

    def secret_names(self) -> dict[str, set[str]]:
        """Registry secret name -> the repos (names) that use it."""
        out: dict[str, set[str]] = {}
        for image in self.images:
            for name in registries.secret_sources(image.registry):
                out.setdefault(name, set()).add(image.repo_name)
        return out


@dataclass
class _Reader:
    """One manifest being read: its text, the template's questions, the problems found."""

    where: str
    text: str
    defaults_known: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    repos: dict[str, int] = field(default_factory=dict)  # repo_name (lower case) -> its line

    def line_of(self, node: Any, key: Any = None) -> int:
        try:
            return (node.lc.key(key)[0] if key is not None else node.lc.line) + 1
        except (AttributeError, KeyError, TypeError):
            return 0

    def problem(self, node: Any, key: Any, what: str) -> None:
        self.problems.append(f"{self.where}:{self.line_of(node, key) or 1}: {what}")

    def raw(self, mapping: Any, key: Any) -> str:
        """The value of ``key`` as written in the file (for messages)."""
        try:
            line, col = mapping.lc.value(key)
            return self.text.splitlines()[line][col:].split(" #")[0].strip()
        except (AttributeError, KeyError, TypeError, IndexError):
            return str(mapping[key])

    def check_keys(self, mapping: Any, label: str) -> None:
        known = set(self.defaults_known) - NOT_IN_MANIFEST
        for key in mapping:
            if any(word in str(key).lower() for word in SECRET_WORDS):
                what = "secrets never go in the manifest; export them as environment variables"
            elif key in IMAGE_OPTIONS:
                what = option_problem(key, mapping[key], self.raw(mapping, key))
            elif key not in known:
                what = f"not a template variable (one of: {', '.join(sorted(known))})"
            else:
                what = type_problem(mapping[key], self.defaults_known[key], self.raw(mapping, key))
            if what:
                self.problem(mapping, key, f"{label}{key}: {what}")


def load_manifest(path: Path, template: Path) -> Manifest:
    """Read and validate ``path``; every problem is reported (with its line), and an
    invalid manifest raises before anything is applied."""
    reader, data = _read(path, template)
    for key in data:
        if key not in TOP_KEYS:
            reader.problem(data, key, f"unknown key {key!r}; use {', '.join(TOP_KEYS)}")
    owner = str(data.get("owner") or "")
    try:
        if not owner:
            raise AnswerError("owner", "is missing; name the GitHub user or organisation")
        validate_github_owner(owner)
    except AnswerError as exc:
        reader.problem(data, "owner" if "owner" in data else None, f"owner: {exc.reason}")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        reader.problem(data, "defaults", "defaults must be a mapping")
        defaults = {}
    nodes = data.get("images")
    if not isinstance(nodes, list) or not nodes:
        reader.problem(data, "images" if "images" in data else None, "images must be a non-empty list")
        nodes = []
    reader.check_keys(defaults, "defaults.")
    images = [image for i, node in enumerate(nodes) if (image := _image(reader, i, node, defaults, owner))]
    _check_unique(reader, images)
    if "org_secrets" in data and not isinstance(data["org_secrets"], bool):
        reader.problem(
            data, "org_secrets", f"org_secrets: {type_problem(data['org_secrets'], False, reader.raw(data, 'org_secrets'))}"
        )
    visibility = str(data.get("visibility", "public"))
    if visibility not in ("public", "private"):
        reader.problem(data, "visibility", "visibility: use public or private")
    if reader.problems:
        raise ManifestError("\n".join(reader.problems))
    return Manifest(path, owner, images, bool(data.get("org_secrets", False)), visibility)


def _read(path: Path, template: Path) -> tuple[_Reader, Any]:
    where = str(path)
    try:
        text = path.read_text()
        refuse_aliases(text, where)
        data = YAML(typ="rt").load(text)
    except OSError as exc:
        raise ManifestError(f"{where}: cannot read it ({exc.strerror})") from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ManifestError(f"{where}:{mark.line + 1 if mark else '?'}: not valid YAML") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: expected a mapping with owner, defaults and images")
    return _Reader(where, text, template_defaults(template)), data


def _image(reader: _Reader, i: int, node: Any, defaults: Any, owner: str) -> Image | None:
    """Image ``i`` of the manifest, its answers validated as the template validates them."""
    line = reader.line_of(node)
    if not isinstance(node, dict):
        reader.problems.append(f"{reader.where}:{line}: images[{i}]: must be a mapping with at least repo_name")
        return None
    label = f"images[{i}] ({node.get('repo_name', '?')})."
    reader.check_keys(node, label)
    given = {**dict(defaults), **dict(node)}
    options = {k: given.get(k, default) for k, default in IMAGE_OPTIONS.items()}
    answers = {k: v for k, v in given.items() if k not in IMAGE_OPTIONS}
    merged = {**reader.defaults_known, **answers, "github_owner": owner, "github_setup": "none"}
    try:
        validated = validate_answers({k: ("" if v is None else v) for k, v in merged.items()})
    except AnswerError as exc:
        where = node if exc.field in node else defaults if exc.field in defaults else None
        at = reader.line_of(where, exc.field) if where is not None else line
        reader.problems.append(f"{reader.where}:{at}: {label}{exc}")
        return None
    name = validated["repo_name"].lower()
    if name in reader.repos:
        reader.problems.append(
            f"{reader.where}:{line}: {label}repo_name: also used at line {reader.repos[name]}; names must differ"
        )
        return None
    reader.repos[name] = line
    return Image(validated, line, bool(options["quay_make_public"]), str(options["deploy_repo"] or ""))


def _check_unique(reader: _Reader, images: list[Image]) -> None:
    """Two images may not push to one image."""
    pushed: dict[str, int] = {}
    for image in images:
        target = image.answers["image_name"] and (
            f"{image.answers['registry_host'] or image.registry}/{image.answers['image_name']}"
        )
        if target and target in pushed:
            reader.problems.append(
                f"{reader.where}:{image.line}: images ({image.repo_name}).image_name: {target!r} is also the image at "
                f"line {pushed[target]}; two repositories would push to one image"
            )
        pushed.setdefault(target, image.line)


def refuse_aliases(text: str, where: str) -> None:
    """A manifest is plain data: anchors and aliases are refused before anything is built
    from them (a few lines of aliases can expand to billions of nodes)."""
    from ruamel.yaml.events import AliasEvent

    for event in YAML(typ="rt").parse(text):
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
            raise ManifestError(
                f"{where}:{event.start_mark.line + 1}: YAML anchors and aliases (&, *) are not allowed "
                "in a manifest; write each value out"
            )


def option_problem(key: str, value: Any, raw: str) -> str:
    """What is wrong with a value of one of :data:`IMAGE_OPTIONS`."""
    if isinstance(IMAGE_OPTIONS[key], bool):
        return "" if isinstance(value, bool) else "write true or false without quotes"
    if value is None or (isinstance(value, str) and (not value or DEPLOY_REPO.fullmatch(value))):
        return ""
    return f"{raw} is not OWNER/NAME; give the hub's deployment repository, e.g. my-org/hub-config"


def type_problem(value: Any, default: Any, raw: str) -> str:
    """What is wrong with the YAML type of a manifest value whose template default is
    ``default``: booleans must be YAML booleans, everything else text."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return ""
        return f"{raw} is not a YAML boolean; write true or false without quotes"
    if value is None or isinstance(value, str):
        return ""
    if isinstance(value, bool):
        return f"{raw} is a YAML boolean where text is expected; quote it"
    if isinstance(value, (int, float)):
        return f'{raw} is a number to YAML (5.10 would become 5.1); quote it: "{raw}"'
    return f"expected text, got a {'mapping' if isinstance(value, dict) else 'list'}; give one value"
