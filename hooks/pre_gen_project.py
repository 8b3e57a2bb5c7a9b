"""Check every answer before anything is generated (the logic is hub_image.hooks)."""
import json
import os
import sys

CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")
# The template's own copy of hub_image comes first, so template and library match.
SRC = {{ hub_image_src | tojson }}
INSTALL_FROM = os.path.dirname(SRC) if os.path.isdir(SRC) else "hub-image"
sys.path.insert(0, SRC)
try:
    from hub_image import hooks
except ImportError as exc:
    sys.exit(f"error: Python package {exc.name!r} is missing; install the template's "
             f"dependencies first: pip install {INSTALL_FROM}")

sys.exit(hooks.pre_gen(CONTEXT, install_from=INSTALL_FROM))
