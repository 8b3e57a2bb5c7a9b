"""Regenerate quay-api-subset.json: the part of Quay's API that the Quay emulator serves,
with each operation's request schema and required OAuth scope as Quay declares them.

Quay commits no OpenAPI file: it builds its Swagger description at run time from the
``schemas`` declared beside each endpoint class (``@resource(path)``,
``@validate_json_request(name)``, ``@require_scope(scopes.X)``, ``require_repo_*``).
This script reads those declarations from a checkout of quay/quay with ``ast`` (no
Quay code runs):

    python tests/quay_emulator/regenerate_quay_subset.py QUAY_CHECKOUT   # a git clone of quay/quay

Quay declares no response schemas; RESPONSES below lists the fields of each answer that
hub-image reads, as the endpoint's code returns them (cited per entry).
"""

from __future__ import annotations

import ast
import contextlib
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "quay-api-subset.json"

#: (method, Flask route in Quay, file): the operations hub-image uses.
OPERATIONS = [
    ("post", "/v1/repository", "endpoints/api/repository.py"),
    ("get", "/v1/repository/<apirepopath:repository>", "endpoints/api/repository.py"),
    ("post", "/v1/repository/<apirepopath:repository>/changevisibility", "endpoints/api/repository.py"),
    ("get", "/v1/organization/<orgname>", "endpoints/api/organization.py"),
    ("get", "/v1/organization/<orgname>/robots/<robot_shortname>", "endpoints/api/robot.py"),
    ("put", "/v1/organization/<orgname>/robots/<robot_shortname>", "endpoints/api/robot.py"),
    ("get", "/v1/organization/<orgname>/robots/<robot_shortname>/permissions", "endpoints/api/robot.py"),
    ("get", "/v1/repository/<apirepopath:repository>/permissions/user/<username>", "endpoints/api/permission.py"),
    ("put", "/v1/repository/<apirepopath:repository>/permissions/user/<username>", "endpoints/api/permission.py"),
]
#: The decorators that imply a scope (endpoints/api/__init__.py).
REPO_DECORATORS = {
    "require_repo_read": "READ_REPO",
    "require_repo_write": "WRITE_REPO",
    "require_repo_admin": "ADMIN_REPO",
    # require_user_admin = require_user_permission(UserAdminPermission, scopes.ADMIN_USER)
    "require_user_admin": "ADMIN_USER",
}
#: What hub-image reads from each answer (Quay declares no response schema).
RESPONSES = {
    "post /v1/repository": {"201": ["namespace", "name", "kind"]},  # RepositoryList.post's return
    "get /v1/repository/{repository}": {"200": ["namespace", "name", "is_public", "can_admin"]},  # repo.to_dict()
    "post /v1/repository/{repository}/changevisibility": {"200": ["success"]},
    "get /v1/organization/{orgname}": {"200": ["name"]},
    "get /v1/organization/{orgname}/robots/{robot_shortname}": {"200": ["name", "token"]},  # robot.to_dict(include_token)
    "put /v1/organization/{orgname}/robots/{robot_shortname}": {"201": ["name", "token"]},
    # OrgRobotPermissions.get's return: {"permissions": [Permission.to_dict()]}, each
    # {"repository": {"name", "is_public"}, "role"} (robot_models_interface.py)
    "get /v1/organization/{orgname}/robots/{robot_shortname}/permissions": {"200": ["permissions"]},
    "get /v1/repository/{repository}/permissions/user/{username}": {"200": ["role", "name"]},  # perm.to_dict()
    "put /v1/repository/{repository}/permissions/user/{username}": {"200": ["role", "name"]},
}


def openapi_path(route: str) -> str:
    """Flask's ``<conv:name>`` as OpenAPI's ``{name}``."""
    out = ""
    for part in route.split("<"):
        if ">" in part:
            name, rest = part.split(">", 1)
            out += "{" + name.split(":")[-1] + "}" + rest
        else:
            out += part
    return out


def scopes(source: str) -> dict[str, str]:
    """auth/scopes.py: ``READ_REPO = Scope(scope="repo:read", ...)`` -> {"READ_REPO": "repo:read"}."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            for kw in node.value.keywords:
                if kw.arg == "scope" and isinstance(kw.value, ast.Constant):
                    found[node.targets[0].id] = str(kw.value.value)  # type: ignore[attr-defined]
    return found


def implied_scopes(source: str, names: dict[str, str]) -> dict[str, list[str]]:
    """auth/scopes.py's IMPLIED_SCOPES: a scope -> the scopes it grants (repo:admin grants repo:read)."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "IMPLIED_SCOPES":
            assert isinstance(node.value, ast.Dict)
            return {
                names[k.id]: sorted(names[e.id] for e in v.elts)  # type: ignore[attr-defined]
                for k, v in zip(node.value.keys, node.value.values, strict=True)
                if isinstance(k, ast.Name) and k.id in names
            }
    raise ValueError("no IMPLIED_SCOPES in auth/scopes.py")


def literal(node: ast.AST, constants: dict[str, object]) -> object:
    """A literal expression, with names of module-level literal constants resolved."""

    class Resolve(ast.NodeTransformer):
        def visit_Name(self, name: ast.Name) -> ast.AST:
            if name.id in constants:
                return ast.Constant(constants[name.id])  # type: ignore[arg-type]
            if name.id == "None":
                return ast.Constant(None)
            raise ValueError(f"not a literal: {name.id}")

    return ast.literal_eval(Resolve().visit(node))


def endpoints(source: str) -> dict[tuple[str, str], dict]:
    tree = ast.parse(source)
    constants: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            with contextlib.suppress(ValueError):
                constants[node.targets[0].id] = literal(node.value, constants)
    found = {}
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        route = next(
            (
                d.args[0].value
                for d in cls.decorator_list
                if isinstance(d, ast.Call) and getattr(d.func, "id", "") == "resource" and isinstance(d.args[0], ast.Constant)
            ),
            None,
        )
        if route is None:
            continue
        schemas: dict = {}
        for item in cls.body:
            if isinstance(item, ast.Assign) and getattr(item.targets[0], "id", "") == "schemas":
                schemas = literal(item.value, constants)  # type: ignore[assignment]
        for method in (m for m in cls.body if isinstance(m, ast.FunctionDef)):
            op: dict = {"class": cls.name}
            for d in method.decorator_list:
                func = d.func if isinstance(d, ast.Call) else d
                name = getattr(func, "id", "")
                if name == "require_scope" and isinstance(d, ast.Call):
                    op["scope_constant"] = d.args[0].attr  # type: ignore[attr-defined]
                elif name in REPO_DECORATORS:
                    op["scope_constant"] = REPO_DECORATORS[name]
                elif name == "validate_json_request" and isinstance(d, ast.Call):
                    op["request"] = schemas[d.args[0].value]  # type: ignore[attr-defined]
                    op["request_optional"] = any(k.arg == "optional" and k.value.value for k in d.keywords)  # type: ignore[attr-defined]
                elif name == "nickname" and isinstance(d, ast.Call):
                    op["nickname"] = d.args[0].value  # type: ignore[attr-defined]
            found[(method.name, str(route))] = op
    return found


def main(argv: list[str]) -> None:
    checkout = Path(argv[0])

    def show(path: str) -> str:
        return subprocess.run(["git", "show", f"HEAD:{path}"], cwd=checkout, capture_output=True, text=True, check=True).stdout

    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=checkout, capture_output=True, text=True, check=True).stdout.strip()
    scope_names = scopes(show("auth/scopes.py"))
    operations = {}
    for method, route, path in OPERATIONS:
        op = endpoints(show(path))[(method, route)]
        key = f"{method} {openapi_path(route)}"
        operations[key] = {
            "nickname": op.get("nickname"),
            "source": f"{path}: {op['class']}.{method}",
            "scope": scope_names[op["scope_constant"]] if "scope_constant" in op else None,
            "request": op.get("request"),
            "request_optional": op.get("request_optional", False),
            "responses": RESPONSES[key],
        }
    doc = {
        "source": f"https://github.com/quay/quay at {commit}",
        "base": "/api",
        "implied_scopes": implied_scopes(show("auth/scopes.py"), scope_names),
        "operations": operations,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{OUT.name}: {len(operations)} operations from quay/quay {commit[:12]}")


if __name__ == "__main__":
    main(sys.argv[1:])
