"""The connection's fast path: the exchange it takes without h11, and the hand-over.

``Connection.exchange`` sends a bodiless request as h11's own bytes without
telling h11, and reads the response with examples/http/_fastpath.py's
parser; on a decline it replays the cycle into h11 (the request, every byte
received, the close) and h11 goes on. Checked here, in both colours where
both have the await: a response cut anywhere reads the same whichever
reader took it, and the fast path took exactly the responses it should;
the replay writes nothing more and must agree with what was written; what
h11 reads after a replay (chunked, HEAD, a close, the errors of a broken
server: tests/http/test_bad_servers.py); and a task cancelled or timed out
at each await of the fast path leaves a connection nobody reuses.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import pytest
from hypothesis import given, settings

from examples.http import (
    AsyncConnection,
    AsyncResponse,
    Connection,
    Headers,
    ReadTimeout,
    Response,
    Timeout,
    WriteTimeout,
)
from examples.http.server import ServerThread

from .conftest import close, in_step, make_client, pool_of, v
from .test_splits import (
    ORIGIN,
    REQUEST,
    AsyncFakePool,
    AsyncFakeStream,
    FakePool,
    FakeStream,
    FakeTransport,
    bodies,
    cut,
    encodings,
    framings,
    points,
    wire,
)

_H11_REQUEST = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"  # what h11 writes for REQUEST


def sync_exchange(pieces: list[bytes]) -> tuple[bytes, bool, bool, bytes]:
    """(body, reusable, read by the fast path, bytes written), as Client.request reads."""
    stream = FakeStream(pieces)
    conn = Connection(stream, ORIGIN)  # type: ignore[arg-type]
    head, got, complete = conn.exchange(REQUEST, Timeout())
    fast = conn._fast_done
    pool = FakePool()
    response = Response(head.status_code, Headers.from_raw(head.headers), REQUEST, head.reason,
                        head.http_version, conn, pool, Timeout())  # type: ignore[arg-type]
    if response._take_body(got, complete):
        return response.content, conn.reusable(), fast, stream.written
    body = response.read()
    return body, pool.released == [True], fast, stream.written


async def async_exchange(pieces: list[bytes]) -> tuple[bytes, bool, bool, bytes]:
    stream = AsyncFakeStream(pieces)
    conn = AsyncConnection(stream, ORIGIN)  # type: ignore[arg-type]
    head, got, complete = await conn.exchange(REQUEST, Timeout())
    fast = conn._fast_done
    pool = AsyncFakePool()
    response = AsyncResponse(head.status_code, Headers.from_raw(head.headers), REQUEST,
                             head.reason, head.http_version, conn,
                             pool, Timeout())  # type: ignore[arg-type]
    if response._take_body(got, complete):
        return response.content, conn.reusable(), fast, stream.transport.written
    body = await response.aread()
    return body, pool.released == [True], fast, stream.transport.written


@settings(max_examples=100, deadline=None)
@given(body=bodies, chunks=framings, encoding=encodings, at=points)
def test_an_exchange_cut_anywhere_reads_the_body_sent_whichever_reader_takes_it(
        body: bytes, chunks: list[int] | None, encoding: str | None, at: list[int]) -> None:
    data = wire(body, chunks, encoding)
    pieces = cut(data, at)
    # The fast path takes a Content-Length body it can hold (64 KiB), and
    # declines chunked and larger ones to h11.
    fast = chunks is None and len(data) - data.index(b"\r\n\r\n") - 4 <= 65536
    expected = (body, True, fast, _H11_REQUEST)
    assert sync_exchange(pieces) == expected
    assert asyncio.run(async_exchange(pieces)) == expected


# --- the hand-over ------------------------------------------------------------------------

def test_a_replay_must_write_what_the_fast_path_wrote(monkeypatch: pytest.MonkeyPatch) -> None:
    # What the fast path writes is h11's own bytes for the event (found on a
    # scratch machine); the replay asks h11 again and compares. A mismatch
    # is a bug of ours, said as such, not a protocol error of the server's.
    conn = Connection(FakeStream([wire(b"x", [1], None)]), ORIGIN)  # type: ignore[arg-type]
    monkeypatch.setattr(type(conn._events), "wire",
                        lambda self, event: b"GET / HTTP/1.1\r\nX: 1\r\n\r\n")
    with pytest.raises(RuntimeError, match="h11 would write"):
        conn.exchange(REQUEST, Timeout())


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/one-byte", b"one byte at a time"),  # chunked, one byte per write
    ("GET", "/huge-headers", b""),  # a head over the fast path's limit... within the client's
    ("HEAD", "/token?t=h&size=10", b""),
    ("GET", "/then-close", b"closing after this"),  # the close may come with the response
    ("GET", "/gzip?t=g&size=100", b"g" * 100),
])
async def test_responses_read_after_a_replay_or_by_the_fast_path_are_the_same(
        colour: str, server: ServerThread, method: str, path: str, body: bytes) -> None:
    c = make_client(colour, base_url=server.url, max_header_size=256 * 1024)
    try:
        for _ in range(2):  # on a fresh connection, and on a kept-alive one when kept
            response = await v(c.request(method, path))
            assert response.status_code == 200
            assert response.content == body
        assert in_step(c)
    finally:
        await close(c)


async def test_a_plain_get_never_reaches_h11(colour: str, server: ServerThread,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    for name in ("send", "receive_data", "next_event", "start_next_cycle"):
        original = getattr(h11.Connection, name)

        def spy(self: Any, *args: Any, _name: str = name, _original: Any = original) -> Any:
            if self.our_role is h11.CLIENT:  # (the test server runs h11 too)
                calls.append(_name)
            return _original(self, *args)

        monkeypatch.setattr(h11.Connection, name, spy)
    c = make_client(colour, base_url=server.url)
    try:
        await v(c.get("/conn"))  # (finds the request's bytes with h11, once)
        calls.clear()
        for _ in range(3):
            response = await v(c.get("/conn"))
            assert response.content == b"ok" and response.headers["x-requests"]
        assert calls == []
        (conn,) = pool_of(c).idle
        assert conn.cycles == 4
    finally:
        await close(c)


# --- cancellation and timeouts at each await of the fast path (asyncio) ----------------------

class PausingTransport(FakeTransport):
    """A transport whose buffer is 'full' after any write: asyncio asks the
    protocol to pause, and never resumes."""

    def write(self, data: bytes) -> None:
        self.written += data
        self.protocol.pause_writing()


def connection_over(pieces: list[bytes], pausing: bool = False) -> AsyncConnection:
    stream = AsyncFakeStream(pieces)
    if pausing:
        stream.transport = PausingTransport(pieces)
    return AsyncConnection(stream, ORIGIN)  # type: ignore[arg-type]


async def waiting(conn: AsyncConnection, timeout: Timeout) -> asyncio.Task[Any]:
    task = asyncio.create_task(conn.exchange(REQUEST, timeout))
    for _ in range(50):
        await asyncio.sleep(0)
        if conn._waiter is not None:
            return task
    raise AssertionError("the exchange never waited")  # pragma: no cover


def assert_not_reusable(conn: AsyncConnection) -> None:
    assert conn._fast is not None  # mid-exchange on the fast path
    assert not conn.reusable()


HALF = wire(b"0123456789" * 10, None, None)[:-50]  # the head and half the body


@pytest.mark.parametrize("pieces, pausing", [
    ([], False),  # waiting for the head
    ([HALF], False),  # the head came, waiting for the rest of the body
    ([], True),  # waiting for the transport to drain
], ids=["head", "body", "drain"])
async def test_a_fast_path_exchange_cancelled_at_an_await_leaves_a_connection_nobody_reuses(
        pieces: list[bytes], pausing: bool) -> None:
    conn = connection_over(pieces, pausing)
    task = await waiting(conn, Timeout())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_not_reusable(conn)
    await conn.close()
    assert conn._stream.close_timeout == 0.0  # closed as mid-exchange: aborted, not flushed


@pytest.mark.parametrize("pieces, pausing, timeout, error", [
    ([], False, Timeout(5, read=0.05), ReadTimeout),
    ([HALF], False, Timeout(5, read=0.05), ReadTimeout),
    ([], True, Timeout(5, write=0.05), WriteTimeout),
], ids=["head", "body", "drain"])
async def test_a_fast_path_exchange_timed_out_at_an_await_leaves_a_connection_nobody_reuses(
        pieces: list[bytes], pausing: bool, timeout: Timeout, error: type[Exception]) -> None:
    conn = connection_over(pieces, pausing)
    with pytest.raises(error):
        await conn.exchange(REQUEST, timeout)
    assert_not_reusable(conn)
    await conn.close()


async def test_a_client_request_cancelled_mid_body_on_the_fast_path_frees_its_slot(
        server: ServerThread) -> None:
    from examples.http import AsyncClient
    async with AsyncClient(base_url=server.url, max_connections=1, timeout=Timeout(5)) as c:
        task = asyncio.create_task(c.get("/stall", params={"after": 10}))
        await asyncio.sleep(0.2)  # the head and 10 of 20 bytes came; the server stalls
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool_of(c).size == 0
        response = await c.get("/token", params={"t": "next"})
        assert response.content == b"next" and in_step(c)


# --- what comes with or after a response the fast path read (asyncio) --------------------------

class ClosingTransport(FakeTransport):
    """Delivers the whole response and the server's close in one turn of the loop."""

    def deliver(self) -> None:
        super().deliver()
        self.protocol.eof_received()


async def test_a_response_whose_close_came_with_it_is_not_reused() -> None:
    stream = AsyncFakeStream([])
    stream.transport = ClosingTransport([wire(b"ok", None, None)])
    conn = AsyncConnection(stream, ORIGIN)  # type: ignore[arg-type]
    head, pieces, complete = await conn.exchange(REQUEST, Timeout())
    assert (head.status_code, pieces, complete) == (200, [b"ok"], True)
    assert not conn.reusable()


async def test_bytes_after_a_fast_path_response_keep_its_connection_from_reuse() -> None:
    conn = connection_over([wire(b"ok", None, None)])
    await conn.exchange(REQUEST, Timeout())
    assert conn.reusable()
    conn._on_data(b"HTTP/1.1 200 OK\r\n")  # a stray response, before the release
    assert not conn.reusable()


def test_a_declined_response_leaves_no_copy_of_its_bytes_behind() -> None:
    # After the replay h11 holds the bytes (it copied them): the fast path's
    # buffer must not keep its own copy for the rest of the exchange (a 1 MiB
    # download's first 64 KiB, held to the end, showed in its peak memory).
    data = wire(b"x" * 100_000, None, None)  # too large for the fast path
    conn = Connection(FakeStream([data[:65536], data[65536:]]), ORIGIN)  # type: ignore[arg-type]
    _, _, complete = conn.exchange(REQUEST, Timeout())
    assert not conn._fast_done and not complete
    assert len(conn._parser.buffer) == 0
