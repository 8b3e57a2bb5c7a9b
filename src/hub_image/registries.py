"""What each container registry needs: its host and the secrets the workflow reads."""

from __future__ import annotations

#: Registry choice -> {GitHub secret name: environment variable it is read from}.
SECRETS = {
    "quay.io": {"QUAY_USERNAME": "QUAY_USERNAME", "QUAY_PASSWORD": "QUAY_PASSWORD"},
}

#: The registry choices, the default first.
CHOICES = tuple(SECRETS)


def secret_sources(registry: str) -> dict[str, str]:
    return dict(SECRETS[registry])
