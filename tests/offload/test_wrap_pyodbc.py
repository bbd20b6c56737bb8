"""The classic example, done with ``wrap``: pyodbc over the SQLite ODBC driver.

The driver comes from Debian's ``libsqliteodbc`` (registered in
/etc/odbcinst.ini by the package, as ``SQLite3``), installed by ``.ci/run``.
Without it these tests fail: they never skip.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pyodbc
import pytest

from ambidex.offload import Wrapped, wrap

DRIVER = "SQLite3"
FOREVER = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
)
GUARD = 20.0  # a hang guard, not a timing


def connection_string(path: Path | str) -> str:
    if DRIVER not in pyodbc.drivers():
        pytest.fail(f"the ODBC driver {DRIVER!r} is not installed (pyodbc sees "
                    f"{pyodbc.drivers()}): apt-get install unixodbc libsqliteodbc")
    return f"DRIVER={{{DRIVER}}};Database={path}"


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[Wrapped]:
    async with wrap(pyodbc.connect, connection_string(tmp_path / "db.sqlite")) as conn:
        yield conn


async def test_the_classic_example_select_42(tmp_path: Path) -> None:
    conn = await wrap(pyodbc.connect, connection_string(tmp_path / "db.sqlite"))
    cursor = await conn.cursor()
    await cursor.execute("SELECT 42")
    assert tuple(await cursor.fetchone()) == (42,)
    assert cursor.description[0][0] == "42"  # read directly, no hop
    await conn.close()


async def test_rows_go_in_with_executemany_and_come_out_by_iteration(conn: Wrapped) -> None:
    cursor = await conn.cursor()
    await cursor.execute("CREATE TABLE t (id INTEGER, name TEXT)")
    await cursor.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"n{i}") for i in range(500)])
    await conn.commit()
    rows = [tuple(row) async for row in await cursor.execute("SELECT id, name FROM t ORDER BY id")]
    assert rows == [(i, f"n{i}") for i in range(500)]
    # pyodbc's own extras: Connection.execute gives a (wrapped) cursor, fetchval a value.
    counted = await conn.execute("SELECT count(*) FROM t")
    assert isinstance(counted, Wrapped)
    assert (await counted.fetchone())[0] == 500
    await cursor.execute("SELECT max(id) FROM t")
    assert [tuple(r) for r in await cursor.fetchall()] == [(499,)]


async def test_a_connection_and_its_cursors_share_one_thread(conn: Wrapped) -> None:
    cursor = await conn.cursor()
    home = await conn.on_thread(threading.get_ident)
    assert home != threading.get_ident()
    assert await cursor.on_thread(threading.get_ident) == home


async def test_a_cancelled_query_is_stopped_by_cursor_cancel(conn: Wrapped) -> None:
    cursor = await conn.cursor()
    task = asyncio.ensure_future(cursor.execute(FOREVER))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # FOREVER never ends by itself: SQLCancel stopped it, or this would hang.
    await asyncio.wait_for(cursor.execute("SELECT 'next'"), GUARD)
    assert tuple(await cursor.fetchone()) == ("next",)


async def test_a_timeout_on_a_running_query_cancels_it(conn: Wrapped) -> None:
    cursor = await conn.cursor()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(cursor.execute(FOREVER), 0.05)
    other = await asyncio.wait_for(conn.cursor(), GUARD)
    await other.execute("SELECT 1")
    assert await other.fetchval() == 1


async def test_driver_errors_arrive_as_pyodbc_errors_and_the_connection_stays_usable(
    conn: Wrapped,
) -> None:
    cursor = await conn.cursor()
    with pytest.raises(pyodbc.Error):
        await cursor.execute("SELEC 1")
    await cursor.execute("SELECT 2")
    row: Any = await cursor.fetchone()
    assert tuple(row) == (2,)  # a pyodbc.Row
