"""hub-image: a JupyterHub user-image repository in minutes."""

__version__ = "0.1.0"
