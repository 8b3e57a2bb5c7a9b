"""Check every answer before anything is generated (the logic is hub_image.hooks)."""
import json
import os
import sys

CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")
# The template's own copy of hub_image comes first, so template and library match.
SRC = {{ hub_image_src | tojson }}
sys.path.insert(0, SRC)
try:
    from hub_image import hooks
except ImportError as exc:
    missing = {"ruamel": "ruamel.yaml", "github": "PyGithub"}.get(exc.name, exc.name)
    sys.exit(f"error: Python package {missing!r} is missing; install the template's "
             f"dependencies first: pip install {os.path.dirname(SRC)}")

sys.exit(hooks.pre_gen(CONTEXT))
