"""AsyncSocket: raw-socket code and its one-to-one port behave the same."""

from __future__ import annotations

import asyncio
import errno
import gc
import inspect
import socket
import sys
import time
import warnings
from typing import Any

import pytest

from ambidex.io import AsyncSocket
from tests.io.conftest import on_signal, sends, thread_server


def greeter(conn: socket.socket) -> None:
    """A little line protocol: greet, upper-case each line, say bye at EOF."""
    conn.sendall(b"HELLO\r\n")
    pending = b""
    while chunk := conn.recv(1024):
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            conn.sendall(line.upper() + b"\n")
    conn.sendall(b"BYE\r\n")


def blocking_client(address: tuple[str, int]) -> list[bytes]:
    """Written the way people write socket code."""
    results = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(address)
    results.append(sock.recv(7))
    sock.sendall(b"ping\n")
    assert sock.send(b"pong\n") == 5
    got = b""
    while got.count(b"\n") < 2:
        got += sock.recv(4096)
    results.append(got)
    sock.shutdown(socket.SHUT_WR)
    buf = bytearray(16)
    n = sock.recv_into(buf)
    results.append(bytes(buf[:n]))
    results.append(sock.recv(100))
    sock.close()
    sock.close()
    return results


async def async_client(address: tuple[str, int]) -> list[bytes]:
    """The same client, ported: constructor swapped, blocking calls awaited."""
    results = []
    sock = AsyncSocket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(5)
    await sock.connect(address)
    results.append(await sock.recv(7))
    await sock.sendall(b"ping\n")
    assert await sock.send(b"pong\n") == 5
    got = b""
    while got.count(b"\n") < 2:
        got += await sock.recv(4096)
    results.append(got)
    sock.shutdown(socket.SHUT_WR)
    buf = bytearray(16)
    n = await sock.recv_into(buf)
    results.append(bytes(buf[:n]))
    results.append(await sock.recv(100))
    await sock.close()
    await sock.close()
    return results


def test_a_socket_client_and_its_async_port_get_the_same_results():
    with thread_server(greeter) as address:
        expected = blocking_client(address)
        assert expected == [b"HELLO\r\n", b"PING\nPONG\n", b"BYE\r\n", b""]
        assert asyncio.run(async_client(address)) == expected


async def test_create_connection_connects_and_sets_the_timeout(serve):
    host, port = await serve(sends(b"hi"))
    async with await AsyncSocket.create_connection((host, port), timeout=3) as sock:
        assert sock.gettimeout() == 3
        assert await sock.recv(10) == b"hi"
        assert sock.getpeername() == (host, port)
        assert sock.fileno() >= 0
    assert sock.fileno() == -1


async def test_recv_returns_empty_bytes_at_eof_like_a_socket(serve):
    host, port = await serve(sends(b"x"))
    sock = await AsyncSocket.create_connection((host, port), timeout=5)
    assert await sock.recv(10) == b"x"
    assert await sock.recv(10) == b""
    assert await sock.recv(10) == b""
    assert await sock.recv(0) == b""
    await sock.close()


async def test_recv_into_respects_nbytes(serve):
    host, port = await serve(sends(b"abcdef"))
    sock = await AsyncSocket.create_connection((host, port), timeout=5)
    buf = bytearray(10)
    assert await sock.recv_into(buf, 2) == 2
    assert buf[:2] == b"ab"
    with pytest.raises(ValueError):
        await sock.recv_into(buf, 11)
    await sock.close()


async def test_recv_times_out_with_socket_timeout(serve):
    host, port = await serve(sends(then_close=False))
    sock = await AsyncSocket.create_connection((host, port), timeout=0.2)
    with pytest.raises(socket.timeout):
        await sock.recv(1)
    sock.settimeout(0.0)
    with pytest.raises(BlockingIOError):
        await sock.recv(1)
    await sock.close()


async def test_create_connection_times_out(full_backlog):
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await AsyncSocket.create_connection(full_backlog, timeout=0.2)
    assert time.monotonic() - started < 3


async def test_use_after_close_and_before_connect_raise_oserrors_like_a_socket(serve):
    host, port = await serve(sends(b"x"))
    sock = AsyncSocket()
    with pytest.raises(OSError) as info:
        await sock.recv(1)
    assert info.value.errno == errno.ENOTCONN
    await sock.connect((host, port))
    with pytest.raises(OSError) as info:
        await sock.connect((host, port))
    assert info.value.errno == errno.EISCONN
    await sock.close()
    for call in (sock.recv(1), sock.sendall(b"x"), sock.connect((host, port))):
        with pytest.raises(OSError) as info:
            await call
        assert info.value.errno == errno.EBADF


def test_only_tcp_is_supported():
    with pytest.raises(ValueError):
        AsyncSocket(socket.AF_INET, socket.SOCK_DGRAM)
    with pytest.raises(ValueError):
        AsyncSocket().settimeout(-1)


async def test_a_cancelled_recv_takes_no_data(serve):
    go = asyncio.Event()
    host, port = await serve(on_signal(b"", b"late", go))
    sock = await AsyncSocket.create_connection((host, port))
    task = asyncio.create_task(sock.recv(100))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    go.set()
    assert await sock.recv(100) == b"late"
    await sock.close()


async def test_a_cancelled_connect_leaves_the_socket_unconnected_and_reusable(
    full_backlog, serve
):
    host, port = await serve(sends(b"ok"))
    sock = AsyncSocket()
    task = asyncio.create_task(sock.connect(full_backlog))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(OSError) as info:
        await sock.recv(1)
    assert info.value.errno == errno.ENOTCONN
    await sock.connect((host, port))
    assert await sock.recv(2) == b"ok"
    await sock.close()


async def test_a_cancelled_sendall_still_delivers_the_queued_rest(serve):
    received = asyncio.get_running_loop().create_future()
    go = asyncio.Event()

    async def reads_late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await go.wait()
        received.set_result(len(await reader.read()))

    host, port = await serve(reads_late)
    sock = await AsyncSocket.create_connection((host, port))
    size = 16 << 20  # more than the kernel buffers hold while nobody reads: sendall waits
    task = asyncio.create_task(sock.sendall(b"s" * size))
    await asyncio.sleep(0.2)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    go.set()
    await sock.close()  # flushes what is queued (bounded), then closes
    assert await asyncio.wait_for(received, 5) == size


async def test_a_cancelled_close_still_closes(silent_listener):
    sock = await AsyncSocket.create_connection(silent_listener, timeout=0.2)
    with pytest.raises(TimeoutError):
        for _ in range(256):
            await sock.sendall(b"q" * (1 << 20))
    task = asyncio.create_task(sock.close())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sock.fileno() == -1
    await sock.close()


def test_create_connection_takes_every_parameter_of_the_stdlibs() -> None:
    # The port hands AsyncSocket.create_connection whatever its input handed
    # socket.create_connection: each parameter of the stdlib's (all_errors
    # from 3.11) is one of the twin's, with the same name, kind and default.
    ours = inspect.signature(AsyncSocket.create_connection).parameters
    for name, theirs in inspect.signature(socket.create_connection).parameters.items():
        assert name in ours, name
        assert ours[name].kind is theirs.kind, name
        if theirs.default is not inspect.Parameter.empty:
            assert ours[name].default == theirs.default, name
    assert "all_errors" in ours  # on 3.10 too: the to-sync port maps it back as it was


async def test_create_connection_takes_what_the_stdlibs_clients_hand_it() -> None:
    # imaplib: `socket.create_connection((None or host, port), timeout)`;
    # smtplib and ftplib: `((host, port), timeout, source_address)` with the
    # user's source_address, often ("", 0) or a bytes host; http.client:
    # `((host, port), socket._GLOBAL_DEFAULT_TIMEOUT, None)`; a service given
    # as a string. Each form connects where socket.create_connection does.
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        (((None, port), 5.0), {}),
        ((("127.0.0.1", str(port)),), {}),
        ((("127.0.0.1", port), 5.0, ("", 0)), {}),
        ((("127.0.0.1", port), 5.0, (b"127.0.0.1", 0)), {}),
        ((("127.0.0.1", port), 5.0, (bytearray(b"127.0.0.1"), 0)), {}),
        ((("127.0.0.1", port), socket._GLOBAL_DEFAULT_TIMEOUT, None), {}),  # type: ignore[attr-defined]
        ((("127.0.0.1", port),), {"source_address": ("127.0.0.1", 0), "timeout": 5}),
        ((("localhost", port),), {"all_errors": False}),
    ]
    async with server:
        for args, kwargs in calls:
            if "all_errors" in kwargs and sys.version_info < (3, 11):
                kwargs = {}
            blocking = await asyncio.to_thread(socket.create_connection, *args, **kwargs)
            with blocking:
                expected = blocking.getpeername()
            sock = await AsyncSocket.create_connection(*args, **kwargs)
            try:
                assert sock.getpeername() == expected, (args, kwargs)
                if "source_address" in kwargs:
                    assert sock.getsockname()[0] == "127.0.0.1"
            finally:
                await sock.close()
        # A source port of its own: the socket is bound to it before connecting.
        free = socket.socket()
        free.bind(("127.0.0.1", 0))
        local_port = free.getsockname()[1]
        free.close()
        sock = await AsyncSocket.create_connection(
            ("127.0.0.1", port), 5, ("127.0.0.1", local_port)
        )
        assert sock.getsockname() == ("127.0.0.1", local_port)
        await sock.close()


async def test_create_connection_raises_what_socket_create_connection_raises() -> None:
    # all_errors=True (3.11+): every attempt's error, in an ExceptionGroup, as
    # socket.create_connection raises them; without it, the last error alone.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    refused = listener.getsockname()
    listener.close()
    with pytest.raises(ConnectionRefusedError):
        await AsyncSocket.create_connection(refused, 5)
    if sys.version_info >= (3, 11):
        with pytest.raises(ExceptionGroup) as raised:  # noqa: F821 (3.11+)
            await AsyncSocket.create_connection(refused, 5, all_errors=True)
        assert raised.value.message == "create_connection failed"
        assert [type(e) for e in raised.value.exceptions] == [ConnectionRefusedError]
        with pytest.raises(ExceptionGroup, match="create_connection failed"):  # noqa: F821
            socket.create_connection(refused, 5, all_errors=True)
    else:
        with pytest.raises(TypeError, match="all_errors"):
            await AsyncSocket.create_connection(refused, 5, all_errors=True)


async def test_a_cancelled_or_timed_out_create_connection_leaves_no_socket_open(full_backlog):
    # Each address is tried on a socket of the walk's own: cancelled or timed
    # out mid-connect, that socket is closed, not left to the collector.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        task = asyncio.create_task(AsyncSocket.create_connection(full_backlog))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(TimeoutError):
            await AsyncSocket.create_connection(full_backlog, timeout=0.1)
        del task
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
