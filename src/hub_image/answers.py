"""The template's answers: their rules, and how they are normalised.

Every caller (the cookiecutter hooks, the CLI, later the fleet manifest) validates
answers here, so a rule exists once.  A bad answer raises :class:`AnswerError`,
whose text is one line naming the field and the fix.
"""

from __future__ import annotations

import re
from typing import Any

from . import registries
from .errors import AnswerError

__all__ = ["AnswerError", "validate_answers"]

#: Registries the template knows; the first is the default.
REGISTRIES = registries.CHOICES

#: Python versions repo2docker's conda build ships environments for (3.10 and newer).
PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13", "3.14")

#: Image flavours: a repo2docker conda build, or a Dockerfile extending a community image.
IMAGE_KINDS = ("environment.yml", "Dockerfile")

#: What happens on GitHub after generation (see hub_image.github).
GITHUB_SETUP = ("none", "secrets", "create")
VISIBILITY = ("public", "private")

_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off", ""}


# GitHub: letters, digits, '.', '-', '_'; at most 100 characters; not '.' or '..'.
_REPO_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
# GitHub logins: letters, digits and single hyphens, not at either end; 39 at most.
_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
# One path component of an image name (the OCI distribution spec's rule).
_IMAGE_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def validate_repo_name(value: str) -> str:
    if not _REPO_NAME.fullmatch(value) or value in (".", ".."):
        raise AnswerError(
            "repo_name",
            f"{value!r} is not a GitHub repository name; use letters, digits, '-', '_' or '.' (at most 100), e.g. 'my-hub-image'",
        )
    if value.lower().endswith(".git"):
        raise AnswerError("repo_name", f"{value!r} ends in '.git'; drop that suffix")
    return value


def full_host(registry: str, registry_host: str = "") -> str:
    """The registry host images go to, e.g. 'quay.io' or 'myhub.azurecr.io'."""
    return registries.get(registry).full_host(validate_registry_host(registry, registry_host))


def project_dir_name(repo_name: str) -> str:
    """The generated directory's name: ``repo_name``, or, when that is not a valid name
    (``a/b``, ``..``), a stand-in, so that the pre-generation check reports the answer
    and cookiecutter removes the one directory it made."""
    try:
        return validate_repo_name(repo_name)
    except AnswerError:
        return "hub-image-invalid-repo-name"


def validate_github_owner(value: str) -> str:
    if value and not _OWNER.fullmatch(value):
        raise AnswerError(
            "github_owner",
            f"{value!r} is not a GitHub user or organisation name; use letters, digits "
            "and single hyphens (at most 39), or leave it empty",
        )
    return value


def validate_description(value: str) -> str:
    if any(ch in value for ch in "\r\n\t") or not value.isprintable():
        raise AnswerError("description", "use a single line of printable text")
    if len(value) > 350:
        raise AnswerError("description", f"is {len(value)} characters; GitHub allows 350")
    return value


def validate_registry(value: str) -> str:
    if value not in REGISTRIES:
        raise AnswerError("registry", f"{value!r} is not supported; choose one of: {', '.join(REGISTRIES)}")
    return value


def validate_registry_host(registry: str, value: str) -> str:
    """The host for ``registry``: fixed for quay.io, ghcr.io and docker.io (the answer
    must then be empty or that host), the answer itself for the others."""
    reg = registries.get(registry)
    host = value.strip().lower().removeprefix("https://").rstrip("/")
    if reg.host:
        if host not in ("", reg.host):
            raise AnswerError("registry_host", f"{registry} needs none; leave it empty (got {value!r})")
        return ""
    if not host:
        raise AnswerError("registry_host", f"registry {registry} needs its host, e.g. {reg.host_example!r}")
    if not registries.host_matches(registry, host):
        raise AnswerError("registry_host", f"{value!r} is not a host for {reg.title}; it looks like {reg.host_example!r}")
    return host


def normalize_image_name(value: str, host: str = REGISTRIES[0]) -> str:
    """Return ``namespace/name`` for an image on ``host``; '' means not configured.

    Accepts a value that starts with the registry host (``quay.io/ns/name``).
    Rejects tags, digests, upper case and anything a workflow could misread.
    """
    name = value.strip()
    if not name:
        return ""
    if any(bad in name for bad in ("${{", '"', "'", "\n", "\r", " ", "\\")):
        raise AnswerError("image_name", f"{value!r} has spaces, quotes or expressions; use 'namespace/name'")
    if name.startswith(("http://", "https://")):
        raise AnswerError("image_name", f"{value!r} is a web address; use the image path, e.g. 'my-org/my-hub-image'")
    if name.lower().startswith(host.lower() + "/"):
        name = name[len(host) + 1 :]
    if "@" in name:
        raise AnswerError("image_name", f"{value!r} has a digest; drop the '@…' part")
    if ":" in name:
        head, _, tag = name.rpartition(":")
        raise AnswerError(
            "image_name",
            f"{value!r} has a tag ':{tag}'; drop it (each build is tagged with its commit sha), e.g. {head!r}",
        )
    if name != name.lower():
        raise AnswerError("image_name", f"{value!r} has upper-case letters; use {name.lower()!r}")
    parts = name.split("/")
    if "." in parts[0] and len(parts) > 2:
        raise AnswerError(
            "image_name",
            f"{value!r} starts with registry host {parts[0]!r}, but the registry is {host!r}; "
            "give 'namespace/name' on that registry",
        )
    if len(parts) != 2:
        raise AnswerError(
            "image_name",
            f"{value!r} must be 'namespace/name' on {host}, e.g. 'my-org/my-hub-image'",
        )
    for part in parts:
        if not _IMAGE_COMPONENT.fullmatch(part):
            raise AnswerError(
                "image_name",
                f"{part!r} in {value!r} is not a valid path part; use lowercase letters and digits separated by '.', '_' or '-'",
            )
    if len(name) > 255:
        raise AnswerError("image_name", "is longer than 255 characters")
    return name


def validate_base_image(value: str) -> str:
    """A base image reference pinned to a tag (never `latest`) or a digest."""
    ref = value.strip()
    name, _, digest = ref.partition("@")
    repo, tag = name, ""
    if ":" in name.rsplit("/", 1)[-1]:
        repo, _, tag = name.rpartition(":")
    if (
        not re.fullmatch(
            r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+|[a-z0-9]+(?:[._-][a-z0-9]+)*", repo
        )
        or (tag and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}", tag))
        or (digest and not re.fullmatch(r"sha256:[0-9a-f]{64}", digest))
    ):
        raise AnswerError("base_image", f"{value!r} is not an image reference; e.g. 'quay.io/jupyter/scipy-notebook:2025-12-31'")
    if not tag and not digest:
        raise AnswerError("base_image", f"{value!r} has no tag; pin one (e.g. a dated tag), so every build starts the same")
    if tag == "latest":
        raise AnswerError("base_image", f"{value!r} uses 'latest'; pin a fixed tag (e.g. a dated tag)")
    return ref


def _choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if str(value) not in choices:
        raise AnswerError(field, f"{value!r} is not one of: {', '.join(choices)}")
    return str(value)


def parse_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise AnswerError(field, f"{value!r} is not a yes/no answer; use true or false")


def validate_python_version(value: str) -> str:
    if value not in PYTHON_VERSIONS:
        raise AnswerError(
            "python_version",
            f"{value!r} is not one of {', '.join(PYTHON_VERSIONS)}; give major.minor, e.g. '3.12'",
        )
    return value


def jupyterhub_series(value: str) -> str:
    """Return the ``major.minor`` series of a JupyterHub version such as '5.2' or '5.2.1'."""
    match = _VERSION.fullmatch(value.strip())
    if not match or int(match.group(1)) < 1:
        raise AnswerError(
            "jupyterhub_version",
            f"{value!r} is not a JupyterHub version; give your hub's version as major.minor, e.g. '5.3'",
        )
    return f"{int(match.group(1))}.{int(match.group(2))}"


def series_upper_bound(series: str) -> str:
    major, minor = series.split(".")
    return f"{major}.{int(minor) + 1}"


def validate_answers(answers: dict[str, Any]) -> dict[str, Any]:
    """Check every answer the template asks for; return them normalised.

    Keys that are not the template's (cookiecutter's own ``_template`` and so on) pass
    through unchanged.
    """
    out = dict(answers)
    out["repo_name"] = validate_repo_name(str(answers.get("repo_name", "")))
    out["github_owner"] = validate_github_owner(str(answers.get("github_owner", "")))
    out["description"] = validate_description(str(answers.get("description", "")))
    out["registry"] = validate_registry(str(answers.get("registry", REGISTRIES[0])))
    out["registry_host"] = validate_registry_host(out["registry"], str(answers.get("registry_host", "")))
    host = full_host(out["registry"], out["registry_host"])
    out["image_name"] = normalize_image_name(str(answers.get("image_name", "")), host)
    if (
        out["registry"] == "ghcr.io"
        and out["image_name"]
        and out["github_owner"]
        and out["image_name"].split("/")[0] != out["github_owner"].lower()
    ):
        raise AnswerError(
            "image_name",
            f"a ghcr.io image of this repo lives under its owner; use "
            f"'{out['github_owner'].lower()}/{out['image_name'].split('/')[1]}'",
        )
    out["image_kind"] = _choice(answers.get("image_kind", IMAGE_KINDS[0]), "image_kind", IMAGE_KINDS)
    out["base_image"] = validate_base_image(str(answers.get("base_image", "")))
    out["push_on_pr"] = parse_bool(answers.get("push_on_pr", False), "push_on_pr")
    if out["push_on_pr"] and not out["image_name"]:
        raise AnswerError(
            "push_on_pr",
            "pull-request pushes need an image to push to; set image_name too, or answer false",
        )
    out["github_setup"] = _choice(answers.get("github_setup", "none"), "github_setup", GITHUB_SETUP)
    out["repo_visibility"] = _choice(answers.get("repo_visibility", "public"), "repo_visibility", VISIBILITY)
    out["is_template"] = parse_bool(answers.get("is_template", False), "is_template")
    if out["is_template"] and out["image_name"]:
        raise AnswerError(
            "is_template",
            "a template repository must not push (its copies would push to the same image); leave image_name empty",
        )
    if out["github_setup"] != "none" and not out["github_owner"]:
        raise AnswerError("github_owner", f"github_setup={out['github_setup']} needs the GitHub owner; give github_owner")
    out["python_version"] = validate_python_version(str(answers.get("python_version", "")))
    out["jupyterhub_version"] = jupyterhub_series(str(answers.get("jupyterhub_version", "")))
    return out
