"""asyncio: a task cancelled at each await of a request leaves nothing behind.

The awaits of one request are: the wait for a pool slot, the connect (TCP
and TLS), the writes of the request, the read of the head, the reads of the
body. For each, a task is cancelled while it waits there; afterwards the
pool counts no connection in use, no connection with a half-finished
exchange is idle, and the next request on the same client gets its own
response.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from examples.http import AsyncClient, ReadTimeout, Timeout
from examples.http.server import ServerThread

from .conftest import in_step, pool_of


@pytest.fixture
async def client(server: ServerThread) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(base_url=server.url, max_connections=1, timeout=Timeout(5)) as c:
        yield c


@pytest.fixture
def silent_listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


async def cancel_when(task: asyncio.Task[Any], ready: Any) -> None:
    """Cancel ``task`` once ``ready()`` is true (polled each loop iteration)."""
    for _ in range(5000):
        if ready():
            break
        await asyncio.sleep(0.001)
    else:  # pragma: no cover - a broken test setup
        raise AssertionError("the task never reached the await under test")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def assert_recovers(client: AsyncClient) -> None:
    response = await client.get("/token", params={"t": "next", "size": 1000})
    assert response.headers["x-token"] == "next"
    assert response.content == b"next" * 250
    assert in_step(client)


async def test_cancelled_while_waiting_for_a_pool_slot(client: AsyncClient) -> None:
    async with client.stream("GET", "/token", params={"t": "held"}) as held:
        pool = pool_of(client)
        waiter = asyncio.create_task(client.get("/token", params={"t": "waiter"}))
        await cancel_when(waiter, lambda: pool._condition._waiters)
        assert pool.size == 1
        await held.aread()
    await assert_recovers(client)


async def test_cancelled_during_the_tls_handshake(silent_listener: int) -> None:
    async with AsyncClient(timeout=Timeout(5)) as c:
        task = asyncio.create_task(c.get(f"https://127.0.0.1:{silent_listener}/"))
        await asyncio.sleep(0.05)  # connected over TCP, waiting for the ServerHello
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool_of(c).size == 0


async def test_cancelled_while_sending_the_body(client: AsyncClient) -> None:
    sent = 0
    started = asyncio.Event()

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        while True:
            sent += 1
            if sent > 2:
                started.set()
            yield b"x" * 65536

    task = asyncio.create_task(client.post("/sink", content=endless()))
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.sleep(0.1)  # the server reads nothing: the writes fill the buffers, then block
    assert not task.done()
    await cancel_when(task, lambda: True)
    assert pool_of(client).size == 0
    await assert_recovers(client)


async def test_cancelled_while_a_bytes_body_waits_to_drain(client: AsyncClient) -> None:
    # The server reads nothing: the transport holds most of the 32 MiB, and
    # the request waits for it to drain (the one await of a bytes body's send).
    task = asyncio.create_task(client.post("/sink", content=b"x" * (32 << 20)))
    await asyncio.sleep(0.2)
    assert not task.done()
    await cancel_when(task, lambda: True)
    assert pool_of(client).size == 0
    await assert_recovers(client)


async def test_cancelled_while_waiting_for_the_head(client: AsyncClient) -> None:
    task = asyncio.create_task(client.get("/never"))
    await asyncio.sleep(0.1)  # connected, request sent, waiting for the head
    assert not task.done() and pool_of(client).size == 1
    await cancel_when(task, lambda: True)
    assert pool_of(client).size == 0
    await assert_recovers(client)


async def test_cancelled_while_reading_the_body(client: AsyncClient) -> None:
    got: list[bytes] = []

    async def read_all() -> None:
        async with client.stream("GET", "/stall", params={"after": 10}) as response:
            async for chunk in response.aiter_raw():
                got.append(chunk)  # 10 bytes come, then the server stalls

    task = asyncio.create_task(read_all())
    await cancel_when(task, lambda: got)
    assert got == [b"s" * 10]
    assert pool_of(client).size == 0
    await assert_recovers(client)


async def test_a_timeout_around_the_whole_request_leaves_the_pool_in_step(
        client: AsyncClient) -> None:
    with pytest.raises(asyncio.TimeoutError):  # TimeoutError on 3.11+
        await asyncio.wait_for(client.get("/token", params={
            "t": "slow", "size": 100, "pieces": 4, "delay": 0.2}), 0.1)
    assert pool_of(client).size == 0
    await assert_recovers(client)


# The asyncio connection keeps one timer and re-arms it lazily (see
# AsyncConnection._arm): a wait whose deadline comes before the timer's must
# move it earlier, and a timer that fires during a later wait must not end it.

async def test_a_shorter_read_timeout_after_a_longer_one_still_fires_in_time(
        client: AsyncClient) -> None:
    await assert_recovers(client)  # the connection's timer is armed 5 s ahead
    # Bounded well under those 5 s: if the timer were not moved earlier, the
    # outer wait_for would end the request, not the ReadTimeout.
    with pytest.raises(ReadTimeout):
        await asyncio.wait_for(client.get("/never", timeout=Timeout(5, read=0.2)), 4)
    assert pool_of(client).size == 0
    await assert_recovers(client)


async def test_a_timer_armed_for_an_earlier_request_does_not_end_a_later_wait(
        client: AsyncClient) -> None:
    fast = Timeout(5, read=0.2)
    response = await client.get("/token", params={"t": "fast"}, timeout=fast)
    assert response.content == b"fast"
    # The timer armed for that request's 0.2 s fires while this one waits
    # between pieces (0.25 s apart, each within its own 5 s): it re-arms.
    response = await client.get("/token", params={
        "t": "slow", "size": 40, "pieces": 4, "delay": 0.25})
    assert response.content == b"slow" * 10
    assert in_step(client)


def test_a_loop_with_its_own_clock_times_the_waits_by_that_clock(server: ServerThread) -> None:
    # asyncio's own loop reads time.monotonic(), and the connection reads it
    # directly then; a loop with another clock (uvloop has its own) keeps its
    # own. Deadlines read from the wrong clock would be 1000 s in the past
    # here: every wait a ReadTimeout at once.
    class ShiftedClockLoop(asyncio.SelectorEventLoop):
        def time(self) -> float:
            return super().time() + 1000.0

    async def fetch() -> bytes:
        async with AsyncClient(base_url=server.url) as client:
            response = await client.get("/token", params={
                "t": "slow", "size": 40, "pieces": 4, "delay": 0.05}, timeout=Timeout(5))
            return response.content

    loop = ShiftedClockLoop()
    try:
        assert loop.run_until_complete(fetch()) == b"slow" * 10
    finally:
        loop.close()
