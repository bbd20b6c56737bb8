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

from examples.http import AsyncClient, Timeout
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
