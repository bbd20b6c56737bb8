"""One behaviour suite, both colours: every test runs against Stream and AsyncStream.

The `colour` fixture parametrizes each test; `Either` drives the sync stream
from a worker thread, so the asyncio server in the test's loop serves both.
With the C accelerator built, the sync stream runs twice: Stream with its C
reads ("sync") and with the pure-Python ones ("sync-pure").
"""

from __future__ import annotations

import asyncio
import time

import pytest

from ambidex.io import (
    AsyncStream,
    IncompleteReadError,
    ReadLimitError,
    Stream,
    StreamClosedError,
    StreamError,
)
from tests.io.conftest import TLS, Either, echo, on_signal, sends, sync_class


async def test_read_returns_what_arrived_up_to_max_bytes(serve, colour):
    host, port = await serve(sends(b"hello world"))
    s = await Either.connect(colour, host, port, timeout=5)
    first = await s.read(5)
    assert first == b"hello"
    rest = b""
    while chunk := await s.read():
        rest += chunk
    assert rest == b" world"
    await s.close()


async def test_read_returns_empty_bytes_at_eof_and_keeps_returning_it(serve, colour):
    host, port = await serve(sends(b"x"))
    s = await Either.connect(colour, host, port, timeout=5)
    assert await s.read() == b"x"
    assert await s.read() == b""
    assert await s.read() == b""
    await s.close()


async def test_read_rejects_a_non_positive_size(serve, colour):
    host, port = await serve(sends(b"x"))
    s = await Either.connect(colour, host, port, timeout=5)
    with pytest.raises(ValueError, match="max_bytes"):
        await s.read(0)
    await s.close()


async def test_read_exactly_assembles_dribbled_bytes_and_leaves_the_rest(serve, colour):
    host, port = await serve(sends(b"ab", b"cd", b"ef", b"gh", pause=0.01))
    s = await Either.connect(colour, host, port, timeout=5)
    assert await s.read_exactly(5) == b"abcde"
    assert await s.read_exactly(0) == b""
    assert await s.read_exactly(3) == b"fgh"
    await s.close()


async def test_read_exactly_of_a_large_payload(serve, colour):
    payload = bytes(range(256)) * 8192  # 2 MiB
    host, port = await serve(sends(payload))
    s = await Either.connect(colour, host, port, timeout=10)
    assert await s.read_exactly(len(payload)) == payload
    await s.close()


async def test_eof_mid_read_exactly_raises_incomplete_read_with_the_partial(serve, colour):
    host, port = await serve(sends(b"abc"))
    s = await Either.connect(colour, host, port, timeout=5)
    with pytest.raises(IncompleteReadError) as info:
        await s.read_exactly(10)
    assert info.value.partial == b"abc"
    assert info.value.expected == 10
    assert isinstance(info.value, EOFError)
    assert isinstance(info.value, StreamError)
    # The partial bytes were handed over: the stream is now at end of file.
    assert await s.read() == b""
    await s.close()


async def test_read_until_returns_lines_including_the_separator(serve, colour):
    host, port = await serve(sends(b"one\r\ntwo\r\nthr", b"ee\r\n"))
    s = await Either.connect(colour, host, port, timeout=5)
    assert await s.read_until(b"\r\n") == b"one\r\n"
    assert await s.read_until(b"\r\n") == b"two\r\n"
    assert await s.read_until(b"\r\n") == b"three\r\n"
    await s.close()


async def test_read_until_finds_a_separator_split_across_receives(serve, colour):
    host, port = await serve(sends(*[bytes([b]) for b in b"key: value\r\n"], pause=0.002))
    s = await Either.connect(colour, host, port, timeout=5)
    assert await s.read_until(b"\r\n") == b"key: value\r\n"
    await s.close()


async def test_read_until_defaults_to_newline(serve, colour):
    host, port = await serve(sends(b"a\nb\n"))
    s = await Either.connect(colour, host, port, timeout=5)
    assert await s.read_until() == b"a\n"
    assert await s.read_until() == b"b\n"
    await s.close()


async def test_read_until_accepts_a_line_exactly_as_long_as_the_limit(serve, colour):
    host, port = await serve(sends(b"123456789\n" + b"x" * 20))
    s = await Either.connect(colour, host, port, timeout=5)
    assert await s.read_until(b"\n", limit=10) == b"123456789\n"
    await s.close()


async def test_read_until_raises_read_limit_when_no_separator_within_limit(serve, colour):
    host, port = await serve(sends(b"x" * 100 + b"\n", then_close=False))
    s = await Either.connect(colour, host, port, timeout=5)
    with pytest.raises(ReadLimitError) as info:
        await s.read_until(b"\n", limit=50)
    assert info.value.limit == 50
    assert info.value.separator == b"\n"
    # Nothing was consumed: the over-long line can still be read (or skipped).
    assert await s.read_exactly(101) == b"x" * 100 + b"\n"
    await s.close()


async def test_without_a_timeout_the_fast_paths_keep_limits_separators_and_eof(serve, colour):
    # With no timeout, both colours take lines and frames that have already
    # arrived by a shortcut (asyncio: straight from the StreamReader's buffer;
    # sockets: one C readline/read). It must decide exactly as the careful
    # path does: a bare "\n" inside a "\r\n" line, a line past the limit
    # (which stays buffered), a frame cut by end of file.
    payload = b"a\nb\r\n" + b"y" * 60 + b"\r\n" + b"\x00\x00\x00\x05hello" + b"tail"
    host, port = await serve(sends(payload))
    s = await Either.connect(colour, host, port)
    assert await s.read_until(b"\r\n") == b"a\nb\r\n"
    with pytest.raises(ReadLimitError):
        await s.read_until(b"\r\n", limit=40)
    assert await s.read_until(b"\r\n", limit=62) == b"y" * 60 + b"\r\n"
    assert await s.read_exactly(4) == b"\x00\x00\x00\x05"
    assert await s.read_exactly(5) == b"hello"
    with pytest.raises(IncompleteReadError) as info:
        await s.read_exactly(10)
    assert info.value.partial == b"tail"
    assert await s.read(10) == b""
    await s.close()


async def test_read_until_limit_holds_while_the_peer_keeps_sending(serve, colour):
    """A peer streaming bytes without a separator is cut off at the limit,
    not buffered until it stops."""

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            writer.write(b"y" * 4096)
            await writer.drain()

    host, port = await serve(endless)
    s = await Either.connect(colour, host, port, timeout=5)
    with pytest.raises(ReadLimitError) as info:
        await s.read_until(b"\n", limit=100_000)
    # The buffer holds the limit plus at most one receive more.
    assert info.value.buffered < 100_000 + 2 * 65536
    await s.close()


async def test_eof_mid_read_until_raises_incomplete_read_with_the_partial(serve, colour):
    host, port = await serve(sends(b"no newline here"))
    s = await Either.connect(colour, host, port, timeout=5)
    with pytest.raises(IncompleteReadError) as info:
        await s.read_until(b"\n")
    assert info.value.partial == b"no newline here"
    assert info.value.expected is None
    await s.close()


@pytest.mark.parametrize("separator, limit", [(b"", 10), (b"\r\n", 1)])
async def test_read_until_rejects_a_bad_separator_or_limit(serve, colour, separator, limit):
    host, port = await serve(sends(b"x\n"))
    s = await Either.connect(colour, host, port, timeout=5)
    with pytest.raises(ValueError):
        await s.read_until(separator, limit=limit)
    await s.close()


@pytest.mark.parametrize("timeout", [None, 5])
@pytest.mark.parametrize(
    "separator, limit", [(b"", 10), (b"\r\n", 1), (b"\n", 0), (b"\n", -1), (b"\r\n", -2)]
)
async def test_a_bad_separator_or_limit_is_refused_with_nothing_consumed(
    serve, colour, separator, limit, timeout
):
    # Both colours check the lines that have already arrived before anything
    # else (the fast paths): a limit of 0 or below must still be refused, not
    # read as "no limit" (a negative index) or as a line's length.
    host, port = await serve(sends(b"x\r\ny\r\n"))
    s = await Either.connect(colour, host, port, timeout=timeout)
    assert await s.read_exactly(1) == b"x"  # the rest has arrived
    with pytest.raises(ValueError):
        await s.read_until(separator, limit=limit)
    assert await s.read_until(b"\n") == b"\r\n"
    assert await s.read_until(b"\r\n") == b"y\r\n"
    await s.close()


@pytest.mark.parametrize("timeout", [None, 5])
async def test_a_closed_stream_refuses_reads_even_with_lines_buffered(serve, colour, timeout):
    host, port = await serve(sends(b"one\ntwo\n" + bytes(100)))
    s = await Either.connect(colour, host, port, timeout=timeout)
    assert await s.read_until(b"\n") == b"one\n"  # "two" is buffered now
    await s.close()
    with pytest.raises(StreamClosedError):
        await s.read_until(b"\n")
    with pytest.raises(StreamClosedError):
        await s.read_exactly(4)
    with pytest.raises(StreamClosedError):
        await s.read(4)


@pytest.mark.parametrize("timeout", [None, 10])
async def test_write_sends_everything_in_order(serve, colour, timeout):
    host, port = await serve(echo)
    s = await Either.connect(colour, host, port, timeout=timeout)
    payload = bytes(range(256)) * 4096  # 1 MiB: more than one send takes
    # Read while writing (for the sync stream: from a second thread), or the
    # echo would stall once both directions' buffers are full.
    reading = asyncio.create_task(s.read_exactly(len(payload)))
    await s.write(payload)
    assert await reading == payload
    await s.write(memoryview(b"tail"))
    await s.write(bytearray(b"!"))
    assert await s.read_exactly(5) == b"tail!"
    await s.close()


async def test_close_is_idempotent_and_use_after_close_raises(serve, colour, tls: TLS):
    host, port = await serve(echo)
    s = await Either.connect(colour, host, port, timeout=5)
    await s.close()
    await s.close()
    assert s.stream.closed
    for call in (
        s.read(),
        s.read_exactly(1),
        s.read_until(b"\n"),
        s.write(b"x"),
        s.start_tls(tls.client),
    ):
        with pytest.raises(StreamClosedError):
            await call


async def test_context_manager_closes_the_stream(serve, colour):
    host, port = await serve(echo)
    if colour == "async":
        async with await AsyncStream.connect(host, port, timeout=5) as a:
            await a.write(b"ping")
            assert await a.read_exactly(4) == b"ping"
        assert a.closed
    else:

        def run() -> Stream:
            with sync_class(colour).connect(host, port, timeout=5) as s:
                s.write(b"ping")
                assert s.read_exactly(4) == b"ping"
            return s

        assert (await asyncio.to_thread(run)).closed


# --- timeouts ---------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["read", "read_exactly", "read_until"])
async def test_a_read_with_no_data_times_out_with_the_builtin_timeout_error(
    serve, colour, operation
):
    host, port = await serve(sends(then_close=False))
    s = await Either.connect(colour, host, port, timeout=0.2)
    args = {"read": (), "read_exactly": (4,), "read_until": (b"\n",)}[operation]
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=operation):
        await getattr(s, operation)(*args)
    assert time.monotonic() - started < 3
    await s.close()


async def test_the_timeout_bounds_the_whole_operation_not_each_receive(serve, colour):
    # One byte every 50 ms: every receive is quick, the whole read is not.
    host, port = await serve(sends(*[b"z"] * 100, pause=0.05, then_close=False))
    s = await Either.connect(colour, host, port, timeout=0.5)
    with pytest.raises(TimeoutError):
        await s.read_exactly(100)
    await s.close()


@pytest.mark.parametrize("operation", ["read_exactly", "read_until"])
async def test_a_read_that_timed_out_keeps_the_bytes_that_arrived(serve, colour, operation):
    go = asyncio.Event()
    host, port = await serve(on_signal(b"hel", b"lo\n", go))
    s = await Either.connect(colour, host, port, timeout=0.3)
    args = (6,) if operation == "read_exactly" else (b"\n",)
    with pytest.raises(TimeoutError):
        await getattr(s, operation)(*args)
    go.set()
    s.stream.timeout = 5
    assert await getattr(s, operation)(*args) == b"hello\n"
    await s.close()


async def test_a_write_to_a_peer_that_does_not_read_times_out_then_refuses(
    silent_listener, colour
):
    s = await Either.connect(colour, *silent_listener, timeout=0.3)
    chunk = b"w" * (1 << 20)
    with pytest.raises(TimeoutError, match="write"):
        for _ in range(256):
            await s.write(chunk)
    # Any prefix of the last chunk may have gone out: the framing is lost.
    with pytest.raises(StreamError, match="can no longer write"):
        await s.write(b"more")
    if s.is_async:
        s.stream.close_timeout = 0.2
    started = time.monotonic()
    await s.close()
    assert time.monotonic() - started < 3


async def test_connect_to_a_listener_that_does_not_answer_times_out(full_backlog, colour):
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="connect"):
        await Either.connect(colour, *full_backlog, timeout=0.3)
    assert time.monotonic() - started < 3


async def test_connect_refused_raises_connection_refused(colour):
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        await Either.connect(colour, "127.0.0.1", port, timeout=5)


async def test_server_hostname_without_ssl_is_refused(serve, colour):
    host, port = await serve(echo)
    with pytest.raises(ValueError, match="server_hostname"):
        await Either.connect(colour, host, port, server_hostname="example.org")


# --- TLS ----------------------------------------------------------------------------


async def test_tls_round_trip(serve, colour, tls: TLS):
    host, port = await serve(echo, ssl=tls.server)
    s = await Either.connect(
        colour, host, port, timeout=5, ssl=tls.client, server_hostname=tls.hostname
    )
    await s.write(b"secret\n")
    assert await s.read_until(b"\n") == b"secret\n"
    await s.close()


async def test_tls_checks_the_certificate_against_the_server_hostname(serve, colour, tls):
    import ssl

    host, port = await serve(echo, ssl=tls.server)
    with pytest.raises(ssl.SSLCertVerificationError):
        await Either.connect(
            colour, host, port, timeout=5, ssl=tls.client, server_hostname="not-this-host.test"
        )


def starttls_server(tls: TLS, *, answer_handshake: bool = True):
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert await reader.readline() == b"STARTTLS\n"
        writer.write(b"GO\n")
        await writer.drain()
        if not answer_handshake:
            await reader.read()  # sit on the ClientHello, say nothing
            return
        # AsyncStream.start_tls upgrades a server's side too, on every Python
        # (3.10's StreamWriter has no start_tls).
        stream = AsyncStream(reader, writer)
        await stream.start_tls(tls.server)
        while data := await stream.read():
            await stream.write(data)

    return handler


async def test_start_tls_upgrades_the_connection_in_place(serve, colour, tls: TLS):
    host, port = await serve(starttls_server(tls))
    s = await Either.connect(colour, host, port, timeout=5)
    await s.write(b"STARTTLS\n")
    assert await s.read_until(b"\n") == b"GO\n"
    await s.start_tls(tls.client, tls.hostname)
    await s.write(b"now encrypted\n")
    assert await s.read_until(b"\n") == b"now encrypted\n"
    await s.close()


async def test_start_tls_refuses_bytes_that_arrived_before_the_handshake(serve, colour, tls):
    host, port = await serve(sends(b"GO\ninjected\n", then_close=False))
    s = await Either.connect(colour, host, port, timeout=5)
    # Wait until both lines are buffered, as an attacker's injected line would be.
    assert await s.read_exactly(3) == b"GO\n"
    assert await s.read_exactly(1) == b"i"
    with pytest.raises(StreamError, match="unread bytes"):
        await s.start_tls(tls.client, tls.hostname)
    await s.close()


async def test_a_start_tls_that_times_out_closes_the_stream(serve, colour, tls: TLS):
    host, port = await serve(starttls_server(tls, answer_handshake=False))
    s = await Either.connect(colour, host, port, timeout=0.3)
    await s.write(b"STARTTLS\n")
    assert await s.read_until(b"\n") == b"GO\n"
    with pytest.raises(TimeoutError, match="start_tls"):
        await s.start_tls(tls.client, tls.hostname)
    assert s.stream.closed
    with pytest.raises(StreamClosedError):
        await s.read()


async def test_a_failed_start_tls_closes_the_stream(serve, colour, tls: TLS):
    import ssl

    host, port = await serve(starttls_server(tls))
    s = await Either.connect(colour, host, port, timeout=5)
    await s.write(b"STARTTLS\n")
    assert await s.read_until(b"\n") == b"GO\n"
    with pytest.raises(ssl.SSLCertVerificationError):
        await s.start_tls(tls.client, "wrong-name.test")
    assert s.stream.closed


# --- the same surface ---------------------------------------------------------------


def public_names(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def test_both_colours_have_the_same_public_names_and_parameters():
    import inspect

    # take_transport is asyncio's alone (an asyncio transport to hand over),
    # take_socket the blocking stream's alone (its socket to hand over).
    assert public_names(Stream) - {"take_socket"} == public_names(AsyncStream) - {"take_transport"}
    awaited = {"connect", "read", "read_exactly", "read_until", "write", "start_tls", "close"}
    for name in public_names(Stream) - {"take_socket"}:
        sync, async_ = getattr(Stream, name), getattr(AsyncStream, name)
        if not callable(sync):
            continue
        assert list(inspect.signature(sync).parameters.values()) == list(
            inspect.signature(async_).parameters.values()
        ), name
        assert inspect.iscoroutinefunction(async_) == (name in awaited), name
        assert not inspect.iscoroutinefunction(sync), name
    assert inspect.iscoroutinefunction(AsyncStream.__aenter__)
    assert inspect.iscoroutinefunction(AsyncStream.__aexit__)


def test_async_socket_has_the_socket_methods_it_stands_in_for():
    import inspect
    import socket

    blocking = {"connect", "recv", "recv_into", "send", "sendall", "close"}
    plain = {"settimeout", "gettimeout", "shutdown", "getpeername", "getsockname", "fileno"}
    from ambidex.io import AsyncSocket

    for name in blocking | plain:
        assert hasattr(socket.socket, name), name
        assert inspect.iscoroutinefunction(getattr(AsyncSocket, name)) == (name in blocking), name
    assert inspect.iscoroutinefunction(AsyncSocket.create_connection)
