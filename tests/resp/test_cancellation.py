"""A caller that gives up never leaves its reply for the next caller.

redis-py's CVE-2023-28858/28859: a command cancelled while it waited for its
reply left that reply on the connection, and the next command on the
connection read it as its own. Here the asyncio client keeps the cancelled
caller's place in the FIFO (the reply is read and dropped in its turn), and
the blocking client, which cannot do that, closes the connection instead.
Both are pinned below, with the reply deliberately slow so that the caller
gives up while it is on its way.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import trustme

from examples import _timer
from examples._timer import DeadlineTimer
from examples.resp import AsyncClient, AsyncConnection, AsyncConnectionPool, Client
from examples.resp.errors import RedisConnectionError

from .conftest import RedisServer, slow_command
from .test_client import make_client, v


def slow_reply(client: Any, text: str) -> Any:
    return client.execute_command(*slow_command(text, 0.4))


@pytest.fixture
def keys(redis_server: RedisServer) -> Iterator[tuple[str, str]]:
    prefix = uuid.uuid4().hex
    with Client(redis_server.host, redis_server.port) as r:
        r.set(prefix + ":b", "value-of-b")
        yield prefix + ":a", prefix + ":b"


async def test_async_timed_out_caller_leaves_no_reply_for_the_next_caller(
        redis_server: RedisServer, keys: tuple[str, str]) -> None:
    async with AsyncClient(redis_server.host, redis_server.port,
                           max_connections=1, auto_pipeline=False) as r:
        with pytest.raises(asyncio.TimeoutError):  # the builtin one from 3.11 on
            await asyncio.wait_for(slow_reply(r, "stale reply for A"), 0.05)
        # Same (only) connection; A's reply is still on its way.
        assert r.pool.size == 1
        assert await r.get(keys[1]) == b"value-of-b"
        assert await r.echo("next") == b"next"


async def test_async_cancelled_caller_leaves_no_reply_for_the_next_caller(
        redis_server: RedisServer, keys: tuple[str, str]) -> None:
    async with AsyncClient(redis_server.host, redis_server.port,
                           max_connections=1, auto_pipeline=False) as r:
        task = asyncio.create_task(slow_reply(r, "stale reply for A"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await r.get(keys[1]) == b"value-of-b"


async def test_async_client_timeout_option_fails_the_caller_not_the_connection(
        redis_server: RedisServer, keys: tuple[str, str]) -> None:
    async with AsyncClient(redis_server.host, redis_server.port, timeout=0.05,
                           max_connections=1, auto_pipeline=False) as r:
        with pytest.raises(TimeoutError):
            await slow_reply(r, "stale")
        conn = await r.pool.acquire()
        await r.pool.release(conn)
        assert conn.broken is None  # kept: the FIFO keeps it in step
        # The script blocks the whole server; with this short timeout, wait it out
        # (a client without a timeout gets its PING answered once the script ends).
        async with AsyncClient(redis_server.host, redis_server.port) as waiter:
            assert await waiter.ping()
        assert await r.get(keys[1]) == b"value-of-b"


async def test_async_auto_pipelined_callers_around_a_cancelled_one_get_their_own_replies(
        redis_server: RedisServer, keys: tuple[str, str]) -> None:
    async with AsyncClient(redis_server.host, redis_server.port, auto_pipeline=True) as r:
        before = asyncio.create_task(r.echo("before"))
        slow = asyncio.create_task(slow_reply(r, "stale"))
        after = [asyncio.create_task(r.echo(f"after-{i}")) for i in range(20)]
        await asyncio.sleep(0.05)
        slow.cancel()
        assert await before == b"before"
        assert await asyncio.gather(*after) == [f"after-{i}".encode() for i in range(20)]
        assert await r.get(keys[1]) == b"value-of-b"


async def test_a_command_method_cancelled_while_its_reply_is_on_the_way_leaves_it_for_nobody(
        redis_server: RedisServer, keys: tuple[str, str]) -> None:
    # r.get and the other methods await the reply's future directly (no
    # execute_command/execute coroutines on the shared connection): the same
    # FIFO guarantee must hold for them.
    async with AsyncClient(redis_server.host, redis_server.port) as r:
        assert await r.ping() is True  # the shared connection is open
        conn = r._shared
        assert conn is not None
        started: list[Any] = []
        start = conn._start

        def spy(args: Any) -> Any:
            started.append(args[0])
            return start(args)

        conn._start = spy  # type: ignore[method-assign]
        slow = asyncio.create_task(slow_reply(r, "slow"))
        get = asyncio.create_task(r.get(keys[1]))
        await asyncio.sleep(0.05)
        assert started == ["GET"]  # the method went the direct way
        get.cancel()
        with pytest.raises(asyncio.CancelledError):
            await get
        assert await slow == b"slow"
        assert await r.echo("next") == b"next"  # not the cancelled GET's value
        assert await r.get(keys[0]) is None
        assert conn.broken is None and not conn._waiters


async def test_async_cancelled_pipeline_drops_all_its_replies(
        redis_server: RedisServer, keys: tuple[str, str]) -> None:
    async with AsyncClient(redis_server.host, redis_server.port,
                           max_connections=1, auto_pipeline=False) as r:
        pipe = r.pipeline()
        pipe.execute_command(*slow_command("stale-1", 0.4)).echo("stale-2").echo("stale-3")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(pipe.execute(), 0.05)
        assert await r.get(keys[1]) == b"value-of-b"
        assert await r.pipeline().echo("x").get(keys[1]).execute() == [b"x", b"value-of-b"]


def test_sync_timed_out_connection_is_dropped_so_the_next_caller_is_not_misled(
        redis_server: RedisServer, keys: tuple[str, str]) -> None:
    with Client(redis_server.host, redis_server.port, timeout=0.05, max_connections=1) as r:
        with pytest.raises(TimeoutError):
            slow_reply(r, "stale reply for A")
        assert r.pool.size == 0  # the connection could not be trusted: dropped
        with Client(redis_server.host, redis_server.port) as waiter:
            assert waiter.ping()  # answered once the script that blocks the server ends
        assert r.get(keys[1]) == b"value-of-b"  # on a new connection
        assert r.pool.size == 1


@pytest.mark.parametrize("colour", ["sync", "async"])
async def test_connect_that_times_out_frees_its_pool_slot(colour: str) -> None:
    # A listener that never answers: TCP connects, HELLO gets no reply.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        client = make_client(colour, RedisServer(port), protocol=3, timeout=0.1,
                             max_connections=1)
        try:
            with pytest.raises(TimeoutError):
                await v(client.ping())
            assert client.pool.size == 0
            with pytest.raises(TimeoutError):  # the slot was freed: it tries again
                await v(client.ping())
        finally:
            await v(client.close())


async def test_cancelled_connect_frees_its_pool_slot() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        client = AsyncClient("127.0.0.1", silent.getsockname()[1], protocol=3,
                             max_connections=1)
        try:
            task = asyncio.create_task(client.ping())
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert client.pool.size == 0
        finally:
            await client.close()


async def test_cancelled_pool_wait_takes_no_slot(redis_server: RedisServer) -> None:
    async with AsyncClient(redis_server.host, redis_server.port,
                           max_connections=1, auto_pipeline=False) as r:
        held = await r.pool.acquire()
        waiter = asyncio.create_task(r.pool.acquire())
        await asyncio.sleep(0.02)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await r.pool.release(held)
        assert r.pool.size == 1
        assert await asyncio.wait_for(r.ping(), 1) is True


async def test_cancelled_shared_connect_leaves_no_half_made_connection() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        client = AsyncClient("127.0.0.1", silent.getsockname()[1], protocol=3,
                             auto_pipeline=True)
        try:
            callers = [asyncio.create_task(client.ping()) for _ in range(3)]
            await asyncio.sleep(0.05)
            for task in callers:
                task.cancel()
            results = await asyncio.gather(*callers, return_exceptions=True)
            assert all(isinstance(r, asyncio.CancelledError) for r in results)
            assert client._shared is None  # nothing half-made is kept for the next caller
            assert not client._shared_lock.locked()
        finally:
            await client.close()


async def test_async_release_cancelled_while_waiting_for_the_pool_lock_still_returns_the_connection(
        redis_server: RedisServer) -> None:
    # Issue 12 item 6: a cancel landing while release() waited for the pool's
    # lock lost the connection for good; with one slot, every later call then
    # raised PoolTimeout.
    async with AsyncClient(redis_server.host, redis_server.port, max_connections=1,
                           pool_timeout=0.5, auto_pipeline=False) as r:
        conn = await r.pool.acquire()
        async with r.pool._condition:  # somebody else holds the pool's lock
            releasing = asyncio.create_task(r.pool.release(conn))
            await asyncio.sleep(0.01)
            releasing.cancel()
            await asyncio.sleep(0)
        with pytest.raises(asyncio.CancelledError):
            await releasing
        assert r.pool.size == 1
        assert await r.ping() is True  # the one connection came back


async def test_async_failed_connect_frees_its_slot_even_if_cancelled_waiting_for_the_lock(
        ) -> None:
    fail = asyncio.Event()

    async def connect() -> AsyncConnection:
        await fail.wait()
        raise RedisConnectionError("refused")

    pool = AsyncConnectionPool(connect, max_connections=1, timeout=0.5)
    opening = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.01)  # the slot is reserved; the connect is under way
    assert pool.size == 1
    async with pool._condition:  # somebody else holds the pool's lock
        fail.set()
        await asyncio.sleep(0.01)  # the connect failed; freeing its slot waits for the lock
        opening.cancel()
        await asyncio.sleep(0)
    with pytest.raises((asyncio.CancelledError, RedisConnectionError)):
        await opening
    await asyncio.sleep(0.01)  # the shielded bookkeeping takes the lock now
    assert pool.size == 0


async def test_auto_pipelined_callers_waiting_for_room_give_up_at_their_own_deadline() -> None:
    # Issue 12 item 7: with the server frozen and max_pending full, the first
    # callers timed out but the ones waiting for room waited forever.
    async with frozen_server() as port, AsyncClient(
            "127.0.0.1", port, auto_pipeline=True, max_pending=2, timeout=0.3) as r:
        started = time.monotonic()
        results = await asyncio.wait_for(
            asyncio.gather(*(r.get(f"k{i}") for i in range(6)), return_exceptions=True), 5)
        assert all(isinstance(result, TimeoutError) for result in results), results
        assert time.monotonic() - started < 2
        # The timed-out calls keep their slots (their replies are still owed),
        # so a new caller waits for room -- within its own deadline too.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(r.get("again"), 5)


async def test_caller_cancelled_while_the_server_reads_nothing_keeps_the_connection_in_step(
        ) -> None:
    # The asyncio connection writes with transport.write, which never waits:
    # a caller is never suspended half way through writing its command, so a
    # cancel can only land while it waits for its reply -- and then it keeps
    # its place in the FIFO, even with the server not reading at all.
    done = asyncio.Event()

    handlers: list[asyncio.Task[Any]] = []

    async def reads_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.append(task)
        try:
            writer.write(b"+OK\r\n")  # "answers" the big SET without reading it
            await writer.drain()
            await done.wait()
        finally:
            writer.close()

    server = await asyncio.start_server(reads_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AsyncClient("127.0.0.1", port) as r:
            assert await r.set("big", b"x" * (8 << 20)) is True
            conn = r._shared
            assert conn is not None and not conn._waiters  # idle, the transport full
            conn._stream.close_timeout = 0.1  # the server never reads what is queued
            stuck = asyncio.create_task(conn.execute(["GET", "k"]))
            await asyncio.sleep(0.05)
            assert not stuck.done()  # its command is queued; it waits for the reply
            stuck.cancel()
            with pytest.raises(asyncio.CancelledError):
                await stuck
            assert conn.broken is None  # in step: the cancelled call keeps its place
            assert len(conn._waiters) == 1
    finally:
        done.set()
        # Each handler closes its side before the loop ends (a bare sleep
        # here left a transport open on a loaded machine: ResourceWarning).
        await asyncio.wait_for(asyncio.gather(*handlers, return_exceptions=True), 10)
        server.close()
        await server.wait_closed()


# -- timeouts: one timer per connection (AsyncConnection._expire) ------------------------


@contextlib.asynccontextmanager
async def frozen_server(tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """A server that reads every command and answers none; its port.
    ``tls``: the server's context, for a TLS server (asyncio's: it answers
    the client's TLS close like any well-behaved peer)."""
    handlers: set[asyncio.Task[Any]] = set()

    async def frozen(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            await reader.read()  # until the client closes
        finally:
            writer.close()

    server = await asyncio.start_server(frozen, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        # The clients have closed: let each handler see it and close its side
        # (else the loop ends with their transports open).
        await asyncio.wait_for(asyncio.gather(*handlers, return_exceptions=True), 10)
        await server.wait_closed()


async def test_fifty_waiting_commands_arm_one_timer_and_all_time_out_in_their_places(
        monkeypatch: pytest.MonkeyPatch) -> None:
    armed: list[float] = []
    armed_at: list[float] = []
    arm = DeadlineTimer.arm

    def counting_arm(self: DeadlineTimer, when: float) -> None:
        armed.append(when)
        armed_at.append(asyncio.get_running_loop().time())
        arm(self, when)

    async with frozen_server() as port, AsyncClient("127.0.0.1", port, timeout=0.3) as r:
        monkeypatch.setattr(DeadlineTimer, "arm", counting_arm)
        try:
            results = await asyncio.wait_for(
                asyncio.gather(*(r.get(f"k{i}") for i in range(50)),
                               return_exceptions=True), 10)
        finally:
            monkeypatch.undo()
        assert all(type(result) is TimeoutError for result in results), results
        # Not one timer per command: the fifty commands armed it once, for the
        # earliest deadline; after that it was armed again only when it fired, each
        # time for a later deadline. (How many fires that takes depends on how fast
        # the loop wakes against deadlines microseconds apart: not counted.)
        before_first_fire = [t for t in armed_at if t < armed[0]]
        assert len(before_first_fire) == 1, (armed_at, armed)
        assert armed == sorted(set(armed)), armed
        conn = r._shared
        assert conn is not None and conn.broken is None
        assert len(conn._waiters) == 50  # their replies are still owed: places kept


async def test_a_command_method_with_a_timeout_goes_the_direct_way_and_still_times_out(
        redis_server: RedisServer, keys: tuple[str, str]) -> None:
    # With `timeout` set, r.get and the other methods still await the reply's
    # future directly (no execute coroutines); the deadline is watched by the
    # connection's timer all the same, and the place in the FIFO is kept.
    async with AsyncClient(redis_server.host, redis_server.port, timeout=0.1) as r:
        assert await r.ping() is True  # the shared connection is open
        conn = r._shared
        assert conn is not None
        started: list[Any] = []
        start = conn._start

        def spy(args: Any) -> Any:
            future = start(args)
            started.append((args[0], future is not None))
            return future

        conn._start = spy  # type: ignore[method-assign]
        assert await r.get(keys[1]) == b"value-of-b"
        with pytest.raises(TimeoutError):
            await r.execute_command(*slow_command("stale", 0.4))
        with pytest.raises(TimeoutError):
            await r.echo("behind the slow one")
        assert started == [("GET", True), ("ECHO", True)]  # both went the direct way
        assert conn.broken is None
        # Both replies still come, in turn, and go to nobody.
        conn.timeout = 5
        assert await r.echo("next") == b"next"
        assert await r.get(keys[0]) is None
        assert not conn._waiters


async def test_a_waiting_command_with_a_timeout_leaves_the_loop_no_timer_on_linux() -> None:
    # The connection's deadline timer is a timer descriptor: the loop's waits
    # stay untimed (examples/_timer.py), and the deadline still comes.
    loop = asyncio.get_running_loop()
    async with frozen_server() as port, AsyncClient("127.0.0.1", port, timeout=0.2) as r:
        await r.pool.close()  # (nothing else of the client's on the loop)
        waiting = asyncio.create_task(r.get("k"))
        await asyncio.sleep(0.05)
        conn = r._shared
        assert conn is not None
        if sys.platform.startswith("linux"):
            assert conn._timer.uses_descriptor
            assert not [h for h in loop._scheduled  # type: ignore[attr-defined]
                        if not h.cancelled()]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(waiting, 10)
        assert conn.broken is None and len(conn._waiters) == 1


async def test_without_timer_descriptors_a_deadline_is_a_loop_timer_that_fires_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_timer, "_TIMERFD", None)
    async with frozen_server() as port, AsyncClient("127.0.0.1", port, timeout=0.1) as r:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(r.get("a"), 10)
        conn = r._shared
        assert conn is not None and not conn._timer.uses_descriptor
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(r.get("b"), 10)  # armed again after it fired
        assert len(conn._waiters) == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="timer descriptors: Linux")
async def test_closing_a_connection_gives_its_timer_descriptor_back(
    timer_descriptors: Callable[[], int],
) -> None:
    async with frozen_server() as port:
        before = timer_descriptors()
        for _ in range(3):
            async with AsyncClient("127.0.0.1", port, timeout=0.05) as r:
                with pytest.raises(TimeoutError):
                    await r.get("k")
                conn = r._shared
                assert conn is not None and conn._timer.uses_descriptor
                assert timer_descriptors() == before + 1
        assert timer_descriptors() == before


async def test_a_shorter_timeout_set_while_a_longer_one_waits_fires_on_its_own_deadline() -> None:
    async with frozen_server() as port, AsyncClient("127.0.0.1", port, timeout=60) as r:
        patient = asyncio.create_task(r.get("a"))
        await asyncio.sleep(0.05)
        conn = r._shared
        assert conn is not None
        conn.timeout = 0.1
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(r.get("b"), 10)
        assert not patient.done()  # its deadline is a minute away
        patient.cancel()
        with pytest.raises(asyncio.CancelledError):
            await patient


async def test_a_pipeline_that_times_out_raises_timeout_error_and_keeps_its_places() -> None:
    async with frozen_server() as port, AsyncClient("127.0.0.1", port, timeout=0.1) as r:
        pipe = r.pipeline()
        for i in range(5):
            pipe.get(f"k{i}")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pipe.execute(), 10)
        conn = r._shared
        assert conn is not None and conn.broken is None
        assert len(conn._waiters) == 5


async def test_answered_calls_leave_the_deadline_list(redis_server: RedisServer) -> None:
    async with AsyncClient(redis_server.host, redis_server.port, timeout=30) as r:
        for _ in range(200):
            assert await r.echo("x") == b"x"
        conn = r._shared
        assert conn is not None
        assert len(conn._deadlines) <= 1  # not one entry per call made
        assert conn._timer is not None  # armed once, for the first deadline


# -- closing: the socket is closed when close() returns ------------------------------
#
# After the handshake the asyncio connection owns its transport (take_transport),
# and closing a transport is asynchronous: a plain socket closes on the loop's
# next turn, a TLS one only after the peer answers the TLS close (or asyncio's
# own 30 s shutdown timeout). A close() that returned at once left the socket
# open past the end of asyncio.run (CI: "unclosed transport" ResourceWarning,
# collected in whichever test ran next).


@contextlib.contextmanager
def tls_contexts() -> Iterator[tuple[ssl.SSLContext, ssl.SSLContext]]:
    """(server context, client context) trusting each other, for 127.0.0.1."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    yield server, client


@contextlib.contextmanager
def tls_peer_that_never_answers_the_close(context: ssl.SSLContext) -> Iterator[int]:
    """A TLS server (a thread, blocking sockets) that completes the handshake
    and then reads nothing, so the client's TLS close is never answered."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    release = threading.Event()

    def serve() -> None:
        try:
            raw, _ = listener.accept()
        except OSError:
            return
        try:
            with context.wrap_socket(raw, server_side=True):
                release.wait(10)
        except OSError:
            raw.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        release.set()
        thread.join(10)
        listener.close()


def socket_of(conn: AsyncConnection) -> Any:
    assert conn._transport is not None
    return conn._transport.get_extra_info("socket")


@pytest.mark.parametrize("auto_pipeline", [True, False], ids=["shared", "pooled"])
async def test_closing_an_async_client_closes_its_sockets_before_close_returns(
        redis_server: RedisServer, auto_pipeline: bool) -> None:
    r = AsyncClient(redis_server.host, redis_server.port, auto_pipeline=auto_pipeline)
    try:
        assert await r.ping() is True
        conn = r._shared if auto_pipeline else r.pool._idle[0]
        assert conn is not None
        sock = socket_of(conn)
        assert sock.fileno() != -1
    finally:
        await r.close()
    assert sock.fileno() == -1


async def test_closing_a_tls_connection_waits_for_the_peer_to_answer_the_close() -> None:
    with tls_contexts() as (server_context, client_context):
        async with frozen_server(tls=server_context) as port:
            conn = await AsyncConnection.connect("127.0.0.1", port, ssl=client_context)
            sock = socket_of(conn)
            await asyncio.wait_for(conn.close(), 10)
            assert sock.fileno() == -1


async def test_closing_a_tls_connection_whose_peer_never_answers_aborts_it_after_close_timeout(
        ) -> None:
    with tls_contexts() as (server_context, client_context), \
            tls_peer_that_never_answers_the_close(server_context) as port:
        conn = await AsyncConnection.connect("127.0.0.1", port, ssl=client_context)
        conn._stream.close_timeout = 0.1
        sock = socket_of(conn)
        # asyncio alone would wait 30 s for the peer's answer (ssl_shutdown_timeout)
        await asyncio.wait_for(conn.close(), 10)
        assert sock.fileno() == -1


async def test_a_close_cancelled_while_waiting_for_the_peer_aborts_the_connection() -> None:
    with tls_contexts() as (server_context, client_context), \
            tls_peer_that_never_answers_the_close(server_context) as port:
        conn = await AsyncConnection.connect("127.0.0.1", port, ssl=client_context)
        conn._stream.close_timeout = 30
        sock = socket_of(conn)
        closing = asyncio.create_task(conn.close())
        await asyncio.sleep(0.05)
        assert not closing.done()  # waiting for the peer's answer
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing
        assert sock.fileno() == -1
        assert conn.broken == "closed"
