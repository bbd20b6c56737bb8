"""The benchmarks start real servers; stopping a benchmark stops its server.

``timeout``, a CI runner or a person's ``kill`` sends SIGTERM. Python's default for
SIGTERM ends the process without unwinding, so a bench's ``finally`` never ran and
its redis-server stayed behind, holding a port and skewing the next run's numbers.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(pid, 0): it has exited, its parent has not reaped it.
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "\nState:\tZ" in status.read_text()


def test_a_terminated_redis_bench_stops_its_redis_server() -> None:
    bench = subprocess.Popen(
        [sys.executable, "-u", "tools/bench/resp.py", "--requests", "2000000", "--runs", "1",
         "--placement", "same-cpu"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server = None
    try:
        assert bench.stdout is not None
        first = bench.stdout.readline()
        port = re.match(r"redis-server on 127\.0\.0\.1:(\d+)", first)
        assert port, first
        found = subprocess.run(["pgrep", "-f", f"redis-server 127.0.0.1:{port[1]}"],
                               capture_output=True, text=True, check=False).stdout.split()
        server = int(found[0])  # the bench started its own server, listening on that port
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(30) != 0
        deadline = time.monotonic() + 10
        while not _gone(server) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(server), "the bench's redis-server outlived the bench"
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
        if server is not None and not _gone(server):
            os.kill(server, signal.SIGKILL)
