"""GitHub's official OpenAPI description (the trimmed subset), as a validator.

- :meth:`Spec.operation` matches a request to an operation, or says it is not in the
  spec (or not in our subset).
- :meth:`Spec.request_errors` and :meth:`Spec.response_errors` validate bodies.
- :meth:`Spec.instance` builds a minimal object that satisfies a schema, which the
  emulator then fills with real values: every response it sends has GitHub's shape.

OpenAPI 3.0 schemas are JSON Schema draft 4-like plus `nullable`; `nullable` is turned
into a JSON Schema null alternative once, at load.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7

SUBSET = Path(__file__).resolve().parent / "openapi-subset.json"
ROOT_URI = "urn:github-openapi"


def _nullable_to_jsonschema(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable_to_jsonschema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable_to_jsonschema(v) for k, v in node.items()}
    if out.pop("nullable", False):
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "type" not in out:
            return {"anyOf": [out, {"type": "null"}]}
    return out


def _param(m: re.Match) -> str:
    return "(.+)" if m.group(1) == "path" else "([^/]+)"  # a contents path may hold '/'


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    params: dict[str, str]
    node: dict


class Spec:
    def __init__(self, path: Path = SUBSET):
        raw = json.loads(path.read_text())
        self.doc = _nullable_to_jsonschema(raw)
        self.version = raw["info"]["version"]
        resource = DRAFT7.create_resource(self.doc)
        self.registry = Registry().with_resource(ROOT_URI, resource)
        self._routes = [(re.compile("^" + re.sub(r"\\\{([^}]+)\\\}", _param, re.escape(p)) + "$"), p) for p in self.doc["paths"]]
        # Literal paths first, so `/public-key` wins over `/{secret_name}`.
        self._routes.sort(key=lambda r: r[1].count("{"))

    # --- matching -----------------------------------------------------------
    def operation(self, method: str, path: str) -> Operation | None:
        for regex, template in self._routes:
            m = regex.match(path)
            if m:
                item = self.doc["paths"][template]
                node = item.get(method.lower())
                if node is None:
                    continue
                names = re.findall(r"\{([^}]+)\}", template)
                return Operation(template, method.lower(), dict(zip(names, m.groups(), strict=True)), node)
        return None

    # --- schemas ------------------------------------------------------------
    def resolve(self, node: dict) -> dict:
        while isinstance(node, dict) and "$ref" in node:
            _, _, kind, name = node["$ref"].split("/", 3)
            node = self.doc["components"][kind][name]
        return node

    def _validator(self, schema: dict) -> Draft7Validator:
        return Draft7Validator(schema, registry=self.registry)

    def _errors(self, schema: dict, instance: Any, where: str) -> list[str]:
        schema = _rebase(schema)
        errors = sorted(self._validator(schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
        return [f"{where}: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}" for e in errors[:5]]

    def request_errors(self, op: Operation, body: Any) -> list[str]:
        request_body = self.resolve(op.node.get("requestBody") or {})
        where = f"request {op.method.upper()} {op.path}"
        if not request_body:
            return [f"{where}: has a body, but the operation takes none"] if body not in (None, b"", "") else []
        if body is None:
            return [f"{where}: body required"] if request_body.get("required") else []
        schema = request_body["content"]["application/json"]["schema"]
        return self._errors(schema, body, where)

    def response_errors(self, op: Operation, status: int, body: Any) -> list[str]:
        where = f"response {status} to {op.method.upper()} {op.path}"
        responses = op.node["responses"]
        spec = responses[str(status)] if str(status) in responses else responses.get("default")
        if spec is None:
            if status in (401, 403, 404, 409, 422, 429) or status >= 500:
                # GitHub may answer any operation with these, as a basic error.
                return self._errors(self.schema("basic-error"), body, where)
            return [f"{where}: status not in the spec ({', '.join(responses)})"]
        spec = self.resolve(spec)
        content = (spec.get("content") or {}).get("application/json")
        if content is None:
            return [] if body in (None, b"", "") else [f"{where}: the spec has no body here"]
        return self._errors(content["schema"], body, where)

    def schema(self, name: str) -> dict:
        return self.doc["components"]["schemas"][name]

    def instance(self, schema: dict) -> Any:
        """A minimal instance of ``schema``: required properties only, zero values."""
        return copy.deepcopy(_instance(self, json.dumps(schema, sort_keys=True)))


@cache
def _instance(spec: Spec, schema_json: str) -> Any:
    return _make(spec, json.loads(schema_json), depth=0)


def _make(spec: Spec, schema: dict, depth: int) -> Any:
    schema = spec.resolve(schema)
    if depth > 12:
        return None
    for key in ("allOf",):
        if key in schema:
            merged: dict = {}
            for part in schema[key]:
                value = _make(spec, part, depth + 1)
                if isinstance(value, dict):
                    merged.update(value)
            return merged
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [spec.resolve(o) for o in schema[key]]
            nulls = [o for o in options if o.get("type") == "null"]
            return None if nulls else _make(spec, options[0], depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    types = schema.get("type", "object")
    if isinstance(types, list):
        if "null" in types:
            return None
        types = types[0]
    if types == "object":
        props = schema.get("properties", {})
        return {name: _make(spec, props.get(name, {}), depth + 1) for name in schema.get("required", [])}
    if types == "array":
        return []
    if types == "string":
        fmt = str(schema.get("format") or "")
        return {"date-time": "2026-01-01T00:00:00Z", "uri": "https://example.invalid/"}.get(fmt, "")
    if types in ("integer", "number"):
        return 0
    if types == "boolean":
        return False
    return None


def _rebase(schema: dict) -> dict:
    """Make local `#/components/...` references resolve against the whole document."""
    return {"$ref": ROOT_URI + schema["$ref"]} if set(schema) == {"$ref"} else _rewrite_refs(schema)


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (ROOT_URI + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else _rewrite_refs(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node
