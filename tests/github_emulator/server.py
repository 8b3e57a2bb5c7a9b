"""A stateful GitHub REST emulator on 127.0.0.1, held to GitHub's OpenAPI description.

What it keeps: users and organisations, tokens with scopes, repositories (each with a
bare git repository on disk, served over git's smart HTTP protocol by `git
http-backend` at its `clone_url`, so `git push` and `git clone` are real and a push
authenticates with the token as on GitHub: `x-access-token` and the token, Basic),
Actions secrets (sealed with a real NaCl key pair per repository and
organisation, and decrypted on arrival, so tests compare plaintext), Actions
variables, organisation secrets with selected repositories, and pull requests between
branches of one repository.

What it enforces: authentication (401) and classic-token scopes (403 with
`X-Accepted-OAuth-Scopes`; a push that changes `.github/workflows/` needs `workflow`,
refused by a pre-receive hook as GitHub refuses it), admin rights for secrets, GitHub's secondary rate limits
(content-creating requests per minute, concurrent requests: 403 + `retry-after`, each
counted as a violation), and primary rate-limit headers.  Faults (status codes,
`retry-after`) and latency can be injected.

Every request and every response is validated against the OpenAPI subset; a mismatch
is recorded in :attr:`GitHubEmulator.violations` (the test fixture fails on any).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from nacl.public import PrivateKey, SealedBox

from emulator_http import Served

from .spec import Spec

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_ids = itertools.count(1000)


@dataclass
class Account:
    login: str
    type: str  # "User" | "Organization"
    id: int = field(default_factory=lambda: next(_ids))
    members: set[str] = field(default_factory=set)  # organisations: logins allowed to create/admin
    key: PrivateKey = field(default_factory=PrivateKey.generate)
    key_id: str = field(default_factory=lambda: str(next(_ids)))
    secrets: dict[str, dict] = field(default_factory=dict)  # org secrets: name -> {value, visibility, repos}


@dataclass
class Repo:
    owner: Account
    name: str
    private: bool
    description: str | None
    bare: Path
    id: int = field(default_factory=lambda: next(_ids))
    key: PrivateKey = field(default_factory=PrivateKey.generate)
    key_id: str = field(default_factory=lambda: str(next(_ids)))
    secrets: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    is_template: bool = False
    template: Repo | None = None  # the template repository this one was made from
    pulls: list[dict] = field(default_factory=list)  # {number, head, base, title, body, draft, state, user}
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"


@dataclass
class Fault:
    method: str
    path: re.Pattern
    status: int
    times: int
    retry_after: int | None = None
    after: bool = False  # apply the request, then answer with the fault (a lost response)
    headers: dict[str, str] = field(default_factory=dict)


class Violation(AssertionError):
    pass


class GitHubEmulator(Served):
    def __init__(
        self,
        root: Path,
        *,
        latency: float = 0.0,
        writes_per_minute: int = 80,
        max_concurrent: int = 100,
        time_scale: float = 1.0,
        spec: Spec | None = None,
    ):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.spec = spec or Spec()
        self.latency = latency
        self.writes_per_minute = writes_per_minute
        self.max_concurrent = max_concurrent
        self.time_scale = time_scale  # 0.01: a "minute" of the write limit lasts 0.6 s
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, tuple[str, list[str] | None]] = {}
        self.repos: dict[str, Repo] = {}
        self.log: list[tuple[str, str, int]] = []
        self.violations: list[str] = []
        self.rate_limit_violations = 0
        self.faults: list[Fault] = []
        self.holds: list[tuple[str, re.Pattern, threading.Event, threading.Event]] = []
        #: git's requests: ("push owner/name" / "fetch owner/name" / refusals, API requests before it)
        self.git_log: list[tuple[str, int]] = []
        self._writes: deque[float] = deque()
        self.write_times: list[float] = []  # time.monotonic() of every write admitted (benchmarks)
        self._in_flight = 0
        self.max_in_flight_seen = 0

    # --- set-up ---------------------------------------------------------------
    def add_user(
        self, login: str, token: str | None = None, scopes: list[str] | tuple[str, ...] | None = ("repo", "workflow")
    ) -> Account:
        with self.lock:
            acc = self.accounts.setdefault(login.lower(), Account(login, "User"))
            if token:
                self.tokens[token] = (acc.login, None if scopes is None else list(scopes))
            return acc

    def add_org(self, login: str, members: list[str]) -> Account:
        with self.lock:
            acc = self.accounts.setdefault(login.lower(), Account(login, "Organization"))
            acc.members |= {m.lower() for m in members}
            return acc

    def add_repo(
        self, owner: str, name: str, private: bool = False, with_commit: bool = False, template: Repo | None = None
    ) -> Repo:
        """A repository; ``template``: the template repository it was made from ("Use this template")."""
        with self.lock:
            repo = self._make_repo(self.accounts[owner.lower()], name, private, None)
            repo.template = template
        if with_commit:
            work = self.root / f"seed-{repo.id}"
            subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
            (work / "README.md").write_text("history that must be kept\n")
            subprocess.run(["git", "-C", str(work), "add", "."], check=True)
            subprocess.run(
                ["git", "-C", str(work), "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "existing"], check=True
            )
            subprocess.run(["git", "-C", str(work), "push", "-q", str(repo.bare), "main"], check=True)
        return repo

    def inject(
        self,
        method: str,
        path: str,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        after: bool = False,
        headers: dict[str, str] | None = None,
    ):
        """Answer the next ``times`` requests matching ``method`` and ``path`` (a regex)
        with ``status``; ``after``: apply the request first (its answer is lost).
        A 403 with ``retry_after`` is a secondary rate limit; without, a refusal."""
        with self.lock:
            self.faults.append(Fault(method.upper(), re.compile(path), status, times, retry_after, after, dict(headers or {})))

    def hold(self, method: str, path: str) -> tuple[threading.Event, threading.Event]:
        """Hold the next request matching ``method`` and ``path`` before answering it:
        returns (arrived, release).  Lets a test act while a request is in flight,
        whatever the machine's speed."""
        arrived, release = threading.Event(), threading.Event()
        with self.lock:
            self.holds.append((method.upper(), re.compile(path), arrived, release))
        return arrived, release

    def requests(self) -> list[str]:
        return [f"{m} {p}" for m, p, _ in self.log]

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()

    # --- running --------------------------------------------------------------
    def start(self) -> str:
        self.serve(_Handler)
        return self.url

    @property
    def url(self) -> str:
        return self.origin

    def stop(self) -> None:
        for _, _, _, release in self.holds:
            release.set()
        self.shutdown()

    # --- state helpers ----------------------------------------------------------
    def _make_repo(self, owner: Account, name: str, private: bool, description: str | None) -> Repo:
        bare = self.root / "git" / owner.login / f"{name}.git"
        # What `git init --bare --template= -b main` makes (no sample hooks), written here:
        # a git process per repository would cost more than the rest of its creation.  A
        # push is kept as one pack (not dozens of loose objects).
        for sub in ("objects/info", "objects/pack", "refs/heads", "refs/tags", "hooks"):
            (bare / sub).mkdir(parents=True, exist_ok=True)
        (bare / "HEAD").write_text("ref: refs/heads/main\n")
        (bare / "config").write_text(
            "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
            "[receive]\n\tunpackLimit = 1\n\tautogc = false\n"
        )
        hook = bare / "hooks" / "pre-receive"
        hook.write_text(PRE_RECEIVE)
        hook.chmod(0o755)
        repo = Repo(owner, name, private, description, bare)
        self.repos[repo.full_name.lower()] = repo
        return repo

    def repo(self, full_name: str) -> Repo | None:
        return self.repos.get(full_name.lower())

    def can_admin(self, login: str, owner: Account) -> bool:
        return owner.login.lower() == login.lower() or login.lower() in owner.members

    def user_json(self, acc: Account) -> dict:
        base = self.spec.instance(self.spec.schema("simple-user"))
        base.update(
            login=acc.login,
            id=acc.id,
            node_id=f"U_{acc.id}",
            type=acc.type,
            url=f"{self.url}/users/{acc.login}",
            html_url=f"https://github.example/{acc.login}",
        )
        return base

    def clone_url(self, repo: Repo) -> str:
        return f"{self.url}/{repo.full_name}.git"

    def repo_json(self, repo: Repo, login: str) -> dict:
        data = self.spec.instance(self.spec.schema("full-repository"))
        admin = self.can_admin(login, repo.owner)
        data.update(
            self._repo_fields(repo),
            visibility="private" if repo.private else "public",
            created_at=repo.created,
            updated_at=repo.created,
            pushed_at=repo.created,
            permissions={"admin": admin, "maintain": admin, "push": admin, "triage": admin, "pull": True},
        )
        if repo.template is not None:  # a "Use this template" copy names its template
            template = self.spec.instance(self.spec.schema("repository"))  # nullable-repository, not null
            template.update(self._repo_fields(repo.template))
            data["template_repository"] = template
        return data

    def _repo_fields(self, repo: Repo) -> dict:
        return dict(
            id=repo.id,
            node_id=f"R_{repo.id}",
            name=repo.name,
            full_name=repo.full_name,
            owner=self.user_json(repo.owner),
            private=repo.private,
            description=repo.description,
            url=f"{self.url}/repos/{repo.full_name}",
            html_url=f"https://github.example/{repo.full_name}",
            clone_url=self.clone_url(repo),
            git_url=self.clone_url(repo).replace("http", "git", 1),
            ssh_url=f"git@github.example:{repo.full_name}.git",
            default_branch="main",
            is_template=repo.is_template,
        )


def decrypt(key: PrivateKey, encrypted_value: str) -> str:
    return SealedBox(key).decrypt(base64.b64decode(encrypted_value)).decode()


#: GitHub's rule for pushes: a token without the `workflow` scope (a classic token; a
#: fine-grained one is not checked here) may not create or change a workflow file.
PRE_RECEIVE = r"""#!/bin/sh
[ "$EMU_WORKFLOW_SCOPE" = "no" ] || exit 0
zero=0000000000000000000000000000000000000000
while read old new ref; do
  [ "$new" = "$zero" ] && continue
  if [ "$old" = "$zero" ]; then
    changed=$(git ls-tree -r --name-only "$new" -- .github/workflows)
  else
    changed=$(git diff --name-only "$old" "$new" -- .github/workflows)
  fi
  for f in $changed; do
    echo "refusing to allow an OAuth App to create or update workflow \`$f\` without \`workflow\` scope" >&2
    exit 1
  done
done
"""

_GIT_PATH = re.compile(r"^/([^/]+)/([^/]+)\.git(/.*)$")


class _Handler(BaseHTTPRequestHandler):
    emu: GitHubEmulator
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # --- plumbing -------------------------------------------------------------
    def _handle(self):
        emu = self.emu
        git = _GIT_PATH.match(urlsplit(self.path).path)
        if git:
            return self._git_http(*git.groups())
        with emu.lock:
            emu._in_flight += 1
            emu.max_in_flight_seen = max(emu.max_in_flight_seen, emu._in_flight)
            concurrent = emu._in_flight
        try:
            if emu.latency:
                time.sleep(emu.latency)
            self._dispatch(concurrent)
        finally:
            with emu.lock:
                emu._in_flight -= 1

    def _git_http(self, owner: str, name: str, rest: str):
        """git's smart HTTP protocol through `git http-backend`, with GitHub's rule: a
        push needs a token that may write (Basic ``x-access-token:TOKEN``); a fetch of a
        private repository needs one that may read."""
        emu = self.emu
        query = urlsplit(self.path).query
        push = rest.endswith("git-receive-pack") or "service=git-receive-pack" in query
        repo = emu.repo(f"{owner}/{name}")
        login, scopes = None, None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, token = base64.b64decode(auth[6:]).decode().partition(":")
            login, scopes = emu.tokens.get(token, (None, None))
        if repo is None or (repo.private and not push and login is None):
            emu.git_log.append((f"not found {owner}/{name}", len(emu.log)))
            return self._raw(404, b"Repository not found.", "text/plain")
        if push and (login is None or not emu.can_admin(login, repo.owner)):
            emu.git_log.append((f"refused push {owner}/{name}", len(emu.log)))
            return self._raw(401, b"Authentication required", "text/plain", {"WWW-Authenticate": 'Basic realm="GitHub"'})
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while (size := int(self.rfile.readline().strip() or b"0", 16)) > 0:
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            body = self.rfile.read(length) if length else b""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "GIT_PROJECT_ROOT": str(emu.root / "git"),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"/{owner}/{name}.git{rest}",
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "REMOTE_USER": login or "",
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_HTTP_MAX_REQUEST_BUFFER": "100M",
            "EMU_WORKFLOW_SCOPE": "no" if scopes is not None and "workflow" not in scopes else "yes",
        }
        if env["EMU_WORKFLOW_SCOPE"] == "yes":  # the hook would let it through: do not run it
            env.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="core.hooksPath", GIT_CONFIG_VALUE_0=str(emu.root / "no-hooks"))
        result = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        status, headers = 200, {}
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(": ")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers[key] = value
        if rest.endswith(("git-receive-pack", "git-upload-pack")) and self.command == "POST":
            emu.git_log.append((f"{'push' if push else 'fetch'} {owner}/{name}", len(emu.log)))
        self._raw(status, payload, headers.pop("Content-Type", "application/octet-stream"), headers)

    def _raw(self, status: int, data: bytes, content_type: str, headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, concurrent: int):
        emu = self.emu
        method = self.command
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return self._send(400, {"message": "Problems parsing JSON"}, None)
        op = emu.spec.operation(method, path)
        if op is None:
            emu.violations.append(f"{method} {path}: not an operation of GitHub's API (or not in the subset)")
            return self._send(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, None)
        for problem in emu.spec.request_errors(op, body):
            emu.violations.append(problem)
        with emu.lock:
            emu.log.append((method, path, 0))
            index = len(emu.log) - 1
            held = next((h for h in emu.holds if h[0] == method and h[1].search(path)), None)
            if held:
                emu.holds.remove(held)
        if held:
            held[2].set()
            held[3].wait(60)
        status, payload, headers = self._guarded(op, method, path, body, concurrent)
        with emu.lock:
            emu.log[index] = (method, path, status)
        for problem in emu.spec.response_errors(op, status, payload):
            emu.violations.append(problem)
        self._send(status, payload, op, headers)

    def _guarded(self, op, method, path, body, concurrent):
        emu = self.emu
        # Authentication.
        auth = self.headers.get("Authorization", "")
        token = auth.split(" ", 1)[1] if " " in auth else ""
        if token not in emu.tokens:
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}, {}
        login, scopes = emu.tokens[token]
        headers = {}
        if scopes is not None:
            headers["X-OAuth-Scopes"] = ", ".join(scopes)
        # Secondary rate limits.
        if concurrent > emu.max_concurrent:
            emu.rate_limit_violations += 1
            return self._secondary(headers, 1)
        if method in WRITE_METHODS:
            now = time.monotonic()
            window = 60 * emu.time_scale
            with emu.lock:
                while emu._writes and emu._writes[0] <= now - window:
                    emu._writes.popleft()
                if len(emu._writes) >= emu.writes_per_minute:
                    emu.rate_limit_violations += 1
                    wait = max(1, int(emu._writes[0] + window - now + 0.999))
                    return self._secondary(headers, wait)
                emu._writes.append(now)
                emu.write_times.append(now)
        # Injected faults.
        fault = None
        with emu.lock:
            for f in emu.faults:
                if f.times > 0 and f.method == method and f.path.search(path):
                    f.times -= 1
                    fault = f
                    break
        if fault and not fault.after:
            return self._fault(fault, headers)
        status, payload = self._route(op, method, body, login, scopes, headers)
        if fault:
            return self._fault(fault, headers)
        return status, payload, headers

    def _secondary(self, headers, wait):
        headers = dict(headers, **{"retry-after": str(wait)})
        return (
            403,
            {
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            },
            headers,
        )

    def _fault(self, fault: Fault, headers):
        headers = dict(headers, **fault.headers)
        if fault.retry_after is not None:
            headers["retry-after"] = str(fault.retry_after)
        refused = (
            "You have exceeded a secondary rate limit."
            if fault.retry_after
            else "Resource not accessible by personal access token"
        )
        message = {403: refused, 500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}.get(
            fault.status, "Injected fault"
        )
        return fault.status, {"message": message, "documentation_url": "https://docs.github.com/rest"}, headers

    def _send(self, status, payload, op, headers=None):
        data = b"" if payload is None or status == 204 else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-RateLimit-Limit", "5000")
        self.send_header("X-RateLimit-Remaining", "4999")
        self.send_header("X-RateLimit-Used", "1")
        self.send_header("X-RateLimit-Resource", "core")
        self.send_header("X-RateLimit-Reset", str(int(time.time()) + 3600))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    # --- the API ----------------------------------------------------------------
    def _route(self, op, method, body, login, scopes, headers):
        emu = self.emu
        p = op.params
        key = (op.method, op.path)

        def need(*accepted):
            if scopes is None or any(s in scopes for s in accepted):
                return None
            headers["X-Accepted-OAuth-Scopes"] = ", ".join(accepted)
            return 403, {
                "message": f"This API operation needs the {accepted[0]!r} scope",
                "documentation_url": "https://docs.github.com/rest",
            }

        def not_found():
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}

        def visible_repo():
            repo = emu.repo(f"{p['owner']}/{p['repo']}")
            if repo is None or (
                repo.private and (not emu.can_admin(login, repo.owner) or (scopes is not None and "repo" not in scopes))
            ):
                return None
            return repo

        with emu.lock:
            me = emu.accounts[login.lower()]
            if key == ("get", "/user"):
                data = emu.spec.instance(emu.spec.schema("private-user"))
                data.update(emu.user_json(me))
                return 200, data
            if key == ("get", "/users/{username}"):
                acc = emu.accounts.get(p["username"].lower())
                return (200, {**emu.spec.instance(emu.spec.schema("public-user")), **emu.user_json(acc)}) if acc else not_found()
            if key == ("get", "/orgs/{org}"):
                acc = emu.accounts.get(p["org"].lower())
                if not acc or acc.type != "Organization":
                    return not_found()
                data = emu.spec.instance(emu.spec.schema("organization-full"))
                data.update(login=acc.login, id=acc.id, node_id=f"O_{acc.id}", url=f"{emu.url}/orgs/{acc.login}")
                return 200, data
            if key in (("post", "/user/repos"), ("post", "/orgs/{org}/repos")):
                owner = me if op.path == "/user/repos" else emu.accounts.get(p["org"].lower())
                if owner is None or owner.type != ("User" if op.path == "/user/repos" else "Organization"):
                    return not_found()
                if not emu.can_admin(login, owner):
                    return 403, {
                        "message": "You need admin access to the organization to create repositories",
                        "documentation_url": "https://docs.github.com/rest",
                    }
                private = bool(body.get("private"))
                denied = need("repo") if private else need("repo", "public_repo")
                if denied:
                    return denied
                if emu.repo(f"{owner.login}/{body['name']}"):
                    return 422, {
                        "message": "Repository creation failed.",
                        "documentation_url": "https://docs.github.com/rest",
                        "errors": [
                            {
                                "resource": "Repository",
                                "code": "custom",
                                "field": "name",
                                "message": "name already exists on this account",
                            }
                        ],
                    }
                repo = emu._make_repo(owner, body["name"], private, body.get("description"))
                repo.is_template = bool(body.get("is_template"))
                return 201, emu.repo_json(repo, login)
            if op.path.startswith("/repos/"):
                repo = visible_repo()
                if repo is None:
                    return not_found()
                admin = emu.can_admin(login, repo.owner)
                if key == ("get", "/repos/{owner}/{repo}"):
                    return 200, emu.repo_json(repo, login)
                if key == ("patch", "/repos/{owner}/{repo}"):
                    if not admin:
                        return 403, {
                            "message": "Must have admin rights to Repository.",
                            "documentation_url": "https://docs.github.com/rest",
                        }
                    if "description" in body:
                        repo.description = body["description"]
                    if "private" in body:
                        repo.private = body["private"]
                    if "is_template" in body:
                        repo.is_template = body["is_template"]
                    return 200, emu.repo_json(repo, login)
                if op.path == "/repos/{owner}/{repo}/contents/{path}":
                    return self._contents(op, body, repo, admin, need)
                if op.path.startswith("/repos/{owner}/{repo}/pulls"):
                    return self._pulls(op, body, repo, login, admin, need)
                if "/actions/" in op.path:
                    denied = need("repo")
                    if denied:
                        return denied
                    if not admin:
                        return 403, {
                            "message": "Resource not accessible by personal access token",
                            "documentation_url": "https://docs.github.com/rest",
                        }
                    if key == ("get", "/repos/{owner}/{repo}/actions/secrets/public-key"):
                        return 200, {"key_id": repo.key_id, "key": base64.b64encode(bytes(repo.key.public_key)).decode()}
                    if key == ("put", "/repos/{owner}/{repo}/actions/secrets/{secret_name}"):
                        if body.get("key_id") != repo.key_id:
                            return 422, {"message": "Bad key_id", "documentation_url": "https://docs.github.com/rest"}
                        existed = p["secret_name"] in repo.secrets
                        repo.secrets[p["secret_name"]] = decrypt(repo.key, body["encrypted_value"])
                        return (204, None) if existed else (201, {})
                    if key == ("get", "/repos/{owner}/{repo}/actions/secrets"):
                        items = [
                            {"name": n, "created_at": repo.created, "updated_at": repo.created} for n in sorted(repo.secrets)
                        ]
                        return 200, {"total_count": len(items), "secrets": items}
                    if key == ("get", "/repos/{owner}/{repo}/actions/secrets/{secret_name}"):
                        if p["secret_name"] not in repo.secrets:
                            return not_found()
                        return 200, {"name": p["secret_name"], "created_at": repo.created, "updated_at": repo.created}
                    if key == ("get", "/repos/{owner}/{repo}/actions/variables"):
                        items = [self._variable(n, v, repo) for n, v in sorted(repo.variables.items())]
                        return 200, {"total_count": len(items), "variables": items}
                    if key == ("post", "/repos/{owner}/{repo}/actions/variables"):
                        if body["name"] in repo.variables:
                            return 409, {"message": "Already exists", "documentation_url": "https://docs.github.com/rest"}
                        repo.variables[body["name"]] = body["value"]
                        return 201, {}
                    if key == ("get", "/repos/{owner}/{repo}/actions/variables/{name}"):
                        if p["name"] not in repo.variables:
                            return not_found()
                        return 200, self._variable(p["name"], repo.variables[p["name"]], repo)
                    if key == ("patch", "/repos/{owner}/{repo}/actions/variables/{name}"):
                        if p["name"] not in repo.variables:
                            return not_found()
                        repo.variables[p["name"]] = body.get("value", repo.variables[p["name"]])
                        return 204, None
                return not_found()
            if op.path.startswith("/orgs/{org}/actions/secrets"):
                org = emu.accounts.get(p["org"].lower())
                if org is None or org.type != "Organization":
                    return not_found()
                denied = need("admin:org")
                if denied:
                    return denied
                if not emu.can_admin(login, org):
                    return 403, {
                        "message": "Must have admin rights to the organization.",
                        "documentation_url": "https://docs.github.com/rest",
                    }
                if key == ("get", "/orgs/{org}/actions/secrets/public-key"):
                    return 200, {"key_id": org.key_id, "key": base64.b64encode(bytes(org.key.public_key)).decode()}
                if key == ("put", "/orgs/{org}/actions/secrets/{secret_name}"):
                    if body.get("key_id") != org.key_id:
                        return 422, {"message": "Bad key_id", "documentation_url": "https://docs.github.com/rest"}
                    existed = p["secret_name"] in org.secrets
                    org.secrets[p["secret_name"]] = {
                        "value": decrypt(org.key, body["encrypted_value"]),
                        "visibility": body["visibility"],
                        "repos": set(body.get("selected_repository_ids") or []),
                    }
                    return (204, None) if existed else (201, {})
                secret = org.secrets.get(p["secret_name"])
                if secret is None:
                    return not_found()
                if key == ("get", "/orgs/{org}/actions/secrets/{secret_name}"):
                    data = {
                        "name": p["secret_name"],
                        "created_at": "2026-01-01T00:00:00Z",
                        "updated_at": "2026-01-01T00:00:00Z",
                        "visibility": secret["visibility"],
                    }
                    if secret["visibility"] == "selected":
                        data["selected_repositories_url"] = (
                            f"{emu.url}/orgs/{org.login}/actions/secrets/{p['secret_name']}/repositories"
                        )
                    return 200, data
                if key == ("get", "/orgs/{org}/actions/secrets/{secret_name}/repositories"):
                    repos = [r for r in emu.repos.values() if r.id in secret["repos"]]
                    return 200, {"total_count": len(repos), "repositories": [self._minimal_repo(r) for r in repos]}
                if key == ("put", "/orgs/{org}/actions/secrets/{secret_name}/repositories"):
                    secret["repos"] = set(body["selected_repository_ids"])
                    return 204, None
            if key == ("get", "/rate_limit"):
                core = {"limit": 5000, "remaining": 4999, "reset": int(time.time()) + 3600, "used": 1}
                return 200, {"resources": {"core": core, "search": core}, "rate": core}
            return not_found()

    def _contents(self, op, body, repo: Repo, admin: bool, need):
        emu = self.emu
        path = op.params["path"]
        git = ["git", "--git-dir", str(repo.bare)]
        head = subprocess.run(
            [*git, "rev-parse", "--verify", "-q", "refs/heads/main"], capture_output=True, text=True
        ).stdout.strip()
        if op.method == "get":
            if not head:
                return 404, {"message": "This repository is empty.", "documentation_url": "https://docs.github.com/rest"}
            blob = subprocess.run(
                [*git, "rev-parse", "-q", "--verify", f"main:{path}"], capture_output=True, text=True
            ).stdout.strip()
            if not blob:
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
            data = subprocess.run([*git, "cat-file", "blob", blob], capture_output=True, check=True).stdout
            out = emu.spec.instance(emu.spec.schema("content-file"))
            out.update(
                type="file",
                encoding="base64",
                size=len(data),
                name=path.rsplit("/", 1)[-1],
                path=path,
                sha=blob,
                content=base64.encodebytes(data).decode(),
                url=f"{emu.url}/repos/{repo.full_name}/contents/{path}",
                git_url=None,
                html_url=None,
                download_url=None,
                _links={"self": "", "git": None, "html": None},
            )
            return 200, out
        # PUT: create or update one file on main, as one commit.
        if path.startswith(".github/workflows/"):
            denied = need("workflow")
            if denied:
                return denied
        if not admin:
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        current = ""
        if head:
            current = subprocess.run(
                [*git, "rev-parse", "-q", "--verify", f"main:{path}"], capture_output=True, text=True
            ).stdout.strip()
        if current and body.get("sha") != current:
            return 409, {
                "message": f"{path} does not match {body.get('sha')}",
                "documentation_url": "https://docs.github.com/rest",
            }
        if not current and body.get("sha"):
            return 422, {
                "message": "sha given for a file that does not exist",
                "documentation_url": "https://docs.github.com/rest",
            }
        index = emu.root / f"index-{repo.id}-{threading.get_ident()}"
        env = {
            "GIT_INDEX_FILE": str(index),
            "GIT_AUTHOR_NAME": "web-flow",
            "GIT_AUTHOR_EMAIL": "noreply@github.com",
            "GIT_COMMITTER_NAME": "GitHub",
            "GIT_COMMITTER_EMAIL": "noreply@github.com",
            "PATH": "/usr/bin:/bin",
        }

        def run(*a, **k):
            return subprocess.run([*git, *a], capture_output=True, text=True, check=True, env=env, **k).stdout.strip()

        try:
            if head:
                run("read-tree", "main")
            blob = run("hash-object", "-w", "--stdin", input=base64.b64decode(body["content"]).decode())
            run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
            tree = run("write-tree")
            commit = run("commit-tree", tree, *(["-p", head] if head else []), "-m", body["message"])
            run("update-ref", "refs/heads/main", commit, *([head] if head else []))
        finally:
            index.unlink(missing_ok=True)
        out = {
            "content": {"name": path.rsplit("/", 1)[-1], "path": path, "sha": blob, "type": "file"},
            "commit": {
                "sha": commit,
                "message": body["message"],
                "tree": {"sha": tree},
                "parents": [{"sha": head}] if head else [],
            },
        }
        return (200 if current else 201), out

    def _pulls(self, op, body, repo: Repo, login: str, admin: bool, need):
        """Pull requests between two branches of one repository."""
        query = dict(parse_qsl(urlsplit(self.path).query))

        def branch(ref: str) -> str:
            return subprocess.run(
                ["git", "--git-dir", str(repo.bare), "rev-parse", "-q", "--verify", f"refs/heads/{ref}"],
                capture_output=True,
                text=True,
            ).stdout.strip()

        def unprocessable(message: str):
            return 422, {
                "message": "Validation Failed",
                "documentation_url": "https://docs.github.com/rest",
                "errors": [{"resource": "PullRequest", "code": "custom", "message": message}],
            }

        if op.method == "get" and op.path.endswith("/pulls"):
            state, head, base = query.get("state", "open"), query.get("head"), query.get("base")
            found = [
                pr
                for pr in repo.pulls
                if state in ("all", pr["state"])
                and (head is None or head == f"{repo.owner.login}:{pr['head']}")
                and (base is None or base == pr["base"])
            ]
            return 200, [self._pull_json(repo, pr, "pull-request-simple") for pr in reversed(found)]
        if op.method == "get":
            pr = next((pr for pr in repo.pulls if pr["number"] == int(op.params["pull_number"])), None)
            return (200, self._pull_json(repo, pr, "pull-request")) if pr else (404, {"message": "Not Found"})
        denied = need("repo") if repo.private else need("repo", "public_repo")
        if denied:
            return denied
        if not admin:
            return 403, {"message": "Resource not accessible by personal access token", "documentation_url": ""}
        if op.method == "post":
            head = body["head"].split(":", 1)[-1]
            if not branch(head) or not branch(body["base"]):
                return unprocessable(f"head or base branch does not exist ({head}, {body['base']})")
            if branch(head) == branch(body["base"]):
                return unprocessable(f"No commits between {body['base']} and {head}")
            if any(pr["head"] == head and pr["state"] == "open" for pr in repo.pulls):
                return unprocessable(f"A pull request already exists for {repo.owner.login}:{head}.")
            pr = {
                "number": len(repo.pulls) + 1,
                "head": head,
                "base": body["base"],
                "title": body.get("title", ""),
                "body": body.get("body"),
                "draft": bool(body.get("draft")),
                "state": "open",
                "user": login,
            }
            repo.pulls.append(pr)
            return 201, self._pull_json(repo, pr, "pull-request")
        pr = next((pr for pr in repo.pulls if pr["number"] == int(op.params["pull_number"])), None)
        if pr is None:
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        for k in ("title", "body", "state", "base"):
            if k in body:
                pr[k] = body[k]
        return 200, self._pull_json(repo, pr, "pull-request")

    def _pull_json(self, repo: Repo, pr: dict, schema: str) -> dict:
        emu = self.emu
        data = emu.spec.instance(emu.spec.schema(schema))
        sha = {
            side: subprocess.run(
                ["git", "--git-dir", str(repo.bare), "rev-parse", "-q", "--verify", f"refs/heads/{pr[side]}"],
                capture_output=True,
                text=True,
            ).stdout.strip()
            or "0" * 40
            for side in ("head", "base")
        }
        full = emu.spec.instance(emu.spec.schema("repository"))
        full.update(emu._repo_fields(repo))
        url = f"{emu.url}/repos/{repo.full_name}/pulls/{pr['number']}"
        data.update(
            id=repo.id * 1000 + pr["number"],
            node_id=f"PR_{repo.id}_{pr['number']}",
            number=pr["number"],
            state=pr["state"],
            title=pr["title"],
            body=pr["body"],
            draft=pr["draft"],
            url=url,
            html_url=f"https://github.example/{repo.full_name}/pull/{pr['number']}",
            user=emu.user_json(emu.accounts[pr["user"].lower()]),
            head={
                **data["head"],
                "ref": pr["head"],
                "sha": sha["head"],
                "label": f"{repo.owner.login}:{pr['head']}",
                "repo": full,
            },
            base={
                **data["base"],
                "ref": pr["base"],
                "sha": sha["base"],
                "label": f"{repo.owner.login}:{pr['base']}",
                "repo": full,
            },
        )
        return data

    def _variable(self, name, value, repo):
        return {"name": name, "value": value, "created_at": repo.created, "updated_at": repo.created}

    def _minimal_repo(self, repo: Repo) -> dict:
        data = self.emu.spec.instance(self.emu.spec.schema("minimal-repository"))
        data.update(
            id=repo.id,
            node_id=f"R_{repo.id}",
            name=repo.name,
            full_name=repo.full_name,
            owner=self.emu.user_json(repo.owner),
            private=repo.private,
            url=f"{self.emu.url}/repos/{repo.full_name}",
            html_url=f"https://github.example/{repo.full_name}",
        )
        return data
