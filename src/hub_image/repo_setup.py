"""Setting up one image repo on GitHub: create or adopt the repository, set the
registry secrets, and push the project to `main`.

One entry point, :func:`run_setup`, serves the post-generation hook and the
`hub-image github` command alike.  Secrets (the token, registry passwords) live only in
memory: they are read from the environment or the terminal, sent sealed with the
repository's public key, and handed to git through its environment, never written to
disk, logged, or put in an exception message.
"""

from __future__ import annotations

import getpass
import json
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from github import Github, GithubException

from . import git, github_api, record, registries
from .errors import AnswerError, GitError, HubImageError, SetupError, WorkflowError


@dataclass
class Request:
    """What to set up, as the template's answers say it."""

    project_dir: Path
    owner: str
    repo_name: str
    mode: str = "create"  # "secrets" or "create"
    description: str = ""
    private: bool = False
    registry: str = "quay.io"
    is_template: bool = False
    from_cli: bool = False  # messages name the CLI's options, not cookiecutter's answers
    image_name: str = ""  # NAMESPACE/NAME on the registry, when the repo pushes

    @classmethod
    def from_answers(cls, answers: dict[str, Any], project_dir: Path) -> Request:
        """The setup the template's (validated) answers ask for."""
        return cls(
            project_dir=Path(project_dir).resolve(),
            owner=answers["github_owner"],
            repo_name=answers["repo_name"],
            mode=answers["github_setup"],
            description=answers["description"],
            private=answers["repo_visibility"] == "private",
            registry=answers["registry"],
            is_template=answers["is_template"],
            image_name=answers["image_name"],
        )

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo_name}"

    def resume_command(self) -> str:
        args = ["hub-image", "github", str(self.project_dir.resolve()), "--owner", self.owner, "--repo-name", self.repo_name]
        if self.mode == "secrets":
            args.append("--secrets-only")
        else:
            args += ["--visibility", "private" if self.private else "public"]
            if self.description:
                args += ["--description", self.description]
            if self.is_template:
                args.append("--template")
        return shlex.join(args)


@dataclass
class Report:
    done: list[str] = field(default_factory=list)
    html_url: str = ""
    clone_url: str = ""


# --- inputs -------------------------------------------------------------------------


def credentials_available(
    registry: str, environ: dict | None = None, interactive: bool | None = None, image_name: str = ""
) -> list[str]:
    """The environment variables still missing for ``registry`` that no prompt can ask for."""
    env = os.environ if environ is None else environ
    if quay_by_api(registry, image_name, env):
        return []
    multiline = registries.get(registry).multiline_secrets
    missing = {
        secret: var
        for secret, var in registries.secret_sources(registry).items()
        if not env.get(var) and not env.get(f"{var}_FILE")
    }
    if interactive is None:
        interactive = _tty()
    # A terminal can be asked for one line, never for a multi-line key.
    return [
        f"{var} (or {var}_FILE)" if secret in multiline else var
        for secret, var in missing.items()
        if not interactive or secret in multiline
    ]


def quay_by_api(registry: str, image_name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether quay.io is set up through its API (QUAY_API_TOKEN, and an image to push)."""
    from . import quay

    return registry == "quay.io" and bool(image_name) and quay.api_token(environ) is not None


def registry_credentials(req: Request, environ: dict | None = None) -> tuple[dict[str, str], list[str]]:
    """The registry secrets, and what was done to get them: with QUAY_API_TOKEN, quay.io's
    repository and robot are set up through its API and the robot's name and token are
    the secrets (in memory only); else :func:`read_credentials`."""
    if not quay_by_api(req.registry, req.image_name, environ):
        return read_credentials(req.registry, environ), []
    from . import quay

    secrets, changes = quay.robot_credentials(req.image_name, req.repo_name, req.description, environ)
    return secrets, [f"quay.io: {c}" for c in changes] or [f"quay.io: {req.image_name} and its robot were ready"]


def read_credentials(registry: str, environ: dict | None = None) -> dict[str, str]:
    """Secret name -> value for ``registry``: from the environment (``NAME``, or the file
    ``NAME_FILE`` names, for a multi-line value such as a JSON key), else asked on the
    terminal: a user name visibly, a password or token hidden.  A multi-line secret is
    never asked for (a terminal gives one line of it)."""
    env = os.environ if environ is None else environ
    reg = registries.get(registry)
    values = {}
    for secret, var in registries.secret_sources(registry).items():
        value = env.get(var, "")
        if not value and env.get(f"{var}_FILE"):
            try:
                value = Path(env[f"{var}_FILE"]).read_text()
            except OSError as exc:
                raise SetupError(f"{var}_FILE: cannot read {env[f'{var}_FILE']} ({exc.strerror})") from None
        multiline = secret in reg.multiline_secrets
        if not value:
            if not _tty():
                raise SetupError(f"{var} is not set; export it (the registry credential for {registry})")
            if multiline:
                raise SetupError(f"{var} is several lines long; give it as a file: export {var}_FILE=path/to/key.json")
            value = input(f"{var}: ").strip() if secret in reg.visible_secrets else getpass.getpass(f"{var} (hidden): ")
            if not value:
                raise SetupError(f"{var} is empty; give the registry credential for {registry}")
        if multiline:
            _check_json_key(var, value)
        elif "\n" in value.strip():
            raise SetupError(f"{var} has several lines; a {registry} credential is one line (check the value)")
        values[secret] = value
    return values


def _check_json_key(var: str, value: str) -> None:
    try:
        ok = isinstance(json.loads(value), dict)
    except ValueError:
        ok = False
    if not ok:
        first = "it looks like the first line of a pasted key; " if value.strip() in ("{", "") else ""
        raise SetupError(f"{var} is not a whole JSON key: {first}give the key file with {var}_FILE=path/to/key.json")


def _tty() -> bool:
    try:
        with open("/dev/tty"):
            return sys.stdin.isatty()
    except OSError:
        return False


def identify(project: Path, owner: str | None, repo_name: str | None, api_url: str | None = None) -> tuple[str, str]:
    """Which GitHub repository ``project`` is: its ``origin`` when that points at this
    GitHub, else its recorded answers, else ``owner`` and ``repo_name`` (default: the
    directory's name).  Options that disagree with what the repo knows are refused."""
    found, source = None, ""
    url = git.origin_url(project)
    parsed = git.parse_remote(url) if url else None
    if parsed and parsed[0] in github_api.github_hosts(api_url):
        found, source = (parsed[1], parsed[2]), f"origin ({url})"
    else:
        recorded = record.recorded_answers(project)
        if recorded.get("github_owner") and recorded.get("repo_name"):
            found, source = (str(recorded["github_owner"]), str(recorded["repo_name"])), ".cruft.json"
    if found:
        for option, given, known in (("--owner", owner, found[0]), ("--repo-name", repo_name, found[1])):
            if given and given.lower() != known.lower():
                raise SetupError(
                    f"{option} {given} disagrees with {source}, which is {found[0]}/{found[1]}; "
                    f"drop {option}, or fix {source.split(' ')[0]}"
                )
        return found
    if not owner:
        raise SetupError(
            "--owner: this repo has no GitHub origin and no recorded answers (.cruft.json); "
            "pass --owner OWNER (and --repo-name NAME if it is not the directory's name)"
        )
    return owner, repo_name or project.name


def check_origin(project: Path, owner: str, repo_name: str, api_url: str | None = None) -> None:
    """Refuse, before anything is created, a project whose ``origin`` names another repository."""
    url = git.origin_url(project) if (project / ".git").exists() else None
    if url is None:
        return
    parsed = git.parse_remote(url)
    if (
        not parsed
        or parsed[0] not in github_api.github_hosts(api_url)
        or (parsed[1].lower(), parsed[2].lower()) != (owner.lower(), repo_name.lower())
    ):
        raise GitError(
            f"origin is {url}, not {owner}/{repo_name} on this GitHub; hub-image does not change it: "
            "point it there or remove it (git remote remove origin), and run again"
        )


def request_from_options(
    project: Path,
    *,
    owner: str | None,
    repo_name: str | None,
    secrets_only: bool,
    private: bool,
    description: str,
    registry: str | None,
    is_template: bool,
) -> Request:
    """`hub-image github`'s options as a :class:`Request`: the repository from what the repo
    knows (:func:`identify`), the registry from its workflow unless given."""
    from . import workflow
    from .answers import validate_github_owner, validate_repo_name

    project = project.resolve()
    try:
        wf: workflow.Workflow | None = workflow.read(project)
    except WorkflowError:
        wf = None
    if registry is None:
        registry = registries.choice_for_host(wf.registry) if wf else registries.CHOICES[0]
    try:
        if owner:
            validate_github_owner(owner)
        if repo_name:
            validate_repo_name(repo_name)
        owner, repo_name = identify(project, owner, repo_name)
        validate_repo_name(repo_name)
    except AnswerError as exc:
        raise AnswerError(f"--{'repo-name' if exc.field == 'repo_name' else 'owner'}", exc.reason) from None
    if is_template and wf is not None and wf.image_name:
        raise SetupError(
            "--template: this repo pushes to an image, and its copies would too; run "
            "'hub-image configure --clear-image-name' first"
        )
    return Request(
        project_dir=project,
        owner=owner,
        repo_name=repo_name,
        mode="secrets" if secrets_only else "create",
        description=description,
        private=private,
        registry=registry,
        is_template=is_template,
        from_cli=True,
        image_name=wf.image_name if wf is not None and wf.image_name and not wf.image_is_expression else "",
    )


# --- the setup ---------------------------------------------------------------------


def setup_repo(req: Request, token: str, secrets: dict[str, str], gh: Github | None = None) -> Report:
    """Create or adopt ``req.full_name``, push the project (``create``), set ``secrets``.

    Idempotent: run again after a failure, it finishes the job.  Raises
    :class:`SetupError` with the steps done so far.
    """
    gh = gh or github_api.client(token)
    report = Report()
    step = "reading the repository"
    try:
        if req.mode == "create":
            step = "checking origin"
            check_origin(req.project_dir, req.owner, req.repo_name, gh.requester.base_url)
            step = "checking the token"
            me, login = gh.get_user(), gh.get_user().login  # GET /user
            github_api.check_scopes(gh.oauth_scopes, private=req.private)
            step = f"looking up {req.full_name}"
            repo = github_api.get_repo(gh, req.full_name)
            if repo is None:
                step = f"creating {req.full_name}"
                mine = me if login.lower() == req.owner.lower() else None
                repo = github_api.create_repo(
                    gh, req.owner, req.repo_name, me=mine, description=req.description, private=req.private
                )
                report.done.append(f"created {'private' if req.private else 'public'} repository {repo.html_url}")
            else:
                report.done.append(f"found existing repository {repo.html_url}; adopted it (its history is kept)")
        else:
            step = f"looking up {req.full_name}"
            repo = github_api.get_repo(gh, req.full_name)
            if repo is None:
                how = "run without --secrets-only" if req.from_cli else "answer github_setup=create"
                raise SetupError(f"{req.full_name} does not exist on GitHub; create it first, or {how}", report.done)
        report.html_url, report.clone_url = repo.html_url, repo.clone_url
        if req.is_template and not repo.is_template:
            step = "marking the repository as a template"
            repo.edit(is_template=True)
            report.done.append("marked it as a template repository")
        if repo.permissions is not None and not repo.permissions.admin:
            raise SetupError(
                f"your token has no admin rights on {req.full_name}, which setting secrets needs; ask an owner",
                report.done,
            )
        # Secrets first: the push starts the first build, which must be able to log in.
        step = "setting the registry secrets"
        github_api.write_secrets(repo, secrets)
        report.done.append(f"set secrets {', '.join(secrets)}")
        if req.mode == "create":
            step = "pushing the project"
            report.done += push_project(req.project_dir, repo.clone_url, token)
    except GithubException as exc:
        raise SetupError(github_api.explain(exc, step, req.full_name), report.done) from None
    except GitError as exc:
        raise SetupError(f"{step}: {exc}", report.done) from None
    except requests.RequestException as exc:
        raise SetupError(f"{step}: {github_api.describe_network_error(exc, gh.requester.base_url)}", report.done) from None
    return report


def commit_project(project: Path) -> list[str]:
    """Make ``project`` a git repo whose first commit on ``main`` holds its files."""
    if not (project / ".git").exists():
        git.run(project, "init", "--quiet", "--initial-branch=main")
    if git.has_head(project):
        return []
    git.run(project, "add", "--all")
    git.run(project, "commit", "--quiet", "--message", "Generated by hub-image")
    return ["made the first commit"]


def push_project(project: Path, clone_url: str, token: str) -> list[str]:
    """Make ``project`` a git repo with ``origin`` = ``clone_url`` and push ``main``,
    unless the remote already has history (then it is left alone, and we say so).  An
    ``origin`` that names another repository is never rewritten: that is an error."""
    done = commit_project(project)
    origin = git.origin_url(project)
    if origin is None:
        git.run(project, "remote", "add", "origin", clone_url)
    elif origin != clone_url and not git.same_repository(origin, clone_url):
        raise GitError(
            f"origin is {origin}, not {clone_url}; hub-image does not change it: point it there "
            f"(git remote set-url origin {clone_url}) or remove it, and run again"
        )
    remote_main = git.ls_remote(project, "origin", "refs/heads/*", token)
    head = git.run(project, "rev-parse", "HEAD")
    if not remote_main:
        git.push(project, "origin", "HEAD:refs/heads/main", token, "--set-upstream")
        done.append(f"pushed {head[:12]} to main")
    elif head in remote_main.split():
        done.append(f"main already has {head[:12]}; nothing to push")
    else:
        done.append(
            "the repository already has history, so nothing was pushed; "
            "merge it yourself: git pull origin main --allow-unrelated-histories"
        )
    return done


def run_setup(req: Request, out=print, err=None) -> int:
    """Read the token and credentials, run :func:`setup_repo`, and report: what was
    done, and on failure what failed and the one command that resumes.  Returns the
    exit status (0 or 1)."""
    err = err or (lambda line: print(line, file=sys.stderr))
    try:
        token = github_api.read_token()
        secrets, quay_done = registry_credentials(req)
        for line in quay_done:
            out(f"done: {line}")
        report = setup_repo(req, token, secrets)
    except Exception as exc:  # noqa: BLE001 — whatever failed, keep the project and say how to resume
        for line in getattr(exc, "done", []):
            out(f"done: {line}")
        reason = str(exc) if isinstance(exc, HubImageError) else f"unexpected {type(exc).__name__}: {exc}"
        err(f"error: GitHub setup of {req.full_name} failed: {reason}")
        err(f"The project is kept in {req.project_dir}. Resume with: {req.resume_command()}")
        return 1
    for line in report.done:
        out(f"done: {line}")
    out(f"{req.full_name} is set up: {report.html_url}")
    return 0
