"""What each container registry needs: where images go, how the workflow logs in, and
which GitHub secrets (read from which environment variables) it uses.

The choice names are an interface: manifests and scripts use them.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Registry(NamedTuple):
    choice: str
    title: str
    host: str = ""  # fixed host; '' = the `registry_host` answer names it
    host_pattern: str = ""  # what a `registry_host` answer must look like
    host_example: str = ""
    #: GitHub secret name -> environment variable hub-image reads it from (the same name).
    secrets: tuple[str, ...] = ()
    #: How the workflow authenticates, always through the action's DOCKER_USERNAME /
    #: DOCKER_PASSWORD inputs (the action logs in inside its own container, so no
    #: credential file is ever written into the checkout): "inputs" (two secrets),
    #: "github" (the workflow's GITHUB_TOKEN), "gar" (a service-account key, or an OIDC
    #: access token from a step before), "ecr" (a short-lived password from a step
    #: before, after AWS credentials from OIDC or an access key).
    login: str = "inputs"
    #: Repository variables that switch the login to OIDC (no stored key), if offered.
    oidc_vars: tuple[str, ...] = ()
    #: Secrets that are several lines long (a JSON key): read from a file, never a prompt.
    multiline_secrets: tuple[str, ...] = ()

    @property
    def visible_secrets(self) -> tuple[str, ...]:
        """The first of a pair is a user name or key id: asked visibly; the rest hidden."""
        return self.secrets[:1] if len(self.secrets) == 2 else ()

    setup_hint: str = ""

    def full_host(self, registry_host: str = "") -> str:
        return self.host or registry_host


REGISTRIES: dict[str, Registry] = {
    r.choice: r
    for r in (
        Registry(
            "quay.io",
            "Quay.io",
            host="quay.io",
            secrets=("QUAY_USERNAME", "QUAY_PASSWORD"),
            setup_hint="create the repository (public) and a robot account with write permission; "
            "QUAY_USERNAME is the robot's name (namespace+robot), QUAY_PASSWORD its token",
        ),
        Registry(
            "ghcr.io",
            "GitHub Container Registry",
            host="ghcr.io",
            login="github",
            setup_hint="nothing to create: the workflow pushes with its own GITHUB_TOKEN (packages: write); "
            "after the first push, make the package public in its settings",
        ),
        Registry(
            "docker.io",
            "Docker Hub",
            host="docker.io",
            secrets=("DOCKERHUB_USERNAME", "DOCKERHUB_TOKEN"),
            setup_hint="create the repository (public) and an access token with read & write scope; "
            "DOCKERHUB_USERNAME is your Docker ID, DOCKERHUB_TOKEN the token",
        ),
        Registry(
            "artifact-registry",
            "Google Artifact Registry",
            login="gar",
            secrets=("GCP_SA_KEY",),
            multiline_secrets=("GCP_SA_KEY",),
            oidc_vars=("GCP_WORKLOAD_IDENTITY_PROVIDER", "GCP_SERVICE_ACCOUNT"),
            host_pattern=r"[a-z0-9]+(?:-[a-z0-9]+)*-docker\.pkg\.dev/[a-z][a-z0-9-]{4,28}[a-z0-9]",
            host_example="us-central1-docker.pkg.dev/my-project",
            setup_hint="create a Docker repository in Artifact Registry and a service account that may write to it "
            "(Artifact Registry Writer); the image_name is <repository>/<image>",
        ),
        Registry(
            "ecr",
            "Amazon ECR",
            login="ecr",
            secrets=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
            oidc_vars=("AWS_ROLE_ARN",),
            host_pattern=r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com",
            host_example="123456789012.dkr.ecr.us-east-1.amazonaws.com",
            setup_hint="create the repository, and an IAM role (for OIDC) or user (for an access key) that may push to it",
        ),
        Registry(
            "acr",
            "Azure Container Registry",
            secrets=("ACR_USERNAME", "ACR_PASSWORD"),
            host_pattern=r"[a-z0-9]{5,50}\.azurecr\.io",
            host_example="myhub.azurecr.io",
            setup_hint="enable the registry's admin user (Access keys); "
            "ACR_USERNAME is the registry name, ACR_PASSWORD the admin access key",
        ),
        Registry(
            "other",
            "another registry",
            secrets=("REGISTRY_USERNAME", "REGISTRY_PASSWORD"),
            host_pattern=r"(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+)(?::\d{1,5})?(?:/[a-z0-9._-]+)*",
            host_example="registry.example.org",
            setup_hint="create the repository and a user (or robot) that may push to it; "
            "REGISTRY_USERNAME and REGISTRY_PASSWORD are its credentials",
        ),
    )
}

#: The registry choices, the default first.
CHOICES = tuple(REGISTRIES)


def get(choice: str) -> Registry:
    return REGISTRIES[choice]


def secret_sources(registry: str) -> dict[str, str]:
    """GitHub secret name -> the environment variable hub-image reads its value from."""
    return {name: name for name in REGISTRIES[registry].secrets}


def host_matches(registry: str, host: str) -> bool:
    pattern = REGISTRIES[registry].host_pattern
    return bool(pattern) and re.fullmatch(pattern, host) is not None


def ecr_region(host: str) -> str:
    """The AWS region in an ECR host (123456789012.dkr.ecr.REGION.amazonaws.com)."""
    return host.split(".")[3]


def login_host(host: str) -> str:
    """The host part of a registry host that may carry a path (Artifact Registry's project)."""
    return host.split("/", 1)[0]


def _expr(text: str) -> str:
    return "${{ " + text + " }}"


#: The action's DOCKER_USERNAME / DOCKER_PASSWORD values for each kind of login.
def docker_login(reg: Registry) -> tuple[str, str]:
    if reg.login == "github":
        return _expr("github.actor"), _expr("secrets.GITHUB_TOKEN")
    if reg.login == "gar":
        return (
            _expr("steps.gcp.outputs.access_token && 'oauth2accesstoken' || '_json_key'"),
            _expr("steps.gcp.outputs.access_token || secrets.GCP_SA_KEY"),
        )
    if reg.login == "ecr":
        return "AWS", _expr("steps.ecr.outputs.password")
    return _expr(f"secrets.{reg.secrets[0]}"), _expr(f"secrets.{reg.secrets[1]}")


def describe(choice: str, host: str) -> dict:
    """Everything the template needs about a registry, for Jinja (``registry_info``)."""
    reg = REGISTRIES[choice]
    full = reg.full_host(host)
    username, password = docker_login(reg)
    return {
        "docker_username": username,
        "docker_password": password,
        "oidc_vars": list(reg.oidc_vars),
        "choice": choice,
        "title": reg.title,
        "host": full,
        "login": reg.login,
        "login_host": login_host(full),
        "region": ecr_region(full) if reg.login == "ecr" else "",
        "secrets": list(reg.secrets),
        "setup_hint": reg.setup_hint,
    }


def choice_for_host(host: str) -> str:
    """The registry choice whose images live on ``host`` (a workflow's DOCKER_REGISTRY)."""
    host = host.strip().lower()
    for reg in REGISTRIES.values():
        if host and (host == reg.host or host_matches(reg.choice, host)):
            return reg.choice
    return "other"
