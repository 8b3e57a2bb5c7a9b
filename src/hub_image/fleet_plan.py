"""The fleet's planner: what GitHub (and Quay) hold for each image of the manifest,
turned into the typed steps that make it so.  It only reads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from github import Github, GithubException

from . import registries, workflow
from .fleet_steps import Configure, CreateRepo, ImagePlan, PushProject, SetSecrets, SetUpQuay, SetVariable
from .manifest import Image, Manifest

WORKFLOW_PATH = ".github/workflows/build.yaml"
#: The repository variable the generated workflow's deploy job reads.
DEPLOY_REPO_VAR = "HUB_DEPLOY_REPO"


@dataclass
class Planner:
    manifest: Manifest
    client: Callable[[], Github]
    environ: Mapping[str, str]

    def plan(self, image: Image) -> ImagePlan:
        plan = self._plan_github(image)
        if self.quay_by_api(image):
            self._plan_quay(image, plan)
        if image.deploy_repo:
            self._plan_variable(plan, DEPLOY_REPO_VAR, image.deploy_repo)
        return plan

    def _plan_variable(self, plan: ImagePlan, name: str, value: str) -> None:
        current = None
        if plan.repo is not None:
            try:
                current = plan.repo.get_variable(name).value
            except GithubException as exc:
                if exc.status != 404:
                    raise
        if current != value:
            plan.add(SetVariable(name, value, create=current is None))

    def quay_by_api(self, image: Image) -> bool:
        """quay.io set up through its API: QUAY_API_TOKEN given, each repository its own robot."""
        from .repo_setup import quay_by_api

        return not self.manifest.org_secrets and quay_by_api(image.registry, image.answers["image_name"], self.environ)

    def _plan_quay(self, image: Image, plan: ImagePlan) -> None:
        from . import quay

        namespace, name = quay.split_image(image.answers["image_name"])
        consent = image.quay_make_public or quay.make_public_consent(self.environ)
        found = quay.Quay.from_environment(self.environ).plan(namespace, name, image.repo_name, make_public=consent)
        if found.changes:
            plan.add(SetUpQuay(found))
        if found.create_robot:  # a new robot, a new token: its secrets are written again
            plan.steps = [s for s in plan.steps if not isinstance(s, SetSecrets)]
            plan.add(SetSecrets(tuple(registries.secret_sources(image.registry))))

    def _plan_github(self, image: Image) -> ImagePlan:
        plan = ImagePlan(image)
        full_name = f"{self.manifest.owner}/{image.repo_name}"
        wanted = () if self.manifest.org_secrets else tuple(registries.secret_sources(image.registry))
        try:
            repo = self.client().get_repo(full_name).complete()
        except GithubException as exc:
            if exc.status != 404:
                raise
            plan.add(CreateRepo())
            plan.add(PushProject())
            if wanted:
                plan.add(SetSecrets(wanted))
            return plan
        plan.repo = repo
        try:
            content = repo.get_contents(WORKFLOW_PATH)
            assert not isinstance(content, list), f"{WORKFLOW_PATH} is a directory"
        except GithubException as exc:
            if exc.status != 404:
                raise
            plan.add(PushProject())
        else:
            text = content.decoded_content.decode()
            settings = workflow.PushSettings(image.answers["image_name"], image.answers["push_on_pr"])
            new = workflow.edit_text(text, f"{full_name}:{WORKFLOW_PATH}", settings)
            if new != text:
                plan.add(Configure(new, content.sha))
        if wanted:
            have = {s.name for s in repo.get_secrets()}
            missing = tuple(s for s in wanted if s not in have)
            if missing:
                plan.add(SetSecrets(missing))
        return plan
