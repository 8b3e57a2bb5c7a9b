"""Check every answer before anything is generated (the logic is hub_image.hooks)."""
import json
import sys

CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")
# The template's own copy of hub_image comes first, so template and library match.
sys.path.insert(0, CONTEXT["_repo_dir"] + "/src")
try:
    from hub_image import hooks
except ImportError as exc:
    missing = {"ruamel": "ruamel.yaml", "github": "PyGithub"}.get(exc.name, exc.name)
    sys.exit(f"error: Python package {missing!r} is missing; install the template's "
             f"dependencies first: pip install {CONTEXT['_repo_dir']}")

sys.exit(hooks.pre_gen(CONTEXT))
