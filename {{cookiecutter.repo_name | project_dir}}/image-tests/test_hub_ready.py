{%- set series = cookiecutter.jupyterhub_version | hub_series -%}
"""Checks that the image fits the hub. repo2docker-action runs them inside the built
image before pushing it, so an image that a JupyterHub cannot start is never pushed.

When the hub is upgraded, change JUPYTERHUB_SERIES with the version pin.
"""

import importlib.metadata
import importlib.util
import os
import shutil
import sys

# The hub's JupyterHub version (major.minor): the image's must match it.
JUPYTERHUB_SERIES = "{{ series }}"
{%- if cookiecutter.image_kind == "environment.yml" %}
# The Python version environment.yml asks for.
PYTHON_VERSION = "{{ cookiecutter.python_version }}"
{%- else %}
# The Python version comes from the base image; JupyterHub needs a recent one.
PYTHON_VERSION = None
{%- endif %}


def test_jupyterhub_singleuser_is_on_path():
    assert shutil.which("jupyterhub-singleuser"), "jupyterhub-singleuser is not installed"


def test_jupyterhub_matches_the_hub():
    version = importlib.metadata.version("jupyterhub")
    assert version.split(".")[:2] == JUPYTERHUB_SERIES.split("."), (
        f"JupyterHub {version} in the image, but the hub runs {JUPYTERHUB_SERIES}.x"
    )


def test_a_notebook_server_is_installed():
    assert importlib.util.find_spec("jupyter_server"), "jupyter_server is not installed"
    assert any(importlib.util.find_spec(m) for m in ("jupyterlab", "notebook")), "neither JupyterLab nor Notebook"


def test_python_version():
    running = "{}.{}".format(*sys.version_info[:2])
    if PYTHON_VERSION:
        assert running == PYTHON_VERSION, f"Python {running}, expected {PYTHON_VERSION}"
    else:
        assert sys.version_info >= (3, 10), f"Python {running} is too old for JupyterHub"


def test_runs_as_a_regular_user():
    assert os.getuid() != 0, "the server must not run as root"
