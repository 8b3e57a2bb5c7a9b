"""A real JupyterHub agrees with the generated image-tests.

A JupyterHub from PyPI (the stand-in image's own, 5.5) runs on 127.0.0.1 with
configurable-http-proxy from npm and a local-process spawner that starts each user's
server from that user's stand-in image (conftest.StandIns). For each stand-in, the hub
spawns a server through the REST API, and the test reaches /user/NAME/api/status with a
token and /user/NAME/lab as a browser does (login, then the OAuth redirects). What the
hub shows must be what the generated image-tests said about the same stand-in.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from conftest import PYTHON, STAND_IN_HUB, run_image_tests

TOKEN = "proof-token-0123456789abcdef"
PASSWORD = "proof-password"
CHP = "configurable-http-proxy@5"
STAND_INS = ["good", "jupyterhub-4", "no-lab", "crash"]

CONFIG = """\
import json
import os

from jupyterhub.spawner import SimpleLocalProcessSpawner

STAND_INS = json.loads(os.environ["PROOF_STAND_INS"])


class StandInSpawner(SimpleLocalProcessSpawner):
    \"\"\"Starts each user's server from that user's stand-in image.\"\"\"

    def get_env(self):
        env = super().get_env()
        env["PATH"] = STAND_INS[self.user.name] + "/bin:" + os.environ["PATH"]
        return env

    async def start(self):
        self.cmd = [STAND_INS[self.user.name] + "/bin/jupyterhub-singleuser"]
        return await super().start()


c = get_config()  # noqa: F821
c.JupyterHub.spawner_class = StandInSpawner
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = os.environ["PROOF_PASSWORD"]
c.Authenticator.allow_all = True
c.JupyterHub.bind_url = os.environ["PROOF_URL"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ["PROOF_HUB_PORT"])
c.ConfigurableHTTPProxy.api_url = os.environ["PROOF_PROXY_API"]
c.ConfigurableHTTPProxy.command = [os.environ["PROOF_CHP"]]
c.JupyterHub.db_url = "sqlite:///jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "jupyterhub_cookie_secret"
c.JupyterHub.cleanup_servers = True
c.SimpleLocalProcessSpawner.home_dir_template = os.environ["PROOF_HOMES"] + "/{username}"
# A server started as root exits unless allowed; CI runs as root, a hub's image does not.
c.Spawner.args = ["--allow-root"] if os.getuid() == 0 else []
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 90
c.JupyterHub.services = [{"name": "proof", "api_token": os.environ["PROOF_TOKEN"]}]
c.JupyterHub.load_roles = [
    {"name": "proof", "scopes": ["admin:users", "admin:servers", "access:servers"], "services": ["proof"]}
]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chp(tmp_path_factory) -> str:
    """configurable-http-proxy: on PATH (.ci/run installs it), else from npm, once per run."""
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    if not shutil.which("npm"):
        pytest.skip(f"the real-hub proof needs Node 20 and npm (for {CHP}); install them")
    prefix = tmp_path_factory.getbasetemp().parent / "chp"
    import fcntl

    prefix.mkdir(exist_ok=True)
    with open(prefix / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (prefix / "node_modules" / ".bin" / "configurable-http-proxy").exists():
            subprocess.run(
                ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(prefix), CHP], check=True, timeout=300
            )
    return str(prefix / "node_modules" / ".bin" / "configurable-http-proxy")


@dataclass
class Hub:
    url: str
    log: Path
    process: subprocess.Popen

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(
            method, f"{self.url}/hub/api{path}", headers={"Authorization": f"token {TOKEN}"}, timeout=30, **kwargs
        )


@pytest.fixture
def hub(stand_ins, chp, tmp_path_factory):
    good = stand_ins.get("good")
    where = tmp_path_factory.mktemp("hub")
    (where / "jupyterhub_config.py").write_text(CONFIG)
    url = f"http://127.0.0.1:{free_port()}"
    env = dict(
        os.environ,
        PATH=f"{good / 'bin'}{os.pathsep}{Path(chp).parent}{os.pathsep}{os.environ['PATH']}",
        PROOF_STAND_INS=json.dumps({name: str(stand_ins.get(name)) for name in STAND_INS}),
        PROOF_PASSWORD=PASSWORD,
        PROOF_URL=url,
        PROOF_HUB_PORT=str(free_port()),
        PROOF_PROXY_API=f"http://127.0.0.1:{free_port()}",
        PROOF_CHP=chp,
        PROOF_HOMES=str(where / "homes"),
        PROOF_TOKEN=TOKEN,
    )
    log = where / "hub.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(good / "bin" / "python"), "-m", "jupyterhub", "-f", "jupyterhub_config.py"],
            cwd=where,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the hub, its proxy and its servers: one group to stop
        )
    running = Hub(url, log, process)
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, "JupyterHub exited at start:\n" + log.read_text()[-3000:]
        try:
            if requests.get(f"{url}/hub/api/", timeout=5).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "JupyterHub did not answer within 120 s:\n" + log.read_text()[-3000:]
        time.sleep(0.5)
    yield running
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # anything of the group still left


@dataclass(frozen=True)
class Verdict:
    starts: bool  # the server comes up and answers <prefix>api/status with a token
    hubs_major_version: bool  # no version-mismatch warning from the hub (same major version)
    serves_a_ui: bool  # /lab (or Notebook's /tree) answers 200


def hub_verdict(hub: Hub, user: str) -> Verdict:
    """Spawn ``user``'s server through the REST API and see what the real hub shows."""
    assert hub.api("POST", f"/users/{user}").status_code in (201, 409)
    offset = hub.log.stat().st_size
    spawned = hub.api("POST", f"/users/{user}/server")
    started = False
    if spawned.status_code in (201, 202):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            server = hub.api("GET", f"/users/{user}").json()["servers"].get("")
            if server and server["ready"]:
                started = True
                break
            if not server or not server.get("pending"):
                break  # the spawn failed: the hub dropped the server
            time.sleep(0.5)
    status = requests.get(f"{hub.url}/user/{user}/api/status", headers={"Authorization": f"token {TOKEN}"}, timeout=30)
    starts = started and status.status_code == 200
    with open(hub.log, "rb") as log:
        log.seek(offset)
        warned = b"!= jupyterhub-singleuser version" in log.read()
    browser = requests.Session()
    browser.get(f"{hub.url}/hub/login", timeout=30)
    login = browser.post(
        f"{hub.url}/hub/login",
        data={"username": user, "password": PASSWORD, "_xsrf": browser.cookies.get("_xsrf", "")},
        timeout=30,
    )
    assert login.status_code == 200, f"logging in as {user}: {login.status_code}"
    ui = False
    for page in ("lab", "tree"):
        answer = browser.get(f"{hub.url}/user/{user}/{page}", timeout=60)  # through the OAuth redirects
        if answer.status_code == 200 and answer.url.rstrip("/").endswith(f"/user/{user}/{page}"):
            ui = True
            break
    if started:
        hub.api("DELETE", f"/users/{user}/server")
    return Verdict(starts, starts and not warned, ui)


def image_tests_verdict(outcomes: dict[str, str]) -> Verdict:
    return Verdict(
        outcomes["test_the_server_starts_and_answers_with_the_hubs_token"] == "PASSED",
        outcomes["test_the_server_reports_the_hubs_major_version"] == "PASSED",
        outcomes["test_the_server_serves_jupyterlab_or_notebook"] == "PASSED",
    )


@pytest.fixture
def project(tmp_path_factory) -> Path:
    """An image repo generated for this hub (JupyterHub 5.5), by the cookiecutter command."""
    out = tmp_path_factory.mktemp("generated")
    config = out / "cookiecutter.yaml"
    config.write_text(f"cookiecutters_dir: {out / 'cc'}\nreplay_dir: {out / 'replay'}\n")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cookiecutter"), "--no-input", str(Path(__file__).resolve().parents[1])]
        + ["-o", str(out), f"jupyterhub_version={STAND_IN_HUB}", f"python_version={PYTHON}"],
        capture_output=True,
        text=True,
        env={**os.environ, "COOKIECUTTER_CONFIG": str(config)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return out / "my-hub-image"


#: What the real hub shows for each stand-in image.
SHOWN = {
    "good": Verdict(starts=True, hubs_major_version=True, serves_a_ui=True),
    "jupyterhub-4": Verdict(starts=True, hubs_major_version=False, serves_a_ui=True),  # started, with a warning
    "no-lab": Verdict(starts=True, hubs_major_version=True, serves_a_ui=False),
    "crash": Verdict(starts=False, hubs_major_version=False, serves_a_ui=False),
}


def test_a_real_hub_shows_what_the_image_tests_say(hub, project, stand_ins):
    """One test, so one hub serves every stand-in (pytest-xdist would start one per worker)."""
    real = {name: hub_verdict(hub, name) for name in STAND_INS}
    assert real == SHOWN, "the real hub did not show what was expected:\n" + hub.log.read_text()[-4000:]
    said = {name: image_tests_verdict(run_image_tests(stand_ins.get(name), project)) for name in STAND_INS}
    assert said == real
