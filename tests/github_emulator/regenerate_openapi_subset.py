"""Regenerate openapi-subset.json: the part of GitHub's official OpenAPI description
that the emulator serves and checks every request and response against.

The source is `generated/api.github.com.json` in the npm package `@octokit/openapi`:

    python tests/github_emulator/regenerate_openapi_subset.py            # npm pack @octokit/openapi
    python tests/github_emulator/regenerate_openapi_subset.py FULL.json  # a copy you have

It keeps the operations in OPERATIONS and every component they reference, and drops
prose (descriptions, summaries, examples) that validation does not read.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "openapi-subset.json"
PACKAGE = "@octokit/openapi"
MEMBER = "package/generated/api.github.com.json"

#: The REST operations hub-image uses (path template -> methods).
OPERATIONS = {
    "/user": ["get"],
    "/users/{username}": ["get"],
    "/orgs/{org}": ["get"],
    "/user/repos": ["post"],
    "/orgs/{org}/repos": ["post"],
    "/repos/{owner}/{repo}": ["get", "patch"],
    "/repos/{owner}/{repo}/contents/{path}": ["get", "put"],
    "/repos/{owner}/{repo}/actions/secrets": ["get"],
    "/repos/{owner}/{repo}/actions/secrets/public-key": ["get"],
    "/repos/{owner}/{repo}/actions/secrets/{secret_name}": ["get", "put"],
    "/repos/{owner}/{repo}/actions/variables": ["get", "post"],
    "/repos/{owner}/{repo}/actions/variables/{name}": ["get", "patch"],
    "/orgs/{org}/actions/secrets/public-key": ["get"],
    "/orgs/{org}/actions/secrets/{secret_name}": ["get", "put"],
    "/orgs/{org}/actions/secrets/{secret_name}/repositories": ["get", "put"],
    "/repos/{owner}/{repo}/pulls": ["get", "post"],
    "/repos/{owner}/{repo}/pulls/{pull_number}": ["get", "patch"],
    "/rate_limit": ["get"],
}
PROSE = {"description", "summary", "externalDocs", "examples", "example", "x-github", "x-githubEnterpriseOverlays"}


def load_full(argv: list[str]) -> dict:
    if argv:
        return json.loads(Path(argv[0]).read_text())
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        (tgz,) = Path(tmp).glob("*.tgz")
        with tarfile.open(tgz) as tar:
            member = tar.extractfile(MEMBER)
            assert member is not None, f"{MEMBER} is not in {tgz.name}"
            return json.load(member)


def strip_prose(node, in_properties: bool = False):
    """Drop prose keys, but never a property that happens to be called e.g. `description`."""
    if isinstance(node, dict):
        return {
            k: strip_prose(v, in_properties=(k == "properties" and not in_properties))
            for k, v in node.items()
            if in_properties or k not in PROSE
        }
    if isinstance(node, list):
        return [strip_prose(v) for v in node]
    return node


def refs(node) -> set[str]:
    found = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for v in node.values():
            found |= refs(v)
    elif isinstance(node, list):
        for v in node:
            found |= refs(v)
    return found


def subset(full: dict) -> dict:
    paths = {}
    for path, methods in OPERATIONS.items():
        item = full["paths"][path]
        paths[path] = {m: item[m] for m in methods}
        if "parameters" in item:
            paths[path]["parameters"] = item["parameters"]
    components: dict[str, dict] = {}
    todo = refs(paths)
    done: set[str] = set()
    while todo:
        ref = todo.pop()
        if ref in done:
            continue
        done.add(ref)
        _, _, kind, name = ref.split("/", 3)
        value = full["components"][kind][name]
        components.setdefault(kind, {})[name] = value
        todo |= refs(value)
    doc = {
        "openapi": full["openapi"],
        "info": {"title": full["info"]["title"], "version": full["info"]["version"], "x-source": f"npm {PACKAGE}"},
        "paths": paths,
        "components": {k: dict(sorted(v.items())) for k, v in sorted(components.items())},
    }
    return strip_prose(doc)


def main(argv: list[str]) -> None:
    doc = subset(load_full(argv))
    OUT.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    print(
        f"{OUT.name}: {len(doc['paths'])} paths, {sum(len(v) for v in doc['components'].values())} components, "
        f"{OUT.stat().st_size // 1024} KiB (spec {doc['info']['version']})"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
