"""Apply the answers to the generated repo (the logic is hub_image.hooks)."""
import json
import sys

CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")
SRC = {{ hub_image_src | tojson }}
TEMPLATE = {{ hub_image_template | tojson }}
sys.path.insert(0, SRC)
from hub_image import hooks  # noqa: E402  (checked before generation: hub_image.extension)

sys.exit(hooks.post_gen(CONTEXT, ".", TEMPLATE))
