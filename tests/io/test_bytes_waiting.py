"""``unread_bytes_waiting()`` and ``peer_closed()``: asked without waiting, in both colours.

A protocol without request ids (gibson) or a pool that reuses kept-alive
connections (HTTP) asks, before writing the next request on an idle
connection, whether the peer sent something nobody asked for. The answer
must never wait and never take the bytes: the next read still gets them.

Bytes sent by the server reach the client's socket a moment later, and the
asyncio colour sees them once its loop runs; ``eventually`` asks again
(yielding to the loop) until the answer comes, with a generous bound. No
test measures time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from ambidex.io import StreamClosedError
from tests.io.conftest import TLS, Either, echo, on_signal, sends


async def eventually(check: Callable[[], bool]) -> bool:
    """``check()`` until it is true (True), or False after ~5 s of asking."""
    for _ in range(500):
        if check():
            return True
        await asyncio.sleep(0.01)
    return False


async def test_nothing_is_waiting_on_a_quiet_connection(serve, colour):
    host, port = await serve(echo)
    s = await Either.connect(colour, host, port, timeout=5)
    assert not s.stream.unread_bytes_waiting()
    assert not s.stream.peer_closed()
    await s.close()


async def test_bytes_still_in_the_socket_are_waiting_and_are_not_consumed(serve, colour):
    host, port = await serve(echo)
    s = await Either.connect(colour, host, port, timeout=5)
    await s.write(b"stray")
    assert await eventually(s.stream.unread_bytes_waiting)
    assert not s.stream.peer_closed()
    assert s.stream.unread_bytes_waiting()  # asking twice takes nothing
    assert await s.read_exactly(5) == b"stray"
    assert not s.stream.unread_bytes_waiting()
    await s.close()


async def test_bytes_left_in_the_buffer_by_a_line_are_waiting(serve, colour):
    host, port = await serve(sends(b"line\nrest", then_close=False))
    s = await Either.connect(colour, host, port, timeout=5)
    assert await s.read_until(b"\n") == b"line\n"
    assert await eventually(s.stream.unread_bytes_waiting)
    assert await s.read_exactly(4) == b"rest"
    assert not s.stream.unread_bytes_waiting()
    await s.close()


async def test_a_read_that_timed_out_leaves_its_bytes_waiting(serve, colour):
    go = asyncio.Event()
    host, port = await serve(on_signal(b"hel", b"lo", go))
    s = await Either.connect(colour, host, port, timeout=0.2)
    with pytest.raises(TimeoutError):
        await s.read_exactly(5)
    # The three bytes the timed-out read collected are buffered, not lost.
    assert s.stream.unread_bytes_waiting()
    go.set()
    s.stream.timeout = 5
    assert await s.read_exactly(5) == b"hello"
    assert not s.stream.unread_bytes_waiting()
    await s.close()


async def test_a_read_that_timed_out_with_nothing_leaves_nothing_waiting(serve, colour):
    host, port = await serve(echo)
    s = await Either.connect(colour, host, port, timeout=0.2)
    with pytest.raises(TimeoutError):
        await s.read()
    assert not s.stream.unread_bytes_waiting()
    assert not s.stream.peer_closed()
    s.stream.timeout = 5
    await s.write(b"ok")
    assert await s.read_exactly(2) == b"ok"
    await s.close()


async def test_an_orderly_close_is_not_bytes_but_peer_closed(serve, colour):
    host, port = await serve(sends())
    s = await Either.connect(colour, host, port, timeout=5)
    assert await eventually(s.stream.peer_closed)
    assert not s.stream.unread_bytes_waiting()
    assert await s.read() == b""
    assert s.stream.peer_closed()
    await s.close()


async def test_bytes_before_a_close_come_first(serve, colour):
    host, port = await serve(sends(b"last words"))
    s = await Either.connect(colour, host, port, timeout=5)
    assert await eventually(s.stream.unread_bytes_waiting)
    assert not s.stream.peer_closed()
    assert await s.read_exactly(10) == b"last words"
    assert await eventually(s.stream.peer_closed)
    assert not s.stream.unread_bytes_waiting()
    await s.close()


async def test_asking_a_closed_stream_raises(serve, colour):
    host, port = await serve(echo)
    s = await Either.connect(colour, host, port, timeout=5)
    await s.close()
    with pytest.raises(StreamClosedError):
        s.stream.unread_bytes_waiting()
    with pytest.raises(StreamClosedError):
        s.stream.peer_closed()


# --- TLS ----------------------------------------------------------------------------


async def test_tls_records_without_data_are_not_bytes_waiting(serve, colour, tls: TLS):
    # A TLS 1.3 server sends session tickets after the handshake: bytes on the
    # socket, but no data. After a round trip they have certainly been sent.
    host, port = await serve(echo, ssl=tls.server)
    s = await Either.connect(
        colour, host, port, timeout=5, ssl=tls.client, server_hostname=tls.hostname
    )
    await s.write(b"ping")
    assert await s.read_exactly(4) == b"ping"
    for _ in range(3):
        assert not s.stream.unread_bytes_waiting()
        await asyncio.sleep(0.01)
    assert not s.stream.peer_closed()
    await s.close()


async def test_tls_data_that_arrived_is_waiting_and_is_not_consumed(serve, colour, tls: TLS):
    host, port = await serve(echo, ssl=tls.server)
    s = await Either.connect(
        colour, host, port, timeout=5, ssl=tls.client, server_hostname=tls.hostname
    )
    await s.write(b"stray")
    assert await eventually(s.stream.unread_bytes_waiting)
    assert not s.stream.peer_closed()
    assert await s.read_exactly(5) == b"stray"
    assert not s.stream.unread_bytes_waiting()
    await s.close()


async def test_a_tls_peer_that_closed_is_peer_closed(serve, colour, tls: TLS):
    host, port = await serve(sends(), ssl=tls.server)
    s = await Either.connect(
        colour, host, port, timeout=5, ssl=tls.client, server_hostname=tls.hostname
    )
    assert await eventually(s.stream.peer_closed)
    assert not s.stream.unread_bytes_waiting()
    assert await s.read() == b""
    await s.close()


async def test_after_start_tls_records_without_data_are_not_bytes_waiting(serve, colour, tls):
    from tests.io.test_streams import starttls_server

    host, port = await serve(starttls_server(tls))
    s = await Either.connect(colour, host, port, timeout=5)
    await s.write(b"STARTTLS\n")
    assert await s.read_until(b"\n") == b"GO\n"
    assert not s.stream.unread_bytes_waiting()  # asked in the clear first
    await s.start_tls(tls.client, tls.hostname)
    await s.write(b"ping")
    assert await s.read_exactly(4) == b"ping"
    for _ in range(3):
        assert not s.stream.unread_bytes_waiting()
        await asyncio.sleep(0.01)
    await s.write(b"stray")
    assert await eventually(s.stream.unread_bytes_waiting)
    assert await s.read_exactly(5) == b"stray"
    await s.close()


async def test_read_would_wait_only_while_neither_bytes_nor_a_close_are_waiting(serve, colour):
    host, port = await serve(sends(b"last words"))
    s = await Either.connect(colour, host, port, timeout=5)
    assert await eventually(lambda: not s.stream.read_would_wait())
    assert s.stream.unread_bytes_waiting()  # bytes first: asking took nothing
    assert await s.read_exactly(10) == b"last words"
    assert await eventually(s.stream.peer_closed)
    assert not s.stream.read_would_wait()  # the close is waiting now
    await s.close()
    with pytest.raises(StreamClosedError):
        s.stream.read_would_wait()


async def test_read_would_wait_on_a_quiet_connection(serve, colour):
    host, port = await serve(echo)
    s = await Either.connect(colour, host, port, timeout=5)
    assert s.stream.read_would_wait()
    await s.write(b"x")
    assert await eventually(lambda: not s.stream.read_would_wait())
    assert await s.read_exactly(1) == b"x"
    assert s.stream.read_would_wait()
    await s.close()
