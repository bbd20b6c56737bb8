"""Benchmark ambidex.offload against what people use today, in one run.

    python tools/bench/offload.py [--rounds R] [--calls N] [--lines L] [--only WORD]

Each row times one workload done by every contender; the contenders of a
row take turns (round 1: A B C D, round 2: B C D A, ...) and the table shows
the median of R rounds, with each peer's time divided by ambidex's: a number
above 1.00 means ambidex is faster than that peer.

* threads xC: N calls of a no-op function from C concurrent callers, on the
  default pools: ``ambidex.offload.run_in_thread``, ``asyncio.to_thread``,
  ``loop.run_in_executor(None, ...)``, ``anyio.to_thread.run_sync``. (Pool
  sizes are each library's default: 6 threads here for the first three,
  40 for anyio.)
* process xC: N/10 calls of a tiny function in a 2-process pool from C
  callers: ``ProcessPool`` against ``run_in_executor(ProcessPoolExecutor)``
  (both with the ``forkserver`` start method, workers started before timing).
* file lines: ``async for line in f`` over an L-line text file, against the
  same loop in plain blocking Python (the "sync" column), aiofiles and anyio.
* file chunks: ``await f.read(64 KiB)`` until EOF over the same file (binary),
  against aiofiles and anyio.

Rows are a table (``ROWS``): add a row by appending a ``Row`` whose
contenders are zero-argument callables returning a coroutine (or, for a
blocking contender, a plain value; it is run in the same event loop's
thread, so it is timed the same way).

Numbers are noisy: the machine has 2 cores and other work runs on it. Quote
ratios from one run, with ``uptime``'s load next to them.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import functools
import inspect
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

import anyio
import anyio.to_thread

from ambidex.offload import ProcessPool, open_file, run_in_thread

try:
    import aiofiles
except ImportError:  # pragma: no cover - `pip install -e '.[bench]'` brings it
    aiofiles = None


def noop() -> None:
    return None


def square(x: int) -> int:
    """Module-level so the process pools can pickle it."""
    return x * x


Contender = Callable[[], Any]


@dataclass
class Row:
    name: str
    contenders: dict[str, Contender]
    """Label -> workload; the first one is ambidex's (the one the others are divided by)."""
    setup: Callable[[], Awaitable[None]] | None = None
    teardown: Callable[[], Awaitable[None]] | None = None
    times: dict[str, list[float]] = field(default_factory=dict)


async def many_callers(hop: Callable[[], Awaitable[Any]], calls: int, callers: int) -> None:
    """``calls`` awaits of ``hop()``, spread over ``callers`` concurrent tasks."""

    async def caller(count: int) -> None:
        for _ in range(count):
            await hop()

    share, extra = divmod(calls, callers)
    await asyncio.gather(*(caller(share + (i < extra)) for i in range(callers)))


def thread_rows(calls: int) -> list[Row]:
    rows = []
    for callers in (1, 64, 1000):

        def hop_ambidex() -> Awaitable[None]:
            return run_in_thread(noop)

        def hop_to_thread() -> Awaitable[None]:
            return asyncio.to_thread(noop)

        def hop_executor() -> Awaitable[None]:
            return asyncio.get_running_loop().run_in_executor(None, noop)

        def hop_anyio() -> Awaitable[None]:
            return anyio.to_thread.run_sync(noop)

        rows.append(
            Row(
                f"threads x{callers}",
                {
                    label: functools.partial(many_callers, hop, calls, callers)
                    for label, hop in (
                        ("ambidex", hop_ambidex),
                        ("to_thread", hop_to_thread),
                        ("run_in_executor", hop_executor),
                        ("anyio", hop_anyio),
                    )
                },
            )
        )
    return rows


class ProcessPools:
    """Both process pools, started (all workers up) before any row is timed."""

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self.ambidex: ProcessPool | None = None
        self.executor: concurrent.futures.ProcessPoolExecutor | None = None

    async def start(self) -> None:
        context = multiprocessing.get_context("forkserver")
        self.ambidex = ProcessPool(self.workers, mp_context=context)
        self.executor = concurrent.futures.ProcessPoolExecutor(self.workers, mp_context=context)
        loop = asyncio.get_running_loop()
        # Warm both: every worker process started and imported.
        for _ in range(3):
            await asyncio.gather(*(self.ambidex.run(square, 1) for _ in range(self.workers * 2)))
            await asyncio.gather(
                *(loop.run_in_executor(self.executor, square, 1) for _ in range(self.workers * 2))
            )

    async def stop(self) -> None:
        if self.ambidex is not None:
            await self.ambidex.close()
        if self.executor is not None:
            self.executor.shutdown()


def process_rows(calls: int, pools: ProcessPools) -> list[Row]:
    rows = []
    for callers in (1, 64):

        def hop_ambidex() -> Awaitable[int]:
            assert pools.ambidex is not None
            return pools.ambidex.run(square, 3)

        def hop_executor() -> Awaitable[int]:
            return asyncio.get_running_loop().run_in_executor(pools.executor, square, 3)

        rows.append(
            Row(
                f"process x{callers}",
                {
                    "ambidex": functools.partial(many_callers, hop_ambidex, calls, callers),
                    "run_in_executor": functools.partial(
                        many_callers, hop_executor, calls, callers
                    ),
                },
            )
        )
    return rows


def file_rows(path: Path, lines: int) -> list[Row]:
    async def lines_ambidex() -> None:
        count = 0
        async with open_file(path, "r", encoding="utf-8") as f:
            async for _ in f:
                count += 1
        assert count == lines, count

    def lines_sync() -> None:
        count = 0
        with open(path, encoding="utf-8") as f:  # the sync baseline, blocking on purpose
            for _ in f:
                count += 1
        assert count == lines, count

    async def lines_aiofiles() -> None:
        count = 0
        async with aiofiles.open(path, encoding="utf-8") as f:
            async for _ in f:
                count += 1
        assert count == lines, count

    async def lines_anyio() -> None:
        count = 0
        async with await anyio.open_file(path, encoding="utf-8") as f:
            async for _ in f:
                count += 1
        assert count == lines, count

    size = path.stat().st_size

    async def chunks_ambidex() -> None:
        total = 0
        async with open_file(path, "rb") as f:
            while chunk := await f.read(65536):
                total += len(chunk)
        assert total == size

    async def chunks_aiofiles() -> None:
        total = 0
        async with aiofiles.open(path, "rb") as f:
            while chunk := await f.read(65536):
                total += len(chunk)
        assert total == size

    async def chunks_anyio() -> None:
        total = 0
        async with await anyio.open_file(path, "rb") as f:
            while chunk := await f.read(65536):
                total += len(chunk)
        assert total == size

    line_contenders: dict[str, Contender] = {"ambidex": lines_ambidex, "sync": lines_sync}
    chunk_contenders: dict[str, Contender] = {"ambidex": chunks_ambidex}
    if aiofiles is not None:
        line_contenders["aiofiles"] = lines_aiofiles
        chunk_contenders["aiofiles"] = chunks_aiofiles
    line_contenders["anyio"] = lines_anyio
    chunk_contenders["anyio"] = chunks_anyio
    return [
        Row(f"file lines ({lines})", line_contenders),
        Row(f"file chunks ({size >> 10} KiB)", chunk_contenders),
    ]


async def run_rows(rows: list[Row], rounds: int) -> None:
    for row in rows:
        row.times = {label: [] for label in row.contenders}
    for round_ in range(rounds):
        for row in rows:
            labels = list(row.contenders)
            shift = round_ % len(labels)
            for label in labels[shift:] + labels[:shift]:
                started = time.perf_counter()
                result = row.contenders[label]()
                if inspect.isawaitable(result):
                    await result
                row.times[label].append(time.perf_counter() - started)


def print_table(rows: list[Row], rounds: int) -> None:
    load = os.getloadavg()
    print(
        f"python {sys.version.split()[0]}, median of {rounds} interleaved rounds, "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print("peer/ambidex > 1.00: ambidex is faster")
    print(f"{'row':<22} {'contender':<16} {'median s':>10} {'peer/ambidex':>13}")
    for row in rows:
        medians = {label: statistics.median(times) for label, times in row.times.items()}
        base = medians[next(iter(row.contenders))]
        for label, seconds in medians.items():
            ratio = "" if label == next(iter(row.contenders)) else f"{seconds / base:13.3g}"
            print(f"{row.name:<22} {label:<16} {seconds:>10.4f} {ratio:>13}")


async def main_async(args: argparse.Namespace) -> None:
    pools = ProcessPools()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lines.txt"
        # 100-byte lines, like the 10 MB / 100k-line file.
        path.write_text("".join(f"{i:099d}\n" for i in range(args.lines)), encoding="utf-8")
        rows: list[Row] = []
        rows += thread_rows(args.calls)
        rows += process_rows(max(10, args.calls // 10), pools)
        rows += file_rows(path, args.lines)
        if args.only:
            rows = [row for row in rows if args.only in row.name]
        if any(row.name.startswith("process") for row in rows):
            await pools.start()
        try:
            # One untimed round first: threads started, caches warm.
            await run_rows(rows, 1)
            await run_rows(rows, args.rounds)
        finally:
            await pools.stop()
        print_table(rows, args.rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--only", default="", help="run only the rows whose name contains this")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
