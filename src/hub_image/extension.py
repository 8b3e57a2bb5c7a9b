"""The template's Jinja extension: filters backed by hub_image (each rule exists once),
and the guarantee that answers are data.

cookiecutter compiles every answer it is given (``extra_context``, a user config's
``default_context``, ``--no-input KEY=VALUE``) as a Jinja template, unsandboxed, before
any hook runs: ``{{ 7*7 }}`` would become ``49`` and ``{{ cycler.__init__… }}`` would run
Python.  Jinja hands every source to each extension's :meth:`preprocess` before it is
compiled, so this extension turns each answer into a template that prints the answer
unchanged.  The only sources compiled as Jinja while no template loader is set (that is,
outside the rendering of the template's files) are the template's own: its hooks, its
project directory's name and the raw defaults of ``cookiecutter.json``.
"""

from __future__ import annotations

import json
import threading
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from jinja2.bccache import Bucket, BytecodeCache
from jinja2.ext import Extension

from . import hubconfig, registries
from .answers import full_host, jupyterhub_series, normalize_image_name, project_dir_name, series_upper_bound


def literal_template(text: str) -> str:
    """A Jinja template whose output is exactly ``text``: one string literal, every
    character escaped (Jinja unescapes string literals with Python's unicode-escape)."""
    return "{{ '" + "".join(f"\\U{ord(ch):08x}" for ch in text) + "' }}"


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {s for item in value for s in _strings(item)}
    return set()


@cache
def template_sources(template_dir: Path) -> frozenset[str]:
    """The sources of ``template_dir`` that may be compiled as Jinja outside file rendering."""
    sources: set[str] = set()
    hooks = template_dir / "hooks"
    if hooks.is_dir():
        sources |= {p.read_text(encoding="utf-8") for p in hooks.iterdir() if p.is_file()}
    sources |= {p.name for p in template_dir.iterdir() if p.is_dir() and "cookiecutter" in p.name and "{{" in p.name}
    raw = json.loads((template_dir / "cookiecutter.json").read_text(encoding="utf-8"))
    for key, value in raw.items():
        if not key.startswith("_"):
            sources |= _strings(value)
    return frozenset(sources)


class _ProcessBytecodeCache(BytecodeCache):
    """Compiled template files, shared by every render in this process: cookiecutter makes
    a new Jinja environment per render, so a fleet would otherwise compile the same files
    once per image.  A bucket holds its source's checksum, so a changed file recompiles."""

    def __init__(self) -> None:
        self._store: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            code = self._store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        code = bucket.bytecode_to_string()
        with self._lock:
            self._store[bucket.key] = code


SHARED_BYTECODE = _ProcessBytecodeCache()

#: Sources compiled from strings (answers, file and directory names), by everything the
#: compiled code depends on; cookiecutter compiles them anew for every render.
_COMPILED: dict[tuple, Any] = {}


def _shared_compile(environment, template_dir: Path | None):
    """``environment.compile``, sharing the code compiled from a string across renders."""
    compile_ = environment.compile

    def settings() -> tuple:  # read at compile time: the environment is complete then
        return (
            template_dir,
            tuple(sorted(environment.extensions)),
            environment.block_start_string,
            environment.block_end_string,
            environment.variable_start_string,
            environment.variable_end_string,
            environment.comment_start_string,
            environment.comment_end_string,
            environment.line_statement_prefix,
            environment.line_comment_prefix,
            environment.trim_blocks,
            environment.lstrip_blocks,
            environment.newline_sequence,
            environment.keep_trailing_newline,
            environment.optimized,
            environment.finalize,
            environment.autoescape if isinstance(environment.autoescape, bool) else id(environment.autoescape),
            environment.is_async,
        )

    def compile(source, name=None, filename=None, raw=False, defer_init=False):
        if not isinstance(source, str) or name or filename or raw or defer_init:
            return compile_(source, name, filename, raw, defer_init)
        key = (source, environment.loader is None, settings())  # answers are literals only without a loader
        code = _COMPILED.get(key)
        if code is None:
            if len(_COMPILED) >= 4096:  # a long-lived process: keep the cache small
                _COMPILED.clear()
            code = _COMPILED[key] = compile_(source)
        return code

    return compile


class HubImageExtension(Extension):
    """Subclassed by the template's ``local_extensions.py``, which sets ``template_dir``."""

    template_dir: Path | None = None

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["image_path"] = normalize_image_name
        environment.filters["hub_series"] = jupyterhub_series
        environment.filters["next_series"] = series_upper_bound
        environment.filters["project_dir"] = self._checked_project_dir()
        environment.filters["hub_config"] = hubconfig.markdown
        environment.filters["registry_info"] = lambda choice, host: registries.describe(choice, full_host(choice, host))
        environment.filters["install_line"] = self._install_line
        if environment.bytecode_cache is None:
            environment.bytecode_cache = SHARED_BYTECODE
            environment.compile = _shared_compile(environment, self.template_dir)

    def _install_line(self, given: str) -> str:
        """The ``pip install`` line of the hub-image this template is (``given``: the
        template as cookiecutter was given it), as its .cruft.json will record it."""
        from . import record
        from .source import Source

        if self.template_dir is None:
            return "pip install hub-image"
        return Source(*record.template_source(self.template_dir, given or None)).pip_line()

    def _checked_project_dir(self):
        """The project directory's name; before it is made, every answer, the packages
        and what GitHub setup needs are checked, in cookiecutter's own process (a
        pre-generation hook would cost a Python process of its own).  A problem is one
        line on stderr and exit status 1, and nothing is generated."""
        template_dir = self.template_dir
        install_from = str(template_dir) if template_dir and (template_dir / "src").is_dir() else "hub-image"

        @pass_context
        def project_dir(context, repo_name: str) -> str:
            answers = context.get("cookiecutter")
            if isinstance(answers, dict):
                from . import hooks

                status = hooks.pre_gen(dict(answers), install_from=install_from)
                if status:
                    raise SystemExit(status)
            return project_dir_name(repo_name)

        return project_dir

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        # Files are rendered by name through a loader; answers and hooks are compiled
        # from strings before one is set.
        if name is not None or self.environment.loader is not None or self.template_dir is None:
            return source
        if source in template_sources(self.template_dir):
            return source
        return literal_template(source)
