"""`hub-image fleet update`: the template's later changes (and the manifest's changed
answers) to every repository of a fleet, as one pull request per repository.

Each repository is cloned, updated as `hub-image update` updates a checkout (three-way,
its own edits kept), committed on the branch ``hub-image/update`` and pushed; a pull
request from that branch is opened, a draft when something did not merge.  Nothing is
ever pushed to the default branch.  A re-run computes the same update again: when the
branch already holds it nothing is written, otherwise the branch is replaced and the
open pull request updated, never a second one opened.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from . import git, github_api, record, source
from .errors import HubImageError
from .fleet import NOT_IN_MANIFEST, Fleet, Image, ImagePlan
from .source import Source
from .update import Result, update

BRANCH = "hub-image/update"
#: Writes per repository at most: the push of the branch, and the pull request.
WRITES_PER_REPO = 2


@dataclass
class FleetUpdate:
    fleet: Fleet
    to: str | None = None

    @cached_property
    def source(self) -> Source:
        """The fleet's template: the one the operator named (``--template``), or the
        installed hub-image's; the only one a fleet update runs."""
        return Source(*record.template_source(self.fleet.template))

    def run(self, on_done=lambda plan: None) -> list[ImagePlan]:
        """Check the token (it must be allowed to change workflow files), then update
        every repository of the manifest."""
        fleet = self.fleet
        fleet.prepare()  # a classic token without the `workflow` scope stops here, in one line
        fleet.pacer.check_the_hour(WRITES_PER_REPO * len(fleet.manifest.images), fleet.max_wait == float("inf"), fleet.notify)
        return fleet.each(self.update_image, on_done, "updating")

    def update_image(self, image: Image) -> ImagePlan:
        fleet, plan = self.fleet, ImagePlan(image)
        full_name = f"{fleet.manifest.owner}/{image.repo_name}"
        repo = github_api.get_repo(fleet.client(), full_name)
        if repo is None:
            plan.status, plan.detail = "failed", f"{full_name} does not exist yet; run: hub-image fleet apply MANIFEST"
            return plan
        base = repo.default_branch
        with tempfile.TemporaryDirectory(prefix="hub-image-fleet-update-") as tmp:
            clone = Path(tmp) / image.repo_name
            auth = git.auth_env(repo.clone_url, fleet.token)
            git.run(Path(tmp), "clone", "--quiet", "--branch", base, repo.clone_url, str(clone), env=auth)
            if not (clone / record.FILE).is_file():
                raise HubImageError(
                    f"{full_name} has no {record.FILE}; in a clone run: hub-image update --adopt, commit and push it"
                )
            recorded = record.read(clone)["template"]
            if not source.same(recorded, self.source.url):
                plan.status = "failed"
                plan.detail = (
                    f"records template {recorded}, not the fleet's {self.source.url}: update it by hand or fix its {record.FILE}"
                )
                return plan
            result = update(clone, self.to, self._sets(image, clone), self.source)
            if not result.changed:
                plan.status, plan.detail = "unchanged", f"up to date with the template ({result.new[:12]})"
                return plan
            git.run(clone, "add", "--all")  # conflicts too: the draft shows their markers
            git.run(clone, "checkout", "--quiet", "-B", BRANCH)
            git.run(clone, "commit", "--quiet", "--no-verify", "--message", _title(result), "--message", _body(result))
            remote = git.run(clone, "ls-remote", "origin", f"refs/heads/{BRANCH}", env=auth).split("\t")[0]
            same = False
            if remote:
                git.run(clone, "fetch", "--quiet", "origin", f"refs/heads/{BRANCH}", env=auth)
                same = git.output(clone, "rev-parse", "FETCH_HEAD^{tree}") == git.output(clone, "rev-parse", "HEAD^{tree}")
            open_prs = list(repo.get_pulls(state="open", head=f"{fleet.manifest.owner}:{BRANCH}", base=base))
            draft = bool(result.conflicts or result.rejected)
            if same and open_prs:
                plan.status, plan.detail = "unchanged", f"pull request #{open_prs[0].number} already holds this update"
                return plan
            if not same:
                with fleet.pacer.write():
                    git.push(clone, "origin", f"+HEAD:refs/heads/{BRANCH}", fleet.token)
                plan.actions.append("push")
            with fleet.pacer.write():
                if open_prs:
                    pr = open_prs[0]
                    pr.edit(title=_title(result), body=_body(result))
                    plan.detail = f"updated pull request #{pr.number}"
                else:
                    pr = repo.create_pull(base=base, head=BRANCH, title=_title(result), body=_body(result), draft=draft)
                    plan.detail = f"opened {'draft ' if draft else ''}pull request #{pr.number}"
            plan.actions.append("pull-request")
            if draft:
                plan.detail += f" (to resolve: {', '.join(result.conflicts + result.rejected)})"
            plan.status = "done"
        return plan

    @staticmethod
    def _sets(image: Image, clone: Path) -> dict[str, Any]:
        """The manifest's answers that differ from what the repository records."""
        recorded = record.answers(record.read(clone))
        return {
            k: v for k, v in image.answers.items() if k not in NOT_IN_MANIFEST and not k.startswith("_") and recorded.get(k) != v
        }


def _title(result: Result) -> str:
    return f"Update from the hub-image template ({result.old[:7]}..{result.new[:7]})"


def _body(result: Result) -> str:
    lines = [
        "hub-image brought the template's changes to this repository (`hub-image fleet update`); "
        "this repository's own changes are kept.",
        "",
        "Changed: " + ", ".join(f"`{p}`" for p in result.changed),
    ]
    if result.conflicts:
        lines += ["", "**To resolve before merging** (conflict markers): " + ", ".join(f"`{p}`" for p in result.conflicts)]
    if result.rejected:
        lines += ["", "**Not applied** (see the `.rej` files): " + ", ".join(f"`{p}`" for p in result.rejected)]
    return "\n".join(lines)
