"""Where people wait at the command line, measured side by side in one run (medians):

- one generation, `cookiecutter --no-input` of this template against the same command on
  jupyter/cookiecutter-docker-stacks (the peer; goal: within 2.0x);
- `hub-image --help` and every subcommand's `--help` (goal: 0.25 s each);
- `hub-image configure` on a generated repo (goal: 0.4 s).

Python runs as it does by default (PYTHONDONTWRITEBYTECODE is unset), after one
untimed generation of each template.

    python benchmarks/cli_benchmark.py [--runs 7] [--peer PATH]

The peer is a checkout of https://github.com/jupyter/cookiecutter-docker-stacks: --peer,
$HUB_IMAGE_PEER_TEMPLATE, or a clone when GitHub is reachable; without one its row says
"skipped".  Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PEER_URL = "https://github.com/jupyter/cookiecutter-docker-stacks"
COMMANDS = [[], ["configure"], ["new"], ["github"], ["from-template"], ["hub-config"], ["deploy"], ["update"], ["fleet"]]
COMMANDS += [["fleet", verb] for verb in ("plan", "apply", "update")]


def timed(args: list[str], env: dict, cwd: Path, runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``args`` (each run in a fresh process)."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed: {result.stderr[-500:]}")
    return statistics.median(walls), statistics.median(cpus)


def peer_template(given: str | None, work: Path) -> Path | None:
    for candidate in (given, os.environ.get("HUB_IMAGE_PEER_TEMPLATE")):
        if candidate and (Path(candidate) / "cookiecutter.json").is_file():
            return Path(candidate)
    clone = work / "peer"
    done = subprocess.run(["git", "clone", "-q", "--depth", "1", PEER_URL, str(clone)], capture_output=True, timeout=60)
    return clone if done.returncode == 0 else None


def generate_side_by_side(templates: list[Path], work: Path, env: dict, runs: int) -> list[tuple[float, float]]:
    """`cookiecutter --no-input TEMPLATE` for each template in turn, ``runs`` rounds (so a
    busy moment of the machine costs each alike); the medians, per template."""
    measured: list[list[tuple[float, float]]] = [[] for _ in templates]
    work.mkdir(exist_ok=True)
    for i in range(runs):
        for j, template in enumerate(templates):
            out = work / f"out-{j}-{i}"
            measured[j].append(timed([str(BIN / "cookiecutter"), "--no-input", str(template), "-o", str(out)], env, work, 1))
    return [(statistics.median(w for w, _ in m), statistics.median(c for _, c in m)) for m in measured]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--peer", help="a checkout of jupyter/cookiecutter-docker-stacks")
    args = parser.parse_args()
    rows: list[tuple[str, str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = work / "cc.yaml"
        config.write_text(f"replay_dir: {work / 'replay'}\ncookiecutters_dir: {work / 'cc'}\n")
        env = dict(os.environ, COOKIECUTTER_CONFIG=str(config), PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
        # As Python runs by default: compiled modules are cached (a hook imports this
        # checkout's hub_image; with the variable set it would compile it every time).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        bare = timed([sys.executable, "-c", "pass"], env, work, args.runs)
        peer = peer_template(args.peer, work)
        generate_side_by_side([ROOT] + ([peer] if peer else []), work / "warm-up", env, 1)  # caches filled, not timed
        if peer is None:
            (ours,) = generate_side_by_side([ROOT], work, env, args.runs)
            rows.append(("one generation", f"{ours[0]:.2f} s wall, {ours[1]:.2f} s CPU", "peer: skipped (no checkout)", "", ""))
        else:
            ours, theirs = generate_side_by_side([ROOT, peer], work, env, args.runs)
            rows.append(
                (
                    "one generation (`cookiecutter --no-input`)",
                    f"{ours[0]:.2f} s wall, {ours[1]:.2f} s CPU",
                    f"jupyter/cookiecutter-docker-stacks: {theirs[0]:.2f} s wall, {theirs[1]:.2f} s CPU",
                    f"{ours[0] / theirs[0]:.2f}x wall, {ours[1] / theirs[1]:.2f}x CPU",
                    "2.0x",
                )
            )
        for command in COMMANDS:
            wall, cpu = timed([str(BIN / "hub-image"), *command, "--help"], env, work, args.runs)
            rows.append(
                (
                    f"`hub-image {' '.join([*command, '--help'])}`",
                    f"{wall:.3f} s wall, {cpu:.3f} s CPU",
                    f"`python -c pass`: {bare[0]:.3f} s",
                    f"{wall / 0.25:.2f} of the goal",
                    "0.25 s",
                )
            )
        repo = work / "out-0-0" / "my-hub-image"
        wall, cpu = timed([str(BIN / "hub-image"), "configure", str(repo)], env, work, args.runs)
        rows.append(
            (
                "`hub-image configure` (a generated repo)",
                f"{wall:.3f} s wall, {cpu:.3f} s CPU",
                "",
                f"{wall / 0.4:.2f} of the goal",
                "0.4 s",
            )
        )
    print(f"Medians of {args.runs} runs, one process each.\n")
    print("| what | this | peer or baseline | ratio | goal |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
