"""Benchmark: ambidex vs unasync converting the same async code to sync, end to end.

Run: ``python tools/bench/codegen.py`` (from the repo root, in the venv).

Both tools run as fresh processes on the same inputs, so interpreter start
and imports count, as they do for a user:

* httpcore's ``_async`` package and redis-py's ``redis/asyncio`` package,
  from the wheels (``pip download --no-deps httpcore redis`` into
  ``.bench-cache/``, unpacked there);
* unasync through its public ``unasync_files`` with the ``_async`` -> ``_sync``
  rule; ambidex through ``ambidex port --to sync -o OUT``.

It also times ``ambidex generate`` on an up-to-date tree of 100 generated
files (the pre-commit case) and ``ambidex generate --check`` on it.

Each measurement is the best of N runs (N=5 by default, ``--runs``). The
machine is shared and has 2 cores: read the numbers as rough.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".bench-cache"
PYTHON = sys.executable
AMBIDEX = [PYTHON, "-m", "ambidex"]

UNASYNC_SCRIPT = """
import sys, unasync
from pathlib import Path
source, out = Path(sys.argv[1]), Path(sys.argv[2])
files = [str(p) for p in source.rglob("*.py")]
rule = unasync.Rule(fromdir=str(source) + "/", todir=str(out) + "/")
unasync.unasync_files(files, [rule])
"""


def fetch() -> dict[str, Path]:
    """The two corpora, downloaded and unpacked once into .bench-cache/."""
    CACHE.mkdir(exist_ok=True)
    wheels = list(CACHE.glob("*.whl"))
    if not any(w.name.startswith("httpcore") for w in wheels) or not any(
        w.name.startswith("redis") for w in wheels
    ):
        subprocess.run([PYTHON, "-m", "pip", "download", "--quiet", "--no-deps", "httpcore",
                        "redis", "-d", str(CACHE)], check=True)
        wheels = list(CACHE.glob("*.whl"))
    corpora = {}
    for wheel in wheels:
        name = wheel.name.split("-")[0]
        unpacked = CACHE / name
        if not unpacked.exists():
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(unpacked)
        if name == "httpcore":
            corpora["httpcore/_async"] = unpacked / "httpcore" / "_async"
        elif name == "redis":
            corpora["redis/asyncio"] = unpacked / "redis" / "asyncio"
    return corpora


def count_lines(folder: Path) -> int:
    return sum(len(p.read_text(encoding="utf-8").splitlines()) for p in folder.rglob("*.py"))


def run_once(command: list[str], cwd: Path | None = None) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the child, exit code) of one process run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, completed.returncode


def best_of(runs: int, command: list[str], cwd: Path | None = None) -> tuple[float, int]:
    wall, _cpu, code = best_pair(runs, command, cwd)
    return wall, code


def best_pair(runs: int, command: list[str], cwd: Path | None = None,
              ) -> tuple[float, float, int]:
    best_wall = best_cpu = float("inf")
    code = 0
    for _ in range(runs):
        wall, cpu, code = run_once(command, cwd)
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    return best_wall, best_cpu, code


def bench_convert(corpora: dict[str, Path], runs: int) -> None:
    print(f"{'corpus':<18}{'lines':>7}  {'tool':<8}{'wall s':>8}{'cpu s':>8}"
          f"{'lines/s':>9}  note (lines/s from wall time)")
    for label, folder in sorted(corpora.items()):
        lines = count_lines(folder)
        with tempfile.TemporaryDirectory() as scratch:
            # unasync writes beside its input: give it a copy.
            copy = Path(scratch) / "in" / "_async"
            shutil.copytree(folder, copy)
            commands = {
                "unasync": [PYTHON, "-c", UNASYNC_SCRIPT, str(copy),
                            str(Path(scratch) / "unasync-out")],
                "ambidex": [*AMBIDEX, "port", str(copy), "--to", "sync",
                            "-o", str(Path(scratch) / "ambidex-out")],
            }
            # Interleaved, so that load from elsewhere hits both tools alike.
            best: dict[str, list[float]] = {
                tool: [float("inf"), float("inf"), 0] for tool in commands}
            for _ in range(runs):
                for tool, command in commands.items():
                    wall, cpu, code = run_once(command)
                    best[tool] = [min(best[tool][0], wall), min(best[tool][1], cpu), code]
        for tool in commands:
            wall, cpu, exit_code = best[tool]
            code = int(exit_code)
            note = "" if code == 0 else (f"exit {code}: modules refused (async-only APIs); "
                                         "all converted in memory, none written")
            print(f"{label:<18}{lines:>7}  {tool:<8}{wall:>8.3f}{cpu:>8.3f}"
                  f"{lines / wall:>9.0f}  {note}")
        ratio_wall = best["ambidex"][0] / best["unasync"][0]
        ratio_cpu = best["ambidex"][1] / best["unasync"][1]
        print(f"{'':<25}ambidex/unasync: wall {ratio_wall:.2f}, cpu {ratio_cpu:.2f}")


def fidelity_httpcore(corpora: dict[str, Path]) -> None:
    """How much of httpcore's committed ``_sync`` (made by its unasync script)
    ambidex reproduces, given the renames that script applies."""
    import ast
    import re

    from ambidex._rules import DEFAULT_TABLE
    from ambidex.codegen._to_sync import to_sync

    source = corpora["httpcore/_async"]
    modules = {f"httpcore/_async/{p.name}": p.read_text() for p in sorted(source.glob("*.py"))}
    names = {n for text in modules.values() for n in re.findall(r"\bAsync[A-Z]\w*", text)}
    renames = {name: name[5:] for name in names}
    renames.update({"handle_async_request": "handle_request", "aiter_stream": "iter_stream",
                    "aread": "read", "AutoBackend": "SyncBackend",
                    "httpcore._backends.auto": "httpcore._backends.sync"})
    # As httpcore's script does: docstrings renamed, renamed imports left in place
    # (tools/bench/fidelity.py measures this and four more projects).
    result = to_sync(modules, table=DEFAULT_TABLE, renames=renames, rename_prose=True,
                     sort_imports=False)
    same = [path for path, text in result.outputs.items()
            if ast.dump(ast.parse(text)) == ast.dump(ast.parse(
                (source.parent / "_sync" / Path(path).name).read_text()))]
    print()
    print(f"httpcore fidelity: {len(same)}/{len(result.outputs)} modules of ambidex's output have "
          "the same syntax tree as httpcore's own _sync")
    print("  (with rename_prose and sort_imports=false, as httpcore's script behaves)")


def bench_generate(runs: int) -> None:
    module = '''"""A module of the benchmark tree."""

import asyncio
from typing import AsyncIterator


class AsyncThing{n}:
    async def __aenter__(self) -> "AsyncThing{n}":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.sleep(0)

    async def items(self) -> AsyncIterator[int]:
        for i in range(3):
            await asyncio.sleep(0)
            yield i
'''
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch)
        (project / "pyproject.toml").write_text(
            '[project]\nname = "tree"\n\n[[tool.ambidex.generate]]\n'
            'source = "pkg/_async"\ntarget = "pkg/_sync"\nto = "sync"\nasync_prefix = true\n')
        source = project / "pkg" / "_async"
        source.mkdir(parents=True)
        for n in range(100):
            (source / f"m{n:03}.py").write_text(module.format(n=n))
        subprocess.run([*AMBIDEX, "generate"], cwd=project, check=True)
        generate_s, code = best_of(runs, [*AMBIDEX, "generate"], cwd=project)
        assert code == 0
        check_s, code = best_of(runs, [*AMBIDEX, "generate", "--check"], cwd=project)
        assert code == 0
        startup_s, _ = best_of(runs, [PYTHON, "-c", "pass"])
    print()
    print("ambidex generate on an up-to-date tree of 100 files (goal: < 0.1 s)")
    print(f"  generate          {generate_s:.3f} s")
    print(f"  generate --check  {check_s:.3f} s  (converts everything and compares)")
    print(f"  python -c pass    {startup_s:.3f} s  (interpreter start, for reference)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.chdir(ROOT)
    print(f"python {sys.version.split()[0]}, best of {args.runs} runs, 2 shared cores: noisy\n")
    corpora = fetch()
    bench_convert(corpora, args.runs)
    fidelity_httpcore(corpora)
    bench_generate(args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
