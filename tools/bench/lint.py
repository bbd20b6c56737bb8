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

``--scale`` adds the large-codebase rows (issue 13, section 4), each run as a
fresh process with its wall time, CPU time (user + system) and peak RSS:

* ``lint site-packages``: the whole site-packages of the running venv (about
  2,000 files, 850k lines with the test extra), ambidex and ruff's ASYNC2
  rules interleaved; lines per CPU-second and how many times faster ruff is.
* ``port --to async``: a ~100k-line tree of realistic blocking clients (this
  repository's generated ``examples/*/_sync`` packages, copied 70 times as
  separate packages, their ``# ambidex: sync-only`` markers taken off so that
  the port succeeds) converted into a temporary folder; a port that exits
  non-zero stops the bench (a refusal skips the output's check and writes
  nothing: its time is not the port's).
* ``generate no-op``: ``ambidex generate`` on a project of 100 up-to-date
  files, next to ``python -c pass`` (the interpreter's own floor).
* ``machine reference``: the CPU time of a fixed workload that does not
  depend on ambidex, in a fresh isolated interpreter (``python -I``): ``ast.parse``
  of every ``.py`` file of the standard library's ``asyncio``, ``email`` and
  ``http`` packages (67 files, 30k lines on 3.11), then a pure-Python loop of
  3,000,000 additions. It read 0.56-0.67 s of CPU on session 11's 2.0 GHz
  Xeon (load 5), whose lint row reads 17-18 s where session 10's machine read
  11 s: compare a row's CPU with this one's, so that a slower machine is not
  read as a slower lint (its ``lines/CPU-s`` column counts the parsed lines).
  It runs first, as many times as the lint row.

On a loaded machine wall time mostly measures the other processes; CPU time
is the steadier number. ``uptime`` is printed before and after.
``--src DIR`` runs ambidex from another source tree (``git archive REV src``
unpacked), to put a before and an after in the same conditions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
ENV = dict(os.environ)


def _best(command: list[str], runs: int) -> tuple[float, str]:
    best = float("inf")
    out = ""
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False,
                              env=ENV)
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


# --- the scale rows -----------------------------------------------------------------


def _measure(command: list[str], cwd: Path, *, succeeds: bool = False
             ) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one fresh process, its output discarded.

    ``succeeds``: the command must exit 0 (a port that is refused stops before
    its output is checked and written: its time is not the port's)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = 0  # reaped by wait4
    if succeeds and os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command[2:])} (in {cwd}) exited "
                         f"{os.waitstatus_to_exitcode(status)}: the row would time a refusal")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _best_of(results: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    return (min(r[0] for r in results), min(r[1] for r in results),
            max(r[2] for r in results))


def _lines(files: list[Path]) -> int:
    total = 0
    for file in files:
        with open(file, "rb") as handle:
            total += handle.read().count(b"\n")
    return total


def _uptime() -> str:
    with open("/proc/loadavg") as handle:
        return "load average " + " ".join(handle.read().split()[:3])


def _row(name: str, lines: int, measured: tuple[float, float, float], extra: str = "") -> None:
    wall, cpu, rss = measured
    digits = 3 if cpu < 1 else 2  # the generate rows are judged in milliseconds
    print(f"{name:<26} {wall:>8.{digits}f}s {cpu:>8.{digits}f}s {rss:>8.0f} MB "
          f"{lines / cpu:>12,.0f} {extra}")


#: The machine reference's workload (see the module's doc): the standard
#: library's own files, parsed, then a fixed loop; nothing of ambidex. It
#: prints the lines it parsed.
_REFERENCE = """
import ast, os, sysconfig
lines = 0
stdlib = sysconfig.get_paths()["stdlib"]
for package in ("asyncio", "email", "http"):
    for folder, _, names in sorted(os.walk(os.path.join(stdlib, package))):
        for name in sorted(names):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as handle:
                    data = handle.read()
                lines += data.count(b"\\n")
                ast.parse(data)
total = 0
for i in range(3_000_000):
    total += i
print(lines)
"""


def _reference(runs: int) -> None:
    """The machine reference row: a fixed workload's CPU, in fresh processes."""
    command = [PYTHON, "-I", "-c", _REFERENCE]
    lines = int(subprocess.run(command, capture_output=True, text=True, check=True,
                               env=ENV).stdout)
    _row("machine reference", lines, _best_of([_measure(command, ROOT) for _ in range(runs)]),
         "(ast.parse of stdlib asyncio, email, http + a 3M-step loop; no ambidex)")


def _compile_ambidex() -> None:
    """Write the bytecode cache of the ambidex that runs, as installing it would.

    A user's ``ambidex`` runs from compiled modules (pip writes them; an
    editable install writes them on the first run). With PYTHONDONTWRITEBYTECODE
    set, or in a fresh ``--src`` tree, every run would compile the package from
    source again: ~12 ms of the no-op ``generate`` row that no user pays.
    """
    found = subprocess.run([PYTHON, "-c", "import ambidex, os; print(os.path.dirname("
                            "ambidex.__file__))"], env=ENV, capture_output=True, text=True,
                           check=True).stdout.strip()
    subprocess.run([PYTHON, "-m", "compileall", "-q", found], env=ENV, check=True)


def scale(runs: int) -> None:
    ambidex = [PYTHON, "-m", "ambidex"]
    _compile_ambidex()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {_uptime()}")
    print(f"{'case':<26} {'wall':>9} {'CPU':>9} {'peak RSS':>11} {'lines/CPU-s':>12}")
    _reference(runs)
    # 1. lint over site-packages, interleaved with ruff on the same tree.
    site = Path(sysconfig.get_paths()["purelib"])
    lines = _lines(sorted(site.rglob("*.py")))
    ours, theirs = [], []
    ruff = [PYTHON, "-m", "ruff", "check", "--no-cache", "--isolated", "--select", "ASYNC2",
            "--exit-zero", str(site)]
    for _ in range(runs):
        ours.append(_measure([*ambidex, "lint", str(site)], ROOT))
        theirs.append(_measure(ruff, ROOT))
    mine, peer = _best_of(ours), _best_of(theirs)
    _row("lint site-packages", lines, mine, "(goal: < 10 s CPU, < 400 MB)")
    _row("  ruff ASYNC2, same tree", lines, peer,
         f"(ruff {mine[0] / peer[0]:.0f}x faster wall, {mine[1] / peer[1]:.0f}x less CPU)")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        # 2. port --to async of ~100k lines of blocking clients.
        tree = work / "port" / "src"
        for copy in range(70):
            for example in sorted((ROOT / "examples").glob("*/_sync")):
                shutil.copytree(example, tree / f"p{copy:02d}" / example.parent.name)
        for path in tree.rglob("*.py"):
            # The twins' sync-only methods stay (as in tests/codegen/test_line_breaks.py):
            # left out, the kept code that calls them refuses the port.
            text = path.read_text(encoding="utf-8")
            if "# ambidex: sync-only" in text:
                path.write_text(text.replace("  # ambidex: sync-only", ""), encoding="utf-8")
        lines = _lines(sorted(tree.rglob("*.py")))
        port = [*ambidex, "port", "src", "--to", "async", "-o", "out", "--force"]
        measured = _best_of([_measure(port, tree.parent, succeeds=True)
                             for _ in range(max(1, runs // 2))])
        _row(f"port --to async ({lines // 1000}k lines)", lines, measured,
             f"(goal: < 4 s CPU per 100k lines, {4 * lines / 100_000:.1f} s here)")
        # 3. generate on 100 up-to-date files, next to the interpreter's floor.
        project = work / "generate"
        source = project / "pkg" / "_async"
        source.mkdir(parents=True)
        (project / "pyproject.toml").write_text(
            '[project]\nname = "x"\n\n[[tool.ambidex.generate]]\nsource = "pkg/_async"\n'
            'target = "pkg/_sync"\nto = "sync"\n')
        for index in range(100):
            (source / f"m{index}.py").write_text(
                f"import asyncio\n\n\nasync def f{index}() -> None:\n"
                "    await asyncio.sleep(0)\n")
        subprocess.run([*ambidex, "generate"], cwd=project, env=ENV, check=True)
        noop, floor = [], []
        for _ in range(runs * 4):
            noop.append(_measure([*ambidex, "generate"], project))
            floor.append(_measure([PYTHON, "-c", "pass"], project))
        lines = _lines(sorted(source.glob("*.py")))
        _row("generate no-op, 100 files", lines, _best_of(noop), "(goal: < 0.050 s CPU)")
        _row("  python -c pass", lines, _best_of(floor))
    print(f"# after: {_uptime()}; best of {runs} (port: {max(1, runs // 2)}, generate: "
          f"{runs * 4}) fresh processes, wall and CPU minima, RSS maximum")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", action="store_true",
                        help="only the large-codebase rows (site-packages lint, 100k-line "
                             "port, generate no-op), with CPU time and peak RSS")
    parser.add_argument("--src", metavar="DIR",
                        help="run ambidex from this source tree (for before/after tables)")
    args = parser.parse_args()
    if args.src:
        ENV["PYTHONPATH"] = str(Path(args.src).resolve())
    if args.scale:
        scale(args.runs)
        return 0
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
