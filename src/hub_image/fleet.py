"""Many hub images from one manifest: `hub-image fleet plan` and `apply`.

The state lives on GitHub, not here: every run reads what is there (the planner,
fleet_plan.py, turns it into typed steps), and `apply` runs only those steps.  A second
run therefore does nothing, and a run that was interrupted is finished by the next one.

Writes (content-creating requests) go through one :class:`~hub_image.pacing.Pacer`,
which keeps them within GitHub's secondary limits (80 a minute, 500 an hour); reads are
not held behind it.  Images are worked on by a few threads, far below the
100-concurrent-requests limit.  Ctrl-C stops every wait and every new write at once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from github import Github, GithubException
from github.GithubException import RateLimitExceededExceedsMaxWait

from . import git, github_api
from .errors import HubImageError, SetupError
from .fleet_plan import WORKFLOW_PATH, Planner
from .fleet_steps import Configure, CreateRepo, ImagePlan, PushProject, SetSecrets, SetUpQuay, SetVariable, summary
from .manifest import NOT_IN_MANIFEST, Image, Manifest, load_manifest
from .org_secrets import Existing, OrgSecrets
from .pacing import GITHUB_WINDOWS, Pacer
from .repo_setup import commit_project, push_project
from .template import Rendering

__all__ = ["NOT_IN_MANIFEST", "Fleet", "Image", "ImagePlan", "Manifest", "load_manifest", "summary"]

#: Images read at once while planning, and projects pushed at once after the
#: organisation's secrets are set: far below GitHub's 100 concurrent requests.
READ_WORKERS = 48
PUSH_WORKERS = 32
#: Seconds that requests in flight get to finish after Ctrl-C.
INTERRUPT_GRACE = 3.0


def finished(futures: Iterable[Future]) -> Iterator[Future]:
    """Each future as it finishes.  The main thread waits in short steps: a signal that
    reached another thread (Ctrl-C may) is handled only when it wakes, and a wait without
    a timeout would not wake until a future finished, a minute away for a paced write."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        yield from done


def pacer_from(environ: Mapping[str, str]) -> Pacer:
    """GitHub's write limits, lowered by HUB_IMAGE_WRITES_PER_MINUTE / …_PER_HOUR when other
    automation shares the token."""
    (minute, per_minute), (hour, per_hour) = ((s, c) for c, s in GITHUB_WINDOWS)
    per_minute = int(environ.get("HUB_IMAGE_WRITES_PER_MINUTE") or per_minute)
    per_hour = int(environ.get("HUB_IMAGE_WRITES_PER_HOUR") or per_hour)
    return Pacer([(per_minute, minute), (per_hour, hour)])


@dataclass
class Fleet:
    manifest: Manifest
    template: Path
    token: str
    workers: int = 16
    pacer: Pacer = field(default_factory=Pacer)
    max_wait: float | None = None  # longest wait GitHub may ask for; inf: any (--wait)
    on_wait: Callable[[float], None] | None = None
    notify: Callable[[str], None] = lambda line: None  # notes for the user (stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    secrets: dict[str, str] = field(default_factory=dict)  # the registry credentials a run writes
    org_changes: list[str] = field(default_factory=list)
    org_failed: bool = False
    stop_reason: str = ""  # why the run stopped early (a wait longer than max_wait)
    user_login: str = ""  # whose token it is (prepare)
    workdir: str | None = None  # while applying: where the projects are rendered
    _local: threading.local = field(default_factory=threading.local)

    @classmethod
    def load(cls, manifest: Path, template: str | None = None, **options: Any) -> Fleet:
        """A fleet run: the template (``--template`` or the installed one), the manifest
        read strictly, the token and the write limits from the environment."""
        from .template import template_dir

        where = template_dir(template)
        options.setdefault("pacer", pacer_from(os.environ))
        fleet = cls(load_manifest(manifest, where), where, github_api.read_token(), **options)
        fleet.pacer.on_wait = fleet.on_wait
        return fleet

    def client(self) -> Github:
        """This thread's GitHub client (the pacer paces writes, not PyGithub)."""
        if not hasattr(self._local, "gh"):
            self._local.gh = github_api.client(
                self.token,
                None,
                dict(self.environ),
                max_wait=self.max_wait,
                on_wait=self.on_wait,
                stop=self.pacer.stop,
                paced=False,
            )
        return self._local.gh

    def prepare(self) -> None:
        """Check the token once (GET /user) and its scopes; any failure is one line."""
        try:
            self.user_login = self.client().get_user().login
            scopes = self.client().oauth_scopes
        except GithubException as exc:
            raise SetupError(github_api.explain(exc, "checking the token", self.manifest.owner)) from None
        except requests.RequestException as exc:
            base = self.client().requester.base_url
            raise SetupError(f"checking the token: {github_api.describe_network_error(exc, base)}") from None
        github_api.check_scopes(scopes, private=self.manifest.visibility == "private", org_secrets=self.manifest.org_secrets)

    @property
    def org(self) -> OrgSecrets:
        return OrgSecrets(self.manifest, self.client)

    def run_plan(self, on_done: Callable[[ImagePlan], None] = lambda p: None) -> list[ImagePlan]:
        """`fleet plan`: check the token, read every image's state, say what apply would do."""
        self.prepare()
        plans, existing = self._read(on_done)
        if existing is not None and not self.stop_reason:
            self.org_changes = [c.text for c in self.org.changes(plans, existing)]
        for p in plans:
            if p.status == "planned":
                p.status, p.detail = ("planned" if p.steps else "unchanged"), p.describe()
        return plans

    def run_apply(self, on_done: Callable[[ImagePlan], None] = lambda p: None) -> list[ImagePlan]:
        """`fleet apply`: plan, check that the credentials are at hand and the writes fit
        GitHub's hourly limit (or that waiting was asked for), then apply."""
        self.prepare()
        plans, existing = self._read(on_done)
        if self.stop_reason:
            return plans
        todo = [p for p in plans if p.status == "planned" and p.steps]
        for p in plans:
            if p.status == "planned" and not p.steps:
                p.status, p.detail = "unchanged", "nothing to do"
        self.secrets = self._credentials(todo, existing)
        with tempfile.TemporaryDirectory(prefix="hub-image-fleet-") as self.workdir:
            try:
                if not self.manifest.org_secrets:
                    self.each(lambda p: self.fill_image(self.set_up_image(p)), on_done, "applying", todo)
                    return plans
                self._apply_in_rounds(todo, len(self.org.changes(todo, existing or {})), on_done)
                return plans
            finally:
                for p in todo:
                    if p.rendering is not None:
                        p.rendering.close()

    def _read(self, on_done) -> tuple[list[ImagePlan], Existing | None]:
        """Every image planned; the organisation's secrets read meanwhile (when it has them)."""
        planner = Planner(self.manifest, self.client, self.environ)
        with ThreadPoolExecutor(max_workers=1) as side:
            existing = side.submit(self.org.read) if self.manifest.org_secrets else None
            plans = self.each(planner.plan, on_done, "reading", workers=max(self.workers, READ_WORKERS))
            return plans, existing.result() if existing is not None else None

    def _credentials(self, todo: list[ImagePlan], existing: Existing | None) -> dict[str, str]:
        """The registry credentials the steps need, from the environment; refuses (before
        any write) when one is missing, or when the writes exceed GitHub's hourly limit
        and waiting was not asked for."""
        names = {n for p in todo if not p.get(SetUpQuay) and (s := p.get(SetSecrets)) for n in s.names}
        org = self.org.changes(todo, existing) if existing is not None else []
        names |= {c.name for c in org if c.create}
        missing = sorted(n for n in names if not self.environ.get(n))
        if missing:
            raise SetupError(f"{', '.join(missing)} not set; export the registry credentials (they never go in the manifest)")
        self.pacer.check_the_hour(sum(p.writes for p in todo) + len(org), self.max_wait == float("inf"), self.notify)
        return {n: self.environ[n] for n in names}

    def set_up_image(self, plan: ImagePlan) -> ImagePlan:
        """The project rendered (while the write limits may hold this worker anyway), then
        the registry (quay.io), the repository and its secrets."""
        image = plan.image
        if plan.get(PushProject):  # rendered while this worker waits for GitHub
            plan.rendering = Rendering(self.template, image.answers, Path(tempfile.mkdtemp(dir=self.workdir)), background=True)
        if quay := plan.get(SetUpQuay):
            from .quay import Quay

            Quay.from_environment(self.environ).apply(quay.quay, image.answers["description"])
        if plan.get(CreateRepo):
            owner, gh = self.manifest.owner, self.client()
            me = gh.get_user() if owner.lower() == self.user_login.lower() else None
            private = self.manifest.visibility == "private"
            description = image.answers["description"]
            plan.repo = github_api.create_repo(
                gh, owner, image.repo_name, me=me, description=description, private=private, pace=self.pacer.write
            )
        assert plan.repo is not None, "a repository is created or read before it is changed"
        if secrets := plan.get(SetSecrets):
            values = quay.quay.secrets if quay else self.secrets
            github_api.write_secrets(plan.repo, {n: values[n] for n in secrets.names}, pace=self.pacer.write)
        if variable := plan.get(SetVariable):
            with self.pacer.write():
                if variable.create:
                    plan.repo.create_variable(variable.variable, variable.value)
                else:
                    plan.repo.get_variable(variable.variable).edit(variable.value)
        if plan.rendering is not None:  # the first commit, made before the push
            commit_project(plan.rendering.result())
        return plan

    def fill_image(self, plan: ImagePlan) -> ImagePlan:
        """The generated project pushed, or the workflow's IMAGE_NAME/NO_PUSH committed."""
        repo, full_name = plan.repo, f"{self.manifest.owner}/{plan.image.repo_name}"
        assert repo is not None, "a repository is created or read before it is changed"
        if plan.get(PushProject):
            assert plan.rendering is not None, "the project is rendered while the repository is set up"
            if plan.get(CreateRepo):  # created by this run, so empty: one git push
                git.push(plan.rendering.result(), repo.clone_url, "HEAD:refs/heads/main", self.token)
            elif any("already has history" in x for x in push_project(plan.rendering.result(), repo.clone_url, self.token)):
                raise SetupError(f"{full_name} has history but no {WORKFLOW_PATH}; not a hub image repo, left alone")
            shutil.rmtree(plan.rendering.output_dir)  # pushed: GitHub holds it now
        if change := plan.get(Configure):
            with self.pacer.write():
                message = "Set IMAGE_NAME and NO_PUSH from the fleet manifest"
                repo.update_file(WORKFLOW_PATH, message, change.text, change.sha, branch="main")
        plan.status, plan.detail = "done", plan.describe()
        return plan

    def _apply_in_rounds(self, todo: list[ImagePlan], secret_writes: int, on_done) -> None:
        """Repositories, then the organisation secrets that name them, then their pushes (a
        push starts the first build, which logs in with the secrets).  In two rounds when
        that costs no window of the write limits: the first minute's repositories are
        pushed while the rest wait for the next minute, not all after the last write."""
        first = self.pacer.first_round([p.writes for p in todo], secret_writes)
        workers = max(self.workers, PUSH_WORKERS)
        pusher = ThreadPoolExecutor(max_workers=1)  # a round's pushes, beside the next round's writes
        pushes: list[Future] = []
        try:
            for batch, so_far in ((todo[:first], todo[:first]), (todo[first:], todo)):
                if not batch or self.pacer.stop.is_set():
                    continue
                self.each(self.set_up_image, lambda p: None if p.status == "planned" else on_done(p), "applying", batch)
                if not self.pacer.stop.is_set() and not self.org_failed:
                    said, self.org_failed = self.org.apply(so_far, self.secrets, self.pacer.write)
                    self.org_changes += said
                ready = [p for p in batch if p.status == "planned"]
                pushes.append(pusher.submit(self.each, self.fill_image, on_done, "applying", ready, workers))
            for future in finished(pushes):
                future.result()
        finally:
            pusher.shutdown(wait=False)  # Ctrl-C: the pushes in flight get the grace of the others

    def each(self, fn, on_done, verb: str, items: list | None = None, workers: int | None = None) -> list:
        """``fn`` on every image (default) or plan, by :class:`Crew`; a wait longer than
        allowed stops the run and says why (:attr:`stop_reason`)."""
        crew = Crew(self.manifest.owner, self.pacer, workers or self.workers)
        try:
            return crew.run(fn, on_done, verb, list(self.manifest.images) if items is None else items)
        finally:
            self.stop_reason = self.stop_reason or crew.stop_reason


@dataclass
class Crew:
    """A few threads that take the images (or plans) one by one, each failure one row;
    Ctrl-C: no new image, write or wait starts, and requests in flight get a few seconds."""

    owner: str
    pacer: Pacer
    workers: int
    stop_reason: str = ""

    def run(self, fn, on_done, verb: str, items: list) -> list:
        results: list = [None] * len(items)
        pool = ThreadPoolExecutor(max_workers=self.workers)
        futures = {pool.submit(self._guard, fn, item, verb): i for i, item in enumerate(items)}
        try:
            for future in finished(futures):
                results[futures[future]] = future.result()
                on_done(results[futures[future]])
        except KeyboardInterrupt:
            self.pacer.stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            wait([f for f in futures if f.running()], timeout=INTERRUPT_GRACE)
            raise
        pool.shutdown(wait=True)
        return results

    def _guard(self, fn, item, verb: str) -> ImagePlan:
        plan = item if isinstance(item, ImagePlan) else ImagePlan(item)
        if self.pacer.stop.is_set():
            plan.status, plan.detail = "interrupted", "not started"
            return plan
        try:
            return fn(item)
        except KeyboardInterrupt:
            plan.status, plan.detail = "interrupted", f"{verb}: stopped"
        except RateLimitExceededExceedsMaxWait as exc:  # stops the whole run, not just this image
            self.stop_reason = self.stop_reason or github_api.explain(exc, verb, self.owner)
            self.pacer.stop.set()
            plan.status, plan.detail = "interrupted", f"{verb}: stopped (rate limit)"
        except GithubException as exc:
            plan.status, plan.detail = "failed", github_api.explain(exc, verb, f"{self.owner}/{plan.image.repo_name}")
        except HubImageError as exc:
            plan.status, plan.detail = "failed", f"{verb}: {exc}"
        except requests.RequestException as exc:
            plan.status, plan.detail = "failed", f"{verb}: {github_api.describe_network_error(exc)}"
        except Exception as exc:  # noqa: BLE001 - one image's surprise must not stop the others
            plan.status, plan.detail = "failed", f"{verb}: unexpected {type(exc).__name__}: {exc}"
        return plan
