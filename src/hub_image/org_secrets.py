"""A fleet's organisation secrets (``org_secrets: true``): one secret per name, visible to
exactly the fleet's repositories that use it (added to whatever it already lists)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from github import Github, GithubException

from . import github_api
from .fleet_steps import ImagePlan
from .manifest import Manifest

#: Each name the manifest uses that exists: the repository ids it is visible to (None:
#: not to selected repositories only).
Existing = dict[str, "set[int] | None"]


@dataclass(frozen=True)
class OrgSecretChange:
    name: str
    repository_ids: tuple[int, ...]
    create: bool  # a new secret (needs its value), or more repositories for one that exists
    text: str


@dataclass
class OrgSecrets:
    manifest: Manifest
    client: Callable[[], Github]

    def read(self) -> Existing:
        """What exists now, one thread per name."""

        def one(name: str) -> tuple[str, set[int] | None, bool]:
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
            return {name: current for name, current, exists in pool.map(one, names) if exists}

    def changes(self, plans: list[ImagePlan], existing: Existing) -> list[OrgSecretChange]:
        """What must change for ``plans``' repositories to see the secrets they use."""
        ids = {p.image.repo_name: p.repo.id for p in plans if p.repo is not None}
        names = {p.image.repo_name for p in plans}
        out = []
        for name, repos in sorted(self.manifest.secret_names().items()):
            wanted = {ids[r] for r in repos if r in ids}
            if name not in existing:
                text = f"create organisation secret {name} for {len(repos & names)} repositories"
                out.append(OrgSecretChange(name, tuple(sorted(wanted)), True, text))
                continue
            current = existing[name]
            if current is not None and not wanted <= current:
                text = f"give organisation secret {name} to {len(wanted - current)} more repositories"
                out.append(OrgSecretChange(name, tuple(sorted(current | wanted)), False, text))
        return out

    def apply(self, plans: list[ImagePlan], values: dict[str, str], pace) -> tuple[list[str], bool]:
        """Read the secrets again (and the organisation's key), and make the changes: what
        was done, or the one line that says why not; and whether it failed."""
        try:
            return self._apply(plans, values, pace), False
        except GithubException as exc:
            return [github_api.explain(exc, "setting the organisation secrets", self.manifest.owner)], True
        except requests.RequestException as exc:
            return [f"setting the organisation secrets: {github_api.describe_network_error(exc)}"], True

    def _apply(self, plans: list[ImagePlan], values: dict[str, str], pace) -> list[str]:
        org = self.client().get_organization(self.manifest.owner)
        with ThreadPoolExecutor(max_workers=1) as pool:
            key = pool.submit(lambda: self.client().get_organization(self.manifest.owner).get_public_key())
            changes = self.changes(plans, self.read())
            public_key = key.result()
        for change in changes:
            if not change.create:
                github_api.set_secret_repositories(org, change.name, list(change.repository_ids), pace)
        create = {c.name: list(c.repository_ids) for c in changes if c.create}
        if create:
            github_api.write_secrets(org, {n: values[n] for n in create}, pace, create, public_key)
        return [c.text for c in changes]
