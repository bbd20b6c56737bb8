"""Whether a connection speaks TLS, asked the same way in both colours; and
``AsyncSocket.unwrap()``, the twin of ``SSLSocket.unwrap()``.

Sync code asks ``isinstance(sock, ssl.SSLSocket)`` (ftplib's ``FTP_TLS``:
``auth()``, ``ccc()``, ``login(secure=True)`` and the four data transfers
that shut TLS down before reading the reply). An ``AsyncSocket`` starts TLS
in place and is never an ``SSLSocket``, so the port asks
:func:`ambidex.io.speaks_tls` instead; it answers for a blocking socket, a
``Stream``, an ``AsyncSocket`` and an ``AsyncStream``, before and after TLS.
``ccc()`` then calls ``sock.unwrap()``: TLS's closing handshake, after which
the same connection carries plain bytes again.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections.abc import Callable

import pytest

from ambidex.io import AsyncSocket, AsyncStream, Stream, speaks_tls, wrap_socket
from tests.io.conftest import TLS, sends, thread_server


def read_line(sock: socket.socket) -> bytes:
    line = b""
    while not line.endswith(b"\n") and (byte := sock.recv(1)):
        line += byte
    return line


def tls_then_clear(tls: TLS, *, close_notify: bool = True) -> Callable[[socket.socket], None]:
    """``go`` -> TLS; echoes one line over TLS; ``clear`` -> the TLS closing
    handshake (when ``close_notify``), then one line echoed in clear text."""

    def handler(conn: socket.socket) -> None:
        assert read_line(conn) == b"go\n"
        conn.sendall(b"ok\n")
        secure = tls.server.wrap_socket(conn, server_side=True)
        secure.sendall(b"secret " + read_line(secure))
        assert read_line(secure) == b"clear\n"
        if not close_notify:
            # Read the client's close notice, never answer it: its unwrap waits
            # until it gives up and closes the connection.
            assert secure.recv(1024) == b""
            select.select([secure], [], [], 5)
            return
        plain = secure.unwrap()
        plain.sendall(b"plain " + read_line(plain))

    return handler


def test_a_blocking_socket_speaks_tls_once_wrapped(tls: TLS) -> None:
    with thread_server(tls_then_clear(tls)) as (host, port):
        sock = socket.create_connection((host, port), timeout=5)
        assert not speaks_tls(sock)
        sock.sendall(b"go\n")
        assert read_line(sock) == b"ok\n"
        secure = tls.client.wrap_socket(sock, server_hostname=tls.hostname)
        assert speaks_tls(secure)
        secure.sendall(b"hi\n")
        assert read_line(secure) == b"secret hi\n"
        secure.sendall(b"clear\n")
        plain = secure.unwrap()
        # The same object, no longer speaking TLS (though still an SSLSocket).
        assert plain is secure and not speaks_tls(plain)
        plain.sendall(b"x\n")
        assert read_line(plain) == b"plain x\n"
        plain.close()


async def test_an_async_socket_speaks_tls_after_wrap_socket_and_not_after_unwrap(
    tls: TLS,
) -> None:
    with thread_server(tls_then_clear(tls)) as (host, port):
        sock = await AsyncSocket.create_connection((host, port), timeout=5)
        assert not speaks_tls(sock)
        await sock.sendall(b"go\n")
        f = sock.makefile("rb")
        assert await f.readline() == b"ok\n"
        f.close()
        assert await wrap_socket(tls.client, sock, server_hostname=tls.hostname) is sock
        assert speaks_tls(sock)
        f = sock.makefile("rb")
        await sock.sendall(b"hi\n")
        assert await f.readline() == b"secret hi\n"
        f.close()
        await sock.sendall(b"clear\n")
        assert await sock.unwrap() is sock  # the same socket, now in clear text
        assert not speaks_tls(sock)
        await sock.sendall(b"x\n")
        f = sock.makefile("rb")
        assert await f.readline() == b"plain x\n"
        f.close()
        await sock.close()


async def test_unwrap_of_a_socket_without_tls_raises_value_error_as_a_socket_does(
    serve,
) -> None:
    host, port = await serve(sends(b"", then_close=False))
    sock = await AsyncSocket.create_connection((host, port), timeout=5)
    with pytest.raises(ValueError, match="No SSL wrapper"):
        await sock.unwrap()
    await sock.close()


@pytest.mark.parametrize("how", ["timeout", "cancel"])
async def test_an_unwrap_that_times_out_or_is_cancelled_closes_the_socket(
    tls: TLS, how: str
) -> None:
    # The peer never answers the closing handshake: the TLS state is half shut,
    # like a failed start_tls the socket is closed rather than left ambiguous.
    with thread_server(tls_then_clear(tls, close_notify=False)) as (host, port):
        sock = await AsyncSocket.create_connection((host, port), timeout=5)
        await sock.sendall(b"go\n")
        assert await sock.recv(3) == b"ok\n"
        await wrap_socket(tls.client, sock, server_hostname=tls.hostname)
        await sock.sendall(b"hi\n")
        f = sock.makefile("rb")
        assert await f.readline() == b"secret hi\n"
        f.close()
        await sock.sendall(b"clear\n")
        if how == "timeout":
            sock.settimeout(0.2)
            with pytest.raises(TimeoutError, match="unwrap"):
                await sock.unwrap()
        else:
            task = asyncio.create_task(sock.unwrap())
            await asyncio.sleep(0.2)
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        with pytest.raises(OSError):
            await sock.recv(1)
        await sock.close()
        # One loop turn: the aborted transport closes its socket, which ends the
        # server thread's wait before the block joins that thread (blocking).
        await asyncio.sleep(0)


async def test_streams_of_both_colours_say_whether_they_speak_tls(serve, tls: TLS) -> None:
    async def upgrade(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"ok\n")
        await writer.drain()
        server = AsyncStream(reader, writer)  # upgrades a server's side on 3.10 too
        await server.start_tls(tls.server)
        await server.write(b"secret\n")
        await server.read()

    host, port = await serve(upgrade)
    stream = await AsyncStream.connect(host, port, timeout=5)
    assert not speaks_tls(stream)
    await stream.write(b"go\n")
    assert await stream.read_until(b"\n") == b"ok\n"
    await stream.start_tls(tls.client, tls.hostname)
    assert speaks_tls(stream)
    assert await stream.read_until(b"\n") == b"secret\n"
    await stream.close()

    def blocking() -> None:
        with Stream.connect(host, port, timeout=5) as s:
            assert not speaks_tls(s)
            s.write(b"go\n")
            assert s.read_until(b"\n") == b"ok\n"
            s.start_tls(tls.client, tls.hostname)
            assert speaks_tls(s)
            assert s.read_until(b"\n") == b"secret\n"

    await asyncio.to_thread(blocking)


def test_speaks_tls_refuses_what_is_not_a_connection() -> None:
    with pytest.raises(TypeError, match="speaks_tls"):
        speaks_tls(ssl.create_default_context())


def secret_echo(tls: TLS) -> Callable[[socket.socket], None]:
    """TLS from the first byte; echoes one line, prefixed."""

    def handler(conn: socket.socket) -> None:
        secure = tls.server.wrap_socket(conn, server_side=True)
        secure.sendall(b"secret " + read_line(secure))
        secure.close()

    return handler


async def test_a_socket_wrapped_before_it_connects_shakes_hands_when_it_connects(
    tls: TLS,
) -> None:
    # pymemcache's Client._connect wraps the socket, then connects it: an
    # ssl.SSLSocket does the handshake in connect(). The port writes
    # `sock = await wrap_socket(ctx, sock, server_hostname=host)` then
    # `await sock.connect(addr)`; wrap_socket raised ENOTCONN there (exit 0
    # from the port, every TLS connection refused at run time).
    with thread_server(secret_echo(tls)) as address:
        blocking = socket.socket()
        blocking.settimeout(5)
        blocking = tls.client.wrap_socket(blocking, server_hostname=tls.hostname)
        blocking.connect(address)
        blocking.sendall(b"hi\n")
        expected = read_line(blocking)
        blocking.close()
        assert expected == b"secret hi\n"

        sock = AsyncSocket()
        sock.settimeout(5)
        assert await wrap_socket(tls.client, sock, server_hostname=tls.hostname) is sock
        assert not speaks_tls(sock)  # no handshake yet, as an unconnected SSLSocket
        await sock.connect(address)
        assert speaks_tls(sock)
        await sock.sendall(b"hi\n")
        f = sock.makefile("rb")
        assert await f.readline() == expected
        f.close()
        await sock.close()


async def test_a_failed_handshake_of_a_socket_wrapped_before_it_connects_closes_it(
    tls: TLS,
) -> None:
    # The server's certificate is not trusted: connect() raises the handshake's
    # error, as an SSLSocket's connect() does, and the socket is closed.
    with thread_server(secret_echo(tls)) as address:
        sock = await wrap_socket(
            ssl.create_default_context(), AsyncSocket(), server_hostname=tls.hostname
        )
        sock.settimeout(5)
        with pytest.raises(ssl.SSLCertVerificationError):
            await sock.connect(address)
        with pytest.raises(OSError):
            await sock.sendall(b"hi\n")
