"""Jinja filters for the template, backed by hub_image, so rules live in one place.

Cookiecutter imports this file from the template's root (its "local extensions"),
whether or not hub_image is installed.
"""

import sys
from pathlib import Path

from jinja2.ext import Extension

SRC = str(Path(__file__).resolve().parent / "src")
sys.path.insert(0, SRC)

from hub_image import hubconfig, registries  # noqa: E402
from hub_image.context import (  # noqa: E402
    full_host,
    jupyterhub_series,
    normalize_image_name,
    project_dir_name,
    series_upper_bound,
)  # noqa: E402


class HubImageExtension(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["image_path"] = normalize_image_name
        environment.filters["hub_series"] = jupyterhub_series
        environment.filters["next_series"] = series_upper_bound
        environment.filters["project_dir"] = project_dir_name
        environment.filters["hub_config"] = hubconfig.markdown
        environment.filters["registry_info"] = lambda choice, host: registries.describe(choice, full_host(choice, host))
        # Where the hooks import hub_image from: this checkout's own copy, by absolute
        # path (cookiecutter's `_repo_dir` is relative when the template is given as `.`).
        environment.globals["hub_image_src"] = SRC
