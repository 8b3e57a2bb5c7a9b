"""Many hub images from one manifest: `hub-image fleet plan` and `apply`.

The state lives on GitHub, not here: every run reads what is there (a repository, its
build workflow's IMAGE_NAME / NO_PUSH, its secret names), plans the difference, and
`apply` makes only that difference.  A second run therefore does nothing, and a run
that was interrupted is finished by the next one.

Writes (content-creating requests) go through one :class:`Pacer`, which keeps them
within GitHub's secondary limits (80 a minute, 500 an hour) without a fixed sleep;
reads are not held behind it.  Images are worked on by a few threads, far below the
100-concurrent-requests limit.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from github import Github, GithubException
from github.GithubException import RateLimitExceededExceedsMaxWait
from github.Repository import Repository
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from . import github_api, registries, workflow
from .answers import validate_answers, validate_github_owner
from .errors import AnswerError, HubImageError, ManifestError, SetupError
from .repo_setup import push_project
from .template import render, template_defaults

#: Cookiecutter answers that make no sense per image in a manifest.
NOT_IN_MANIFEST = {"github_owner", "github_setup", "repo_visibility"}
SECRET_WORDS = ("password", "token", "secret", "key")
#: Manifest keys beside the template's questions (in ``defaults`` or per image): the
#: consent to make an existing private quay.io repository public.
IMAGE_OPTIONS = {"quay_make_public": False}
WORKFLOW_PATH = ".github/workflows/build.yaml"
#: Images read at once while planning.
READ_WORKERS = 48
#: Projects pushed at once after the organisation's secrets are set (git, not the REST
#: API: no write limit, and GitHub's 100 concurrent requests stay far off).
PUSH_WORKERS = 32
#: Seconds that requests in flight get to finish after Ctrl-C.
INTERRUPT_GRACE = 3.0


# --- the manifest ------------------------------------------------------------------


@dataclass
class Image:
    answers: dict[str, Any]  # validated, as the template validates them
    line: int
    quay_make_public: bool = False

    @property
    def repo_name(self) -> str:
        return self.answers["repo_name"]

    @property
    def registry(self) -> str:
        return self.answers["registry"]


@dataclass
class Manifest:
    path: Path
    owner: str
    images: list[Image]
    org_secrets: bool = False
    visibility: str = "public"

    def secret_names(self) -> dict[str, set[str]]:
        """Registry secret name -> the repos (names) that use it."""
        out: dict[str, set[str]] = {}
        for image in self.images:
            for name in registries.secret_sources(image.registry):
                out.setdefault(name, set()).add(image.repo_name)
        return out


def load_manifest(path: Path, template: Path) -> Manifest:
    """Read and validate ``path``; every problem is reported (with its line), and an
    invalid manifest raises before anything is applied."""
    where = str(path)
    try:
        text = path.read_text()
        _refuse_aliases(text, where)
        data = YAML(typ="rt").load(text)
    except OSError as exc:
        raise ManifestError(f"{where}: cannot read it ({exc.strerror})") from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ManifestError(f"{where}:{mark.line + 1 if mark else '?'}: not valid YAML") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: expected a mapping with owner, defaults and images")
    defaults_known = template_defaults(template)
    known = set(defaults_known) - NOT_IN_MANIFEST
    problems: list[str] = []

    def line_of(node, key=None) -> int:
        try:
            return (node.lc.key(key)[0] if key is not None else node.lc.line) + 1
        except (AttributeError, KeyError, TypeError):
            return 0

    for key in data:
        if key not in ("owner", "defaults", "images", "org_secrets", "visibility"):
            problems.append(
                f"{where}:{line_of(data, key)}: unknown key {key!r}; use owner, defaults, images, org_secrets, visibility"
            )
    owner = str(data.get("owner") or "")
    try:
        if not owner:
            raise AnswerError("owner", "is missing; name the GitHub user or organisation")
        validate_github_owner(owner)
    except AnswerError as exc:
        problems.append(f"{where}:{line_of(data, 'owner') or 1}: owner: {exc.reason}")
    defaults = data.get("defaults") or {}
    images_node = data.get("images")
    if not isinstance(defaults, dict):
        problems.append(f"{where}:{line_of(data, 'defaults')}: defaults must be a mapping")
        defaults = {}
    if not isinstance(images_node, list) or not images_node:
        problems.append(f"{where}:{line_of(data, 'images') or 1}: images must be a non-empty list")
        images_node = []

    lines = text.splitlines()

    def check_keys(mapping, label: str) -> None:
        for key in mapping:
            if any(word in str(key).lower() for word in SECRET_WORDS):
                problems.append(
                    f"{where}:{line_of(mapping, key)}: {label}{key}: secrets never go in the manifest; "
                    "export them as environment variables"
                )
            elif key in IMAGE_OPTIONS:
                if not isinstance(mapping[key], bool):
                    problems.append(f"{where}:{line_of(mapping, key)}: {label}{key}: write true or false without quotes")
            elif key not in known:
                problems.append(
                    f"{where}:{line_of(mapping, key)}: {label}{key}: not a template variable (one of: {', '.join(sorted(known))})"
                )
            else:
                problem = _type_problem(mapping[key], defaults_known[key], _raw_value(mapping, key, lines))
                if problem:
                    problems.append(f"{where}:{line_of(mapping, key)}: {label}{key}: {problem}")

    check_keys(defaults, "defaults.")
    images: list[Image] = []
    seen: dict[str, int] = {}
    for i, node in enumerate(images_node):
        line = line_of(node)
        if not isinstance(node, dict):
            problems.append(f"{where}:{line}: images[{i}]: must be a mapping with at least repo_name")
            continue
        label = f"images[{i}] ({node.get('repo_name', '?')})."
        check_keys(node, label)
        options = {k: bool({**IMAGE_OPTIONS, **dict(defaults), **dict(node)}[k]) for k in IMAGE_OPTIONS}
        given = {k: v for k, v in {**dict(defaults), **dict(node)}.items() if k not in IMAGE_OPTIONS}
        merged = {**defaults_known, **given, "github_owner": owner, "github_setup": "none"}
        merged = {k: ("" if v is None else v) for k, v in merged.items()}
        try:
            answers = validate_answers(merged)
        except AnswerError as exc:
            key_line = (
                line_of(node, exc.field) if exc.field in node else line_of(defaults, exc.field) if exc.field in defaults else line
            )
            problems.append(f"{where}:{key_line}: {label}{exc}")
            continue
        if answers["repo_name"].lower() in seen:
            problems.append(
                f"{where}:{line}: {label}repo_name: also used at line {seen[answers['repo_name'].lower()]}; names must differ"
            )
            continue
        seen[answers["repo_name"].lower()] = line
        images.append(Image(answers, line, options["quay_make_public"]))
    for key in ("org_secrets",):
        if key in data and not isinstance(data[key], bool):
            problems.append(
                f"{where}:{line_of(data, key)}: {key}: {_type_problem(data[key], False, _raw_value(data, key, lines))}"
            )
    images_by_name: dict[str, int] = {}
    for image in images:
        name = image.answers["image_name"] and f"{image.answers['registry_host'] or image.registry}/{image.answers['image_name']}"
        if name and name in images_by_name:
            problems.append(
                f"{where}:{image.line}: images ({image.repo_name}).image_name: {name!r} is also the image at "
                f"line {images_by_name[name]}; two repositories would push to one image"
            )
        images_by_name.setdefault(name, image.line)
    org_secrets = bool(data.get("org_secrets", False))
    visibility = str(data.get("visibility", "public"))
    if visibility not in ("public", "private"):
        problems.append(f"{where}:{line_of(data, 'visibility')}: visibility: use public or private")
    if problems:
        raise ManifestError("\n".join(problems))
    return Manifest(path, owner, images, org_secrets, visibility)


def _refuse_aliases(text: str, where: str) -> None:
    """A manifest is plain data: anchors and aliases are refused before anything is built
    from them (a few lines of aliases can expand to billions of nodes)."""
    from ruamel.yaml.events import AliasEvent

    for event in YAML(typ="rt").parse(text):
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
            raise ManifestError(
                f"{where}:{event.start_mark.line + 1}: YAML anchors and aliases (&, *) are not allowed "
                "in a manifest; write each value out"
            )


def _raw_value(mapping, key, lines: list[str]) -> str:
    """The value of ``key`` as written in the file (for messages)."""
    try:
        line, col = mapping.lc.value(key)
        return lines[line][col:].split(" #")[0].strip()
    except (AttributeError, KeyError, TypeError, IndexError):
        return str(mapping[key])


def _type_problem(value: Any, default: Any, raw: str) -> str:
    """What is wrong with the YAML type of a manifest value whose template default is
    ``default``: booleans must be YAML booleans, everything else text."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return ""
        return f"{raw} is not a YAML boolean; write true or false without quotes"
    if value is None or isinstance(value, str):
        return ""
    if isinstance(value, bool):
        return f"{raw} is a YAML boolean where text is expected; quote it"
    if isinstance(value, (int, float)):
        return f'{raw} is a number to YAML (5.10 would become 5.1); quote it: "{raw}"'
    return f"expected text, got a {'mapping' if isinstance(value, dict) else 'list'}; give one value"


# --- pacing --------------------------------------------------------------------------


class Pacer:
    """Admits content-creating requests within every (count, seconds) window: as many
    as a window allows at once, then each as soon as the oldest leaves the window.

    A request counts from when it is sent until ``seconds`` after its answer arrived
    (GitHub counts it somewhere in between), so delays cannot push two over the limit.
    """

    def __init__(self, windows: list[tuple[int, float]]):
        self.windows = windows
        self.slots: list[list[float]] = []  # [end time]; inf while the request is in flight
        self.lock = threading.Lock()
        self.waited = 0.0
        self.stop = threading.Event()  # set on Ctrl-C: no write starts any more
        self.on_wait: Callable[[float], None] | None = None  # told of waits of 5 s and more
        self._announced = -math.inf

    @classmethod
    def github(cls, minute: float | None = None, per_minute: int | None = None, per_hour: int | None = None) -> Pacer:
        """GitHub's secondary limits: 80 content-creating requests a minute and 500 an
        hour.  ``minute`` scales both windows (60 s on GitHub; less against a time-scaled
        emulator); the environment may say so (HUB_IMAGE_MINUTE_SECONDS, …_WRITES_PER_MINUTE,
        …_WRITES_PER_HOUR)."""
        env = os.environ
        minute = float(env.get("HUB_IMAGE_MINUTE_SECONDS", 60)) if minute is None else minute
        per_minute = int(env.get("HUB_IMAGE_WRITES_PER_MINUTE", 80)) if per_minute is None else per_minute
        per_hour = int(env.get("HUB_IMAGE_WRITES_PER_HOUR", 500)) if per_hour is None else per_hour
        return cls([(per_minute, minute), (per_hour, minute * 60)])

    @contextmanager
    def write(self):
        slot = self._acquire()
        try:
            yield
        finally:
            with self.lock:
                slot[0] = time.monotonic()

    def _acquire(self) -> list[float]:
        longest = max(seconds for _, seconds in self.windows)
        while True:
            with self.lock:
                now = time.monotonic()
                self.slots = [s for s in self.slots if s[0] > now - longest]
                wait = 0.0
                for count, seconds in self.windows:
                    live = sorted(s[0] for s in self.slots if s[0] > now - seconds)
                    if len(live) >= count:
                        oldest = live[len(live) - count]
                        wait = max(wait, (oldest + seconds - now) if oldest != float("inf") else 0.01)
                if wait <= 0:
                    slot = [float("inf")]
                    self.slots.append(slot)
                    return slot
            self.waited += wait
            now = time.monotonic()
            if self.on_wait and wait >= 5 and now - self._announced >= 30:
                self._announced = now
                self.on_wait(wait)  # a long wait for GitHub's write limits, e.g. the hourly one
            if self.stop.wait(min(wait, 1.0) + 0.001):
                raise KeyboardInterrupt

    def writes_per_hour(self) -> int:
        longest = max(seconds for _, seconds in self.windows)
        return min(count for count, seconds in self.windows if seconds == longest)

    def hours_for(self, writes: int) -> float:
        """Hours the hourly window alone needs for ``writes`` (in GitHub's time)."""
        return writes / self.writes_per_hour()


# --- plan and apply ------------------------------------------------------------------


@dataclass
class ImagePlan:
    image: Image
    actions: list[str] = field(default_factory=list)  # create, push, configure, secrets
    missing_secrets: list[str] = field(default_factory=list)
    repo: Repository | None = None
    quay: Any = None  # a quay.QuayPlan when quay.io is set up through its API
    workflow_text: str = ""
    workflow_sha: str = ""
    status: str = "planned"
    detail: str = ""

    def describe(self) -> str:
        if not self.actions:
            return "nothing to do"
        words = {
            "quay": "; ".join(self.quay.changes) if self.quay else "",
            "create": "create repository",
            "push": "push the generated project",
            "configure": "change IMAGE_NAME/NO_PUSH",
            "secrets": f"set secrets {', '.join(self.missing_secrets)}",
        }
        return "; ".join(words[a] for a in self.actions)


@dataclass
class Fleet:
    manifest: Manifest
    template: Path
    token: str
    api_url: str | None = None
    workers: int = 16
    pacer: Pacer = field(default_factory=Pacer.github)
    secrets: dict[str, str] = field(default_factory=dict)
    _local: threading.local = field(default_factory=threading.local)
    user_login: str = ""
    org_changes: list[str] = field(default_factory=list)
    org_failed: bool = False
    max_wait: float | None = None  # longest wait GitHub may ask for; inf: any (--wait)
    on_wait: Callable[[float], None] | None = None
    notify: Callable[[str], None] = lambda line: None  # notes for the user (stderr)
    stop_reason: str = ""  # why the run stopped early (a wait longer than max_wait)

    def prepare(self) -> None:
        """Check the token once (GET /user): who it is, and its scopes.  Any failure is
        one line (:class:`SetupError`)."""
        step = "checking the token"
        try:
            me = self.client().get_user()
            self.user_login = me.login
            scopes = self.client().oauth_scopes
        except GithubException as exc:
            raise SetupError(github_api.explain(exc, step, self.manifest.owner)) from None
        except requests.RequestException as exc:
            raise SetupError(f"{step}: {github_api.describe_network_error(exc, self.client().requester.base_url)}") from None
        github_api.check_scopes(scopes, private=self.manifest.visibility == "private", org_secrets=self.manifest.org_secrets)

    @classmethod
    def load(
        cls,
        manifest: Path,
        template: str | None = None,
        *,
        workers: int = 16,
        wait: bool = False,
        on_wait: Callable[[float], None] | None = None,
        notify: Callable[[str], None] = lambda line: None,
    ) -> Fleet:
        """A fleet run: the template (``--template`` or the installed one), the manifest
        read strictly, the token from the environment."""
        from .template import template_dir

        where = template_dir(template)
        fleet = cls(
            load_manifest(manifest, where),
            where,
            github_api.read_token(),
            workers=workers,
            max_wait=float("inf") if wait else None,
            on_wait=on_wait,
            notify=notify,
        )
        fleet.pacer.on_wait = on_wait
        return fleet

    def run_plan(self, on_done: Callable[[ImagePlan], None] = lambda p: None) -> list[ImagePlan]:
        """`fleet plan`: check the token, read every image's state, say what apply would do."""
        self.prepare()
        with self._org_secrets_read_ahead() as existing:
            plans = self.plan(on_done)
            if self.manifest.org_secrets and not self.stop_reason:
                self.org_changes = [text for _, text in self.org_secret_changes(plans, apply=False, existing=existing())]
        for p in plans:
            if p.status == "planned":
                p.status, p.detail = ("planned" if p.actions else "unchanged"), p.describe()
        return plans

    def run_apply(self, environ: dict[str, str], on_done: Callable[[ImagePlan], None] = lambda p: None) -> list[ImagePlan]:
        """`fleet apply`: plan, check that the credentials are at hand and the writes fit
        GitHub's hourly limit (or that waiting was asked for), then apply.  The
        organisation's secrets are read while the images are planned."""
        self.prepare()
        with self._org_secrets_read_ahead() as existing:
            plans = self.plan(on_done)
            if self.stop_reason:
                return plans
            self.secrets = self._checked_before_writing(plans, environ, existing())
            return self.apply(plans, on_done)

    def _checked_before_writing(
        self, plans: list[ImagePlan], environ: dict[str, str], existing: dict[str, set[int] | None] | None
    ) -> dict[str, str]:
        """The registry credentials the plans need, from ``environ``; refuses (before any
        write) when one is missing, or when the writes exceed GitHub's hourly limit and
        waiting was not asked for."""
        planned = [p for p in plans if p.status == "planned"]
        names = self.needed_secrets([p for p in planned if p.quay is None], existing)
        missing = sorted(n for n in names if not environ.get(n))
        if missing:
            raise SetupError(f"{', '.join(missing)} not set; export the registry credentials (they never go in the manifest)")
        writes, per_hour = self.writes_needed(planned), self.pacer.writes_per_hour()
        if writes > per_hour:
            hours = self.pacer.hours_for(writes)
            if self.max_wait != float("inf"):
                raise SetupError(
                    f"this run needs {writes} writes, more than GitHub's {per_hour} an hour: it would take "
                    f"about {hours:.1f} h; run it with --wait (a countdown shows each wait), or split the manifest"
                )
            self.notify(f"note: {writes} writes at {per_hour} an hour: this run takes about {hours:.1f} h")
        return {n: environ[n] for n in names}

    @property
    def environ(self) -> dict[str, str]:
        return dict(os.environ)

    def needed_secrets(self, plans: list[ImagePlan], existing: dict[str, set[int] | None] | None = None) -> set[str]:
        names = {n for p in plans for n in p.missing_secrets}
        if self.manifest.org_secrets:
            names |= {n for n, _ in self.org_secret_changes(plans, apply=False, existing=existing) if n}
        return names

    @contextmanager
    def _org_secrets_read_ahead(self):
        """The organisation secrets as :meth:`org_secrets_now` reads them, read while the
        images are planned: a callable that returns them (None without org_secrets)."""
        if not self.manifest.org_secrets:
            yield lambda: None
            return
        with ThreadPoolExecutor(max_workers=1) as pool:
            reading = pool.submit(self.org_secrets_now)
            yield reading.result

    def client(self) -> Github:
        if not hasattr(self._local, "gh"):
            self._local.gh = github_api.client(
                self.token,
                self.api_url,
                {**os.environ, "HUB_IMAGE_SECONDS_BETWEEN_REQUESTS": "0", "HUB_IMAGE_SECONDS_BETWEEN_WRITES": "0"},
                max_wait=self.max_wait,
                on_wait=self.on_wait,
                stop=self.pacer.stop,
            )
        return self._local.gh

    # --- reading ---
    def quay_by_api(self, image: Image) -> bool:
        """quay.io set up through its API: QUAY_API_TOKEN given, each repository its own robot."""
        from .repo_setup import quay_by_api

        return not self.manifest.org_secrets and quay_by_api(image.registry, image.answers["image_name"], self.environ)

    def plan_image(self, image: Image) -> ImagePlan:
        plan = self._plan_github(image)
        if self.quay_by_api(image):
            from . import quay

            namespace, name = quay.split_image(image.answers["image_name"])
            consent = image.quay_make_public or quay.make_public_consent(self.environ)
            plan.quay = quay.Quay.from_environment(self.environ).plan(namespace, name, image.repo_name, make_public=consent)
            if plan.quay.changes:
                plan.actions.insert(0, "quay")
            if any(c.startswith("create robot") for c in plan.quay.changes):
                plan.missing_secrets = list(registries.secret_sources(image.registry))  # a new robot, a new token
                if "secrets" not in plan.actions:
                    plan.actions.append("secrets")
        return plan

    def _plan_github(self, image: Image) -> ImagePlan:
        plan = ImagePlan(image)
        full_name = f"{self.manifest.owner}/{image.repo_name}"
        repo_secrets = [] if self.manifest.org_secrets else list(registries.secret_sources(image.registry))
        try:
            repo = self.client().get_repo(full_name).complete()
        except GithubException as exc:
            if exc.status != 404:
                raise
            plan.actions = ["create", "push"] + (["secrets"] if repo_secrets else [])
            plan.missing_secrets = repo_secrets
            return plan
        plan.repo = repo
        try:
            content = repo.get_contents(WORKFLOW_PATH)
            assert not isinstance(content, list), f"{WORKFLOW_PATH} is a directory"
            plan.workflow_text, plan.workflow_sha = content.decoded_content.decode(), content.sha
        except GithubException as exc:
            if exc.status != 404:
                raise
            plan.actions.append("push")
        if plan.workflow_text:
            wanted = workflow.PushSettings(image.answers["image_name"], image.answers["push_on_pr"])
            new = workflow.edit_text(plan.workflow_text, f"{full_name}:{WORKFLOW_PATH}", wanted)
            if new != plan.workflow_text:
                plan.actions.append("configure")
        if repo_secrets:
            have = {s.name for s in repo.get_secrets()}
            plan.missing_secrets = [s for s in repo_secrets if s not in have]
            if plan.missing_secrets:
                plan.actions.append("secrets")
        return plan

    def plan(self, on_done: Callable[[ImagePlan], None] = lambda p: None) -> list[ImagePlan]:
        # Reads wait on the network, not on the write limits: more of them at once (still
        # far below GitHub's 100 concurrent requests).
        return self._each(self.plan_image, on_done, "reading", workers=max(self.workers, READ_WORKERS))

    # --- writing ---
    def apply_image(self, plan: ImagePlan) -> ImagePlan:
        """Everything ``plan`` needs: its repository and secrets first, then its files (a
        push starts a build, which needs the secrets to log in to the registry)."""
        return self.fill_image(self.set_up_image(plan))

    def set_up_image(self, plan: ImagePlan) -> ImagePlan:
        """The registry (quay.io), the repository and its secrets."""
        image, gh = plan.image, self.client()
        if "quay" in plan.actions:
            from . import quay

            quay.Quay.from_environment(self.environ).apply(plan.quay, image.answers["description"])
        if "create" in plan.actions:
            me = gh.get_user() if self.manifest.owner.lower() == self.user_login.lower() else None
            plan.repo = github_api.create_repo(
                gh,
                self.manifest.owner,
                image.repo_name,
                me=me,
                description=image.answers["description"],
                private=self.manifest.visibility == "private",
                pace=self.pacer.write,
            )
        assert plan.repo is not None, "a repository is created or read before it is changed"
        if "secrets" in plan.actions:
            values = plan.quay.secrets if plan.quay is not None else self.secrets
            github_api.write_secrets(plan.repo, {n: values[n] for n in plan.missing_secrets}, pace=self.pacer.write)
        return plan

    def fill_image(self, plan: ImagePlan) -> ImagePlan:
        """The generated project pushed, or the workflow's IMAGE_NAME/NO_PUSH set."""
        image, repo = plan.image, plan.repo
        full_name = f"{self.manifest.owner}/{image.repo_name}"
        assert repo is not None, "a repository is created or read before it is changed"
        if "push" in plan.actions:
            with tempfile.TemporaryDirectory(prefix="hub-image-fleet-") as tmp:
                project = render(self.template, image.answers, Path(tmp))
                done = push_project(project, repo.clone_url, self.token)
            if any("already has history" in line for line in done):
                raise SetupError(f"{full_name} has history but no {WORKFLOW_PATH}; not a hub image repo, left alone")
        if "configure" in plan.actions:
            wanted = workflow.PushSettings(image.answers["image_name"], image.answers["push_on_pr"])
            new = workflow.edit_text(plan.workflow_text, f"{full_name}:{WORKFLOW_PATH}", wanted)
            with self.pacer.write():
                repo.update_file(
                    WORKFLOW_PATH, "Set IMAGE_NAME and NO_PUSH from the fleet manifest", new, plan.workflow_sha, branch="main"
                )
        plan.status, plan.detail = ("done", plan.describe()) if plan.actions else ("unchanged", "nothing to do")
        return plan

    def apply(self, plans: list[ImagePlan], on_done: Callable[[ImagePlan], None] = lambda p: None) -> list[ImagePlan]:
        """Apply every plan.  With organisation secrets, every repository is made first,
        then the secrets that name them, then the pushes: each first build can log in."""
        for p in plans:
            if p.status == "planned" and not p.actions:
                p.status, p.detail = "unchanged", "nothing to do"
        todo = [p for p in plans if p.status == "planned"]
        if not self.manifest.org_secrets:
            self._each(self.apply_image, on_done, "applying", todo)
            return plans

        def set_up(plan: ImagePlan) -> None:
            if plan.status != "planned":
                on_done(plan)  # failed or interrupted: said now; the rest once pushed

        self._each(self.set_up_image, set_up, "applying", todo)
        if not self.pacer.stop.is_set():
            try:
                self.org_changes = self.apply_org_secrets(plans)
            except GithubException as exc:
                self.org_failed = True
                self.org_changes = [github_api.explain(exc, "setting the organisation secrets", self.manifest.owner)]
            except requests.RequestException as exc:
                self.org_failed = True
                self.org_changes = [f"setting the organisation secrets: {github_api.describe_network_error(exc)}"]
        pushes = [p for p in todo if p.status == "planned"]
        self._each(self.fill_image, on_done, "applying", pushes, workers=max(self.workers, PUSH_WORKERS))
        return plans

    def writes_needed(self, plans: list[ImagePlan]) -> int:
        """Content-creating requests ``apply`` will send for ``plans`` (at most)."""
        per_action = {"create": 1, "configure": 1}
        writes = sum(per_action.get(a, 0) for p in plans for a in p.actions)
        writes += sum(len(p.missing_secrets) for p in plans)
        if self.manifest.org_secrets:
            writes += len(self.manifest.secret_names())
        return writes

    def apply_org_secrets(self, plans: list[ImagePlan]) -> list[str]:
        return [text for _, text in self.org_secret_changes(plans, apply=True)]

    def org_secrets_now(self) -> dict[str, set[int] | None]:
        """Each organisation secret the manifest uses that exists, with the repository ids
        it is visible to (None: not to selected repositories only).  One thread per name."""

        def read(name: str) -> tuple[str, set[int] | None, bool]:
            secret = self.client().get_organization(self.manifest.owner).get_secret(name)
            try:
                if secret.visibility != "selected":
                    return name, None, True
                return name, {r.id for r in secret.selected_repositories}, True
            except GithubException as exc:
                if exc.status != 404:
                    raise
                return name, None, False

        names = sorted(self.manifest.secret_names())
        with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
            return {name: current for name, current, exists in pool.map(read, names) if exists}

    def org_secret_changes(
        self, plans: list[ImagePlan], apply: bool, existing: dict[str, set[int] | None] | None = None
    ) -> list[tuple[str, str]]:
        """One organisation secret per name, visible to exactly the fleet's repos that use
        it (added to whatever repos it already lists).  Returns (name needing a value or
        '', what changes); writes only when ``apply``.  ``existing``: :meth:`org_secrets_now`,
        when already read."""
        org = self.client().get_organization(self.manifest.owner)
        key = None
        if apply:  # read again, now, and the key with them
            with ThreadPoolExecutor(max_workers=1) as pool:
                fetching = pool.submit(lambda: self.client().get_organization(self.manifest.owner).get_public_key())
                existing = self.org_secrets_now()
                key = fetching.result()
        elif existing is None:
            existing = self.org_secrets_now()
        ids = {p.image.repo_name: p.repo.id for p in plans if p.repo is not None}
        changes: list[tuple[str, str]] = []
        create: dict[str, list[int]] = {}
        for name, repos in sorted(self.manifest.secret_names().items()):
            wanted = {ids[r] for r in repos if r in ids}
            if name not in existing:
                changes.append((name, f"create organisation secret {name} for {len(repos)} repositories"))
                create[name] = sorted(wanted)
                continue
            current = existing[name]
            if current is not None and not wanted <= current:
                changes.append(("", f"give organisation secret {name} to {len(wanted - current)} more repositories"))
                if apply:
                    github_api.set_secret_repositories(org, name, sorted(current | wanted), self.pacer.write)
        if apply and create:
            github_api.write_secrets(org, {n: self.secrets[n] for n in create}, self.pacer.write, create, key)
        return changes

    def _each(self, fn, on_done, verb: str, items: list | None = None, workers: int | None = None) -> list:
        items = list(self.manifest.images) if items is None else items
        results: list = [None] * len(items)
        pool = ThreadPoolExecutor(max_workers=workers or self.workers)
        futures = {pool.submit(self._guard, fn, item, verb): i for i, item in enumerate(items)}
        try:
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                on_done(results[futures[future]])
        except KeyboardInterrupt:
            # Ctrl-C: no new image, no new write, no wait goes on; requests already sent
            # get a few seconds to finish.  GitHub holds the state, so a re-run completes.
            self.pacer.stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            wait([f for f in futures if f.running()], timeout=INTERRUPT_GRACE)
            raise
        pool.shutdown(wait=True)
        return results

    def _guard(self, fn, item, verb: str):
        plan = item if isinstance(item, ImagePlan) else ImagePlan(item)
        full_name = f"{self.manifest.owner}/{plan.image.repo_name}"
        if self.pacer.stop.is_set():
            plan.status, plan.detail = "interrupted", "not started"
            return plan
        try:
            return fn(item)
        except KeyboardInterrupt:
            plan.status, plan.detail = "interrupted", f"{verb}: stopped"
        except RateLimitExceededExceedsMaxWait as exc:
            # A wait longer than allowed stops the whole run, not just this image.
            self.stop_reason = self.stop_reason or github_api.explain(exc, verb, self.manifest.owner)
            self.pacer.stop.set()
            plan.status, plan.detail = "interrupted", f"{verb}: stopped (rate limit)"
        except GithubException as exc:
            plan.status, plan.detail = "failed", github_api.explain(exc, verb, full_name)
        except HubImageError as exc:
            plan.status, plan.detail = "failed", f"{verb}: {exc}"
        except requests.RequestException as exc:
            plan.status, plan.detail = "failed", f"{verb}: {github_api.describe_network_error(exc)}"
        except Exception as exc:  # noqa: BLE001 - one image's surprise must not stop the others
            plan.status, plan.detail = "failed", f"{verb}: unexpected {type(exc).__name__}: {exc}"
        return plan


def summary(plans: list[ImagePlan]) -> list[dict[str, Any]]:
    return [
        {"repo": p.image.repo_name, "status": p.status, "actions": p.actions, "detail": p.detail or p.describe()} for p in plans
    ]
