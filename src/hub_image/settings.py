"""Every environment variable hub-image reads, and what for: the reference the docs are
built from (a test checks that the package reads no other)."""

from __future__ import annotations

from . import registries

#: name -> what it does (one sentence).
ENVIRONMENT: dict[str, str] = {
    "GITHUB_TOKEN": "The GitHub token for `github`, `deploy`, `from-template --push` and the fleet commands (or `GH_TOKEN`).",
    "GH_TOKEN": "Read when `GITHUB_TOKEN` is not set.",
    "GITHUB_API_URL": "GitHub's REST API (default `https://api.github.com`; GitHub Enterprise Server: `https://HOST/api/v3`).",
    "GITHUB_REPOSITORY": "`from-template`: the copy's `owner/name`, as GitHub Actions sets it.",
    "GITHUB_EVENT_PATH": "`from-template`: the event payload GitHub Actions writes (the copy's description).",
    "HUB_IMAGE_TEMPLATE_DIR": "A template directory to render instead of the installed one (as `--template` for the fleet).",
    "HUB_IMAGE_MAX_WAIT": "The longest wait (seconds) GitHub may ask for before a run stops and says when to resume (300).",
    "HUB_IMAGE_SECONDS_BETWEEN_REQUESTS": "PyGithub's pause between requests for one repository's setup (0.25 s; 0 on a GitHub "
    "Enterprise Server without secondary limits).",
    "HUB_IMAGE_SECONDS_BETWEEN_WRITES": "PyGithub's pause between writes for one repository's setup (1 s, GitHub's advice).",
    "HUB_IMAGE_WRITES_PER_MINUTE": "The fleet's content-creating requests a minute (GitHub's 80); lower it when other "
    "automation shares the token.",
    "HUB_IMAGE_WRITES_PER_HOUR": "The fleet's content-creating requests an hour (GitHub's 500); lower it likewise.",
    "QUAY_API_TOKEN": "An OAuth application token of the Quay organisation: quay.io is then set up through its API.",
    "QUAY_API_URL": "Quay's API (default `https://quay.io/api/v1`; a self-hosted Red Hat Quay's otherwise).",
    "HUB_IMAGE_QUAY_MAKE_PUBLIC": "`1`: consent to make an existing private quay.io repository public (else it stays "
    "private and setup stops).",
    "HUB_IMAGE_RENDER_SOURCE": "Set by hub-image for the template it renders (where it came from); not for users.",
    "HUB_IMAGE_RENDER_COMMIT": "Set by hub-image for the template it renders (its commit); not for users.",
}
for _name in sorted({s for r in registries.REGISTRIES.values() for s in r.secrets}):
    ENVIRONMENT[_name] = (
        "A registry credential that `github`, `github_setup` and fleets put into the GitHub secret of the same name."
    )
    ENVIRONMENT[f"{_name}_FILE"] = f"A file holding `{_name}` (for a value several lines long, such as a JSON key)."
