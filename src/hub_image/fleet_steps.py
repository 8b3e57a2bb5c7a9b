"""What a fleet run does to one image, as typed steps: the planner makes them from the
manifest and what GitHub and Quay hold; the executor runs them in this order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from github.Repository import Repository

from .manifest import Image
from .quay import QuayPlan
from .template import Rendering


@dataclass(frozen=True)
class SetUpQuay:
    """quay.io through its API: the repository, its visibility, the robot and its grant."""

    quay: QuayPlan
    name = "quay"

    def describe(self) -> str:
        return "; ".join(self.quay.changes)


@dataclass(frozen=True)
class CreateRepo:
    name = "create"

    def describe(self) -> str:
        return "create repository"


@dataclass(frozen=True)
class SetSecrets:
    names: tuple[str, ...]
    name = "secrets"

    def describe(self) -> str:
        return f"set secrets {', '.join(self.names)}"


@dataclass(frozen=True)
class PushProject:
    """Render the project and push it as ``main`` (the repository is new, or empty)."""

    name = "push"

    def describe(self) -> str:
        return "push the generated project"


@dataclass(frozen=True)
class Configure:
    """Commit the build workflow with IMAGE_NAME / NO_PUSH as the manifest says."""

    text: str  # the workflow as it will be
    sha: str  # the blob it replaces
    name = "configure"

    def describe(self) -> str:
        return "change IMAGE_NAME/NO_PUSH"


@dataclass(frozen=True)
class SetVariable:
    """An Actions variable of the repository (HUB_DEPLOY_REPO: where deploy proposes images)."""

    variable: str
    value: str
    create: bool  # it does not exist yet (else it has another value)
    name = "variable"

    def describe(self) -> str:
        return f"set variable {self.variable}={self.value}"


Step = SetUpQuay | CreateRepo | SetSecrets | SetVariable | PushProject | Configure
#: The order steps are listed in.  They run in two phases (fleet.py): the registry, the
#: repository and its secrets, then the files (a push starts a build, which logs in to
#: the registry with the secrets).
ORDER = ("quay", "create", "push", "configure", "secrets", "variable")


@dataclass
class ImagePlan:
    image: Image
    steps: list[Step] = field(default_factory=list)
    repo: Repository | None = None
    status: str = "planned"  # planned, unchanged, done, failed, interrupted
    detail: str = ""
    rendering: Rendering | None = None  # the generated project, started before the first write

    def add(self, step: Step) -> None:
        self.steps = sorted([*self.steps, step], key=lambda s: ORDER.index(s.name))

    def get(self, kind: type[Any]) -> Any:
        return next((s for s in self.steps if isinstance(s, kind)), None)

    @property
    def writes(self) -> int:
        """The content-creating requests to GitHub its steps make (a push is git's)."""
        one_each = (CreateRepo, Configure, SetVariable)
        return sum(len(s.names) if isinstance(s, SetSecrets) else int(isinstance(s, one_each)) for s in self.steps)

    @property
    def actions(self) -> list[str]:
        return [s.name for s in self.steps]

    def describe(self) -> str:
        return "; ".join(s.describe() for s in self.steps) if self.steps else "nothing to do"


def summary(plans: list[ImagePlan]) -> list[dict[str, Any]]:
    return [
        {"repo": p.image.repo_name, "status": p.status, "actions": p.actions, "detail": p.detail or p.describe()} for p in plans
    ]
