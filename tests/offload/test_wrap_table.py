"""``wrap`` reads the rule table: user rows, cancel hooks, DB-API fallbacks, and advice.

The clients here are small fakes whose blocking calls wait on events, so each
test decides exactly when a call is running, finished or cancelled.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import textwrap
import threading
import types
from pathlib import Path
from typing import Any

import pytest

import ambidex.detect
from ambidex._config import load_config
from ambidex._rules import DEFAULT_TABLE, RuleError, load_table, rule_from_toml
from ambidex.detect import BlockingCallError
from ambidex.detect._lint import lint_sources
from ambidex.offload import PinnedThreads, Wrapped, WrappedClosedError, Wrapper
from ambidex.offload._rows import rows_for

GUARD = 20.0  # a hang guard, not a timing


class Session:
    """What Legacy.open returns: blocking too, so wrapped on the same thread."""

    def __init__(self) -> None:
        self.threads: list[int] = []

    def ping(self) -> str:
        self.threads.append(threading.get_ident())
        return "pong"


class Legacy:
    """A blocking client a user describes with [[tool.ambidex.rules]] rows."""

    def __init__(self) -> None:
        self.name = "legacy"
        self.threads: list[int] = []
        self.go = threading.Event()
        self.started = threading.Event()
        self.stopped_by: list[int] = []
        self.closed_on: list[int] = []
        self.hook_fails = False

    def fetch(self, key: str) -> str:
        self.threads.append(threading.get_ident())
        self.started.set()
        self.go.wait(GUARD)
        if self.stopped_by:
            raise InterruptedError("stopped")
        return key.upper()

    def open(self) -> Session:
        self.threads.append(threading.get_ident())
        return Session()

    def abort(self) -> None:  # the cancel hook: called from the loop's thread
        if self.hook_fails:
            raise OSError("the server did not answer the cancel request")
        self.stopped_by.append(threading.get_ident())
        self.go.set()

    def close(self) -> None:
        self.closed_on.append(threading.get_ident())

    def describe(self) -> str:  # not in the table: called directly
        return f"{self.name} on {threading.get_ident()}"


PYPROJECT = f"""
[tool.ambidex]
[[tool.ambidex.rules]]
sync = "{__name__}.Legacy.fetch"
kind = "method"
cancel = "abort"
fix = "use ambidex.offload.wrap"

[[tool.ambidex.rules]]
sync = "{__name__}.Legacy.open"
kind = "method"
returns = "{__name__}.Session"

[[tool.ambidex.rules]]
sync = "{__name__}.Legacy.close"
kind = "method"

[[tool.ambidex.rules]]
sync = "{__name__}.Session.ping"
kind = "method"
"""


@pytest.fixture
def wrapper(tmp_path: Path) -> Any:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    threads = PinnedThreads(2)
    yield Wrapper(threads=threads, table=load_config(tmp_path).table)
    threads.close()


async def test_user_rows_decide_what_runs_on_the_thread(wrapper: Wrapper) -> None:
    client = await wrapper.wrap(Legacy)
    client.wrapped.go.set()
    assert await client.fetch("a") == "A"
    home = client.wrapped.threads[0]
    assert home != threading.get_ident()
    # Not in the table: read or called directly, on the loop's thread.
    assert client.name == "legacy"
    assert client.describe() == f"legacy on {threading.get_ident()}"
    # A blocking object from a blocking call is wrapped, on the same thread.
    session = await client.open()
    assert isinstance(session, Wrapped)
    assert await session.ping() == "pong"
    assert session.wrapped.threads == [home]


async def test_the_rows_cancel_hook_stops_a_running_call_from_the_loops_thread(
    wrapper: Wrapper,
) -> None:
    client = await wrapper.wrap(Legacy)
    legacy = client.wrapped
    task = asyncio.ensure_future(client.fetch("slow"))
    await asyncio.to_thread(legacy.started.wait, GUARD)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert legacy.stopped_by == [threading.get_ident()]
    # The object is in step: its next call runs after the stopped one ended.
    legacy.stopped_by.clear()
    assert await asyncio.wait_for(client.fetch("b"), GUARD) == "B"


async def test_an_object_whose_cancel_hook_fails_is_closed_not_used_out_of_step(
    wrapper: Wrapper,
) -> None:
    client = await wrapper.wrap(Legacy)
    legacy = client.wrapped
    legacy.hook_fails = True
    task = asyncio.ensure_future(client.fetch("slow"))
    await asyncio.to_thread(legacy.started.wait, GUARD)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(WrappedClosedError, match="cancel hook abort"):
        await client.fetch("c")
    legacy.go.set()
    for _ in range(int(GUARD / 0.01)):
        if legacy.closed_on:
            break
        await asyncio.sleep(0.01)
    assert legacy.closed_on == legacy.threads[:1]  # closed, on its own thread


class FakeCursor:
    """A DB-API cursor whose fetches wait for a go-ahead; no cancel hook."""

    arraysize = 1

    def __init__(self) -> None:
        self.description: Any = None
        self.rows: list[tuple[int]] = []
        self.go = threading.Event()
        self.fetching = threading.Event()

    def execute(self, sql: str) -> FakeCursor:
        self.description = (("x",),)
        self.rows = [(i,) for i in range(int(sql))]
        return self

    def fetchmany(self, size: int) -> list[tuple[int]]:
        self.fetching.set()
        self.go.wait(GUARD)
        out, self.rows = self.rows[:size], self.rows[size:]
        return out

    def fetchone(self) -> Any:
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def fetchall(self) -> list[tuple[int]]:
        return self.fetchmany(len(self.rows))

    def close(self) -> None:
        pass


async def test_rows_fetched_by_a_cancelled_call_are_kept_for_the_next_fetch() -> None:
    fake = types.ModuleType("fakedb")
    fake.apilevel = "2.0"  # type: ignore[attr-defined]
    cursor_type = type("Cursor", (FakeCursor,), {"__module__": "fakedb"})
    sys.modules["fakedb"] = fake
    try:
        # No row names fakedb: its apilevel makes the generic DB-API rows apply.
        assert "fetchmany" in (rows_for(DEFAULT_TABLE, cursor_type) or {})
        cursor = Wrapper(table=DEFAULT_TABLE, prefetch=2).wrap(cursor_type())
        raw = cursor.wrapped
        raw.go.set()
        await cursor.execute("10")  # brings back rows 0 and 1
        assert await cursor.fetchone() == (0,)
        raw.go.clear()
        raw.fetching.clear()
        task = asyncio.ensure_future(cursor.fetchmany(4))  # needs a hop for 3 more
        await asyncio.to_thread(raw.fetching.wait, GUARD)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        raw.go.set()  # the fetch ends after its await was cancelled
        assert await asyncio.wait_for(cursor.fetchall(), GUARD) == [(i,) for i in range(1, 10)]
    finally:
        del sys.modules["fakedb"]


def test_cancel_and_results_are_row_keys_with_checked_types() -> None:
    row = rule_from_toml({"sync": "a.B.q", "kind": "method", "cancel": "c.stop", "results": True})
    assert (row.cancel, row.results) == ("c.stop", True)
    with pytest.raises(RuleError, match="'cancel' must be a string"):
        rule_from_toml({"sync": "a.B.q", "cancel": 1})
    with pytest.raises(RuleError, match="'results' must be true or false"):
        rule_from_toml({"sync": "a.B.q", "results": "yes"})
    assert load_table({"rules": [{"sync": "a.B.q", "kind": "method", "cancel": "x"}]}).by_sync[
        "a.B.q"].cancel == "x"


def test_the_driver_rows_declare_their_cancel_hooks() -> None:
    rows = DEFAULT_TABLE.by_sync
    assert rows["sqlite3.Connection.execute"].cancel == "interrupt"
    assert rows["sqlite3.Cursor.execute"].cancel == "connection.interrupt"
    assert rows["pyodbc.Cursor.execute"].cancel == "cancel"
    assert rows["psycopg2.extensions.cursor.execute"].cancel == "connection.cancel"
    for name in ("connect", "cursor", "execute", "executemany", "fetchone", "fetchmany",
                 "fetchall", "commit", "rollback", "close"):
        owner = "dbapi" if name == "connect" else (
            "dbapi.Connection" if name in ("cursor", "commit", "rollback") else "dbapi.Cursor")
        assert rows[f"{owner}.{name}"].blocks, name


def test_the_lint_suggests_wrap_for_a_driver_call() -> None:
    source = textwrap.dedent("""
        import sqlite3

        async def handler():
            db = sqlite3.connect("app.db")
            return db.execute("SELECT 1")
    """)
    findings = lint_sources({"m.py": source}).findings
    fixes = {f.line: f.fix for f in findings}
    assert "ambidex.offload.wrap" in fixes[5]
    assert "await wrap(sqlite3.connect" in fixes[5]
    assert "ambidex.offload.wrap" in fixes[6]


@pytest.mark.allow_blocking
async def test_the_runtime_detector_suggests_wrap_for_a_driver_call() -> None:
    with ambidex.detect.watch(threshold=5.0, mode="raise", intercept=True) as detector:
        async def handler() -> None:
            sqlite3.connect(":memory:")

        with pytest.raises(BlockingCallError) as caught:
            await asyncio.create_task(handler())
        detector.reports.clear()
    assert caught.value.report.call == "sqlite3.connect"
    assert "ambidex.offload.wrap" in str(caught.value)


def test_a_graph_collected_by_the_gc_inside_pin_does_not_deadlock() -> None:
    # The garbage collector may run a dead graph's __del__ (which unpins) at any
    # allocation, including one inside pin() while it holds the lock. Seen in a
    # full-suite run: the test process hung for good in unpin().
    threads = PinnedThreads(2)
    first = threads.pin()
    done = threading.Event()

    def unpin_while_pinning() -> None:
        with threads._lock:  # where a __del__ run inside pin() finds itself
            threads.unpin(first)
        done.set()

    worker = threading.Thread(target=unpin_while_pinning, daemon=True)
    worker.start()
    assert done.wait(5), "unpin() deadlocked on the lock pin() holds"
    assert first.graphs == 0
    threads.close()


class FailingCursor(FakeCursor):
    """Rows 0, 1, ...; a fetch that would reach row 7 fails (a driver error
    mid-result, as sqlite3's: the rows of that fetch are lost with it)."""

    def fetchmany(self, size: int) -> list[tuple[int]]:
        if (7,) in self.rows[:size]:
            raise OSError("the server went away")
        out, self.rows = self.rows[:size], self.rows[size:]
        return out


async def test_an_error_met_while_reading_ahead_is_raised_after_the_rows_before_it() -> None:
    fake = types.ModuleType("fakedb2")
    fake.apilevel = "2.0"  # type: ignore[attr-defined]
    cursor_type = type("Cursor", (FailingCursor,), {"__module__": "fakedb2"})
    sys.modules["fakedb2"] = fake
    try:
        cursor = Wrapper(table=DEFAULT_TABLE, prefetch=2, batch=3).wrap(cursor_type())
        await cursor.execute("10")
        seen = []
        with pytest.raises(OSError, match="went away"):
            async for (x,) in cursor:
                seen.append(x)
        # prefetch [0, 1], batches [2, 3, 4], then [5, 6, 7] fails: every row
        # fetched before the error, in order, then the error.
        assert seen == list(range(5))
    finally:
        del sys.modules["fakedb2"]


def test_a_graph_collected_while_pin_starts_a_thread_does_not_deadlock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Seen on 3.10 in CI: pin() started a new pinned thread while holding its lock;
    # the new thread ran the GC while starting up, a dead graph's __del__ unpinned,
    # which waited for that lock, while pin() waited for the thread to start.
    threads = PinnedThreads(2)
    first = threads.pin()
    real_start = threading.Thread.start
    unpinned = threading.Event()

    def unpin_first() -> None:
        threads.unpin(first)
        unpinned.set()

    def start_after_an_unpin_elsewhere(thread: threading.Thread) -> None:
        if thread.name.startswith("ambidex-pinned") and not unpinned.is_set():
            other = threading.Thread(target=unpin_first, daemon=True)
            real_start(other)
            other.join(5)  # what the starting thread does: wait, in the middle of start()
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start_after_an_unpin_elsewhere)
    second = threads.pin()  # first has a graph: the bound allows a second thread
    assert unpinned.is_set(), "unpin() from another thread waited on the lock pin() held"
    assert second is not first and first.graphs == 0
    threads.close()
