"""quay.io (or a self-hosted Red Hat Quay) set up through its API: the repository, a
robot account that may push to it, and public visibility, so the robot's name and token
go straight into the GitHub secrets QUAY_USERNAME / QUAY_PASSWORD.

The token is an OAuth application token of the organisation (``QUAY_API_TOKEN``, sent
as ``Authorization: Bearer``), read from the environment only; the robot's token stays
in memory.  Every step reads first and writes only what is missing, so a re-run
changes nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from .errors import SetupError

DEFAULT_API = "https://quay.io/api/v1"
#: The scopes the OAuth token needs, and what for.
SCOPES = {
    "repo:create": "create the repository",
    "repo:admin": "grant the robot and set visibility",
    "org:admin": "create the robot",
    "user:admin": "list what an existing robot may write to",
}
TOKEN_VARIABLE = "QUAY_API_TOKEN"
#: The user's consent to make an existing private repository public.
MAKE_PUBLIC_VARIABLE = "HUB_IMAGE_QUAY_MAKE_PUBLIC"


def make_public_consent(environ: Mapping[str, str] | None = None) -> bool:
    return (os.environ if environ is None else environ).get(MAKE_PUBLIC_VARIABLE, "") in ("1", "true", "yes")


def api_token(environ: Mapping[str, str] | None = None) -> str | None:
    return (os.environ if environ is None else environ).get(TOKEN_VARIABLE) or None


def api_url(environ: Mapping[str, str] | None = None) -> str:
    return ((os.environ if environ is None else environ).get("QUAY_API_URL") or DEFAULT_API).rstrip("/")


def robot_shortname(repo_name: str) -> str:
    """A robot name Quay accepts (``^[a-z][a-z0-9_]{1,254}$``), derived from the repository."""
    base = re.sub(r"[^a-z0-9_]+", "_", repo_name.lower()).strip("_") or "image"
    if not base[0].isalpha():
        base = "r" + base
    return f"{base}_builder"[:255]


@dataclass
class QuayPlan:
    namespace: str
    name: str
    robot: str  # "namespace+short"
    public: bool = True  # the visibility a repository this creates gets
    create_repository: bool = False
    make_public: bool = False
    create_robot: bool = False
    grant_write: bool = False
    token: str = ""  # the robot's token, in memory only

    @property
    def changes(self) -> list[str]:
        """What :meth:`Quay.apply` will do (or did), in words."""
        ns_name = f"{self.namespace}/{self.name}"
        return [
            text
            for wanted, text in (
                (self.create_repository, f"create quay.io repository {ns_name} ({'public' if self.public else 'private'})"),
                (self.make_public, f"make quay.io/{ns_name} public (the hub pulls it without credentials)"),
                (self.create_robot, f"create robot {self.robot}"),
                (self.grant_write, f"give {self.robot} write on {ns_name}"),
            )
            if wanted
        ]

    @property
    def secrets(self) -> dict[str, str]:
        """The GitHub secrets the build logs in with: the robot's name and token."""
        return {"QUAY_USERNAME": self.robot, "QUAY_PASSWORD": self.token}


class Quay:
    def __init__(self, token: str, url: str | None = None):
        self.url = (url or DEFAULT_API).rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Quay:
        """The client QUAY_API_TOKEN and QUAY_API_URL describe."""
        token = api_token(environ)
        if token is None:
            raise SetupError(f"{TOKEN_VARIABLE} is not set")
        return cls(token, api_url(environ))

    def _call(self, method: str, path: str, step: str, scope: str | None = None, **kwargs: Any) -> requests.Response:
        try:
            answer = self.session.request(method, self.url + path, timeout=30, **kwargs)
        except requests.RequestException as exc:
            raise SetupError(f"{step}: cannot reach the Quay API at {self.url} ({type(exc).__name__})") from None
        if answer.status_code == 401:
            raise SetupError(
                f"{step}: {TOKEN_VARIABLE} was refused (401); create a new OAuth application token in the organisation"
            )
        if answer.status_code == 403 and scope:
            raise SetupError(
                f"{step}: the Quay token may not do this (403); give it the {scope!r} scope "
                f"(needs: {', '.join(SCOPES)}) and admin rights in the organisation"
            )
        if answer.status_code >= 500:
            raise SetupError(f"{step}: the Quay API answered {answer.status_code}; try again later")
        return answer

    def plan(self, namespace: str, name: str, repo_name: str, public: bool = True, make_public: bool = False) -> QuayPlan:
        """Read what exists; say what :meth:`apply` will change.  Nothing is widened
        unasked: an existing private repository is made public only with ``make_public``,
        and an existing robot is adopted only when it may write to this repository alone."""
        plan = QuayPlan(namespace, name, f"{namespace}+{robot_shortname(repo_name)}", public)
        org = self._call("GET", f"/organization/{namespace}", "reading the Quay organisation")
        if org.status_code == 404:
            raise SetupError(
                f"image_name: the Quay organisation {namespace!r} does not exist; create it on quay.io, or change image_name"
            )
        repo = self._call("GET", f"/repository/{namespace}/{name}", "reading the Quay repository")
        if repo.status_code == 403 or (repo.status_code == 200 and not repo.json().get("can_admin")):
            raise SetupError(
                f"image_name: quay.io/{namespace}/{name} exists and this Quay token cannot administer it; "
                "ask its owner for admin rights (or give the token 'repo:admin'), or change image_name"
            )
        if repo.status_code == 404:
            plan.create_repository = True
        elif repo.status_code == 200:
            if public and not repo.json().get("is_public"):
                if not make_public:
                    raise SetupError(
                        f"image_name: quay.io/{namespace}/{name} is private, and hub-image makes nothing public unasked; "
                        f"make it public on quay.io, or consent with {MAKE_PUBLIC_VARIABLE}=1"
                    )
                plan.make_public = True
        else:
            raise SetupError(f"reading the Quay repository: {self._message(repo)}")
        robot = self._call(
            "GET", f"/organization/{namespace}/robots/{plan.robot.split('+', 1)[1]}", "reading the robot", "org:admin"
        )
        if robot.status_code == 200:
            self._check_robot_scope(plan, name)
            plan.token = robot.json().get("token") or ""
            if not plan.token:
                raise SetupError(
                    f"the robot {plan.robot} exists but its token cannot be read with this Quay token; "
                    "use a token of an organisation admin, or delete the robot"
                )
        else:
            plan.create_robot = True
        if repo.status_code == 200 and robot.status_code == 200:
            perm = self._call(
                "GET",
                f"/repository/{namespace}/{name}/permissions/user/{plan.robot}",
                "reading the robot's permission",
                "repo:admin",
            )
            if perm.status_code != 200 or perm.json().get("role") not in ("write", "admin"):
                plan.grant_write = True
        else:
            plan.grant_write = True
        return plan

    def apply(self, plan: QuayPlan, description: str) -> QuayPlan:
        """Make what ``plan`` says is missing, in order: repository, visibility, robot, grant."""
        ns, name, short = plan.namespace, plan.name, plan.robot.split("+", 1)[1]
        if plan.create_repository:
            visibility = "public" if plan.public else "private"
            made = self._call(
                "POST",
                "/repository",
                "creating the Quay repository",
                "repo:create",
                json={"repository": name, "namespace": ns, "visibility": visibility, "description": description},
            )
            if made.status_code == 400 and "exists" in self._message(made):
                raise SetupError(
                    f"image_name: quay.io/{ns}/{name} exists and this Quay token cannot administer it; "
                    "ask its owner for admin rights, or change image_name"
                )
            self._expect(made, 201, "creating the Quay repository")
        if plan.make_public:
            step = "making the Quay repository public"
            body = {"visibility": "public"}
            self._expect(
                self._call("POST", f"/repository/{ns}/{name}/changevisibility", step, "repo:admin", json=body), 200, step
            )
        if plan.create_robot:
            body = {"description": f"Pushes {ns}/{name} from GitHub Actions (hub-image)"}
            made = self._call("PUT", f"/organization/{ns}/robots/{short}", "creating the robot", "org:admin", json=body)
            self._expect(made, 201, "creating the robot")
            plan.token = made.json()["token"]
        if plan.grant_write:
            step = "granting the robot write"
            path = f"/repository/{ns}/{name}/permissions/user/{plan.robot}"
            self._expect(self._call("PUT", path, step, "repo:admin", json={"role": "write"}), 200, step)
        return plan

    def _check_robot_scope(self, plan: QuayPlan, name: str) -> None:
        """An existing robot is adopted only when Quay lists read or write on this
        repository alone: its token must not open any other repository."""
        namespace, short = plan.robot.split("+", 1)
        listed = self._call(
            "GET", f"/organization/{namespace}/robots/{short}/permissions", "reading the robot's permissions", "user:admin"
        )
        self._expect(listed, 200, "reading the robot's permissions")
        held = [(p["repository"]["name"], p["role"]) for p in listed.json().get("permissions", [])]
        wider = sorted({f"{namespace}/{repo}" for repo, role in held if repo != name or role not in ("read", "write")})
        if wider:
            raise SetupError(
                f"the robot {plan.robot} exists and can also reach {', '.join(wider)}; hub-image adopts only a robot "
                f"limited to {namespace}/{name}: remove its other permissions on quay.io, or delete the robot"
            )

    @staticmethod
    def _message(answer: requests.Response) -> str:
        try:
            body = answer.json()
        except ValueError:
            return f"HTTP {answer.status_code}"
        return str(body.get("error_message") or body.get("detail") or f"HTTP {answer.status_code}")

    def _expect(self, answer: requests.Response, status: int, step: str) -> None:
        if answer.status_code != status:
            raise SetupError(f"{step}: Quay answered {answer.status_code}: {self._message(answer)}")


def split_image(image_name: str) -> tuple[str, str]:
    """``NS/NAME`` of a quay.io image (its answer ``image_name``)."""
    namespace, _, name = image_name.partition("/")
    return namespace, name


def robot_credentials(
    image_name: str, repo_name: str, description: str, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Set up quay.io for ``image_name`` and return ({QUAY_USERNAME, QUAY_PASSWORD}, what
    was done)."""
    quay = Quay.from_environment(environ)
    namespace, name = split_image(image_name)
    plan = quay.apply(quay.plan(namespace, name, repo_name, make_public=make_public_consent(environ)), description)
    return plan.secrets, plan.changes
