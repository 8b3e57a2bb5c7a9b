"""A stateful Quay API emulator on 127.0.0.1, held to Quay's own declarations.

What it keeps: users and organisations (with their admins), OAuth application tokens
with scopes, repositories (public or private, with user and robot permissions) and
organisation robot accounts with their tokens.

What it enforces, from quay-api-subset.json (extracted from the quay/quay sources by
regenerate_quay_subset.py): only the operations listed exist; each needs its declared
OAuth scope, or one that implies it (auth/scopes.py's IMPLIED_SCOPES; 403 otherwise); each request body is validated against the endpoint's own
JSON schema (``validate_json_request``), and each answer must hold the fields
hub-image reads.  A mismatch is recorded in :attr:`QuayEmulator.violations`.  Faults
(a status for the next matching requests) can be injected.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jsonschema import Draft4Validator

from emulator_http import Served

SUBSET = Path(__file__).resolve().parent / "quay-api-subset.json"


@dataclass
class QuayRepo:
    namespace: str
    name: str
    public: bool
    description: str
    permissions: dict[str, str] = field(default_factory=dict)  # user or robot -> role


class QuayEmulator(Served):
    def __init__(self) -> None:
        doc = json.loads(SUBSET.read_text())
        self.base = doc["base"]
        self.implied: dict[str, list[str]] = doc["implied_scopes"]
        self.operations = []
        for key, op in doc["operations"].items():
            method, path = key.split(" ", 1)
            pattern = re.sub(r"\\{repository\\}", r"(?P<repository>[^/]+/[^/]+)", re.escape(path))
            pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", pattern)
            self.operations.append((method.upper(), re.compile(f"^{re.escape(self.base)}{pattern}$"), key, op))
        self.lock = threading.RLock()
        self.tokens: dict[str, tuple[str, set[str]]] = {}
        self.orgs: dict[str, set[str]] = {}  # organisation -> its admins
        self.repos: dict[str, QuayRepo] = {}
        self.robots: dict[str, str] = {}  # "org+short" -> token
        self.log: list[str] = []
        self.violations: list[str] = []
        self.faults: list[list] = []  # [method, regex, status, times]

    # --- set-up ---
    def add_token(
        self, user: str, token: str, scopes: tuple[str, ...] = ("repo:create", "repo:admin", "org:admin", "user:admin")
    ) -> None:
        self.tokens[token] = (user, set(scopes))

    def add_org(self, name: str, admins: list[str]) -> None:
        self.orgs[name] = set(admins)

    def add_repo(self, namespace: str, name: str, public: bool = False) -> QuayRepo:
        repo = QuayRepo(namespace, name, public, "")
        self.repos[f"{namespace}/{name}"] = repo
        return repo

    def add_robot(self, org: str, short: str, writes: tuple[str, ...] = (), role: str = "write") -> str:
        """A robot that exists already, with ``role`` on the named repositories of ``org``."""
        name = f"{org}+{short}"
        self.robots[name] = secrets.token_hex(32).upper()
        for repo in writes:
            (self.repos.get(f"{org}/{repo}") or self.add_repo(org, repo)).permissions[name] = role
        return name

    def inject(self, method: str, path: str, status: int, times: int = 1) -> None:
        self.faults.append([method.upper(), re.compile(path), status, times])

    # --- running ---
    def start(self) -> str:
        self.serve(_Handler)
        return self.url

    @property
    def url(self) -> str:
        return f"{self.origin}{self.base}/v1"

    def stop(self) -> None:
        self.shutdown()

    def writes(self) -> list[str]:
        return [line for line in self.log if not line.startswith("GET ")]


def _error(status: int, error_type: str, detail: str) -> tuple[int, dict]:
    """Quay's error body (endpoints/api/__init__.py, ApiException.to_dict)."""
    return status, {"status": status, "error_message": detail, "detail": detail, "error_type": error_type, "title": error_type}


class _Handler(BaseHTTPRequestHandler):
    emu: QuayEmulator
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        emu = self.emu
        path = unquote(urlsplit(self.path).path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        found = next(
            ((key, op, m) for meth, rx, key, op in emu.operations if meth == self.command and (m := rx.match(path))), None
        )
        with emu.lock:
            emu.log.append(f"{self.command} {path}")
        if found is None:
            emu.violations.append(f"{self.command} {path}: not an operation in the Quay subset")
            return self._send(*_error(404, "not_found", "Not Found"))
        key, op, match = found
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return self._send(*_error(400, "invalid_request", "Malformed JSON"))
        if op["request"] is not None and not (body is None and op["request_optional"]):
            for error in Draft4Validator(op["request"]).iter_errors(body):
                emu.violations.append(f"{key}: request: {error.message}")
        elif op["request"] is None and raw:
            emu.violations.append(f"{key}: a body where Quay declares none")
        with emu.lock:
            for fault in emu.faults:
                if fault[3] > 0 and fault[0] == self.command and fault[1].search(path):
                    fault[3] -= 1
                    return self._send(*_error(fault[2], "fault", "Injected fault"))
        token = self.headers.get("Authorization", "")
        user, scopes = emu.tokens.get(token.removeprefix("Bearer "), (None, set()))
        if not token.startswith("Bearer ") or user is None:
            return self._send(*_error(401, "invalid_token", "Requires authentication"))
        granted = {implied for scope in scopes for implied in emu.implied.get(scope, [scope])}
        if op["scope"] and op["scope"] not in granted:
            return self._send(*_error(403, "insufficient_scope", f"Unauthorized: the token lacks {op['scope']}"))
        with emu.lock:
            status, answer = self._route(key, match.groupdict(), body or {}, user)
        if status < 300:
            missing = [f for f in op["responses"].get(str(status), []) if f not in answer]
            if str(status) not in op["responses"] or missing:
                emu.violations.append(f"{key}: answer {status} lacks {missing or 'a declared status'}")
        self._send(status, answer)

    do_POST = do_PUT = do_DELETE = do_GET

    def _route(self, key: str, p: dict, body: dict, user: str) -> tuple[int, dict]:
        emu = self.emu

        def admin_of(namespace: str) -> bool:
            return namespace == user or user in emu.orgs.get(namespace, set())

        def repo_access(role: str):
            repo = emu.repos.get(p["repository"])
            if repo is None:
                return None, _error(404, "not_found", "Not Found")
            allowed = admin_of(repo.namespace) or repo.permissions.get(user) in (
                ("admin",) if role == "admin" else ("admin", "write", "read")
            )
            if not allowed and not (role == "read" and repo.public):
                return None, _error(403, "insufficient_scope", "Unauthorized")
            return repo, None

        if key == "post /v1/repository":
            namespace = body.get("namespace", user)
            if not admin_of(namespace):
                return _error(403, "insufficient_scope", "Unauthorized")
            if f"{namespace}/{body['repository']}" in emu.repos:
                return _error(400, "invalid_request", "Repository already exists")
            emu.add_repo(namespace, body["repository"], body["visibility"] == "public").description = body["description"]
            return 201, {"namespace": namespace, "name": body["repository"], "kind": "image"}
        if key == "get /v1/repository/{repository}":
            repo, denied = repo_access("read")
            if denied:
                return denied
            assert repo is not None
            admin = admin_of(repo.namespace) or repo.permissions.get(user) == "admin"
            return 200, {
                "namespace": repo.namespace,
                "name": repo.name,
                "kind": "image",
                "description": repo.description,
                "is_public": repo.public,
                "can_write": admin,
                "can_admin": admin,
            }
        if key == "post /v1/repository/{repository}/changevisibility":
            repo, denied = repo_access("admin")
            if denied:
                return denied
            assert repo is not None
            repo.public = body["visibility"] == "public"
            return 200, {"success": True}
        if key == "get /v1/organization/{orgname}":
            if p["orgname"] not in emu.orgs:
                return _error(404, "not_found", "Not Found")
            return 200, {"name": p["orgname"], "is_admin": user in emu.orgs[p["orgname"]]}
        if key.endswith("/robots/{robot_shortname}/permissions"):
            if p["orgname"] not in emu.orgs or not admin_of(p["orgname"]):
                return _error(403, "insufficient_scope", "Unauthorized")
            name = f"{p['orgname']}+{p['robot_shortname']}"
            if name not in emu.robots:
                return _error(400, "invalid_request", "Could not find robot with specified username")
            held = [r for r in emu.repos.values() if name in r.permissions]
            return 200, {
                "permissions": [
                    {"repository": {"name": r.name, "is_public": r.public}, "role": r.permissions[name]} for r in held
                ]
            }
        if key.endswith("/robots/{robot_shortname}"):
            if p["orgname"] not in emu.orgs or not admin_of(p["orgname"]):
                return _error(403, "insufficient_scope", "Unauthorized")
            name = f"{p['orgname']}+{p['robot_shortname']}"
            if key.startswith("get"):
                if name not in emu.robots:
                    return _error(400, "invalid_request", "Could not find robot with specified username")
                return 200, {"name": name, "token": emu.robots[name], "description": ""}
            if name in emu.robots:
                return _error(400, "invalid_request", f"Existing robot with name: {name}")
            emu.robots[name] = secrets.token_hex(32).upper()
            return 201, {"name": name, "token": emu.robots[name], "description": body.get("description", "")}
        if key.endswith("/permissions/user/{username}"):
            repo, denied = repo_access("admin")
            if denied:
                return denied
            assert repo is not None
            if key.startswith("get"):
                if p["username"] not in repo.permissions:
                    return _error(404, "not_found", "Not Found")
                return 200, {"role": repo.permissions[p["username"]], "name": p["username"], "is_robot": "+" in p["username"]}
            if "+" in p["username"] and p["username"] not in emu.robots:
                return _error(400, "invalid_request", "Invalid username: " + p["username"])
            repo.permissions[p["username"]] = body["role"]
            return 200, {"role": body["role"], "name": p["username"], "is_robot": "+" in p["username"]}
        return _error(404, "not_found", "Not Found")

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
