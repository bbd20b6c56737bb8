"""The pool: keep-alive, a bound, a wait with a deadline, idle expiry, and a
connection reused only when h11 says the exchange on it is over. Both colours."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import h11
import pytest

from examples.http import ConnectTimeout, PoolTimeout, Timeout
from examples.http.nginx import SMALL, Nginx
from examples.http.server import ServerThread

from .conftest import chunks, close, first_chunk, in_step, make_client, pool_of, stream, v


@pytest.fixture
async def one(colour: str, server: ServerThread) -> AsyncIterator[Any]:
    """A client whose pool has one connection, so every request shares it."""
    c = make_client(colour, base_url=server.url, max_connections=1, timeout=Timeout(5, pool=0.2))
    try:
        yield c
    finally:
        await close(c)


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP (the kernel does) and then says nothing at all."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


async def token(client: Any, t: str, **params: Any) -> Any:
    return await v(client.get("/token", params={"t": t, **params}))


async def test_a_pool_reuses_its_one_connection_for_every_request(one: Any) -> None:
    for i in range(5):
        response = await v(one.get("/conn"))
        assert response.headers["x-requests"] == str(i + 1)
    assert pool_of(one).size == 1


async def test_an_abandoned_response_never_leaves_its_bytes_for_the_next_request(
        one: Any) -> None:
    async with stream(one, "GET", "/token", params={
            "t": "A", "size": 200_000, "pieces": 20, "delay": 0.001}) as response:
        assert set(await first_chunk(response)) == {ord("A")}
    # The rest of A's body was on that connection: it was closed, not pooled.
    assert pool_of(one).size == 0
    response = await token(one, "B", size=50_000)
    assert response.headers["x-token"] == "B"
    assert response.content == b"B" * 50_000
    assert in_step(one)


async def test_a_response_read_to_the_end_returns_its_connection_at_once(one: Any) -> None:
    async with stream(one, "GET", "/token", params={"t": "A", "size": 10}) as response:
        assert await chunks(response) == [b"A" * 10]
        # The body ended: the connection is back in the pool before the block ends.
        assert len(pool_of(one).idle) == 1
    assert pool_of(one).size == 1


async def test_a_pool_at_its_bound_waits_then_raises_pool_timeout(one: Any) -> None:
    async with stream(one, "GET", "/token", params={"t": "held"}):
        with pytest.raises(PoolTimeout, match=r"came free within 0\.2 s") as caught:
            await token(one, "waiting")
        assert isinstance(caught.value, TimeoutError)
        assert pool_of(one).size == 1
    assert (await token(one, "after")).content == b"after"


async def test_idle_connections_past_keepalive_expiry_are_closed_not_used(
        colour: str, server: ServerThread) -> None:
    c = make_client(colour, base_url=server.url, keepalive_expiry=0.0)
    try:
        first = await v(c.get("/conn"))
        (old,) = pool_of(c).idle
        second = await v(c.get("/conn"))
        assert old.closed
        assert second.headers["x-conn"] != first.headers["x-conn"]
        assert second.headers["x-requests"] == "1"
    finally:
        await close(c)


async def test_max_connections_bounds_each_origin(colour: str, nginx: Nginx,
                                                  server: ServerThread) -> None:
    c = make_client(colour, max_connections=2, timeout=Timeout(5, pool=0.1))
    try:
        async with stream(c, "GET", nginx.url + "/small.txt"), \
                stream(c, "GET", nginx.url + "/small.txt"):
            with pytest.raises(PoolTimeout):
                await v(c.get(nginx.url + "/small.txt"))
            # Another origin has its own pool.
            assert (await v(c.get(server.url + "/conn"))).status_code == 200
        assert (await v(c.get(nginx.url + "/small.txt"))).content == SMALL
        assert len(c.pools) == 2
        assert in_step(c)
    finally:
        await close(c)


async def test_a_tls_handshake_that_never_ends_is_a_connect_timeout(
        colour: str, silent_listener: int) -> None:
    c = make_client(colour, timeout=Timeout(5, connect=0.2))
    try:
        with pytest.raises(ConnectTimeout) as caught:
            await v(c.get(f"https://127.0.0.1:{silent_listener}/"))
        assert isinstance(caught.value, TimeoutError)
        assert pool_of(c).size == 0
    finally:
        await close(c)


async def test_a_connection_goes_back_only_when_both_sides_are_done(one: Any) -> None:
    await token(one, "x")
    (conn,) = pool_of(one).idle
    assert (conn._h11.our_state, conn._h11.their_state) == (h11.IDLE, h11.IDLE)
    assert conn.reusable() is False  # a new cycle has started: nothing to reuse yet
    async with stream(one, "GET", "/token", params={"t": "y", "size": 100000}) as response:
        assert conn._h11.our_state is h11.DONE
        assert conn._h11.their_state is h11.SEND_BODY
        assert not conn.reusable()
        await first_chunk(response)
    assert conn.closed


async def test_closing_the_client_closes_its_idle_connections(colour: str,
                                                              nginx: Nginx) -> None:
    c = make_client(colour, base_url=nginx.url)
    await v(c.get("/small.txt"))
    (conn,) = pool_of(c).idle
    await close(c)
    assert conn.closed
    with pytest.raises(RuntimeError, match="closed"):
        await v(c.get("/small.txt"))


def test_the_blocking_client_is_shared_safely_by_threads(nginx: Nginx) -> None:
    import threading

    from examples.http import Client

    wrong: list[str] = []
    with Client(base_url=nginx.url, max_connections=4, timeout=Timeout(10)) as c:

        def work(n: int) -> None:
            for i in range(40):
                token = f"t{n}-{i}"
                response = c.get("/token", params={"token": token})
                if response.content != token.encode() or response.headers["x-token"] != token:
                    wrong.append(token)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not wrong
        assert pool_of(c).size <= 4
        assert in_step(c)


def test_a_thread_waiting_at_the_bound_gets_the_connection_another_gives_back(
        server: ServerThread) -> None:
    # No pool timeout: the waiter is woken by the release, or never (the
    # release wakes the condition only when someone waits: this pins that it
    # sees the waiter).
    import threading
    import time

    from examples.http import Client

    done: list[bytes] = []
    with Client(base_url=server.url, max_connections=1, timeout=Timeout(5, pool=None)) as c:
        with c.stream("GET", "/token", params={"t": "held"}) as held:
            waiter = threading.Thread(
                target=lambda: done.append(c.get("/token", params={"t": "waiter"}).content),
                daemon=True)
            waiter.start()
            for _ in range(500):  # until it waits on the pool (bounded: 5 s)
                if pool_of(c)._waiting:
                    break
                time.sleep(0.01)
            assert pool_of(c)._waiting == 1
            assert held.read() == b"held"  # read to the end: the connection goes back
        waiter.join(10)
        assert not waiter.is_alive(), "the waiter was never woken"
        assert done == [b"waiter"]
        assert pool_of(c).size == 1


async def test_a_task_waiting_at_the_bound_gets_the_connection_another_gives_back(
        server: ServerThread) -> None:
    import asyncio

    from examples.http import AsyncClient

    async with AsyncClient(base_url=server.url, max_connections=1,
                           timeout=Timeout(5, pool=None)) as c:
        async with c.stream("GET", "/token", params={"t": "held"}) as held:
            waiter = asyncio.ensure_future(c.get("/token", params={"t": "waiter"}))
            for _ in range(500):
                if pool_of(c)._waiting:
                    break
                await asyncio.sleep(0.01)
            assert pool_of(c)._waiting == 1
            assert await held.aread() == b"held"
        response = await asyncio.wait_for(waiter, 10)
        assert response.content == b"waiter"
        assert pool_of(c).size == 1
