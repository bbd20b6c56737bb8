"""What leaving blocking detection on costs a loop that does not block.

Two workloads, each a tight loop that spends its time in the event loop's own
machinery, so any per-step cost shows:

* ``sleep(0)``: N iterations of ``await asyncio.sleep(0)`` (every one a task step);
* ``socketpair``: M round trips of ``loop.sock_sendall`` / ``loop.sock_recv`` over
  a non-blocking socketpair (every one calls ``socket.send``/``recv`` from a task,
  the worst case for interception, which wraps those methods). Those calls return
  without suspending when the socket is ready, so this loop never yields to the
  event loop: the watchdog rightly reports it as a block, which the table shows
  on stderr.

Each runs bare, under ambidex.detect's watchdog (with the native watcher of C
calls that keep the GIL where it is built, and without it:
``AMBIDEX_NO_EXTENSIONS``), watchdog + interception, blockbuster (activated,
the peer for interception), and asyncio's debug mode with
``slow_callback_duration`` (the peer for the watchdog). Best of R runs.

A second table gives the cost per loop iteration of the ``sleep(0)`` loop in
CPU time, which the machine's load distorts less than wall time: the loop
thread's own CPU (``time.thread_time``) and the whole process's
(``time.process_time``: the watchdog thread and the native thread included).
Its goal row: the native watcher adds nothing measurable to the loop thread's
CPU per iteration (it never takes the GIL; it wakes once per ping interval).

    python tools/bench/detect.py [--sleeps 200000] [--round-trips 50000] [--repeat 5]

The machine this runs on is shared and has 2 cores: numbers are noisy; compare
the ratios within one run, not across runs. For scale, measured here on
CPython 3.11: merely having a second Python thread alive (one that never wakes)
costs the sleep(0) loop about 3%, so that is the floor for any watchdog that is
a Python thread; the watchdog's own work (a ping per 25 ms) adds little to it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import ambidex.detect
from ambidex.detect import _native


async def sleep_loop(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def socket_loop(n: int) -> None:
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    try:
        for _ in range(n):
            await loop.sock_sendall(a, b"x")
            await loop.sock_recv(b, 1)
    finally:
        a.close()
        b.close()


@contextlib.contextmanager
def nothing() -> Iterator[None]:
    yield


@contextlib.contextmanager
def blockbuster() -> Iterator[None]:
    from blockbuster import blockbuster_ctx

    with blockbuster_ctx():
        yield


def ambidex_detector(
    intercept: bool, native: bool = True
) -> Callable[[], contextlib.AbstractContextManager[Any]]:
    @contextlib.contextmanager
    def setup() -> Iterator[None]:
        # The staging configuration: warn, 0.1 s. install() before asyncio.run,
        # so the detector attaches to the loop asyncio.run creates.
        if not native:
            os.environ["AMBIDEX_NO_EXTENSIONS"] = "1"  # read when the watchdog is made
        try:
            detector = ambidex.detect.install(threshold=0.1, mode="log", intercept=intercept)
        finally:
            os.environ.pop("AMBIDEX_NO_EXTENSIONS", None)
        try:
            yield
        finally:
            detector.uninstall()
            for report in detector.reports:
                # The socketpair loop blocks for real: sock_sendall/sock_recv return
                # without suspending when the socket is ready, so the whole loop is
                # one task step, and the watchdog says so. Elsewhere a report means
                # the machine stalled the process.
                print(f"  (report: {report.summary()})", file=sys.stderr)

    return setup


def timed(workload: Callable[[int], Any], n: int, setup: Callable[[], Any],
          debug: bool = False) -> tuple[float, float, float]:
    """(wall, process CPU, loop thread CPU) seconds of one run of ``workload``."""
    with setup():
        async def main() -> tuple[float, float, float]:
            if debug:
                asyncio.get_running_loop().slow_callback_duration = 0.1
            start = time.perf_counter(), time.process_time(), time.thread_time()
            await workload(n)
            end = time.perf_counter(), time.process_time(), time.thread_time()
            wall, process, thread = (e - s for e, s in zip(end, start, strict=True))
            return wall, process, thread

        return asyncio.run(main(), debug=debug)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sleeps", type=int, default=200_000)
    parser.add_argument("--round-trips", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    configs: list[tuple[str, Callable[[], Any], bool]] = [
        ("bare", nothing, False),
        ("ambidex watchdog", ambidex_detector(False), False),
        ("ambidex watchdog, no native", ambidex_detector(False, native=False), False),
        ("ambidex watchdog+intercept", ambidex_detector(True), False),
        ("blockbuster", blockbuster, False),
        ("asyncio debug mode", nothing, True),
    ]
    workloads: list[tuple[str, Callable[[int], Any], int]] = [
        (f"sleep(0) x{args.sleeps}", sleep_loop, args.sleeps),
        (f"socketpair x{args.round_trips}", socket_loop, args.round_trips),
    ]
    # Reports (the machine stalling the loop) are counted, not printed; debug
    # mode's slow-callback lines likewise. Their checks still run and cost.
    logging.getLogger("ambidex.detect").addHandler(logging.NullHandler())
    logging.getLogger("ambidex.detect").propagate = False
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    best: dict[tuple[str, str], float] = {}
    cpu: dict[tuple[str, str], tuple[float, float]] = {}  # (process, loop thread), best
    # Interleave configurations in each repetition, and rotate their order, so a
    # burst of load elsewhere on the machine does not favour one of them.
    for rep in range(args.repeat):
        order = configs[rep % len(configs):] + configs[: rep % len(configs)]
        for wname, workload, n in workloads:
            for cname, setup, debug in order:
                t, process, thread = timed(workload, n, setup, debug)
                key = (wname, cname)
                best[key] = min(best.get(key, float("inf")), t)
                old = cpu.get(key, (float("inf"), float("inf")))
                cpu[key] = (min(old[0], process), min(old[1], thread))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"best of {args.repeat}; Python {sys.version.split()[0]}; load {load:.1f}; "
          f"native watcher built: {_native.available()}; ratio = time / bare")
    header = f"{'configuration':<28}" + "".join(
        f"{w:>22}{'ratio':>8}" for w, _, _ in workloads
    )
    print(header)
    print("-" * len(header))
    for cname, _, _ in configs:
        row = f"{cname:<28}"
        for wname, _, _ in workloads:
            t = best[(wname, cname)]
            row += f"{t:>20.3f} s{t / best[(wname, 'bare')]:>7.2f}x"
        print(row)

    wname, _, n = workloads[0]
    print()
    print(f"per iteration of {wname} (CPU: best of {args.repeat}; the native watcher runs "
          "only with the watchdog)")
    header = f"{'configuration':<28}{'wall us':>10}{'process CPU us':>16}{'loop thread CPU us':>20}"
    print(header)
    print("-" * len(header))
    for cname, _, _ in configs:
        process, thread = cpu[(wname, cname)]
        row = f"{cname:<28}{best[(wname, cname)] / n * 1e6:>10.3f}"
        print(row + f"{process / n * 1e6:>16.3f}{thread / n * 1e6:>20.3f}")
    with_native = cpu[(wname, "ambidex watchdog")][1]
    without = cpu[(wname, "ambidex watchdog, no native")][1]
    print(f"goal: the native watcher adds nothing measurable to the loop thread's CPU per "
          f"iteration: {with_native / n * 1e6:.3f} us with it, {without / n * 1e6:.3f} us "
          f"without ({with_native / without:.3f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
