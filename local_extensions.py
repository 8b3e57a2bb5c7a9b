"""The template's Jinja extension (hub_image.extension), from this checkout's own copy
of hub_image.

Cookiecutter imports this file from the template's root (its "local extensions"),
whether or not hub_image is installed.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = str(HERE / "src")
sys.path.insert(0, SRC)

from hub_image import extension  # noqa: E402


class HubImageExtension(extension.HubImageExtension):
    template_dir = HERE

    def __init__(self, environment):
        super().__init__(environment)
        # Where the hooks import hub_image from: this checkout's own copy, by absolute
        # path (cookiecutter's `_repo_dir` is relative when the template is `.`).
        environment.globals["hub_image_src"] = SRC
        # Where the post-generation hook records the template was (.cruft.json).
        environment.globals["hub_image_template"] = str(HERE)
