"""The GitHub API, as hub-image uses it (PyGithub): the client with bounded waits,
errors explained in one line, the token's scopes, repositories looked up and created,
and one secret writer for repositories and organisations.

This is the only module that touches PyGithub's private internals (the secret PUTs,
which send the key id PyGithub's ``create_secret`` would fetch again for every secret).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.parse import quote, urlsplit

from github import Auth, Github, GithubException, GithubRetry
from github.AuthenticatedUser import AuthenticatedUser
from github.GithubException import RateLimitExceededExceedsMaxWait
from github.Organization import Organization
from github.PublicKey import PublicKey
from github.Repository import Repository

from .errors import SetupError
from .pacing import Clock

DEFAULT_API_URL = "https://api.github.com"
#: The longest wait GitHub may ask for (retry-after, rate-limit reset) before a run stops.
DEFAULT_MAX_WAIT = 300.0
TOKEN_VARS = ("GITHUB_TOKEN", "GH_TOKEN")
#: Seconds between two lines of a long wait's countdown.
COUNTDOWN_EVERY = 30.0

Pace = Callable[[], AbstractContextManager[Any]]


def read_token(environ: dict | None = None) -> str:
    env = os.environ if environ is None else environ
    for name in TOKEN_VARS:
        if env.get(name):
            return env[name]
    raise SetupError("GITHUB_TOKEN (or GH_TOKEN) is not set; export a token with the 'repo' and 'workflow' scopes")


def github_hosts(api_url: str | None = None) -> set[str]:
    """The hosts whose remotes are repositories of this GitHub: github.com for
    api.github.com, else the API's own host (GitHub Enterprise Server, the emulator)."""
    host = urlsplit(api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).netloc.lower()
    return {"github.com"} if host == "api.github.com" else {host}


class BoundedRetry(GithubRetry):
    """PyGithub's retry, with every wait bounded: a ``retry-after`` (or rate-limit reset)
    longer than ``max_rate_limit_wait`` raises instead of sleeping; shorter waits are
    announced through ``on_wait(seconds)`` (a countdown) and end early when ``stop`` is
    set.  ``clock``: how time passes (tests give one that does not sleep)."""

    def __init__(self, on_wait=None, stop: threading.Event | None = None, clock: Clock | None = None, **kwargs):
        self.on_wait = on_wait
        self.stop = stop
        self.clock = clock or Clock()
        super().__init__(**kwargs)

    def new(self, **kw):
        kw.update(on_wait=self.on_wait, stop=self.stop, clock=self.clock)
        return super().new(**kw)

    def sleep_for_retry(self, response=None) -> bool:
        retry_after = self.get_retry_after(response) if response is not None else None
        if retry_after is None:
            return False
        if self.max_rate_limit_wait is not None and retry_after > self.max_rate_limit_wait:
            raise RateLimitExceededExceedsMaxWait(
                response.status, {"message": "retry-after"}, dict(response.headers), wait=retry_after
            )
        deadline = self.clock.now() + retry_after
        announced = -COUNTDOWN_EVERY
        while (left := deadline - self.clock.now()) > 0:
            if self.on_wait and retry_after >= 5 and retry_after - left - announced >= COUNTDOWN_EVERY:
                announced = retry_after - left
                self.on_wait(left)  # a countdown: the wait left, every COUNTDOWN_EVERY seconds
            if self.clock.wait(min(left, 1.0), self.stop):
                raise KeyboardInterrupt
        return True


def client(
    token: str,
    api_url: str | None = None,
    environ: dict | None = None,
    *,
    max_wait: float | None = None,
    on_wait=None,
    stop: threading.Event | None = None,
    paced: bool = True,
) -> Github:
    """A PyGithub client.  User settings: ``HUB_IMAGE_SECONDS_BETWEEN_REQUESTS`` /
    ``…_WRITES`` change PyGithub's pauses (0.25 s and 1 s, GitHub's advice; 0 for a GitHub
    Enterprise Server without secondary limits); a wait GitHub asks for that is longer
    than ``max_wait`` seconds (default ``HUB_IMAGE_MAX_WAIT``, 300) raises
    :class:`RateLimitExceededExceedsMaxWait`; ``max_wait=inf`` waits.  ``paced=False``:
    no pauses (a fleet paces its writes itself)."""
    env = os.environ if environ is None else environ
    bound = float(env.get("HUB_IMAGE_MAX_WAIT", DEFAULT_MAX_WAIT)) if max_wait is None else max_wait
    return Github(
        auth=Auth.Token(token),
        base_url=(api_url or env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
        seconds_between_requests=float(env.get("HUB_IMAGE_SECONDS_BETWEEN_REQUESTS", 0.25)) if paced else 0,
        seconds_between_writes=float(env.get("HUB_IMAGE_SECONDS_BETWEEN_WRITES", 1.0)) if paced else 0,
        retry=BoundedRetry(
            total=5,
            max_rate_limit_wait=None if bound == float("inf") else bound,
            on_wait=on_wait,
            stop=stop,
        ),
        lazy=True,  # no request until an answer is needed: we fetch only what we use
    )


# --- errors ------------------------------------------------------------------------


def explain(exc: GithubException, action: str, full_name: str) -> str:
    """One line for a GitHub error: what was being done, and what to do about it."""
    status = exc.status
    if isinstance(exc, RateLimitExceededExceedsMaxWait):
        wait = int((exc.wait or 0) + 0.999)
        at = time.strftime("%H:%M UTC", time.gmtime(time.time() + wait))
        return (
            f"{action}: GitHub's rate limit asks to wait {wait} s, longer than hub-image waits unasked; "
            f"run again after {at} (or pass --wait)"
        )
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
        return (
            f"{action}: not found (404); check that {full_name} exists and the token can see it ('repo' scope for private repos)"
        )
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


def check_scopes(scopes: list[str] | None, *, private: bool, org_secrets: bool = False) -> None:
    """Refuse a classic token without the scopes the work needs (fine-grained tokens list
    none; GitHub checks them later): ``repo`` (``public_repo`` for public repositories),
    ``workflow`` to push .github/workflows/, ``admin:org`` for organisation secrets."""
    if scopes is None:
        return
    have = set(scopes)
    need = ["repo" if private else "public_repo", "workflow"] + (["admin:org"] if org_secrets else [])
    missing = [s for s in need if s not in have and not (s == "public_repo" and "repo" in have)]
    if missing:
        raise SetupError(
            f"the token lacks the {' and '.join(repr(s) for s in missing)} scope"
            f"{'s' if len(missing) > 1 else ''} (it has: {', '.join(sorted(have)) or 'none'}); "
            "'workflow' is needed to push .github/workflows/"
        )


# --- repositories and secrets ---------------------------------------------------------


def get_repo(gh: Github, full_name: str) -> Repository | None:
    try:
        return gh.get_repo(full_name).complete()
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise


def create_repo(
    gh: Github,
    owner: str,
    name: str,
    *,
    me: AuthenticatedUser | None,
    description: str = "",
    private: bool = False,
    pace: Pace = nullcontext,
) -> Repository:
    """POST the repository under ``me`` (the token's user) or, when None, the
    organisation ``owner``.  ``pace``: a context manager each write goes through."""
    target = me if me is not None else gh.get_organization(owner)
    try:
        with pace():
            return target.create_repo(name, description=description, private=private, auto_init=False)
    except GithubException as exc:
        # PyGithub retries a POST that met a 5xx: the first try may have created it.
        if exc.status == 422 and "already exists" in str(exc.data):
            return gh.get_repo(f"{owner}/{name}").complete()
        if exc.status == 404 and me is None:
            raise SetupError(f"{owner!r} is neither your login nor an organisation you can create repositories in") from None
        raise


def write_secrets(
    target: Repository | Organization,
    secrets: dict[str, str],
    pace: Pace = nullcontext,
    selected: dict[str, list[int]] | None = None,
    key: PublicKey | None = None,
) -> None:
    """PUT each secret, sealed with ``target``'s public key (``key``, or fetched once), on a
    repository, or on an organisation for exactly the repositories ``selected`` lists."""
    if not secrets:
        return
    key = key or target.get_public_key()
    for name, value in secrets.items():
        body: dict[str, Any] = {"key_id": key.key_id, "encrypted_value": key.encrypt(value)}
        if isinstance(target, Organization):
            body.update(visibility="selected", selected_repository_ids=sorted((selected or {}).get(name, [])))
        with pace():
            target._requester.requestJsonAndCheck("PUT", f"{target.url}/actions/secrets/{quote(name, safe='')}", input=body)


def set_secret_repositories(org: Organization, name: str, repository_ids: list[int], pace: Pace = nullcontext) -> None:
    """Replace the repositories an organisation secret is visible to."""
    with pace():
        org._requester.requestJsonAndCheck(
            "PUT",
            f"{org.url}/actions/secrets/{quote(name, safe='')}/repositories",
            input={"selected_repository_ids": sorted(repository_ids)},
        )
