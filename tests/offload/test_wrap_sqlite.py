"""``wrap`` over sqlite3: the sync driver's behaviour, through the facade.

Each scenario below is written once against an awaited connection and run
twice: on the plain sqlite3 driver (every call made at once on the loop's
thread) and on ``await wrap(sqlite3.connect, ...)``. Both runs must give the
same transcript, and the scenario checks its values besides. sqlite3's own
``check_same_thread`` stays on throughout, so a single call made on a wrong
thread fails the test.
"""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from ambidex.offload import PinnedThreads, ResultsLostError, Wrapped, Wrapper, wrap

FOREVER = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
)
"""A query that runs until it is interrupted."""
ENDLESS_ROWS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"
"""Rows without end: fetchall() on it runs until it is interrupted."""

# A generous guard, not a timing: a cancelled query that did not stop would
# keep its connection busy forever, and this turns that hang into a failure.
GUARD = 20.0

_BLOCKING = {"execute", "executemany", "executescript", "fetchone", "fetchmany", "fetchall",
             "commit", "rollback", "close", "cursor"}


class Direct:
    """The sync driver, awaited: each call runs at once, on the loop's thread."""

    def __init__(self, obj: Any) -> None:
        object.__setattr__(self, "wrapped", obj)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.wrapped, name)
        if name not in _BLOCKING:
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            if result is self.wrapped:
                return self
            if isinstance(result, (sqlite3.Connection, sqlite3.Cursor)):
                return Direct(result)
            return result

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.wrapped, name, value)

    def __aiter__(self) -> Direct:
        return self

    async def __anext__(self) -> Any:
        row = self.wrapped.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    async def __aenter__(self) -> Direct:
        self.wrapped.__enter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.wrapped.__exit__(*exc)


Opener = Callable[[str], Awaitable[Any]]


async def open_direct(path: str) -> Any:
    return Direct(sqlite3.connect(path))


async def open_wrapped(path: str) -> Any:
    return await wrap(sqlite3.connect, path)


# --- the scenarios: each returns a transcript ----------------------------------------


async def rows_round_trip(db: Any, tmp: Path) -> list[Any]:
    await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    cur = await db.execute("INSERT INTO t (name) VALUES (?)", ("ada",))
    out: list[Any] = [cur.lastrowid, cur.rowcount]
    await db.executemany("INSERT INTO t (name) VALUES (?)", [("bob",), ("cy",)])
    cur = await db.execute("SELECT id, name FROM t WHERE id > ? ORDER BY id", (0,))
    out.append([d[0] for d in cur.description])
    out.append(await cur.fetchall())
    assert out == [1, 1, ["id", "name"], [(1, "ada"), (2, "bob"), (3, "cy")]]
    return out


async def fetch_styles_mixed(db: Any, tmp: Path) -> list[Any]:
    # More rows than wrap brings back with the execute (64), read every way.
    cur = await db.execute(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 150) "
        "SELECT x FROM c")
    out: list[Any] = [await cur.fetchone(), await cur.fetchmany(3), cur.arraysize]
    out.append(await cur.fetchmany())  # arraysize rows: 1
    many = await cur.fetchmany(70)  # crosses the prefetched rows
    out.append((many[0], many[-1], len(many)))
    rest = await cur.fetchall()
    out.append((rest[0], rest[-1], len(rest)))
    out += [await cur.fetchone(), await cur.fetchmany(5), await cur.fetchall()]
    assert out[0] == (1,) and out[1] == [(2,), (3,), (4,)] and out[3] == [(5,)]
    assert out[4] == ((6,), (75,), 70) and out[5] == ((76,), (150,), 75)
    assert out[6:] == [None, [], []]
    return out


async def iterating_a_cursor(db: Any, tmp: Path) -> list[Any]:
    cur = await db.execute(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) "
        "SELECT x, x * x FROM c")
    rows = [row async for row in cur]
    assert rows == [(x, x * x) for x in range(1, 1001)]
    empty = [row async for row in await db.execute("SELECT 1 WHERE 0")]
    return [len(rows), rows[:3], rows[-1], empty]


async def one_cursor_executed_again(db: Any, tmp: Path) -> list[Any]:
    cur = await db.cursor()
    again = await cur.execute("SELECT 1 UNION ALL SELECT 2")
    out: list[Any] = [again is cur, await cur.fetchone()]
    await cur.execute("SELECT 'b'")  # drops the unread row of the first query
    out += [await cur.fetchall(), await cur.fetchone()]
    await cur.execute("CREATE TABLE u (x)")
    out += [cur.description, await cur.fetchall()]
    assert out == [True, (1,), [("b",)], None, None, []]
    return out


async def transactions(db: Any, tmp: Path) -> list[Any]:
    await db.execute("CREATE TABLE t (x)")
    await db.commit()
    await db.execute("INSERT INTO t VALUES (1)")
    out: list[Any] = [db.in_transaction]
    await db.rollback()
    out.append(await (await db.execute("SELECT count(*) FROM t")).fetchone())
    async with db:  # commits
        await db.execute("INSERT INTO t VALUES (2)")
    with pytest.raises(ZeroDivisionError):
        async with db:  # rolls back
            await db.execute("INSERT INTO t VALUES (3)")
            raise ZeroDivisionError
    out.append(await (await db.execute("SELECT x FROM t")).fetchall())
    assert out == [True, (0,), [(2,)]]
    return out


async def errors_leave_the_connection_usable(db: Any, tmp: Path) -> list[Any]:
    await db.execute("CREATE TABLE t (x UNIQUE)")
    await db.execute("INSERT INTO t VALUES (1)")
    out: list[Any] = []
    with pytest.raises(sqlite3.OperationalError) as syntax:
        await db.execute("SELEC 1")
    out.append(type(syntax.value).__name__)
    with pytest.raises(sqlite3.IntegrityError):
        await db.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.ProgrammingError):
        await db.execute("SELECT ?", (1, 2))
    out.append(await (await db.execute("SELECT count(*) FROM t")).fetchone())
    assert out == ["OperationalError", (1,)]
    return out


async def row_factory_and_scripts(db: Any, tmp: Path) -> list[Any]:
    db.row_factory = sqlite3.Row  # an attribute: set on the object itself
    await db.executescript("CREATE TABLE t (a, b); INSERT INTO t VALUES (1, 'one');")
    row = await (await db.execute("SELECT a, b FROM t")).fetchone()
    out = [tuple(row.keys()), row["b"], db.total_changes]
    assert out == [("a", "b"), "one", 1]
    return out


async def closing(db: Any, tmp: Path) -> list[Any]:
    cur = await db.execute("SELECT 1")
    await cur.close()
    with pytest.raises(sqlite3.ProgrammingError):
        await cur.fetchall()
    await db.close()
    with pytest.raises(sqlite3.ProgrammingError):
        await db.execute("SELECT 1")
    return ["closed"]


async def two_connections_to_one_file(db: Any, tmp: Path) -> list[Any]:
    await db.execute("CREATE TABLE t (x)")
    await db.commit()
    await db.execute("INSERT INTO t VALUES (42)")
    other = sqlite3.connect(tmp / "db.sqlite")  # sees committed data only
    before = other.execute("SELECT count(*) FROM t").fetchone()
    await db.commit()
    after = other.execute("SELECT x FROM t").fetchall()
    other.close()
    assert (before, after) == ((0,), [(42,)])
    return [before, after]


SCENARIOS = [rows_round_trip, fetch_styles_mixed, iterating_a_cursor, one_cursor_executed_again,
             transactions, errors_leave_the_connection_usable, row_factory_and_scripts, closing,
             two_connections_to_one_file]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
async def test_the_facade_behaves_as_the_sync_driver(scenario: Any, tmp_path: Path) -> None:
    transcripts = []
    for opener in (open_direct, open_wrapped):
        folder = tmp_path / opener.__name__
        folder.mkdir()
        db = await opener(str(folder / "db.sqlite"))
        transcripts.append(await scenario(db, folder))
    assert transcripts[0] == transcripts[1]


# --- thread affinity -------------------------------------------------------------------


async def test_a_connection_and_its_cursors_stay_on_one_thread_with_check_same_thread_on() -> None:
    conn = await wrap(sqlite3.connect, ":memory:")
    cur = await conn.cursor()
    home = await conn.on_thread(threading.get_ident)
    assert home != threading.get_ident()
    assert await cur.on_thread(threading.get_ident) == home
    # The check is on: the raw object refuses the loop's thread.
    with pytest.raises(sqlite3.ProgrammingError, match="same thread"):
        conn.wrapped.execute("SELECT 1")
    # A user function runs where the query runs: on that thread.
    seen: list[int] = []
    await conn.on_thread(conn.wrapped.create_function, "home", 0,
                         lambda: seen.append(threading.get_ident()) or 1)  # type: ignore[func-returns-value]
    assert await (await cur.execute("SELECT home()")).fetchone() == (1,)
    assert seen == [home]
    await conn.close()


async def test_more_connections_than_threads_share_the_bounded_threads() -> None:
    threads = PinnedThreads(2)
    wrapper = Wrapper(threads=threads)
    conns = [await wrapper.wrap(sqlite3.connect, ":memory:") for _ in range(5)]
    homes = [await c.on_thread(threading.get_ident) for c in conns]
    assert len(threads.threads) == 2
    assert set(homes) == {t.ident for t in threads.threads}
    assert sorted(t.graphs for t in threads.threads) == [2, 3]

    async def count(c: Wrapped, n: int) -> Any:
        cur = await c.execute(f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                              f"FROM c WHERE x < {n}) SELECT count(*) FROM c")
        return (await cur.fetchone())[0]

    assert await asyncio.gather(*(count(c, 1000 + i) for i, c in enumerate(conns))) == [
        1000 + i for i in range(5)]
    # A graph whose facades are all gone frees its place on the thread.
    for c in conns[:3]:
        await c.close()
    del conns[:3], c
    gc.collect()
    assert sum(t.graphs for t in threads.threads) == 2
    threads.close()


async def test_wrapping_an_existing_object_pins_it_to_a_thread() -> None:
    raw = sqlite3.connect(":memory:", check_same_thread=False)
    conn = wrap(raw)
    assert isinstance(conn, Wrapped) and conn.wrapped is raw
    assert await (await conn.execute("SELECT 5")).fetchall() == [(5,)]
    with pytest.raises(TypeError, match=r"no row of the rule table says a method of .*int"):
        wrap(7)


# --- cancellation and timeouts at each await ----------------------------------------------


async def test_a_long_query_cancelled_mid_run_stops_and_the_connection_answers_the_next() -> None:
    conn = await wrap(sqlite3.connect, ":memory:")
    home = await conn.on_thread(threading.get_ident)
    task = asyncio.ensure_future(conn.execute(FOREVER))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # FOREVER never ends by itself: this answer proves the database stopped it.
    cur = await asyncio.wait_for(conn.execute("SELECT 'next'"), GUARD)
    assert await cur.fetchone() == ("next",)
    assert await conn.on_thread(threading.get_ident) == home


async def test_a_timeout_on_a_running_query_interrupts_it() -> None:
    conn = await wrap(sqlite3.connect, ":memory:")
    cur = await conn.cursor()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(cur.execute(FOREVER), 0.05)
    await asyncio.wait_for(cur.execute("SELECT 1"), GUARD)
    assert await cur.fetchall() == [(1,)]


async def test_a_call_cancelled_while_queued_never_runs() -> None:
    conn = await wrap(sqlite3.connect, ":memory:")
    await conn.execute("CREATE TABLE t (x)")
    blocker = asyncio.ensure_future(conn.execute(FOREVER))
    await asyncio.sleep(0.05)
    queued = asyncio.ensure_future(conn.execute("INSERT INTO t VALUES (1)"))
    commit = asyncio.ensure_future(conn.commit())
    await asyncio.sleep(0)
    queued.cancel()
    commit.cancel()
    blocker.cancel()
    for task in (queued, commit, blocker):
        with pytest.raises(asyncio.CancelledError):
            await task
    cur = await asyncio.wait_for(conn.execute("SELECT count(*) FROM t"), GUARD)
    assert await cur.fetchone() == (0,)


async def test_an_interrupted_fetch_says_the_rows_are_lost_until_executed_again() -> None:
    conn = await wrap(sqlite3.connect, ":memory:")
    cur = await conn.execute(ENDLESS_ROWS)
    assert await cur.fetchone() == (1,)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(cur.fetchall(), 0.05)
    # Never silently out of step: sqlite3 alone would now say "no more rows".
    with pytest.raises(ResultsLostError):
        await asyncio.wait_for(cur.fetchall(), GUARD)
    # The 63 rows fetched with the execute were not lost; what came after was.
    assert await cur.fetchmany(63) == [(x,) for x in range(2, 65)]
    with pytest.raises(ResultsLostError):
        await cur.fetchone()
    await cur.execute("SELECT 'again'")
    assert await cur.fetchall() == [("again",)]


async def test_cancelling_an_iteration_keeps_the_cursor_in_step() -> None:
    conn = await wrap(sqlite3.connect, ":memory:", )
    cur = await conn.execute(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000) "
        "SELECT x FROM c")
    seen: list[int] = []
    enough = asyncio.Event()

    async def read() -> None:
        async for (x,) in cur:
            seen.append(x)
            if x == 300:
                enough.set()
            if x % 100 == 0:
                await asyncio.sleep(0)

    task = asyncio.ensure_future(read())
    await enough.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    rest = [x async for (x,) in cur]
    assert seen + rest == list(range(1, 5001))


async def test_cancelling_the_factory_closes_what_it_makes() -> None:
    made: list[sqlite3.Connection] = []
    release = threading.Event()

    def slow_connect() -> sqlite3.Connection:
        release.wait(GUARD)
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        made.append(conn)
        return conn

    wrapper = Wrapper(threads=PinnedThreads(1))
    task = asyncio.ensure_future(wrapper.wrap(slow_connect))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    # The thread is free again once the connect returned; the connection was closed.
    later = await asyncio.wait_for(wrapper.wrap(sqlite3.connect, ":memory:"), GUARD)
    assert await (await later.execute("SELECT 1")).fetchone() == (1,)
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        made[0].execute("SELECT 1")
    wrapper.threads.close()


async def test_the_context_manager_form_closes_the_connection(tmp_path: Path) -> None:
    async with wrap(sqlite3.connect, str(tmp_path / "db")) as conn:
        await conn.execute("CREATE TABLE t (x)")
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        await conn.execute("SELECT 1")


async def test_cancelling_one_query_leaves_another_cursors_unread_rows_alone() -> None:
    # sqlite3's interrupt() stays in force while any statement of the connection
    # is unfinished: this cursor's, here. It must stop the cancelled query only.
    conn = await wrap(sqlite3.connect, ":memory:")
    reading = await conn.execute(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300) "
        "SELECT x FROM c")
    assert await reading.fetchone() == (1,)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(conn.execute(FOREVER), 0.05)
    assert await (await conn.execute("SELECT 'next'")).fetchone() == ("next",)
    assert await reading.fetchall() == [(x,) for x in range(2, 301)]


QUEUED_CALLS = {
    "cursor": lambda conn, cur: conn.cursor(),
    "execute": lambda conn, cur: conn.execute("INSERT INTO t VALUES (1)"),
    "executemany": lambda conn, cur: conn.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)]),
    "executescript": lambda conn, cur: conn.executescript("INSERT INTO t VALUES (1);"),
    "commit": lambda conn, cur: conn.commit(),
    "rollback": lambda conn, cur: conn.rollback(),
    "cursor.execute": lambda conn, cur: cur.execute("INSERT INTO t VALUES (1)"),
    "fetchall": lambda conn, cur: cur.fetchall(),
    "close": lambda conn, cur: conn.close(),
    "on_thread": lambda conn, cur: conn.on_thread(conn.wrapped.execute, "INSERT INTO t VALUES (1)"),
    "async with": lambda conn, cur: conn.__aenter__(),
}


@pytest.mark.parametrize("call", QUEUED_CALLS.values(), ids=QUEUED_CALLS.keys())
async def test_any_call_cancelled_while_queued_never_runs(call: Any) -> None:
    conn = await wrap(sqlite3.connect, ":memory:")
    await conn.execute("CREATE TABLE t (x)")
    await conn.commit()
    cur = await conn.cursor()
    blocker = asyncio.ensure_future(conn.execute(FOREVER))
    await asyncio.sleep(0.02)
    queued = asyncio.ensure_future(call(conn, cur))
    await asyncio.sleep(0)
    queued.cancel()
    blocker.cancel()
    for task in (queued, blocker):
        with pytest.raises(asyncio.CancelledError):
            await task
    # Still open, nothing inserted, nothing begun: the queued call never ran.
    assert not conn.in_transaction
    counted = await asyncio.wait_for(conn.execute("SELECT count(*) FROM t"), GUARD)
    assert await counted.fetchone() == (0,)


@pytest.mark.allow_blocking
async def test_a_factory_cancelled_after_it_returned_but_before_delivery_still_closes() -> None:
    made: list[sqlite3.Connection] = []
    returned = threading.Event()
    closed = threading.Event()

    class Tracked(sqlite3.Connection):
        def close(self) -> None:
            super().close()
            closed.set()

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(":memory:", check_same_thread=False, factory=Tracked)
        made.append(conn)
        returned.set()
        return conn

    wrapper = Wrapper(threads=PinnedThreads(1))
    task = asyncio.ensure_future(wrapper.wrap(connect))
    await asyncio.sleep(0)  # the job is on the thread now
    # Hold the loop (on purpose) until the factory has returned, so the result
    # is posted but not delivered when the cancel comes.
    assert returned.wait(GUARD)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Wait for the close without touching the connection: an execute from this
    # thread racing the close on the pinned one crashed CPython 3.12's sqlite3
    # (a segfault in tools/test.sh's 3.12 session).
    for _ in range(int(GUARD / 0.01)):
        if closed.is_set():
            break
        await asyncio.sleep(0.01)
    assert closed.is_set()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        made[0].execute("SELECT 1")
    wrapper.threads.close()
