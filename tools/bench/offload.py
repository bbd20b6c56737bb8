"""Benchmark ambidex.offload against what people use today, in one run.

    python tools/bench/offload.py [--rounds R] [--calls N] [--lines L] [--only WORD[,WORD]]

``--only threads,process,file`` runs the rows issue 13 sets goals for (about
three minutes: aiofiles and anyio take ~13 s per pass over the 100k-line file);
the output ends with each goal and whether this run met it. The file rows'
fixed costs (open, first read, close: three thread hops) weigh on small files:
with ``--lines 20000`` (2 MB) the lines ratio doubles under load.

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
  ``ProcessPool`` talks to each worker over its own socket pair from the event
  loop; the executor goes loop -> manager thread -> feeder thread -> worker and
  back through the manager thread. The cpu column counts this process only
  (both pools' workers run the same calls).
* file lines: ``async for line in f`` over an L-line text file, against the
  same loop in plain blocking Python (the "sync" column), aiofiles and anyio.
* file lines binary: the same in binary mode (``"rb"``), against plain
  blocking Python only.
* file chunks: ``await f.read(64 KiB)`` until EOF over the same file (binary),
  against aiofiles and anyio, ``--chunk-passes`` times per timed sample (open,
  read to the end, close; 8 by default). One pass over the 10 MB file is 153
  hops and takes 5-15 ms: too short to judge by a median of 5. On this 2-core
  VM every pass lands in one of two states for a while, for every contender
  (ambidex 5 ms or 12-22 ms, aiofiles 8 ms or 15-30 ms, CPU time rising with
  wall time: system time of cross-CPU wake-ups), so a one-pass median said
  0.87x in one quiet run and 1.3-3.5x in the next ones. Eight passes average
  the states inside each sample.

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
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

import sqlite3

import anyio
import anyio.to_thread

from ambidex.offload import ProcessPool, open_file, run_in_thread, wrap

try:
    import aiofiles
except ImportError:  # pragma: no cover - `pip install -e '.[bench]'` brings it
    aiofiles = None
try:  # the wrap rows' peers, from the bench extra too
    import aioodbc
    import aiosqlite
    import pyodbc
    from asgiref.sync import sync_to_async
except ImportError:  # pragma: no cover
    aioodbc = aiosqlite = pyodbc = sync_to_async = None


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
    cpu: dict[str, list[float]] = field(default_factory=dict)
    """CPU seconds of this process (every thread of it; worker processes not counted)."""


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


def file_rows(path: Path, lines: int, chunk_passes: int = 8) -> list[Row]:
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

    async def binary_lines_ambidex() -> None:
        count = 0
        async with open_file(path, "rb") as f:
            async for _ in f:
                count += 1
        assert count == lines, count

    def binary_lines_sync() -> None:
        count = 0
        with open(path, "rb") as f:  # the sync baseline, blocking on purpose
            for _ in f:
                count += 1
        assert count == lines, count

    size = path.stat().st_size

    async def chunks_ambidex() -> None:
        for _ in range(chunk_passes):
            total = 0
            async with open_file(path, "rb") as f:
                while chunk := await f.read(65536):
                    total += len(chunk)
            assert total == size

    async def chunks_aiofiles() -> None:
        for _ in range(chunk_passes):
            total = 0
            async with aiofiles.open(path, "rb") as f:
                while chunk := await f.read(65536):
                    total += len(chunk)
            assert total == size

    async def chunks_anyio() -> None:
        for _ in range(chunk_passes):
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
        Row("file lines binary", {"ambidex": binary_lines_ambidex, "sync": binary_lines_sync}),
        Row(f"file chunks ({size >> 10} KiB x{chunk_passes})", chunk_contenders),
    ]


# --- offload.wrap: a blocking database client behind an async facade ---------------
#
# Five workloads from issue 14, for sqlite3 and for pyodbc over the SQLite ODBC
# driver, each done by:
#   ambidex      ambidex.offload.wrap (one hop per query, rows batched per hop)
#   aiosqlite / aioodbc   the wrapper libraries people use for these drivers
#   to_thread    asyncio.to_thread per DB-API call (execute, then fetchone)
#   asgiref      sync_to_async(fn, thread_sensitive=True) per DB-API call
#   sync         the plain driver on the loop's thread (a floor, not a peer)
# to_thread/asgiref share a connection between pool threads, so they open it
# with check_same_thread=False and take an asyncio.Lock per connection.
# Run the drivers one at a time (--only sqlite, then --only odbc): a pyodbc
# connection open on the loop's thread was seen to slow every thread hop of
# the process, whoever makes it, so the sqlite rows are not run next to them.

POINT = "SELECT v FROM t WHERE id = ?"
LONG = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) "
        "SELECT count(*) FROM c")


class DbContender:
    """One way to reach the database: ``open`` (untimed), then the workloads."""

    def __init__(self, name: str, args: argparse.Namespace) -> None:
        self.name = name
        self.args = args
        self.conns: list[Any] = []
        # Each contender has its own copy of the database: no lock of one
        # contender's connections can slow another's writes.
        self.path = str(Path(args.folder) / f"{name.replace(' ', '-')}.sqlite")
        shutil.copy(args.sqlite_path, self.path)
        self.odbc_dsn = f"DRIVER={{SQLite3}};Database={self.path}"

    async def connect(self) -> Any:
        raise NotImplementedError

    async def open(self, count: int) -> None:
        self.conns = [await self.connect() for _ in range(count)]

    async def query(self, conn: Any, sql: str, params: tuple[Any, ...]) -> Any:
        """execute + fetchone, as the contender does it."""
        raise NotImplementedError

    async def points(self) -> None:
        conn = self.conns[0]
        for i in range(self.args.queries):
            row = await self.query(conn, POINT, (i % 1000 + 1,))
            assert row[0] == f"v{i % 1000 + 1}", row

    async def tasks(self) -> None:
        per_task = self.args.queries // 50

        async def worker(k: int) -> None:
            conn = self.conns[k % 4]
            for i in range(per_task):
                row = await self.query(conn, POINT, ((k * per_task + i) % 1000 + 1,))
                assert row[0] == f"v{(k * per_task + i) % 1000 + 1}", row

        await asyncio.gather(*(worker(k) for k in range(50)))

    async def long_query(self, conn: Any, sql: str) -> Any:
        return await self.query(conn, sql, ())

    async def insert(self) -> None:
        raise NotImplementedError

    async def iterate(self) -> None:
        raise NotImplementedError

    async def cancels(self) -> None:
        """Start a long query, cancel it once it runs, and wait until the
        connection answers again: the time the database stays busy."""
        conn, long = self.conns[0], LONG.format(n=self.args.long)
        for _ in range(self.args.cancels):
            task = asyncio.ensure_future(self.long_query(conn, long))
            await asyncio.sleep(0.002)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            assert (await self.query(conn, "SELECT 1", ()))[0] == 1


class AmbidexDb(DbContender):
    def __init__(self, name: str, args: argparse.Namespace, factory: Any) -> None:
        super().__init__(name, args)
        self.factory = factory

    async def connect(self) -> Any:
        if self.factory is sqlite3.connect:
            return await wrap(sqlite3.connect, self.path)
        return await wrap(self.factory, self.odbc_dsn, autocommit=True)

    async def query(self, conn: Any, sql: str, params: tuple[Any, ...]) -> Any:
        cur = await conn.execute(sql, params)  # one hop: the first rows come with it
        return await cur.fetchone()

    async def long_query(self, conn: Any, sql: str) -> Any:
        # pyodbc's Connection.execute has no cancel hook (its cursor is made
        # inside the call), Cursor.execute has: Cursor.cancel().
        cur = await conn.cursor()
        await cur.execute(sql)
        return await cur.fetchone()

    async def insert(self) -> None:
        conn = self.conns[0]
        cur = await conn.cursor()
        await cur.execute("DELETE FROM ins")
        if self.factory is sqlite3.connect:
            await cur.executemany("INSERT INTO ins VALUES (?, ?)", insert_rows(self.args))
            await conn.commit()
        else:  # autocommit: one transaction, spelled out
            await cur.execute("BEGIN")
            await cur.executemany("INSERT INTO ins VALUES (?, ?)", insert_rows(self.args))
            await cur.execute("COMMIT")

    async def iterate(self) -> None:
        cur = await (await self.conns[0].cursor()).execute(iterate_sql(self))
        count = 0
        async for _ in cur:
            count += 1
        assert count == iterate_count(self), count


class ThreadedDb(DbContender):
    """to_thread or asgiref per DB-API call, one lock per shared connection."""

    def __init__(self, name: str, args: argparse.Namespace, factory: Any,
                 hop: Callable[..., Awaitable[Any]]) -> None:
        super().__init__(name, args)
        self.factory, self.hop = factory, hop
        self.locks: dict[int, asyncio.Lock] = {}

    async def connect(self) -> Any:
        if self.factory is sqlite3.connect:
            conn = await self.hop(sqlite3.connect, self.path, check_same_thread=False)
        else:
            conn = await self.hop(self.factory, self.odbc_dsn, autocommit=True)
        self.locks[id(conn)] = asyncio.Lock()
        return conn

    async def query(self, conn: Any, sql: str, params: tuple[Any, ...]) -> Any:
        async with self.locks[id(conn)]:
            cur = await self.hop(conn.cursor)
            await self.hop(cur.execute, sql, params)
            return await self.hop(cur.fetchone)

    async def insert(self) -> None:
        conn = self.conns[0]
        async with self.locks[id(conn)]:
            cur = await self.hop(conn.cursor)
            await self.hop(cur.execute, "DELETE FROM ins")
            odbc = self.factory is not sqlite3.connect
            if odbc:
                await self.hop(cur.execute, "BEGIN")
            await self.hop(cur.executemany, "INSERT INTO ins VALUES (?, ?)",
                           insert_rows(self.args))
            await self.hop(cur.execute, "COMMIT") if odbc else await self.hop(conn.commit)

    async def iterate(self) -> None:
        conn = self.conns[0]
        count = 0
        async with self.locks[id(conn)]:
            cur = await self.hop(conn.cursor)
            await self.hop(cur.execute, iterate_sql(self))
            while rows := await self.hop(cur.fetchmany, 1000):
                for _ in rows:  # a row at a time, as the other contenders
                    count += 1
        assert count == iterate_count(self), count


class SyncDb(DbContender):
    def __init__(self, name: str, args: argparse.Namespace, factory: Any) -> None:
        super().__init__(name, args)
        self.factory = factory

    async def connect(self) -> Any:
        if self.factory is sqlite3.connect:
            return sqlite3.connect(self.path)
        return self.factory(self.odbc_dsn, autocommit=True)

    async def query(self, conn: Any, sql: str, params: tuple[Any, ...]) -> Any:
        return conn.cursor().execute(sql, params).fetchone()

    async def insert(self) -> None:
        conn = self.conns[0]
        cur = conn.cursor()
        cur.execute("DELETE FROM ins")
        odbc = self.factory is not sqlite3.connect
        if odbc:
            cur.execute("BEGIN")
        cur.executemany("INSERT INTO ins VALUES (?, ?)", insert_rows(self.args))
        cur.execute("COMMIT") if odbc else conn.commit()

    async def iterate(self) -> None:
        count = sum(1 for _ in self.conns[0].cursor().execute(iterate_sql(self)))
        assert count == iterate_count(self), count


class AiosqliteDb(DbContender):
    async def connect(self) -> Any:
        return await aiosqlite.connect(self.path)

    async def query(self, conn: Any, sql: str, params: tuple[Any, ...]) -> Any:
        async with conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def insert(self) -> None:
        conn = self.conns[0]
        await conn.execute("DELETE FROM ins")
        await conn.executemany("INSERT INTO ins VALUES (?, ?)", insert_rows(self.args))
        await conn.commit()

    async def iterate(self) -> None:
        count = 0
        async with self.conns[0].execute(iterate_sql(self)) as cur:
            async for _ in cur:
                count += 1
        assert count == iterate_count(self), count


class AioodbcDb(DbContender):
    async def connect(self) -> Any:
        return await aioodbc.connect(dsn=self.odbc_dsn, autocommit=True)

    async def query(self, conn: Any, sql: str, params: tuple[Any, ...]) -> Any:
        cur = await conn.cursor()
        await cur.execute(sql, *params)
        row = await cur.fetchone()
        await cur.close()
        return row

    async def insert(self) -> None:
        conn = self.conns[0]
        cur = await conn.cursor()
        await cur.execute("DELETE FROM ins")
        await cur.execute("BEGIN")
        await cur.executemany("INSERT INTO ins VALUES (?, ?)", insert_rows(self.args))
        await cur.execute("COMMIT")

    async def iterate(self) -> None:
        cur = await self.conns[0].cursor()
        await cur.execute(iterate_sql(self))
        count = 0
        async for _ in cur:
            count += 1
        assert count == iterate_count(self), count


def insert_rows(args: argparse.Namespace) -> list[tuple[int, str]]:
    return [(i, f"r{i}") for i in range(args.insert_rows)]


def iterate_count(contender: DbContender) -> int:
    rows: int = contender.args.odbc_iter_rows if contender.name.startswith("odbc") \
        else contender.args.iter_rows
    return rows


def iterate_sql(contender: DbContender) -> str:
    return f"SELECT id, v FROM t WHERE id <= {iterate_count(contender)}"


def make_database(path: Path, rows: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.execute("CREATE TABLE ins (id INTEGER, v TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", ((i, f"v{i}") for i in range(1, rows + 1)))
    conn.commit()
    conn.close()


def db_contenders(args: argparse.Namespace) -> dict[str, list[DbContender]]:
    to_thread, asgi = asyncio.to_thread, None
    if sync_to_async is not None:
        def asgi(fn: Any, /, *a: Any, **k: Any) -> Awaitable[Any]:
            started: Awaitable[Any] = sync_to_async(fn, thread_sensitive=True)(*a, **k)
            return started
    sqlite_side: list[DbContender] = [AmbidexDb("sqlite ambidex", args, sqlite3.connect)]
    if aiosqlite is not None:
        sqlite_side.append(AiosqliteDb("sqlite aiosqlite", args))
    sqlite_side.append(ThreadedDb("sqlite to_thread", args, sqlite3.connect, to_thread))
    if asgi is not None:
        sqlite_side.append(ThreadedDb("sqlite asgiref", args, sqlite3.connect, asgi))
    sqlite_side.append(SyncDb("sqlite sync", args, sqlite3.connect))
    odbc_side: list[DbContender] = []
    if pyodbc is not None:
        odbc_side.append(AmbidexDb("odbc ambidex", args, pyodbc.connect))
        if aioodbc is not None:
            odbc_side.append(AioodbcDb("odbc aioodbc", args))
        odbc_side.append(ThreadedDb("odbc to_thread", args, pyodbc.connect, to_thread))
        if asgi is not None:
            odbc_side.append(ThreadedDb("odbc asgiref", args, pyodbc.connect, asgi))
        odbc_side.append(SyncDb("odbc sync", args, pyodbc.connect))
    return {"sqlite": sqlite_side, "odbc": odbc_side}


async def wrap_rows(args: argparse.Namespace, folder: Path) -> list[Row]:
    """The issue-14 rows; opens every contender's four connections (untimed)."""
    args.folder = str(folder)
    args.sqlite_path = str(folder / "bench.sqlite")
    make_database(Path(args.sqlite_path), max(args.iter_rows, args.odbc_iter_rows, 1000))
    rows = []
    for driver, contenders in db_contenders(args).items():
        if args.only and args.only != "wrap" and driver not in args.only:
            continue  # its connections would be open (and cost) while the others run
        for contender in contenders:
            await contender.open(4)
        iter_rows = args.odbc_iter_rows if driver == "odbc" else args.iter_rows
        workloads = [
            (f"{driver} points x{args.queries}", "points", True),
            (f"{driver} 50 tasks/4 conns", "tasks", False),
            (f"{driver} executemany {args.insert_rows}", "insert", True),
            (f"{driver} iterate {iter_rows}", "iterate", True),
            (f"{driver} cancel x{args.cancels}", "cancels", False),
        ]
        for name, method, with_sync in workloads:
            rows.append(Row(name, {
                c.name.split()[1]: getattr(c, method) for c in contenders
                if with_sync or not c.name.endswith("sync")}))
    return rows


async def run_rows(rows: list[Row], rounds: int) -> None:
    for row in rows:
        row.times = {label: [] for label in row.contenders}
        row.cpu = {label: [] for label in row.contenders}
    for round_ in range(rounds):
        for row in rows:
            labels = list(row.contenders)
            shift = round_ % len(labels)
            for label in labels[shift:] + labels[:shift]:
                cpu = time.process_time()
                started = time.perf_counter()
                result = row.contenders[label]()
                if inspect.isawaitable(result):
                    await result
                row.times[label].append(time.perf_counter() - started)
                row.cpu[label].append(time.process_time() - cpu)


def print_table(rows: list[Row], rounds: int) -> None:
    load = os.getloadavg()
    print(
        f"python {sys.version.split()[0]}, median of {rounds} interleaved rounds, "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print("peer/ambidex > 1.00: ambidex is faster; cpu s: this process's CPU (all its threads)")
    print(f"{'row':<26} {'contender':<16} {'median s':>10} {'peer/ambidex':>13} {'cpu s':>8}")
    for row in rows:
        medians = {label: statistics.median(times) for label, times in row.times.items()}
        base = medians[next(iter(row.contenders))]
        for label, seconds in medians.items():
            ratio = "" if label == next(iter(row.contenders)) else f"{seconds / base:13.3g}"
            cpu = statistics.median(row.cpu[label]) if row.cpu.get(label) else float("nan")
            print(f"{row.name:<26} {label:<16} {seconds:>10.4f} {ratio:>13} {cpu:>8.4f}")
    print_goals(rows)


# Issue 13 §1's goals: (row name starts with, peer, the least peer/ambidex that meets it).
GOALS = [
    ("threads x1", "to_thread", 1.0),
    ("threads x64", "to_thread", 1.0),
    ("threads x1000", "to_thread", 1.0),
    ("process x1", "run_in_executor", 1.0),
    ("process x64", "run_in_executor", 1.0),
    ("file lines", "sync", 1 / 3),
    ("file lines binary", "sync", 1 / 3),
    ("file chunks", "aiofiles", 1.0),
]


def print_goals(rows: list[Row]) -> None:
    """One line per goal of issue 13 §1 that this run measured: met or not."""
    lines = []
    for prefix, peer, least in GOALS:
        for row in rows:
            if row.name.split(" (")[0] != prefix or peer not in row.times:
                continue
            ours = statistics.median(row.times[next(iter(row.contenders))])
            theirs = statistics.median(row.times[peer])
            ratio = theirs / ours
            if peer == "sync":
                goal = f"ambidex time / sync time = {ours / theirs:.2f}x, goal <= 3x"
            else:
                goal = f"{peer} time / ambidex time = {ratio:.2f}x, goal >= {least:.1f}x"
            verdict = "met" if ratio >= least else "NOT met"
            # CPU time is what load distorts least: shown beside the verdict.
            cpu = statistics.median(row.cpu[peer]) / statistics.median(
                row.cpu[next(iter(row.contenders))]
            )
            if peer == "sync":
                cpu = 1 / cpu  # ambidex / sync, as the goal reads
            lines.append(f"  {row.name:<26} {goal:<52} {verdict:<8} (cpu {cpu:.2f}x)")
    if lines:
        print("goals (issue 13 §1, medians of this run; cpu: the same ratio in CPU time):")
        print("\n".join(lines))


async def main_async(args: argparse.Namespace) -> None:
    pools = ProcessPools()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lines.txt"
        # 100-byte lines, like the 10 MB / 100k-line file.
        path.write_text("".join(f"{i:099d}\n" for i in range(args.lines)), encoding="utf-8")
        rows: list[Row] = []
        rows += thread_rows(args.calls)
        rows += process_rows(max(10, args.calls // 10), pools)
        rows += file_rows(path, args.lines, args.chunk_passes)
        if not args.only or any(w in args.only for w in ("sqlite", "odbc", "wrap")):
            rows += await wrap_rows(args, Path(tmp))
        if args.only and args.only != "wrap":
            words = args.only.split(",")
            rows = [row for row in rows if any(word in row.name for word in words)]
        elif args.only == "wrap":
            rows = [row for row in rows if row.name.startswith(("sqlite", "odbc"))]
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
    parser.add_argument("--lines", type=int, default=100_000,
                        help="lines in the file rows (100k lines of 100 bytes: issue 13's file)")
    parser.add_argument("--chunk-passes", type=int, default=8,
                        help="file chunks: passes over the file per timed sample (one is too "
                        "short to measure: 5-15 ms)")
    parser.add_argument("--only", default="", help="run only the rows whose name contains this "
                        "(or one of these, comma-separated; 'wrap': the offload.wrap rows; "
                        "'threads,process,file': issue 13's goal rows)")
    parser.add_argument("--queries", type=int, default=10_000, help="wrap: point SELECTs")
    parser.add_argument("--insert-rows", type=int, default=100_000, help="wrap: executemany rows")
    parser.add_argument("--iter-rows", type=int, default=1_000_000,
                        help="wrap: rows iterated (sqlite3)")
    parser.add_argument("--odbc-iter-rows", type=int, default=100_000,
                        help="wrap: rows iterated (pyodbc; aioodbc makes a hop per row)")
    parser.add_argument("--cancels", type=int, default=200, help="wrap: queries cancelled")
    parser.add_argument("--long", type=int, default=300_000,
                        help="wrap: the cancelled query counts to this (tens of ms)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
