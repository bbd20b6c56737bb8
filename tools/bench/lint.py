"""Benchmark: ``ambidex lint`` against ruff's ASYNC2xx (blocking call) rules, time and findings.

Run: ``python tools/bench/lint.py [--runs N]`` (from the repo root, in the venv).

Both tools run as fresh processes, so interpreter start and imports count, as
they do for a user. Rows:

* ``src examples``: this repository's own code (the case the README quotes).
* ``lint_project``: the lint's sample project (tests/detect/lint_project),
  with ruff's ``--ignore-noqa`` so its one direct case counts: the findings
  column shows what a call-graph lint adds over a body-only one.
* ``redis``: redis-py's package from the venv (about 2.5 MB of source), when
  installed: a large real tree.

Each time is the best of N runs (default 5). The machine is shared and has 2
cores: read the numbers as rough. ruff is a compiled binary that checks each
file's bodies in parallel; the ambidex lint is pure Python and builds the
whole call graph, so ruff is expected to be faster -- the question is whether
ambidex is fast enough for pre-commit (well under a second on a project).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def _best(command: list[str], runs: int) -> tuple[float, str]:
    best = float("inf")
    out = ""
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        best = min(best, time.perf_counter() - start)
        out = done.stdout
    return best, out


def _ambidex(paths: list[str], runs: int) -> tuple[float, int]:
    seconds, out = _best([PYTHON, "-m", "ambidex", "lint", "--format", "json", *paths], runs)
    rows = json.loads(out or "[]")
    return seconds, sum(1 for row in rows if row["code"] == "AMB101")


def _ruff(paths: list[str], runs: int) -> tuple[float, int]:
    command = [
        PYTHON,
        "-m",
        "ruff",
        "check",
        "--no-cache",
        "--isolated",
        "--select",
        "ASYNC2",
        "--ignore-noqa",
        "--output-format",
        "json",
        *paths,
    ]
    seconds, out = _best(command, runs)
    return seconds, len(json.loads(out or "[]"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows: list[tuple[str, list[str]]] = [
        ("src examples", ["src", "examples"]),
        ("lint_project", ["tests/detect/lint_project"]),
    ]
    try:
        import redis

        rows.append(("redis", [str(Path(redis.__file__).parent)]))
    except ImportError:
        print("redis not installed: skipping the redis row", file=sys.stderr)
    print(f"{'tree':<14} {'ambidex lint':>13} {'findings':>9} {'ruff ASYNC2':>11} {'findings':>9}")
    for name, paths in rows:
        a_time, a_found = _ambidex(paths, args.runs)
        r_time, r_found = _ruff(paths, args.runs)
        print(f"{name:<14} {a_time:>12.3f}s {a_found:>9} {r_time:>10.3f}s {r_found:>9}")
    print(f"(best of {args.runs} runs each, fresh processes; shared 2-core machine: rough)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
