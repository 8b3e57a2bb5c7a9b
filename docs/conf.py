"""Sphinx configuration: MyST Markdown, the PyData theme, the CLI reference from click
(sphinx-click), and reference tables generated from the code at build time."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

import reference_tables  # noqa: E402

project = "hub-image"
author = "the hub-image developers"
copyright = "hub-image developers"
extensions = ["myst_parser", "sphinx_click"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
html_theme = "pydata_sphinx_theme"
html_title = "hub-image"
html_theme_options = {"navigation_with_keys": False}
exclude_patterns = ["_build", "reference/_generated/*"]
suppress_warnings = ["myst.header"]

reference_tables.write(HERE / "reference" / "_generated")
