{%- set series = cookiecutter.jupyterhub_version | hub_series -%}
"""Checks that a JupyterHub can start this image. repo2docker-action runs them inside the
built image before pushing it, so an image the hub cannot start is never pushed.

The server is started as a hub's spawner starts it: `jupyterhub-singleuser` with the
environment a hub sets, talking to a small stand-in for the hub's API on 127.0.0.1.
When the hub is upgraded, change JUPYTERHUB_SERIES with the version pin.
"""

import importlib.metadata
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# The hub's JupyterHub version (major.minor): the image's must match it.
JUPYTERHUB_SERIES = "{{ series }}"
{%- if cookiecutter.image_kind == "environment.yml" %}
# The Python version environment.yml asks for.
PYTHON_VERSION = "{{ cookiecutter.python_version }}"
{%- else %}
# The Python version comes from the base image; JupyterHub needs a recent one.
PYTHON_VERSION = None
{%- endif %}
USER = "hub-image-test"
PREFIX = f"/user/{USER}/"
TOKEN = secrets.token_hex(16)
START_SECONDS = 90


def test_jupyterhub_singleuser_is_on_path():
    assert shutil.which("jupyterhub-singleuser"), "jupyterhub-singleuser is not installed"


def test_jupyterhub_is_the_pinned_series():
    version = importlib.metadata.version("jupyterhub")
    assert version.split(".")[:2] == JUPYTERHUB_SERIES.split("."), (
        f"JupyterHub {version} in the image, but the pin says {JUPYTERHUB_SERIES}.x"
    )


def test_python_version():
    running = "{}.{}".format(*sys.version_info[:2])
    if PYTHON_VERSION:
        assert running == PYTHON_VERSION, f"Python {running}, expected {PYTHON_VERSION}"
    else:
        assert sys.version_info >= (3, 10), f"Python {running} is too old for JupyterHub"
{%- if cookiecutter.image_kind == "Dockerfile" %}


def test_the_dockerfile_ends_as_a_regular_user():
    # The action runs these tests as uid 1000 whatever the image says, so the image's
    # user is checked where it is set: the Dockerfile's last USER.
    lines = (Path(__file__).resolve().parents[1] / "Dockerfile").read_text().splitlines()
    users = [line.split(None, 1)[1].strip() for line in lines if line.strip().upper().startswith("USER ")]
    assert users, "the Dockerfile sets no USER: the server would run as root"
    assert users[-1].split(":")[0] not in ("root", "0"), f"the Dockerfile's last USER is {users[-1]}: never root"
{%- endif %}


# --- the server, started as a hub starts it ------------------------------------------


class StandInHub(BaseHTTPRequestHandler):
    """What jupyterhub-singleuser asks a hub: its version, who a token belongs to, and
    where to report activity."""

    def do_GET(self):
        if self.path.rstrip("/") == "/hub/api":
            self.reply(200, {"version": f"{JUPYTERHUB_SERIES}.0"})
        elif self.path == "/hub/api/user" and self.headers.get("Authorization") == f"token {TOKEN}":
            scopes = [f"access:servers!server={USER}/", f"access:servers!user={USER}"]
            self.reply(200, {"kind": "user", "name": USER, "admin": False, "groups": [], "scopes": scopes})
        else:
            self.reply(403 if self.path == "/hub/api/user" else 404, {"message": "no"})

    def do_POST(self):
        self.reply(200 if self.path == f"/hub/api/users/{USER}/activity" else 404, {})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-JupyterHub-Version", f"{JUPYTERHUB_SERIES}.0")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    """(status, headers, body) of a GET with the server's token."""
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode(errors="replace")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """jupyterhub-singleuser, started with the environment a hub's spawner sets."""
    command = shutil.which("jupyterhub-singleuser")
    if not command:
        yield {"error": "jupyterhub-singleuser is not installed: the hub cannot start the image"}
        return
    hub = ThreadingHTTPServer(("127.0.0.1", 0), StandInHub)
    threading.Thread(target=hub.serve_forever, daemon=True).start()
    hub_api = f"http://127.0.0.1:{hub.server_address[1]}/hub/api"
    url = f"http://127.0.0.1:{free_port()}"
    home = tmp_path_factory.mktemp("home")
    env = dict(
        os.environ,
        HOME=str(home),
        JUPYTERHUB_API_TOKEN=TOKEN,
        JUPYTERHUB_CLIENT_ID=f"jupyterhub-user-{USER}",
        JUPYTERHUB_API_URL=hub_api,
        JUPYTERHUB_ACTIVITY_URL=f"{hub_api}/users/{USER}/activity",
        JUPYTERHUB_BASE_URL="/",
        JUPYTERHUB_HOST="",
        JUPYTERHUB_USER=USER,
        JUPYTERHUB_SERVER_NAME="",
        JUPYTERHUB_SERVICE_PREFIX=PREFIX,
        JUPYTERHUB_SERVICE_URL=url + PREFIX,
        JUPYTERHUB_OAUTH_CALLBACK_URL=f"{PREFIX}oauth_callback",
        JUPYTERHUB_OAUTH_ACCESS_SCOPES=json.dumps([f"access:servers!server={USER}/", f"access:servers!user={USER}"]),
        JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES="[]",
    )
    # A hub runs the image as its user; only a test run as root (this project's own CI)
    # needs the flag, because a server started as root exits without it.
    args = [command] + (["--allow-root"] if os.getuid() == 0 else [])
    log = home / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(args, cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT)
    started = {"process": process, "url": url, "error": ""}
    deadline = time.monotonic() + START_SECONDS
    while True:
        if process.poll() is not None:
            last = [line for line in log.read_text(errors="replace").splitlines() if line.strip()][-3:]
            started["error"] = f"jupyterhub-singleuser exited with status {process.returncode} at start: " + " | ".join(last)
            break
        try:
            if get(url + PREFIX + "api/status")[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            started["error"] = f"jupyterhub-singleuser did not answer within {START_SECONDS} s (see {log})"
            break
        time.sleep(0.25)
    yield started
    if process.poll() is None:
        process.kill()
    process.wait()
    hub.shutdown()


def test_the_server_starts_and_answers_with_the_hubs_token(server):
    assert not server["error"], server["error"]
    status, _, body = get(server["url"] + PREFIX + "api/status")
    assert status == 200 and "started" in json.loads(body), f"{PREFIX}api/status answered {status}"


def test_the_server_reports_the_hubs_major_version(server):
    assert not server["error"], server["error"]
    reported = get(server["url"] + PREFIX + "api/status")[1].get("X-JupyterHub-Version", "")
    # JupyterHub warns when the major versions differ (and only logs a minor difference).
    assert reported.split(".")[0] == JUPYTERHUB_SERIES.split(".")[0], (
        f"the server reports JupyterHub {reported or 'nothing'}; the hub runs {JUPYTERHUB_SERIES}.x"
    )


def test_the_server_serves_jupyterlab_or_notebook(server):
    assert not server["error"], server["error"]
    answers = {page: get(server["url"] + PREFIX + page)[0] for page in ("lab", "tree")}
    assert 200 in answers.values(), f"neither JupyterLab ({PREFIX}lab) nor Notebook ({PREFIX}tree) is served: {answers}"


def test_the_server_shuts_down_cleanly(server):
    # Runs last (pytest keeps the file's order): a hub stops servers with SIGTERM.
    assert not server["error"], server["error"]
    process = server["process"]
    process.send_signal(signal.SIGTERM)
    try:
        status = process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("jupyterhub-singleuser did not stop within 20 s of SIGTERM")
    assert status == 0, f"jupyterhub-singleuser exited with status {status} on SIGTERM"
