"""Benchmark: porting the stdlib's blocking clients to asyncio, against unasync's time.

Run: ``python tools/bench/realports.py`` (from the repo root, in the venv).

For each client of the running interpreter's standard library (smtplib,
ftplib, poplib, http.client, imaplib; nntplib where it still exists), the
module is copied to a temporary folder and ported as a user would, in a
fresh process: ``ambidex port --to async --defer-init-io FILE -o OUT``. The
peer, in the same run and interleaved with it, is unasync on the same file
(a token rewrite: it does not port sync code to async, but it is the time
the codegen benchmark's goal is stated against: ambidex must not be slower
than unasync on the same lines). Each time is the best of N runs
(``--runs``, 5 by default), wall clock and the child's CPU time (user +
system), which a loaded machine disturbs less. The table also gives the lines, the port's
refusals (errors, nothing written) and warnings (located, output written).

Whether each port works against a real server is what ``tests/realports``
checks (smtplib, poplib, ftplib, http.client); the table says which.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable
CLIENTS = ["smtplib", "ftplib", "poplib", "http.client", "imaplib", "nntplib"]
TESTED = {"smtplib", "ftplib", "poplib", "http.client", "imaplib"}

UNASYNC_SCRIPT = """
import sys, unasync
from pathlib import Path
source, out = Path(sys.argv[1]), Path(sys.argv[2])
rule = unasync.Rule(fromdir=str(source.parent) + "/", todir=str(out) + "/")
unasync.unasync_files([str(source)], [rule])
"""


def timed(command: list[str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall time, CPU time (user + system of the child: steadier on a loaded
    machine), and the result."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} (1 min), python {sys.version.split()[0]}")
    print()
    print("| client | lines | ambidex port: wall / CPU (s) | unasync: wall / CPU (s) | "
          "refusals | warnings | works against its server |")
    print("|---|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name in CLIENTS:
            try:
                module = importlib.import_module(name)
            except ImportError:
                print(f"| {name} | - | - | - | - | - | gone in this Python |")
                continue
            source_file = inspect.getsourcefile(module)
            assert source_file is not None
            work = Path(folder) / name.replace(".", "_")
            work.mkdir()
            source = work / Path(source_file).name
            shutil.copy(source_file, source)
            lines = len(source.read_text(encoding="utf-8").splitlines())
            best_port = best_unasync = cpu_port = cpu_unasync = float("inf")
            result = None
            for run in range(args.runs):
                out = work / f"out{run}"
                took, cpu, result = timed([PYTHON, "-m", "ambidex", "port", "--to", "async",
                                           "--defer-init-io", str(source), "-o",
                                           str(out / source.name)])
                best_port, cpu_port = min(best_port, took), min(cpu_port, cpu)
                took, cpu, _ = timed([PYTHON, "-c", UNASYNC_SCRIPT, str(source),
                                      str(work / f"unasync{run}")])
                best_unasync, cpu_unasync = min(best_unasync, took), min(cpu_unasync, cpu)
            assert result is not None
            messages = [m for m in result.stderr.splitlines() if m.strip()]
            warnings = sum(m.endswith("(warning)") for m in messages)
            refusals = len(messages) - warnings
            works = ("yes (tests/realports)" if name in TESTED and result.returncode == 0
                     else "not tested" if result.returncode == 0 else "no: refused")
            print(f"| {name} | {lines} | {best_port:.2f} / {cpu_port:.2f} | "
                  f"{best_unasync:.2f} / {cpu_unasync:.2f} | {refusals} | {warnings} | {works} |")


if __name__ == "__main__":
    main()
