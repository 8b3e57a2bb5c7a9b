"""Bootstrapping N hub images: `hub-image fleet apply` against the naive way, in one run.

Both talk to the local GitHub emulator with 100 ms latency per request and GitHub's
secondary write limits (80 content-creating requests a minute, 500 an hour) enforced,
at GitHub's own pace: the pace users meet.

- naive: one `cookiecutter` process per image, `github_setup=create`, repository
  secrets, PyGithub's default pacing (0.25 s between requests, 1 s between writes).
- fleet: one `hub-image fleet apply` over a manifest of the N images (repository
  secrets), and again with `org_secrets: true`.

    python benchmarks/fleet_benchmark.py [--sizes 10 100] [--ways naive fleet fleet-org]

Prints a Markdown table: wall time, API requests and writes per image, rate-limit
violations, the ratio naive/fleet, the lower bound the write limits set (80 writes a
"minute", 500 an "hour"), the ratio of the wall time to that bound, and the time before
the first write (start, token check, plan) and after the last (the answer, any pushes
left, the end), which no write limit governs.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from github_emulator.server import GitHubEmulator  # noqa: E402

TOKEN = "ghp_benchmark"
BIN = Path(sys.executable).parent
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def emulator(root: Path, minute: float) -> GitHubEmulator:
    emu = GitHubEmulator(root, latency=0.1, writes_per_minute=80, time_scale=minute / 60)
    emu.start()
    emu.add_user("alice", TOKEN, scopes=["repo", "workflow", "admin:org"])
    emu.add_org("bench-org", members=["alice"])
    return emu


def base_env(emu: GitHubEmulator, work: Path, minute: float) -> dict:
    config = work / "cc.yaml"
    config.write_text(f"replay_dir: {work / 'replay'}\ncookiecutters_dir: {work / 'cc'}\n")
    return dict(
        os.environ,
        GITHUB_API_URL=emu.url,
        GITHUB_TOKEN=TOKEN,
        QUAY_USERNAME="bench-org+builder",
        QUAY_PASSWORD="benchmark-secret",
        COOKIECUTTER_CONFIG=str(config),
        HUB_IMAGE_TEMPLATE_DIR=str(ROOT),
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
    )


def naive(n: int, work: Path, minute: float) -> dict:
    emu = emulator(work / "gh", minute)
    env = base_env(emu, work, minute)
    start = time.monotonic()
    for i in range(n):
        out = work / "out"
        result = subprocess.run(
            [
                str(BIN / "cookiecutter"),
                "--no-input",
                str(ROOT),
                "-o",
                str(out),
                f"repo_name=hub-{i}",
                "github_owner=bench-org",
                "github_setup=create",
                f"image_name=bench-org/hub-{i}",
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0 or "is set up" not in result.stdout:
            raise SystemExit(f"naive run failed at image {i}: {result.stderr[-500:]}")
    return measure(emu, n, start)


def fleet(n: int, work: Path, minute: float, org_secrets: bool) -> dict:
    emu = emulator(work / "gh", minute)
    env = base_env(emu, work, minute)
    manifest = work / "fleet.yaml"
    images = "".join(f"  - repo_name: hub-{i}\n    image_name: bench-org/hub-{i}\n" for i in range(n))
    manifest.write_text(f"owner: bench-org\norg_secrets: {str(org_secrets).lower()}\nimages:\n{images}")
    start = time.monotonic()
    result = subprocess.run(
        [str(BIN / "hub-image"), "fleet", "apply", "--json", "--wait", str(manifest)], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"fleet run failed: {result.stderr[-800:]}")
    return measure(emu, n, start)


def measure(emu: GitHubEmulator, n: int, start: float) -> dict:
    end = time.monotonic()
    requests = emu.requests()
    writes = [r for r in requests if r.startswith(WRITES)]
    assert len(emu.repos) == n, f"{len(emu.repos)} repos, expected {n}"
    emu.stop()
    seconds = end - start
    return {
        "before": emu.write_times[0] - start,  # start, the token check and the plan
        "after": end - emu.write_times[-1],  # the last write's answer, the pushes left, the end
        "seconds": seconds,
        "requests": len(requests) / n,
        "writes": len(writes) / n,
        "total_writes": len(writes),
        "violations": emu.rate_limit_violations,
        "spec_violations": len(emu.violations),
    }


def bound(total_writes: int, minute: float) -> float:
    """The least time the write limits allow for ``total_writes`` (80 a minute, 500 an hour)."""
    by_minute = max(0, math.ceil(total_writes / 80) - 1) * minute
    by_hour = max(0, math.ceil(total_writes / 500) - 1) * minute * 60
    return max(by_minute, by_hour)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--ways", nargs="+", default=["naive", "fleet", "fleet-org"], choices=["naive", "fleet", "fleet-org"])
    args = parser.parse_args()
    args.minute = 60.0  # GitHub's minute: no compressed one, whose figures no user meets
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            results = {}
            ways = {
                "naive": ("naive", lambda w, n=n: naive(n, w, args.minute)),
                "fleet": ("fleet", lambda w, n=n: fleet(n, w, args.minute, False)),
                "fleet-org": ("fleet, org secrets", lambda w, n=n: fleet(n, w, args.minute, True)),
            }
            for name, run in (ways[w] for w in args.ways):
                work = Path(tmp) / name.replace(", ", "-").replace(" ", "-")
                work.mkdir()
                results[name] = run(work)
                print(f"N={n} {name}: {results[name]['seconds']:.1f} s", file=sys.stderr, flush=True)
            for name, r in results.items():
                naive_ratio = f"{results['naive']['seconds'] / r['seconds']:.1f}x" if "naive" in results else "-"
                rows.append((n, name, r, naive_ratio, bound(r["total_writes"], args.minute)))
    print(f'Emulator: 100 ms per request, 80 writes per {args.minute:g} s "minute", 500 per "hour" (GitHub: 60 s).\n')
    print(
        "| images | way | wall time (s) | bound from the write limits (s) | this / bound "
        "| before the first write (s) | after the last write (s) | naive / this "
        "| requests per image | writes per image | rate-limit violations | spec violations |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n, name, r, naive_ratio, low in rows:
        to_bound = f"{r['seconds'] / low:.2f}x" if low else "-"
        print(
            f"| {n} | {name} | {r['seconds']:.1f} | {low:.1f} | {to_bound} | {r['before']:.1f} | {r['after']:.1f} | "
            f"{naive_ratio} | {r['requests']:.2f} | {r['writes']:.2f} | {r['violations']} | {r['spec_violations']} |"
        )


if __name__ == "__main__":
    main()
