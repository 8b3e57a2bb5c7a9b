"""A small model of how GitHub Actions and repo2docker-action treat the workflow.

- :func:`evaluate` evaluates the `${{ … }}` expressions our workflows use (literals,
  context paths, ``== != && || !`` and parentheses), with GitHub's rules: string
  comparison ignores case, ``&&``/``||`` return an operand, and a value that is one
  whole expression becomes that expression's value as text.
- :func:`action_outcome` applies repo2docker-action's push rules (see
  tests/fixtures/upstream/README.md and the action's create_docker_image.sh).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from hub_image import registries

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||!|\(|\)|\.|\[|\]|,)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)


#: Every registry secret a generated workflow may use.
ALL_SECRETS = sorted({name for reg in registries.REGISTRIES.values() for name in reg.secrets})


class ExpressionError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"cannot parse {text[pos:]!r}")
        kind = m.lastgroup
        assert kind is not None
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _truthy(v: Any) -> bool:
    return v not in (None, False, 0, "")


def _number(v: Any) -> float:
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v) if v.strip() else 0.0
        except ValueError:
            return float("nan")
    return float("nan")


def _eq(a: Any, b: Any) -> bool:
    """GitHub's loose equality: strings ignore case; other mixed types compare as numbers
    (so a missing secret, null, equals '')."""
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is type(b):
        return a == b
    return _number(a) == _number(b)


class _Parser:
    def __init__(self, text: str, context: dict[str, Any]):
        self.toks = _tokens(text)
        self.i = 0
        self.ctx = context

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if tok[0] is None or (value is not None and tok[1] != value):
            raise ExpressionError(f"expected {value!r}, got {tok[1]!r}")
        self.i += 1
        return tok

    def parse(self):
        value = self.or_()
        if self.i != len(self.toks):
            raise ExpressionError(f"unexpected {self.peek()[1]!r}")
        return value

    def or_(self):
        v = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            rhs = self.and_()
            v = v if _truthy(v) else rhs
        return v

    def and_(self):
        v = self.cmp()
        while self.peek() == ("op", "&&"):
            self.take()
            rhs = self.cmp()
            v = rhs if _truthy(v) else v
        return v

    def cmp(self):
        v = self.unary()
        if self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            rhs = self.unary()
            v = _eq(v, rhs) if op == "==" else not _eq(v, rhs)
        return v

    def unary(self):
        if self.peek() == ("op", "!"):
            self.take()
            return not _truthy(self.unary())
        return self.primary()

    def primary(self):
        kind, text = self.take()
        if kind == "name" and self.peek() == ("op", "("):
            return self.call(text)
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if text == "(":
            v = self.or_()
            self.take(")")
            return v
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r}")
        literals = {"true": True, "false": False, "null": None}
        if text in literals:
            return literals[text]
        if text not in self.ctx:
            raise ExpressionError(f"unknown context {text!r}")
        v = self.ctx[text]
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                key = self.take()[1]
            else:
                key = self.or_()
                self.take("]")
            v = v.get(key) if isinstance(v, dict) else None
        return v

    def call(self, name: str):
        self.take("(")
        args = []
        while self.peek() != ("op", ")"):
            args.append(self.or_())
            if self.peek() == ("op", ","):
                self.take()
        self.take(")")
        functions = self.ctx.get("__functions__", {}) if isinstance(self.ctx, dict) else {}
        if name not in functions:
            raise ExpressionError(f"unknown function {name!r}")
        return functions[name](*args)


def _as_text(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def evaluate(value: Any, context: dict[str, Any]) -> str:
    """The text a workflow value becomes at run time."""
    if not isinstance(value, str):
        return _as_text(value)
    return _EXPR.sub(lambda m: _as_text(_Parser(m.group(1), context).parse()), value)


def expressions(text: str) -> list[str]:
    """Every `${{ … }}` expression's inner text in ``text``."""
    return [m.group(1) for m in _EXPR.finditer(text)]


def check_parses(expr: str) -> None:
    """Raise ExpressionError unless ``expr`` parses (contexts need not resolve)."""
    _tokens(expr)
    p = _Parser(expr, {})
    p.ctx = _AnyContext()
    p.parse()


class _AnyContext(dict):
    def __contains__(self, key):
        return True

    def __getitem__(self, key):
        return {}

    def get(self, key, default=None):
        return {"hashFiles": lambda *a: "", "format": lambda *a: ""} if key == "__functions__" else {}


def event_context(
    kind: str, repository: str = "my-org/my-hub-image", secrets: dict | None = None, variables: dict | None = None
) -> dict:
    """The expression context of a push to main, a manual run on main, a same-repo PR or a
    fork PR (``kind``: push, dispatch, pr, fork-pr), with repository ``variables``."""
    if secrets is None:
        secrets = {name: f"value-of-{name}" for name in ALL_SECRETS}
    # Every run gets a GITHUB_TOKEN (read-only in forks' pull requests).
    secrets = {**secrets, "GITHUB_TOKEN": "ghs_token"}
    if kind in ("push", "dispatch"):
        return {
            "github": {
                "event_name": "push" if kind == "push" else "workflow_dispatch",
                "ref": "refs/heads/main",
                "repository": repository,
                "workflow": "Build",
                "actor": "alice",
                "event": {"created": False} if kind == "push" else {},
            },
            "secrets": secrets,
            "vars": dict(variables or {}),
        }
    head = repository if kind == "pr" else "someone-else/" + repository.split("/")[1]
    return {
        "github": {
            "event_name": "pull_request",
            "ref": "refs/pull/7/merge",
            "repository": repository,
            "workflow": "Build",
            "actor": "alice",
            "event": {"pull_request": {"number": 7, "head": {"repo": {"full_name": head}}}},
        },
        # GitHub gives pull requests from forks no secrets (but a read-only GITHUB_TOKEN).
        "secrets": secrets if kind == "pr" else {"GITHUB_TOKEN": "ghs_readonly"},
        "vars": dict(variables or {}),
    }


def action_outcome(with_: dict[str, Any], context: dict) -> tuple[str, str]:
    """("push", image) | ("no push", "") | ("fail", why), as repo2docker-action decides."""
    inputs = {k: evaluate(v, context) for k, v in with_.items()}
    no_push = inputs.get("NO_PUSH", "") or "false"
    if no_push not in ("true", "false"):
        return "fail", f"invalid NO_PUSH {no_push!r}"
    if no_push == "true":
        return "no push", ""
    user, password = inputs.get("DOCKER_USERNAME", ""), inputs.get("DOCKER_PASSWORD", "")
    repo = context["github"]["repository"].split("/")[1]
    image = inputs.get("IMAGE_NAME") or f"{user or 'github-actor'}/{repo}".lower()
    if inputs.get("DOCKER_REGISTRY"):
        image = f"{inputs['DOCKER_REGISTRY']}/{image}"
    if not (user and password):
        return "fail", f"push to {image} without registry credentials"
    return "push", image


def with_functions(context: dict, checkout: Path) -> dict:
    """``context`` plus GitHub's ``hashFiles`` over the files of ``checkout`` and ``format``."""

    def hash_files(*patterns: str) -> str:
        found = sorted(p for pattern in patterns for p in checkout.glob(pattern) if p.is_file())
        return hashlib.sha256(b"".join(p.read_bytes() for p in found)).hexdigest() if found else ""

    def format_(template: str, *args: Any) -> str:
        return re.sub(r"\{(\d+)\}", lambda m: _as_text(args[int(m.group(1))]), template)

    return {**context, "__functions__": {"hashFiles": hash_files, "format": format_}}


#: What the actions our workflows use produce, as a function of their inputs:
#: (failure reason or '', outputs).
def _simulate_action(uses: str, inputs: dict[str, str], state: dict) -> tuple[str, dict[str, str]]:
    if uses.startswith("google-github-actions/auth@"):
        if not inputs.get("workload_identity_provider") and not inputs.get("credentials_json"):
            return "no workload identity provider or credentials", {}
        return "", {"access_token": "gcp-oidc-access-token"} if inputs.get("token_format") == "access_token" else {}
    if uses.startswith("aws-actions/configure-aws-credentials@"):
        if not inputs.get("role-to-assume") and not inputs.get("aws-access-key-id"):
            return "no role and no access key", {}
        state["aws"] = True
        return "", {}
    return "", {}


def run_steps(workflow: dict, context: dict, checkout: Path):
    """Walk the (first) job's steps for an event, as the runner would: each step's ``if:``,
    the outcome and outputs of the actions above, and ``run:`` steps by their known
    effects (the ECR password step outputs a password once AWS credentials exist).
    Yields (step, context-at-that-step, inputs) for every step that runs; stops at a failure
    with a step ``{"__failed__": reason}``."""
    ctx = with_functions({**context, "steps": {}}, checkout)
    state: dict[str, Any] = {}
    for job in workflow["jobs"].values():
        if "if" in job and not _truthy_text(job["if"], ctx):
            return
        ctx["env"] = {k: evaluate(v, ctx) for k, v in (job.get("env") or {}).items()}
        for step in job["steps"]:
            if "if" in step and not _truthy_text(step["if"], ctx):
                if "id" in step:
                    ctx["steps"][step["id"]] = {"outcome": "skipped", "outputs": {}}
                yield step, ctx, None
                continue
            inputs = {k: evaluate(v, ctx) for k, v in (step.get("with") or {}).items()}
            failure, outputs = _simulate_action(step.get("uses", ""), inputs, state)
            if "run" in step and step.get("id") == "ecr" and state.get("aws"):
                outputs = {"password": "ecr-short-lived-password"}
            if failure:
                yield {"__failed__": f"{step.get('name')}: {failure}"}, ctx, inputs
                return
            if "id" in step:
                ctx["steps"][step["id"]] = {"outcome": "success", "outputs": outputs}
            yield step, ctx, inputs
        return


def build_outcome(workflow: dict, context: dict, checkout: Path) -> tuple[str, str]:
    """What the repo2docker-action step of ``workflow`` (parsed) does for an event on a
    checkout of ``checkout``: the steps before it, its ``if:``, then the action's push rules."""
    for step, ctx, inputs in run_steps(workflow, context, checkout):
        if "__failed__" in step:
            return "fail", step["__failed__"]
        if "repo2docker-action" in step.get("uses", ""):
            if inputs is None:
                return "skipped", ""
            return action_outcome(step["with"], ctx)
    return "skipped", ""


def action_inputs(workflow: dict, context: dict, checkout: Path) -> dict[str, str]:
    """The repo2docker-action step's inputs, evaluated, for an event ({} when it is skipped)."""
    for step, _, inputs in run_steps(workflow, context, checkout):
        if "repo2docker-action" in step.get("uses", ""):
            return inputs or {}
    return {}


def _truthy_text(condition: str, ctx: dict) -> bool:
    """A step or job ``if:``: the expression, with or without ``${{ }}``."""
    inner = condition.strip()
    if inner.startswith("${{") and inner.endswith("}}"):
        inner = inner[3:-2]
    return _truthy(_Parser(inner, ctx).parse())
