from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from github_emulator.server import GitHubEmulator

TEMPLATE = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
UPSTREAM_BUILD = FIXTURES / "upstream" / "2i2c-hub-user-image-template" / ".github" / "workflows" / "build.yaml"
ACTION_YML = FIXTURES / "upstream" / "repo2docker-action" / "action.yml"
BIN = Path(sys.executable).parent
#: A host for every registry (none where the registry has one fixed host).
REGISTRY_HOSTS = {
    "quay.io": "",
    "ghcr.io": "",
    "docker.io": "",
    "artifact-registry": "us-central1-docker.pkg.dev/my-project",
    "ecr": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "acr": "myhub.azurecr.io",
    "other": "registry.example.org:5000",
}


def tool(name: str) -> str:
    """A console script installed beside this Python (the test venv), else on PATH."""
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed; run: pip install '.[test]'")
    return found


@pytest.fixture
def cc_env(tmp_path: Path) -> dict[str, str]:
    """Environment for running cookiecutter with its config, replay and clone dirs in tmp."""
    config = tmp_path / "cookiecutter-config.yaml"
    config.write_text(f"cookiecutters_dir: {tmp_path / 'cookiecutters'}\nreplay_dir: {tmp_path / 'replay'}\n")
    # This venv's commands first, as in an activated venv.
    env = dict(os.environ, COOKIECUTTER_CONFIG=str(config), PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return env


@pytest.fixture
def run_cookiecutter(tmp_path: Path, cc_env):
    """Run the `cookiecutter` command as a user would, with --no-input and answers."""

    def run(
        answers: dict[str, str] | None = None,
        out: Path | None = None,
        env: dict | None = None,
        template: str = str(TEMPLATE),
        cwd: Path | None = None,
    ):
        out = out or tmp_path / "out"
        out.mkdir(exist_ok=True)
        args = [tool("cookiecutter"), "--no-input", template, "--output-dir", str(out)]
        args += [f"{k}={v}" for k, v in (answers or {}).items()]
        return subprocess.run(args, capture_output=True, text=True, env=env or cc_env, cwd=cwd, timeout=120)

    return run


@pytest.fixture
def hub_image(tmp_path: Path):
    """Run the `hub-image` command as a user would."""

    def run(*args: str, cwd: Path | None = None):
        return subprocess.run([tool("hub-image"), *args], capture_output=True, text=True, cwd=cwd or tmp_path, timeout=60)

    return run


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def tracked_template_files() -> list[str]:
    """What a copy of this repository holds: its tracked files (and new, unignored ones)."""
    out = git(TEMPLATE, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return sorted({p for p in out.split("\0") if p and (TEMPLATE / p).is_file()})


def first_commit(repo: Path, message: str = "generated") -> Path:
    """``repo``'s files as the first commit of ``main`` (a hub admin's `git init`)."""
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qm", message)
    return repo


def template_commit(dest: Path, author: str = "GitHub", message: str = "Initial commit") -> Path:
    """A git repository at ``dest`` holding the template's files in one commit on main."""
    for rel in tracked_template_files():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(TEMPLATE / rel, dest / rel)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "-c", f"user.name={author}", "-c", "user.email=noreply@github.com", "commit", "-qm", message)
    return dest


def recording_template(dest: Path, records: Path) -> Path:
    """A template whose pre-generation hook writes down its whole environment, one file
    per run, in ``records``."""
    template = template_commit(dest, author="t", message="v1")
    records.mkdir(exist_ok=True)
    (template / "hooks" / "pre_gen_project.py").write_text(
        "import json, os\n"
        f"with open(os.path.join({str(records)!r}, str(os.getpid())), 'w') as out:\n"
        "    json.dump(dict(os.environ), out)\n"
    )
    git(template, "add", "-A")
    git(template, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "records its environment")
    return template


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A fresh repository made from the template's files, as GitHub makes it: one commit
    on main, pushed to a bare `origin`."""
    work = template_commit(tmp_path / "climate-image")
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(work, "remote", "add", "origin", origin.as_uri())
    git(work, "push", "-q", "origin", "main")
    return work


#: The token of alice, the emulator's user: in tests, a secret that must never leak.
TOKEN = "ghp_TESTTOKENdo-not-leak-0123456789"


@pytest.fixture
def github(tmp_path: Path):
    """A GitHub emulator: alice (a token with repo, workflow and admin:org), her
    organisation demo-org, and carol.  Fails the test on any request or response outside
    GitHub's OpenAPI description, and on any rate-limit violation."""
    emu = GitHubEmulator(tmp_path / "github")
    emu.start()
    emu.add_user("alice", TOKEN, scopes=["repo", "workflow", "admin:org"])
    emu.add_org("demo-org", members=["alice"])
    emu.add_user("carol")
    yield emu
    emu.stop()
    assert emu.violations == [], "requests or responses outside GitHub's OpenAPI description"
    assert emu.rate_limit_violations == 0


#: The registry credentials the GitHub setup tests export (the password: a sentinel).
SENTINEL = "quay-robot-SENTINEL-7f3a9c"
ROBOT = "demo-org+builder"


@pytest.fixture
def gh_env(cc_env, github, tmp_path: Path) -> dict:
    """cookiecutter's and hub-image's environment for GitHub setup against the emulator,
    with quay.io credentials exported and its own TMPDIR (searched for leaks)."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    return dict(
        cc_env,
        GITHUB_API_URL=github.url,
        GITHUB_TOKEN=TOKEN,
        QUAY_USERNAME=ROBOT,
        QUAY_PASSWORD=SENTINEL,
        HUB_IMAGE_SECONDS_BETWEEN_REQUESTS="0",
        HUB_IMAGE_SECONDS_BETWEEN_WRITES="0",
        TMPDIR=str(temp),
    )


@pytest.fixture
def fleet_env(cc_env, github) -> dict:
    """The environment of a fleet run against the emulator (quay.io credentials exported)."""
    return dict(
        cc_env,
        GITHUB_API_URL=github.url,
        GITHUB_TOKEN=TOKEN,
        QUAY_USERNAME="demo-org+builder",
        QUAY_PASSWORD="fleet-secret",
        HUB_IMAGE_TEMPLATE_DIR=str(TEMPLATE),
    )


def fleet_runner(env: dict, manifest: Path):
    """``run(VERB, ...)``: `hub-image fleet VERB ... MANIFEST` as a user runs it; ``text``
    rewrites the manifest first."""

    def run(*args: str, env_extra: dict | None = None, text: str | None = None):
        if text is not None:
            manifest.write_text(text)
        return subprocess.run(
            [tool("hub-image"), "fleet", *args, str(manifest)],
            env={**env, **(env_extra or {})},
            capture_output=True,
            text=True,
            timeout=600,
        )

    run.manifest = manifest  # type: ignore[attr-defined]
    run.env = env  # type: ignore[attr-defined]
    return run


def by_repo(result) -> dict:
    """A `fleet --json` run's rows, by repository."""
    assert result.stdout, result.stderr
    return {row["repo"]: row for row in json.loads(result.stdout)["images"]}


def tree(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (not .git) and its bytes, by its POSIX path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


# --- stand-ins for built images ------------------------------------------------------

#: The JupyterHub series of the stand-in image (and of the real hub the tests start).
STAND_IN_HUB = "5.5"
PYTHON = "{}.{}".format(*sys.version_info[:2])


class StandIns:
    """Virtual environments from PyPI that stand in for built images, each built once per
    test run and shared by every pytest-xdist worker (a file lock each).

    ``good``: JupyterHub 5.5, JupyterLab and pytest, installed by pip.  The others are
    layered on it (a ``.pth`` file puts its packages after their own, so each needs only
    what differs): ``no-lab`` (JupyterLab's server extension not enabled: its
    configuration in ``etc/jupyter`` is absent, as in an image without JupyterLab),
    ``jupyterhub-4`` (JupyterHub 4.1 from PyPI over the same packages: a major-version
    mismatch), ``crash`` (a broken ``jupyter_server``, so `jupyterhub-singleuser` fails at
    start), and ``bare`` (only pytest: no JupyterHub at all)."""

    def __init__(self, root: Path):
        self.root = root

    def get(self, name: str) -> Path:
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / name
        with open(self.root / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (path / "ready").exists():
                shutil.rmtree(path, ignore_errors=True)
                getattr(self, "_" + name.replace("-", "_"))(path)
                (path / "ready").touch()
        return path

    def _pip(self, target: Path, *args: str) -> None:
        good = self.get("good") if target.name != "good" else target
        subprocess.run(
            [str(good / "bin" / "python"), "-m", "pip", "--python", str(target / "bin" / "python"), "install"]
            + ["--quiet", "--no-compile", "--disable-pip-version-check", *args],
            check=True,
            timeout=900,
        )

    def _good(self, path: Path) -> None:
        import venv

        venv.EnvBuilder(with_pip=True).create(path)
        subprocess.run(
            [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check"]
            + [f"jupyterhub=={STAND_IN_HUB}.*", "jupyterlab", "pytest"],
            check=True,
            timeout=900,
        )

    def _layered(self, path: Path, with_lab_config: bool = True) -> Path:
        import venv

        good = self.get("good")
        venv.EnvBuilder(with_pip=False).create(path)
        (site,) = path.glob("lib/python*/site-packages")
        (good_site,) = good.glob("lib/python*/site-packages")
        (site / "stand-in-base.pth").write_text(f"{good_site}\n")
        if with_lab_config:
            (path / "etc").symlink_to(good / "etc")
            (path / "share").symlink_to(good / "share")
        script = (good / "bin" / "jupyterhub-singleuser").read_text().split("\n", 1)[1]
        (path / "bin" / "jupyterhub-singleuser").write_text(f"#!{path / 'bin' / 'python'}\n{script}")
        (path / "bin" / "jupyterhub-singleuser").chmod(0o755)
        return site

    def _no_lab(self, path: Path) -> None:
        self._layered(path, with_lab_config=False)

    def _jupyterhub_4(self, path: Path) -> None:
        self._layered(path)
        self._pip(path, "jupyterhub==4.1.*")

    def _crash(self, path: Path) -> None:
        site = self._layered(path)
        (site / "jupyter_server").mkdir()
        (site / "jupyter_server" / "__init__.py").write_text(
            'raise ImportError("jupyter_server is broken in this image (a stand-in for a bad upgrade)")\n'
        )

    def _bare(self, path: Path) -> None:
        import venv

        venv.EnvBuilder(with_pip=False).create(path)
        self._pip(path, "pytest")


@pytest.fixture(scope="session")
def stand_ins(tmp_path_factory) -> StandIns:
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return StandIns(shared / "stand-ins")


def run_image_tests(image: Path, project: Path) -> dict[str, str]:
    """Run a generated repo's image-tests/ as repo2docker-action does (pytest, in the
    repo's directory) with ``image``'s Python and PATH; the outcome of each test."""
    env = dict(os.environ, PATH=f"{image / 'bin'}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(
        [str(image / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-rA", "image-tests/"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outcomes = {}
    for line in result.stdout.splitlines():
        for word in ("PASSED", "FAILED", "ERROR"):
            if line.startswith(word + " "):
                outcomes[line.split("::")[1].split(" ")[0]] = word
    assert outcomes, result.stdout + result.stderr
    return outcomes
