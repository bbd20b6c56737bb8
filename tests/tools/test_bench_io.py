"""tools/bench/io.py: its judge runs, and stopping it leaves no process behind.

The bench runs each reader in its own process and the server in a third (so
neither the server's sending nor one reader's history is in the other's
numbers); those processes must end with it, however it is stopped, or they
keep a core busy under the next benchmark's numbers.
"""

from __future__ import annotations

import os
import platform
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools.bench._placement import children_by_parent

ROOT = Path(__file__).resolve().parents[2]
BENCH = [sys.executable, "tools/bench/io.py"]


def _gone(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" in status.read_text()
    except OSError:
        return True


def test_the_io_bench_times_the_stdlib_reader_against_itself_in_every_cell() -> None:
    done = subprocess.run(
        [*BENCH, "--scale", "0.01", "--rounds", "2", "--self-check"],
        cwd=ROOT, capture_output=True, text=True, timeout=100, check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = re.findall(
        r"^(40-byte lines|1 MB lines|64-byte frames|1 MB frames) +(sync|async) .* "
        r"(\d+\.\d\d) (\d+\.\d\d)-(\d+\.\d\d) +(met|NOT met)$",
        done.stdout, re.MULTILINE,
    )
    assert len(rows) == 8, done.stdout
    assert "SELF-CHECK" in done.stdout
    if platform.libc_ver()[0] == "glibc":
        assert "thresholds: fixed: mmap threshold 32 MiB, no trimming" in done.stdout


@pytest.mark.primary_only  # (how its processes end is the bench's process tree, not the Python's)
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_stopped_io_bench_leaves_no_server_or_reader_process(stop: signal.Signals) -> None:
    bench = subprocess.Popen(
        [*BENCH, "--scale", "4", "--rounds", "40"], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    children: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(children) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
            children = [pid for pid in children_by_parent().get(bench.pid, []) if not _gone(pid)]
        assert len(children) == 3, "the server and the two readers never started"
        bench.send_signal(stop)
        bench.wait(30)
        deadline = time.monotonic() + 15
        while not all(map(_gone, children)) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in children if not _gone(pid)]
        assert not left, f"the bench's processes {left} outlived it"
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
        for pid in children:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
