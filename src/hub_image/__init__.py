"""hub-image: a JupyterHub user-image repository in minutes."""

try:
    from ._version import __version__  # written by setuptools-scm from the git tag
except ImportError:  # pragma: no cover - a checkout that was never installed
    __version__ = "0.0.0"
