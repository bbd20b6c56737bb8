"""Storms: thousands of calls with random cancellations, and a server that dies
mid-pipeline. What must hold: every call that completes got its own reply,
every call that could not complete failed with a connection error, and no
connection is left out of step."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
import uuid
from typing import Any

import pytest

from examples.resp import (
    AsyncClient,
    AsyncConnection,
    Client,
    RedisConnectionError,
    RemoteProtocolError,
    encode_command,
)

from .conftest import RedisServer, free_port, slow_command
from .test_client import make_client, v


async def _storm(client: AsyncClient, calls: int, seed: int, wave: int) -> dict[str, int]:
    """``calls`` SET+GET pairs with unique values, ``wave`` at a time, 1 in 10
    cancelled or timed out at a random point; returns what happened. (Through a
    pool, a small wave keeps callers on the wire rather than queued for a
    connection, so that the cancellations land while replies are in flight.)"""
    rng = random.Random(seed)
    prefix = uuid.uuid4().hex
    outcome = {"ok": 0, "cancelled": 0, "timed_out": 0}

    async def set_then_get(i: int) -> None:
        key, value = f"{prefix}:{i}", f"value-{i}-{rng.random()}".encode()
        assert await client.set(key, value) is True  # b"OK", not somebody's value
        got = await client.get(key)
        assert got == value, f"call {i} got {got!r}, not its own {value!r}"

    # Mostly very short: a caller should give up while its reply is in flight.
    delays = [0, 0, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.003]

    async def one(i: int) -> None:
        dice = rng.random()
        try:
            if dice < 0.05:
                task = asyncio.ensure_future(set_then_get(i))
                asyncio.get_running_loop().call_later(rng.choice(delays), task.cancel)
                await task
            elif dice < 0.10:
                await asyncio.wait_for(set_then_get(i), rng.choice(delays[2:]))
            else:
                await set_then_get(i)
            outcome["ok"] += 1
        except asyncio.CancelledError:
            outcome["cancelled"] += 1
        except asyncio.TimeoutError:  # wait_for's; the builtin TimeoutError from 3.11 on
            outcome["timed_out"] += 1

    for start in range(0, calls, wave):
        await asyncio.gather(*(one(i) for i in range(start, min(start + wave, calls))))
    return outcome


async def _assert_in_step(conn: AsyncConnection, key: str, value: bytes) -> None:
    assert await conn.execute(("PING",)) == b"PONG"
    assert await conn.execute(("GET", key)) == value
    assert await conn.execute(("ECHO", "last")) == b"last"


async def test_pool_storm_of_cancelled_and_timed_out_calls_keeps_every_reply_paired(
        redis_server: RedisServer) -> None:
    async with AsyncClient(redis_server.host, redis_server.port,
                           max_connections=4, auto_pipeline=False) as client:
        outcome = await _storm(client, 14_000, seed=1, wave=12)
        assert outcome["ok"] > 11_000 and outcome["cancelled"] + outcome["timed_out"] > 0
        await client.set("chaos:probe", "probe")
        conns = [await client.pool.acquire() for _ in range(client.pool.size)]
        assert 1 <= len(conns) <= 4
        for conn in conns:
            await _assert_in_step(conn, "chaos:probe", b"probe")
        for conn in conns:
            await client.pool.release(conn)


async def test_auto_pipelined_storm_keeps_every_reply_paired(
        redis_server: RedisServer) -> None:
    async with AsyncClient(redis_server.host, redis_server.port, auto_pipeline=True) as client:
        outcome = await _storm(client, 6_000, seed=2, wave=500)
        assert outcome["ok"] > 4_500 and outcome["cancelled"] + outcome["timed_out"] > 0
        await client.set("chaos:probe2", "probe2")
        assert client._shared is not None
        await _assert_in_step(client._shared, "chaos:probe2", b"probe2")


# -- the server dies mid-pipeline ---------------------------------------------------------


async def test_async_server_killed_mid_pipeline_fails_every_pending_call_then_reconnects(
        start_redis: Any) -> None:
    port = free_port()
    server = start_redis(port)
    await asyncio.to_thread(server.start)
    async with AsyncClient(server.host, port, auto_pipeline=True) as client:
        await client.ping()
        # The server sleeps; everything sent meanwhile is pending on the wire.
        sleeper = asyncio.create_task(client.execute_command(*slow_command("slow", 5)))
        await asyncio.sleep(0.05)
        pending = [asyncio.create_task(client.echo(f"p{i}")) for i in range(100)]
        pipe = asyncio.create_task(client.pipeline().echo("a").echo("b").execute())
        await asyncio.sleep(0.05)
        await asyncio.to_thread(server.kill)  # blocking: off the loop
        results = await asyncio.gather(sleeper, pipe, *pending, return_exceptions=True)
        assert all(isinstance(r, RedisConnectionError) for r in results), results
        assert client._shared is not None and client._shared.broken is not None

        with pytest.raises(RedisConnectionError):  # nothing listens now
            await client.ping()
        await asyncio.to_thread(server.start)
        assert await client.echo("back") == b"back"  # a new connection
        assert client._shared is not None and client._shared.broken is None


async def test_async_pool_drops_connections_of_a_killed_server(start_redis: Any) -> None:
    port = free_port()
    server = start_redis(port)
    await asyncio.to_thread(server.start)
    async with AsyncClient(server.host, port, max_connections=3, auto_pipeline=False) as client:
        await asyncio.gather(*(client.ping() for _ in range(3)))
        sleeper = asyncio.create_task(client.execute_command(*slow_command("slow", 5)))
        await asyncio.sleep(0.05)
        pending = [asyncio.create_task(client.pipeline().echo("x").echo("y").execute())
                   for _ in range(2)]
        await asyncio.sleep(0.05)
        await asyncio.to_thread(server.kill)
        results = await asyncio.gather(sleeper, *pending, return_exceptions=True)
        assert all(isinstance(r, RedisConnectionError) for r in results), results
        assert client.pool.size == 0  # every broken connection was dropped
        await asyncio.to_thread(server.start)
        assert await client.echo("back") == b"back"
        assert client.pool.size == 1


def test_sync_server_killed_mid_command_fails_it_then_the_pool_reconnects(
        start_redis: Any) -> None:
    port = free_port()
    server = start_redis(port)
    server.start()
    with Client(server.host, port, max_connections=2) as client:
        client.ping()
        errors: list[BaseException] = []

        def call(*args: Any) -> None:
            try:
                client.execute_command(*args)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=call, args=slow_command("slow", 5)),
                   threading.Thread(target=lambda: call("ECHO", "pending"))]
        threads[0].start()
        time.sleep(0.05)
        threads[1].start()
        time.sleep(0.05)
        server.kill()
        for t in threads:
            t.join(10)
        assert len(errors) == 2 and all(isinstance(e, RedisConnectionError) for e in errors)
        assert client.pool.size == 0
        server.start()
        assert client.echo("back") == b"back"
        assert client.pool.size == 1


def _fake_server(answer: bytes) -> tuple[socket.socket, threading.Thread]:
    """A one-connection server that answers the first command with ``answer``
    and hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(100)
            conn.sendall(answer)

    thread = threading.Thread(target=serve)
    thread.start()
    return listener, thread


@pytest.mark.parametrize("colour", ["sync", "async"])
@pytest.mark.parametrize("answer", [b"?what\r\n", b"$99999999999\r\n", b"*1\r\n" * 40])
async def test_garbage_from_the_server_is_a_protocol_error_and_the_connection_is_dropped(
        colour: str, answer: bytes) -> None:
    listener, thread = _fake_server(answer)
    client = make_client(colour, RedisServer(listener.getsockname()[1]))
    try:
        with pytest.raises(RemoteProtocolError):
            await v(client.get("k"))
        assert client.pool.size == 0
    finally:
        await v(client.close())
        thread.join(5)
        listener.close()


@pytest.mark.parametrize("colour", ["sync", "async"])
async def test_server_that_closes_mid_reply_is_a_connection_error(colour: str) -> None:
    listener, thread = _fake_server(b"$10\r\nhalf")

    client = make_client(colour, RedisServer(listener.getsockname()[1]))
    try:
        with pytest.raises(RedisConnectionError):
            await v(client.get("k"))
        assert client.pool.size == 0
    finally:
        await v(client.close())
        thread.join(5)
        listener.close()


async def test_auto_pipeline_backpressure_bounds_pending_replies(
        redis_server: RedisServer) -> None:
    async with AsyncClient(redis_server.host, redis_server.port, auto_pipeline=True,
                           max_pending=5) as client:
        await client.ping()
        conn = client._shared
        assert conn is not None
        seen: list[int] = []
        slow = asyncio.create_task(client.execute_command(*slow_command("slow", 0.1)))
        callers = [asyncio.create_task(client.echo(f"m{i}")) for i in range(60)]
        batch = asyncio.create_task(client.pipeline().echo("b1").echo("b2").execute())
        while not all(t.done() for t in [slow, batch, *callers]):
            seen.append(len(conn._waiters))
            await asyncio.sleep(0)
        assert max(seen) <= 5
        assert await slow == b"slow"
        assert [await t for t in callers] == [f"m{i}".encode() for i in range(60)]
        assert await batch == [b"b1", b"b2"]


async def test_caller_cancelled_while_waiting_for_room_takes_no_place(
        redis_server: RedisServer) -> None:
    async with AsyncClient(redis_server.host, redis_server.port, auto_pipeline=True,
                           max_pending=1) as client:
        slow = asyncio.create_task(client.execute_command(*slow_command("slow", 0.1)))
        await asyncio.sleep(0.02)
        waiting = asyncio.create_task(client.echo("never sent"))
        after = asyncio.create_task(client.echo("after"))
        await asyncio.sleep(0.02)
        waiting.cancel()
        assert await slow == b"slow"
        assert await after == b"after"
        with pytest.raises(asyncio.CancelledError):
            await waiting


def test_sync_thread_storm_with_tight_timeouts_never_misdelivers(
        redis_server: RedisServer) -> None:
    # A tight deadline on every command, and now and then a command whose reply
    # takes 2.5 deadlines (it also holds up the whole server, so other threads'
    # commands expire mid-flight too). A blocking connection interrupted
    # mid-reply is dropped, so whatever completes must be the caller's own
    # reply: a late "slow" reply must never be read by a later SET or GET.
    # The storm needs both outcomes to mean anything; on a loaded machine a
    # 2 ms deadline can time out every command, so it is run again with the
    # deadline doubled until both happened (every round checks every reply).
    for deadline in (0.002, 0.004, 0.008, 0.016, 0.032):
        outcome = _thread_storm(redis_server, deadline)
        if outcome["ok"] > 0 and outcome["timed_out"] >= 80:
            break
    assert outcome["ok"] > 0 and outcome["timed_out"] >= 80, outcome


def _thread_storm(redis_server: RedisServer, deadline: float) -> dict[str, int]:
    prefix = uuid.uuid4().hex
    client = Client(redis_server.host, redis_server.port, timeout=deadline, max_connections=4,
                    pool_timeout=30)
    outcome = {"ok": 0, "timed_out": 0}
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(300):
            key, value = f"{prefix}:{n}:{i}", f"v-{n}-{i}".encode()
            try:
                if i % 30 == 0:
                    client.execute_command(*slow_command("slow", 2.5 * deadline))
                assert client.set(key, value) is True
                got = client.get(key)
                assert got == value, f"{key} got {got!r}"
                result = "ok"
            except TimeoutError:
                result = "timed_out"
            with lock:
                outcome[result] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        # A failed assert inside a thread shows up here as a missing count.
        assert outcome["ok"] + outcome["timed_out"] == 2400, outcome
        time.sleep(25 * deadline)  # let the last scripts finish before the final check
        client.pool.timeout = 1
        conns = [client.pool.acquire() for _ in range(client.pool.size)]
        for conn in conns:
            conn.timeout = 1
            conn._stream.timeout = 1
            assert conn.execute(("PING",)) == b"PONG"
            assert conn.execute(("ECHO", "last")) == b"last"
        for conn in conns:
            client.pool.release(conn)
    finally:
        client.close()
    return outcome


@pytest.mark.parametrize("auto_pipeline", [True, False], ids=["auto-pipelined", "pooled"])
async def test_async_error_after_a_good_reply_in_the_same_packet_reaches_the_next_caller_at_once(
        auto_pipeline: bool) -> None:
    # Issue 12 item 8: one good reply and garbage in one packet; the second
    # caller waited forever (no timeout set) for bytes that would never come.
    async def good_then_garbage(reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(len(encode_command(["GET", "a"])) * 2)
        writer.write(b"$1\r\nA\r\n?garbage\r\n")
        await writer.drain()
        await reader.read()  # stays open: only the bytes already sent can tell
        writer.close()

    server = await asyncio.start_server(good_then_garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AsyncClient("127.0.0.1", port, auto_pipeline=auto_pipeline,
                               max_connections=1) as r:
            conn = await r._shared_connection() if auto_pipeline else await r.pool.acquire()
            first = asyncio.create_task(conn.execute(["GET", "a"]))
            second = asyncio.create_task(conn.execute(["GET", "b"]))
            assert await asyncio.wait_for(first, 5) == b"A"
            with pytest.raises(RemoteProtocolError):
                await asyncio.wait_for(second, 5)
            if not auto_pipeline:
                await r.pool.release(conn)
    finally:
        server.close()
        await server.wait_closed()


async def test_a_reply_nobody_asked_for_is_a_protocol_error_that_retires_the_shared_connection(
        ) -> None:
    # The FIFO's other edge: a reply with no caller waiting for it. Handing it
    # to the next caller would shift every pairing after it by one.
    async def one_reply_too_many(reader: asyncio.StreamReader,
                                 writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(len(encode_command(["GET", "a"])))
        writer.write(b"$1\r\nA\r\n$1\r\nB\r\n")
        await writer.drain()
        await reader.read()  # stays open: only the bytes already sent can tell
        writer.close()

    server = await asyncio.start_server(one_reply_too_many, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AsyncClient("127.0.0.1", port) as r:
            assert await asyncio.wait_for(r.get("a"), 5) == b"A"
            conn = r._shared
            assert conn is not None
            for _ in range(100):  # the extra reply may come in a later read
                if conn.broken is not None:
                    break
                await asyncio.sleep(0.01)
            assert conn.broken is not None and "no request pending" in conn.broken
            with pytest.raises(RedisConnectionError, match="no request pending"):
                await conn.execute(["GET", "b"])
    finally:
        server.close()
        await server.wait_closed()


async def test_bytes_handed_over_with_the_transport_are_read_like_any_read_past_a_buffers_worth(
        redis_server: RedisServer) -> None:
    # take_transport gives the protocol the bytes the stream had received and
    # no read had taken (data_received): they must reach the parser and the
    # oldest waiter as a read would, a buffer's worth at a time.
    conn = await AsyncConnection.connect(redis_server.host, redis_server.port)
    try:
        protocol = conn._protocol
        assert protocol is not None
        future = conn._start(("GET", "nobody-sets-this-key"))
        assert future is not None
        big = b"x" * (3 * len(protocol._view) + 7)  # more than the buffer holds
        protocol.data_received(b"$%d\r\n%b\r\n" % (len(big), big))
        assert future.done() and future.result() == big
        # The server's own reply to that GET now comes with no request
        # pending: the connection is retired, not misled.
        for _ in range(200):
            if conn.broken is not None:
                break
            await asyncio.sleep(0.01)
        assert conn.broken is not None and "no request pending" in conn.broken
    finally:
        await conn.close()
