"""GitHub setup for a generated image repo: create or adopt the repository, push the
project to `main`, and set the registry secrets, through PyGithub.

One entry point, :func:`setup_repo`, serves the post-generation hook and the
`hub-image github` command alike.  Secrets (the token, registry passwords) live only in
memory: they are read from the environment or a hidden prompt, sent encrypted with the
repository's public key, and handed to git through its environment, never written to
disk, logged, or put in an exception message.
"""

from __future__ import annotations

import base64
import getpass
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.GithubException import RateLimitExceededExceedsMaxWait
from github.Repository import Repository

from . import registries

DEFAULT_API_URL = "https://api.github.com"
#: The longest wait GitHub may ask for (retry-after, rate-limit reset) before a run stops.
DEFAULT_MAX_WAIT = 300.0
TOKEN_VARS = ("GITHUB_TOKEN", "GH_TOKEN")
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "hub-image", "GIT_AUTHOR_EMAIL": "hub-image@users.noreply.github.com"}


class SetupError(Exception):
    """A setup step failed.  ``str()`` is one line; ``done`` lists what had been done."""

    def __init__(self, message: str, done: list[str] | None = None):
        super().__init__(message)
        self.done = list(done or [])


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


def read_token(environ: dict | None = None) -> str:
    env = os.environ if environ is None else environ
    for name in TOKEN_VARS:
        if env.get(name):
            return env[name]
    raise SetupError(
        "GITHUB_TOKEN (or GH_TOKEN) is not set; export a token with the 'repo' and 'workflow' scopes"
    )


def credentials_available(registry: str, environ: dict | None = None, interactive: bool | None = None) -> list[str]:
    """The environment variables still missing for ``registry`` that no prompt can ask for."""
    env = os.environ if environ is None else environ
    missing = [var for var in registries.secret_sources(registry).values() if not env.get(var) and not env.get(f"{var}_FILE")]
    if interactive is None:
        interactive = _tty()
    return [] if interactive else missing


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
            if secret in reg.visible_secrets:
                value = input(f"{var}: ").strip()
            else:
                value = getpass.getpass(f"{var} (hidden): ")
            if not value:
                raise SetupError(f"{var} is empty; give the registry credential for {registry}")
        if multiline:
            _check_json_key(var, value)
        elif "\n" in value.strip():
            raise SetupError(f"{var} has several lines; a {registry} credential is one line (check the value)")
        values[secret] = value
    return values


def _check_json_key(var: str, value: str) -> None:
    import json

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


class BoundedRetry(GithubRetry):
    """PyGithub's retry, with every wait bounded: a ``retry-after`` (or rate-limit reset)
    longer than ``max_rate_limit_wait`` raises instead of sleeping; shorter waits are
    announced through ``on_wait(seconds)`` and end early when ``stop`` is set."""

    def __init__(self, on_wait=None, stop: threading.Event | None = None, **kwargs):
        self.on_wait = on_wait
        self.stop = stop
        super().__init__(**kwargs)

    def new(self, **kw):
        kw.update(on_wait=self.on_wait, stop=self.stop)
        return super().new(**kw)

    def sleep_for_retry(self, response=None) -> bool:
        retry_after = self.get_retry_after(response) if response is not None else None
        if retry_after is None:
            return False
        if self.max_rate_limit_wait is not None and retry_after > self.max_rate_limit_wait:
            raise RateLimitExceededExceedsMaxWait(response.status, {"message": "retry-after"}, dict(response.headers),
                                                  wait=retry_after)
        if self.on_wait and retry_after >= 5:
            self.on_wait(retry_after)
        deadline = time.monotonic() + retry_after
        while (left := deadline - time.monotonic()) > 0:
            if self.stop is not None and self.stop.wait(min(left, 1.0)):
                raise KeyboardInterrupt
            if self.stop is None:
                time.sleep(min(left, 1.0))
        return True


def client(token: str, api_url: str | None = None, environ: dict | None = None, *, max_wait: float | None = None,
           on_wait=None, stop: threading.Event | None = None) -> Github:
    """A PyGithub client.  ``HUB_IMAGE_SECONDS_BETWEEN_REQUESTS`` / ``…_WRITES`` override
    PyGithub's pacing (0.25 s and 1 s), e.g. 0 against a local emulator.  A wait GitHub
    asks for that is longer than ``max_wait`` seconds (default ``HUB_IMAGE_MAX_WAIT``,
    300) raises :class:`RateLimitExceededExceedsMaxWait`; ``max_wait=inf`` waits."""
    env = os.environ if environ is None else environ
    bound = float(env.get("HUB_IMAGE_MAX_WAIT", DEFAULT_MAX_WAIT)) if max_wait is None else max_wait
    return Github(
        auth=Auth.Token(token),
        base_url=(api_url or env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
        seconds_between_requests=float(env.get("HUB_IMAGE_SECONDS_BETWEEN_REQUESTS", 0.25)),
        seconds_between_writes=float(env.get("HUB_IMAGE_SECONDS_BETWEEN_WRITES", 1.0)),
        retry=BoundedRetry(total=5, secondary_rate_wait=float(env.get("HUB_IMAGE_SECONDARY_RATE_WAIT", 60)),
                           max_rate_limit_wait=None if bound == float("inf") else bound, on_wait=on_wait, stop=stop),
        lazy=True,  # no request until an answer is needed: we fetch only what we use
    )


# --- errors ------------------------------------------------------------------------


def explain(exc: GithubException, action: str, full_name: str) -> str:
    """One line for a GitHub error: what was being done, and what to do about it."""
    status = exc.status
    if isinstance(exc, RateLimitExceededExceedsMaxWait):
        wait = int(exc.wait + 0.999)
        at = time.strftime("%H:%M UTC", time.gmtime(time.time() + wait))
        return (f"{action}: GitHub's rate limit asks to wait {wait} s, longer than hub-image waits unasked; "
                f"run again after {at} (or pass --wait)")
    message = (exc.data or {}).get("message", "") if isinstance(exc.data, dict) else ""
    accepted = (exc.headers or {}).get("x-accepted-oauth-scopes", "")
    if status == 401:
        return f"{action}: GitHub refused the token (401 {message or 'Bad credentials'}); check GITHUB_TOKEN is valid and not expired"
    if status in (403, 404) and accepted:
        return f"{action}: the token lacks a scope (403); it needs: {accepted}"
    if status == 403 and "rate limit" in message.lower():
        return f"{action}: GitHub's rate limit was hit (403 {message}); wait and run again"
    if status == 403:
        return f"{action}: forbidden (403 {message}); you need admin rights on {full_name}, and a token with the 'repo' scope"
    if status == 404:
        return f"{action}: not found (404); check that {full_name} exists and the token can see it ('repo' scope for private repos)"
    if status == 422:
        errors = "; ".join(e.get("message", "") for e in (exc.data or {}).get("errors", []) if isinstance(e, dict))
        return f"{action}: GitHub rejected it (422 {message}{': ' + errors if errors else ''})"
    return f"{action}: GitHub answered {status} {message}".rstrip()


def describe_network_error(exc: Exception, base_url: str = "") -> str:
    """One line for a failure below HTTP answers: unreachable, or retries used up."""
    many = re.search(r"too many (\d+) error responses", str(exc))
    if many:
        return f"GitHub kept answering {many.group(1)}, retries used up; run again later"
    return f"could not reach GitHub{' at ' + base_url if base_url else ''} ({type(exc).__name__})"


# --- the setup ---------------------------------------------------------------------


def setup_repo(req: Request, token: str, secrets: dict[str, str], gh: Github | None = None) -> Report:
    """Create or adopt ``req.full_name``, push the project (``create``), set ``secrets``.

    Idempotent: run again after a failure, it finishes the job.  Raises
    :class:`SetupError` with the steps done so far.
    """
    gh = gh or client(token)
    report = Report()
    step = "reading the repository"
    try:
        if req.mode == "create":
            step = "checking origin"
            check_origin(req.project_dir, req.owner, req.repo_name, gh.requester.base_url)
            step = "checking the token"
            me = gh.get_user()
            login = me.login  # GET /user
            _check_scopes(gh.oauth_scopes, req)
            step = f"looking up {req.full_name}"
            repo = _get_repo(gh, req.full_name)
            if repo is None:
                step = f"creating {req.full_name}"
                repo = create_repo(gh, me if login.lower() == req.owner.lower() else None, req)
                report.done.append(f"created {'private' if req.private else 'public'} repository {repo.html_url}")
            else:
                report.done.append(f"found existing repository {repo.html_url}; adopted it (its history is kept)")
        else:
            step = f"looking up {req.full_name}"
            repo = _get_repo(gh, req.full_name)
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
        set_secrets(repo, secrets)
        report.done.append(f"set secrets {', '.join(secrets)}")
        if req.mode == "create":
            step = "pushing the project"
            report.done += push_project(req.project_dir, repo.clone_url, token)
    except GithubException as exc:
        raise SetupError(explain(exc, step, req.full_name), report.done) from None
    except GitError as exc:
        raise SetupError(f"{step}: {exc}", report.done) from None
    except requests.RequestException as exc:
        raise SetupError(f"{step}: {describe_network_error(exc, gh.requester.base_url)}", report.done) from None
    return report


def _check_scopes(scopes: list[str] | None, req: Request) -> None:
    """Classic tokens list their scopes; fine-grained ones do not (GitHub checks later)."""
    if scopes is None:
        return
    have = set(scopes)
    need = ["repo" if req.private or "repo" in have else "public_repo", "workflow"]
    missing = [s for s in need if s not in have and not (s == "public_repo" and "repo" in have)]
    if missing:
        raise SetupError(
            f"the token lacks the {' and '.join(repr(s) for s in missing)} scope"
            f"{'s' if len(missing) > 1 else ''} (it has: {', '.join(sorted(have)) or 'none'}); "
            "'workflow' is needed to push .github/workflows/"
        )


def _get_repo(gh: Github, full_name: str) -> Repository | None:
    try:
        return gh.get_repo(full_name).complete()
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise


def create_repo(gh: Github, me, req: Request, pace=nullcontext) -> Repository:
    """POST the repository under ``me`` (the token's user) or, when None, the
    organisation ``req.owner``.  ``pace``: a context manager each write goes through."""
    owner = me if me is not None else gh.get_organization(req.owner)
    try:
        with pace():
            return owner.create_repo(req.repo_name, description=req.description, private=req.private, auto_init=False)
    except GithubException as exc:
        # PyGithub retries a POST that met a 5xx: the first try may have created it.
        if exc.status == 422 and "already exists" in str(exc.data):
            return gh.get_repo(req.full_name).complete()
        if exc.status == 404 and me is None:
            raise SetupError(
                f"{req.owner!r} is neither your login nor an organisation you can create repositories in"
            ) from None
        raise


def set_secrets(repo: Repository, secrets: dict[str, str], pace=nullcontext) -> None:
    """PUT each secret, encrypted with the repository's public key, fetched once.
    ``pace``: a context manager each write goes through.

    (PyGithub's ``create_secret`` fetches the key again for every secret.)
    """
    if not secrets:
        return
    key = repo.get_public_key()
    for name, value in secrets.items():
        with pace():
            repo._requester.requestJsonAndCheck(
                "PUT",
                f"{repo.url}/actions/secrets/{quote(name, safe='')}",
                input={"key_id": key.key_id, "encrypted_value": key.encrypt(value)},
            )


# --- git ---------------------------------------------------------------------------


class GitError(Exception):
    pass


def _git(project: Path, *args: str, env: dict | None = None) -> str:
    result = subprocess.run(
        ["git", *args], cwd=project, capture_output=True, text=True,
        env={**os.environ, **GIT_IDENTITY, "GIT_COMMITTER_NAME": GIT_IDENTITY["GIT_AUTHOR_NAME"],
             "GIT_COMMITTER_EMAIL": GIT_IDENTITY["GIT_AUTHOR_EMAIL"], "GIT_TERMINAL_PROMPT": "0", **(env or {})},
    )
    if result.returncode != 0:
        raise GitError(f"git {args[0]} failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
    return result.stdout.strip()


def auth_env(url: str, token: str) -> dict[str, str]:
    """Git configuration, through the environment only, that authenticates HTTPS to the
    host of ``url`` with ``token``: nothing reaches .git/config, the disk or argv."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{parts.scheme}://{parts.netloc}/.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }


#: A remote URL: https://HOST/OWNER/NAME(.git), ssh://git@HOST/OWNER/NAME, git@HOST:OWNER/NAME.
_REMOTE = re.compile(
    r"^(?:(?:https?|ssh|git)://(?:[^@/]+@)?(?P<host>[^/]+)/|[^@/:]+@(?P<scp>[^:/]+):)"
    r"(?P<owner>[^/]+)/(?P<name>[^/]+?)(?:\.git)?/?$"
)


def parse_remote(url: str) -> tuple[str, str, str] | None:
    """(host, owner, name) of a GitHub-style repository URL, lower-cased host; else None."""
    match = _REMOTE.match(url.strip())
    if not match:
        return None
    host = (match.group("host") or match.group("scp")).lower().split("@")[-1]
    return host, match.group("owner"), match.group("name")


def github_hosts(api_url: str | None = None) -> set[str]:
    """The hosts whose remotes are repositories of this GitHub: github.com for
    api.github.com, else the API's own host (GitHub Enterprise Server, the emulator)."""
    host = urlsplit((api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL)).netloc.lower()
    return {"github.com"} if host == "api.github.com" else {host}


def origin_url(project: Path) -> str | None:
    result = subprocess.run(["git", "remote", "get-url", "origin"], cwd=project, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def recorded_answers(project: Path) -> dict:
    """The answers the repo was generated with, where it records them (``.cruft.json``)."""
    import json

    try:
        return dict(json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def identify(project: Path, owner: str | None, repo_name: str | None, api_url: str | None = None) -> tuple[str, str]:
    """Which GitHub repository ``project`` is: its ``origin`` when that points at this
    GitHub, else its recorded answers, else ``owner`` and ``repo_name`` (default: the
    directory's name).  Options that disagree with what the repo knows are refused."""
    found, source = None, ""
    url = origin_url(project)
    parsed = parse_remote(url) if url else None
    if parsed and parsed[0] in github_hosts(api_url):
        found, source = (parsed[1], parsed[2]), f"origin ({url})"
    else:
        recorded = recorded_answers(project)
        if recorded.get("github_owner") and recorded.get("repo_name"):
            found, source = (str(recorded["github_owner"]), str(recorded["repo_name"])), ".cruft.json"
    if found:
        for option, given, known in (("--owner", owner, found[0]), ("--repo-name", repo_name, found[1])):
            if given and given.lower() != known.lower():
                raise SetupError(f"{option} {given} disagrees with {source}, which is {found[0]}/{found[1]}; "
                                 f"drop {option}, or fix {source.split(' ')[0]}")
        return found
    if not owner:
        raise SetupError("--owner: this repo has no GitHub origin and no recorded answers (.cruft.json); "
                         "pass --owner OWNER (and --repo-name NAME if it is not the directory's name)")
    return owner, repo_name or project.name


def check_origin(project: Path, owner: str, repo_name: str, api_url: str | None = None) -> None:
    """Refuse, before anything is created, a project whose ``origin`` names another repository."""
    url = origin_url(project) if (project / ".git").exists() else None
    if url is None:
        return
    parsed = parse_remote(url)
    if not parsed or parsed[0] not in github_hosts(api_url) or (parsed[1].lower(), parsed[2].lower()) != (owner.lower(), repo_name.lower()):
        raise GitError(f"origin is {url}, not {owner}/{repo_name} on this GitHub; hub-image does not change it: "
                       "point it there or remove it (git remote remove origin), and run again")


def push_project(project: Path, clone_url: str, token: str) -> list[str]:
    """Make ``project`` a git repo with ``origin`` = ``clone_url`` and push ``main``,
    unless the remote already has history (then it is left alone, and we say so).  An
    ``origin`` that names another repository is never rewritten: that is an error."""
    done = []
    if not (project / ".git").exists():
        _git(project, "init", "--quiet", "--initial-branch=main")
    if not _has_head(project):
        _git(project, "add", "--all")
        _git(project, "commit", "--quiet", "--message", "Generated by hub-image")
        done.append("made the first commit")
    origin = origin_url(project)
    if origin is None:
        _git(project, "remote", "add", "origin", clone_url)
        origin = clone_url
    elif origin != clone_url:
        here, there = parse_remote(origin), parse_remote(clone_url)
        if not here or not there or here[0] != there[0] or (here[1].lower(), here[2].lower()) != (there[1].lower(), there[2].lower()):
            raise GitError(f"origin is {origin}, not {clone_url}; hub-image does not change it: point it there "
                           f"(git remote set-url origin {clone_url}) or remove it, and run again")
    env = auth_env(origin, token)
    remote_main = _git(project, "ls-remote", "origin", "refs/heads/*", env=env)
    head = _git(project, "rev-parse", "HEAD")
    if not remote_main:
        _git(project, "push", "--quiet", "--set-upstream", "origin", "HEAD:refs/heads/main", env=env)
        done.append(f"pushed {head[:12]} to main")
    elif head in remote_main.split():
        done.append(f"main already has {head[:12]}; nothing to push")
    else:
        done.append(
            "the repository already has history, so nothing was pushed; "
            "merge it yourself: git pull origin main --allow-unrelated-histories"
        )
    return done


def _has_head(project: Path) -> bool:
    return subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=project, capture_output=True).returncode == 0


def run_setup(req: Request, out=print, err=None) -> int:
    """Read the token and credentials, run :func:`setup_repo`, and report: what was
    done, and on failure what failed and the one command that resumes.  Returns the
    exit status (0 or 1)."""
    err = err or (lambda line: print(line, file=sys.stderr))
    try:
        token = read_token()
        secrets = read_credentials(req.registry)
        report = setup_repo(req, token, secrets)
    except Exception as exc:  # noqa: BLE001 — whatever failed, keep the project and say how to resume
        for line in getattr(exc, "done", []):
            out(f"done: {line}")
        reason = str(exc) if isinstance(exc, SetupError) else f"unexpected {type(exc).__name__}: {exc}"
        err(f"error: GitHub setup of {req.full_name} failed: {reason}")
        err(f"The project is kept in {req.project_dir}. Resume with: {req.resume_command()}")
        return 1
    for line in report.done:
        out(f"done: {line}")
    out(f"{req.full_name} is set up: {report.html_url}")
    return 0
