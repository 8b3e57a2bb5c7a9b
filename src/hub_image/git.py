"""git, as hub-image uses it: one runner, one authenticated push, remote URLs.

A token reaches git only through its environment (``GIT_CONFIG_*``): never argv, the
disk or ``.git/config``.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from .errors import GitError

#: Who commits: hub-image itself, or GitHub's Actions bot in a workflow.
HUB_IMAGE = ("hub-image", "hub-image@users.noreply.github.com")
ACTIONS_BOT = ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")


def run(cwd: Path, *args: str, env: dict[str, str] | None = None, identity: tuple[str, str] = HUB_IMAGE) -> str:
    """Run ``git ARGS`` in ``cwd``; its output, stripped.  Fails with the last line git said."""
    name, email = identity
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_TERMINAL_PROMPT": "0",
            **(env or {}),
        },
    )
    if result.returncode != 0:
        raise GitError(f"git {args[0]} failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}", result.stderr)
    return result.stdout.strip()


def output(cwd: Path, *args: str) -> str | None:
    """``git ARGS``'s output, stripped, or None when it fails (a question, not a step)."""
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    except OSError:  # no git on this machine, or no such directory
        return None
    return result.stdout.strip() if result.returncode == 0 else None


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


def push(cwd: Path, remote: str, refspec: str, token: str, *extra: str) -> None:
    """``git push REMOTE REFSPEC``, authenticated with ``token`` for the remote's host
    (git's own configuration applies: proxies, ``insteadOf``, CA settings).  A refusal is
    one line: why the server refused (its ``remote:`` messages, push protection, a
    ruleset, SSO, a size limit), not git's last words."""
    url = run(cwd, "remote", "get-url", remote) if "/" not in remote else remote
    try:
        run(cwd, "push", "--quiet", *extra, remote, refspec, env=auth_env(url, token))
    except GitError as exc:
        raise GitError(f"git push to {url} was refused: {refusal(exc.stderr)}") from None


def refusal(stderr: str) -> str:
    """The one line of a failed push's stderr that says why: a ``! [remote rejected]``
    reason, else the server's first ``remote:`` message, else git's last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        match = re.match(r"! \[(?:remote )?rejected\]\s+\S+ -> \S+ \((.+)\)$", line)
        if match and match.group(1) not in ("pre-receive hook declined",):
            return match.group(1)
    said = [line.removeprefix("remote:").strip() for line in lines if line.startswith("remote:")]
    said = [line for line in said if line and not set(line) <= set("-=* ")]
    for line in said:
        if re.match(r"(?i)(error|fatal)\b", line) or "GH0" in line or "refusing" in line or "denied" in line.lower():
            return line.removeprefix("error: ").removeprefix("ERROR: ")
    return said[0] if said else (lines[-1] if lines else "no reason given")


def ls_remote(cwd: Path, remote: str, pattern: str, token: str) -> str:
    url = run(cwd, "remote", "get-url", remote) if "/" not in remote else remote
    return run(cwd, "ls-remote", remote, pattern, env=auth_env(url, token))


def has_head(cwd: Path) -> bool:
    return output(cwd, "rev-parse", "--verify", "--quiet", "HEAD") is not None


def origin_url(cwd: Path) -> str | None:
    return output(cwd, "remote", "get-url", "origin")


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


def same_repository(a: str, b: str) -> bool:
    """Whether two remote URLs name the same repository (https and ssh forms alike)."""
    here, there = parse_remote(a), parse_remote(b)
    if here is None or there is None:
        return False
    return here[0] == there[0] and (here[1].lower(), here[2].lower()) == (there[1].lower(), there[2].lower())
