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
from functools import cache
from pathlib import Path
from typing import Any

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


class HubImageExtension(Extension):
    """Subclassed by the template's ``local_extensions.py``, which sets ``template_dir``."""

    template_dir: Path | None = None

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["image_path"] = normalize_image_name
        environment.filters["hub_series"] = jupyterhub_series
        environment.filters["next_series"] = series_upper_bound
        environment.filters["project_dir"] = project_dir_name
        environment.filters["hub_config"] = hubconfig.markdown
        environment.filters["registry_info"] = lambda choice, host: registries.describe(choice, full_host(choice, host))
        environment.filters["install_line"] = self._install_line

    def _install_line(self, given: str) -> str:
        """The ``pip install`` line of the hub-image this template is (``given``: the
        template as cookiecutter was given it), as its .cruft.json will record it."""
        from . import record
        from .source import Source

        if self.template_dir is None:
            return "pip install hub-image"
        return Source(*record.template_source(self.template_dir, given or None)).pip_line()

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        # Files are rendered by name through a loader; answers and hooks are compiled
        # from strings before one is set.
        if name is not None or self.environment.loader is not None or self.template_dir is None:
            return source
        if source in template_sources(self.template_dir):
            return source
        return literal_template(source)
