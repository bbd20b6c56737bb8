"""Many tasks on a few wrapped connections, cancelled at random points.

Whatever the interleaving: every result that arrives is its own query's, every
cancelled task ends at once, and every connection answers afterwards.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ambidex.offload import PinnedThreads, Wrapped, Wrapper

GUARD = 20.0  # a hang guard, not a timing

KINDS = ("point", "slow", "rows", "cursor")

steps = st.lists(
    st.tuples(
        st.integers(0, 2),  # which connection
        st.sampled_from(KINDS),
        st.one_of(st.none(), st.integers(0, 6)),  # cancel after this many loop turns
    ),
    min_size=1,
    max_size=24,
)


async def run_query(conn: Wrapped, kind: str, n: int) -> Any:
    if kind == "point":
        cur = await conn.execute("SELECT ?, ? * 2", (n, n))
        return await cur.fetchone()
    if kind == "slow":  # long enough to be running when it is cancelled
        cur = await conn.execute(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
            "SELECT count(*) + ? FROM c", (20_000, n))
        return await cur.fetchone()
    if kind == "rows":  # more rows than come back with the execute
        cur = await conn.execute(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300) "
            "SELECT x + ? FROM c", (n,))
        return [row async for row in cur]
    cur = await conn.cursor()  # one cursor, used twice
    await cur.execute("SELECT ?", (n,))
    first = await cur.fetchall()
    await cur.execute("SELECT ? + 1", (n,))
    return first + await cur.fetchall()


def expected(kind: str, n: int) -> Any:
    return {
        "point": (n, n * 2),
        "slow": (20_000 + n,),
        "rows": [(x + n,) for x in range(1, 301)],
        "cursor": [(n,), (n + 1,)],
    }[kind]


async def scenario(plan: list[tuple[int, str, int | None]]) -> None:
    threads = PinnedThreads(2)
    wrapper = Wrapper(threads=threads, prefetch=16, batch=32)
    conns = [await wrapper.wrap(sqlite3.connect, ":memory:") for _ in range(3)]
    tasks = [asyncio.ensure_future(run_query(conns[c], kind, n))
             for n, (c, kind, _) in enumerate(plan)]
    turn = 0
    cancels = sorted((after, n) for n, (_, _, after) in enumerate(plan) if after is not None)
    for after, n in cancels:
        while turn < after:
            await asyncio.sleep(0)
            turn += 1
        tasks[n].cancel()
    _, pending = await asyncio.wait(tasks, timeout=GUARD)
    assert not pending, "a task hung"
    for n, ((_, kind, after), task) in enumerate(zip(plan, tasks, strict=True)):  # type: ignore[assignment]  # `after` above was an int
        if task.cancelled():
            assert after is not None
            continue
        assert task.result() == expected(kind, n)
    for conn in conns:
        cur = await asyncio.wait_for(conn.execute("SELECT 'usable'"), GUARD)
        assert await cur.fetchall() == [("usable",)]
        await conn.close()
    threads.close()


@settings(max_examples=40, deadline=None)
@given(plan=steps)
def test_every_result_is_its_own_and_every_connection_stays_usable(
    plan: list[tuple[int, str, int | None]],
) -> None:
    asyncio.run(scenario(plan))
