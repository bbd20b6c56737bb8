"""AsyncSocket has the surface of the socket it replaces.

The stdlib's clients (smtplib, ftplib, poplib, imaplib, http.client) and
PyPI's pure-Python ones read through ``sock.makefile(...)``, set options,
ask for addresses and upgrade to TLS with ``context.wrap_socket(sock)``; the
port of each keeps those lines and awaits what blocks. Each behaviour here is
checked against what a blocking socket does on the same server.
"""

from __future__ import annotations

import asyncio
import errno
import io
import os
import socket
import tempfile
from collections.abc import Callable
from typing import Any

import pytest

from ambidex.io import AsyncSocket, AsyncSocketIO, AsyncTextSocketIO, wrap_socket
from tests.io.conftest import TLS, echo, on_signal, sends, thread_server


def piecewise(*parts: bytes) -> object:
    """A server that sends ``parts`` with pauses, so reads span several receives."""
    return sends(*parts, pause=0.01)


async def test_makefile_rb_reads_lines_exact_counts_and_the_rest_like_a_buffered_file(serve):
    host, port = await serve(piecewise(b"220 hel", b"lo\r\n25", b"0-a\r\n250 b\r\nbody", b"12345"))
    sock = await AsyncSocket.create_connection((host, port), timeout=5)
    f = sock.makefile("rb")
    assert isinstance(f, AsyncSocketIO) and f.readable() and not f.writable()
    assert await f.readline() == b"220 hello\r\n"
    assert await f.readline(3) == b"250"  # a size cuts the line, as in smtplib's _MAXLINE
    assert await f.readline() == b"-a\r\n"
    assert (await f.peek()).startswith(b"250 b")  # peeking consumes nothing
    assert await f.readlines(1) == [b"250 b\r\n"]
    assert await f.read(6) == b"body12"  # waits for the count, across receives
    buf = bytearray(10)
    assert await f.readinto(buf) == 3  # end of file: fewer
    assert bytes(buf[:3]) == b"345"
    assert await f.read() == b""
    assert await f.readline() == b""
    f.close()
    f.close()
    with pytest.raises(ValueError):
        await f.readline()
    await sock.close()


async def test_makefile_async_iteration_yields_lines_until_eof(serve):
    host, port = await serve(piecewise(b"a\n", b"b\nc"))
    sock = await AsyncSocket.create_connection((host, port), timeout=5)
    lines = [line async for line in sock.makefile("rb")]
    assert lines == [b"a\n", b"b\n", b"c"]
    await sock.close()


async def test_makefile_text_mode_decodes_and_translates_line_endings_like_textiowrapper(serve):
    payload = "227 Entering Passive Mode\r\n200 caf\u00e9\r\nlast\rlone\r\n".encode()
    # Cut the payload inside the two-byte "é" and between "\r" and "\n".
    cut1 = payload.index(b"\xa9")
    cut2 = payload.index(b"\r\n") + 1
    host, port = await serve(
        piecewise(payload[:cut2], payload[cut2:cut1], payload[cut1:])
    )
    expected = io.TextIOWrapper(io.BytesIO(payload), encoding="utf-8").readlines()
    sock = await AsyncSocket.create_connection((host, port), timeout=5)
    f = sock.makefile("r", encoding="utf-8")
    assert isinstance(f, AsyncTextSocketIO)
    got = [line async for line in f]
    assert got == expected == ["227 Entering Passive Mode\n", "200 caf\u00e9\n", "last\n", "lone\n"]
    f.close()
    await sock.close()


async def test_makefile_text_newline_argument_keeps_or_splits_as_textiowrapper_does(serve):
    payload = b"a\r\nb\rc\n"
    for newline in ("", "\n", "\r", "\r\n"):
        host, port = await serve(sends(payload))
        expected = io.TextIOWrapper(
            io.BytesIO(payload), encoding="ascii", newline=newline
        ).readlines()
        sock = await AsyncSocket.create_connection((host, port), timeout=5)
        f = sock.makefile("r", encoding="ascii", newline=newline)
        assert await f.readlines() == expected, newline
        f.close()
        await sock.close()


async def test_makefile_text_readline_size_counts_characters(serve):
    host, port = await serve(sends("\u00e9\u00e9\u00e9\u00e9\n".encode()))
    sock = await AsyncSocket.create_connection((host, port), timeout=5)
    f = sock.makefile("r", encoding="utf-8")
    assert await f.readline(3) == "\u00e9\u00e9\u00e9"
    assert await f.read() == "\u00e9\n"
    f.close()
    await sock.close()


async def test_makefile_writes_are_awaited_and_reach_the_peer(serve):
    received: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    async def collect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.set_result(await reader.read())

    host, port = await serve(collect)
    sock = await AsyncSocket.create_connection((host, port), timeout=5)
    wf = sock.makefile("wb")
    assert await wf.write(b"EHLO x\r\n") == 8
    wf.flush()
    tf = sock.makefile("w", encoding="ascii", newline="\r\n")
    assert await tf.write("QUIT\n") == 5
    tf.flush()
    with pytest.raises(io.UnsupportedOperation):
        await wf.readline()
    wf.close()
    tf.close()
    await sock.close()
    assert await asyncio.wait_for(received, 5) == b"EHLO x\r\nQUIT\r\n"


def test_makefile_rejects_modes_and_arguments_a_socket_rejects():
    sock = AsyncSocket()
    with pytest.raises(ValueError):
        sock.makefile("rt")  # type: ignore[call-overload]  # the point of the test
    with pytest.raises(ValueError):
        sock.makefile("rb", encoding="utf-8")  # type: ignore[call-overload]
    with pytest.raises(ValueError):
        sock.makefile("r", newline="x")


async def test_closing_the_socket_keeps_the_connection_for_an_open_file_like_a_socket(serve):
    # http.client closes the connection and hands the socket's file to the response.
    host, port = await serve(piecewise(b"HTTP/1.1 200 OK\r\n", b"\r\nbody"))

    def blocking_client() -> list[bytes]:
        blocking = socket.create_connection((host, port), timeout=5)
        bf = blocking.makefile("rb")
        blocking.close()
        with bf:
            return [bf.readline(), bf.read()]

    expected = await asyncio.to_thread(blocking_client)
    assert expected == [b"HTTP/1.1 200 OK\r\n", b"\r\nbody"]

    sock = await AsyncSocket.create_connection((host, port), timeout=5)
    f = sock.makefile("rb")
    await sock.close()
    with pytest.raises(OSError) as info:
        await sock.recv(1)  # the socket itself is closed
    assert info.value.errno == errno.EBADF
    assert sock.fileno() >= 0  # the connection is not
    assert [await f.readline(), await f.read()] == expected
    f.close()
    assert sock.fileno() == -1


async def test_the_connection_closes_when_the_last_file_closes(serve):
    peer_saw_eof: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    async def waits(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer_saw_eof.set_result(await reader.read())

    host, port = await serve(waits)
    sock = await AsyncSocket.create_connection((host, port), timeout=5)
    f1, f2 = sock.makefile("rb"), sock.makefile("wb")
    await f2.write(b"x")
    await sock.close()
    f1.close()
    await asyncio.sleep(0.05)
    assert not peer_saw_eof.done()
    f2.close()
    assert await asyncio.wait_for(peer_saw_eof, 5) == b"x"


async def test_a_file_read_times_out_with_the_socket_timeout_and_a_cancelled_one_loses_nothing(
    serve,
):
    go = asyncio.Event()
    host, port = await serve(on_signal(b"250 part", b"ial\r\n", go))
    sock = await AsyncSocket.create_connection((host, port), timeout=0.2)
    f = sock.makefile("rb")
    with pytest.raises(TimeoutError):
        await f.readline()
    sock.settimeout(None)
    task = asyncio.create_task(f.readline())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    go.set()
    assert await f.readline() == b"250 partial\r\n"
    f.close()
    await sock.close()


async def test_options_and_addresses_work_before_and_after_connect(serve):
    host, port = await serve(sends(b"x", then_close=False))
    sock = AsyncSocket(socket.AF_INET, socket.SOCK_STREAM)
    assert sock.family == socket.AF_INET and sock.type == socket.SOCK_STREAM
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    sock.bind(("127.0.0.1", 0))
    local = sock.getsockname()
    assert sock.fileno() >= 0
    await sock.connect((host, port))
    assert sock.getsockname() == local  # the bound socket is the one that connected
    assert sock.getpeername() == (host, port)
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    sock.setblocking(False)
    assert sock.gettimeout() == 0.0 and not sock.getblocking()
    sock.setblocking(True)
    assert sock.gettimeout() is None
    sock.shutdown(socket.SHUT_WR)
    await sock.close()
    assert sock.fileno() == -1
    with pytest.raises(OSError):
        sock.getpeername()


async def test_a_refused_connect_leaves_a_fresh_socket_with_the_same_options(serve):
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    refused = free.getsockname()
    free.close()  # nobody listens there now
    host, port = await serve(sends(b"ok"))
    sock = AsyncSocket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.settimeout(5)
    with pytest.raises(ConnectionRefusedError):
        await sock.connect(refused)
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    await sock.connect((host, port))
    assert await sock.recv(2) == b"ok"
    await sock.close()


async def test_unix_domain_sockets_connect_by_path():
    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"+OK unix\r\n" + await reader.readline())
        await writer.drain()
        writer.close()

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "s.sock")
        server = await asyncio.start_unix_server(greet, path)
        try:
            sock = AsyncSocket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(5)
            await sock.connect(path)
            await sock.sendall(b"echo\n")
            f = sock.makefile("rb")
            assert await f.readlines() == [b"+OK unix\r\n", b"echo\n"]
            f.close()
            await sock.close()
        finally:
            server.close()
            await server.wait_closed()


def test_only_stream_sockets_are_supported():
    with pytest.raises(ValueError):
        AsyncSocket(socket.AF_UNIX, socket.SOCK_DGRAM)
    with pytest.raises(ValueError):
        AsyncSocket(socket.AF_PACKET if hasattr(socket, "AF_PACKET") else 12345)


def starttls_handler(tls: TLS) -> Callable[[socket.socket], None]:
    """``STARTTLS`` -> ``220 go``, then the handshake, then ``secret`` over TLS.

    A blocking server in a thread: asyncio's ``StreamWriter.start_tls`` is 3.11+,
    and this must run on 3.10 too.
    """

    def read_line(sock: socket.socket) -> bytes:
        line = b""
        while not line.endswith(b"\n") and (byte := sock.recv(1)):
            line += byte
        return line

    def handler(conn: socket.socket) -> None:
        conn.sendall(b"220 ready\r\n")
        read_line(conn)
        conn.sendall(b"220 go\r\n")
        with tls.server.wrap_socket(conn, server_side=True) as secure:
            secure.sendall(b"secret " + read_line(secure))

    return handler


async def test_wrap_socket_upgrades_the_connection_in_place_like_context_wrap_socket(tls):
    with thread_server(starttls_handler(tls)) as (host, port):
        sock = await AsyncSocket.create_connection((host, port), timeout=5)
        f = sock.makefile("rb")
        assert await f.readline() == b"220 ready\r\n"
        await sock.sendall(b"STARTTLS\r\n")
        assert await f.readline() == b"220 go\r\n"
        upgraded = await wrap_socket(tls.client, sock, server_hostname=tls.hostname)
        assert upgraded is sock
        assert f.closed  # as on the socket wrap_socket detaches: make a new file
        await sock.sendall(b"hi\n")
        f = sock.makefile("rb")
        assert await f.readline() == b"secret hi\n"
        f.close()
        await sock.close()


async def test_wrap_socket_refuses_while_a_file_holds_bytes_from_before_the_handshake(
    serve, tls
):
    # The STARTTLS injection: plaintext sent right behind "220 go" must not be
    # read later as if it had come over TLS.
    host, port = await serve(sends(b"220 go\r\n250 injected\r\n", then_close=False))
    sock = await AsyncSocket.create_connection((host, port), timeout=5)
    f = sock.makefile("r", encoding="ascii")
    assert await f.readline() == "220 go\n"
    with pytest.raises(ValueError, match="before the handshake"):
        await wrap_socket(tls.client, sock, server_hostname=tls.hostname)
    f.close()
    await sock.close()


async def test_a_failed_handshake_closes_the_socket(serve, tls):
    host, port = await serve(sends(b"not tls at all\r\n" * 4, then_close=False))
    sock = await AsyncSocket.create_connection((host, port), timeout=2)
    with pytest.raises((OSError, ConnectionError)):
        await wrap_socket(tls.client, sock, server_hostname=tls.hostname)
    with pytest.raises(OSError) as info:
        await sock.recv(1)
    assert info.value.errno == errno.EBADF


async def test_wrap_socket_refuses_what_it_has_no_twin_for(serve, tls):
    host, port = await serve(sends(b"", then_close=False))
    sock = await AsyncSocket.create_connection((host, port), timeout=2)
    cases: tuple[dict[str, Any], ...] = ({"server_side": True}, {"do_handshake_on_connect": False})
    for kwargs in cases:
        with pytest.raises(ValueError):
            await wrap_socket(tls.client, sock, **kwargs)
    await sock.close()


async def test_send_flags_a_stream_cannot_honour_raise_instead_of_going_in_band(serve):
    host, port = await serve(sends(b"", then_close=False))
    sock = await AsyncSocket.create_connection((host, port), timeout=2)
    with pytest.raises(OSError) as info:
        await sock.sendall(b"\xf2", socket.MSG_OOB)  # ftplib's abort()
    assert info.value.errno == errno.EOPNOTSUPP
    with pytest.raises(OSError):
        await sock.recv(1, socket.MSG_PEEK)
    await sock.sendall(b"ok", 0)
    await sock.close()


async def test_async_with_on_a_socket_file_closes_the_file_not_the_socket(serve):
    host, port = await serve(echo)
    sock = await AsyncSocket.create_connection((host, port), timeout=2)
    await sock.sendall(b"line\r\n")
    async with sock.makefile("r", encoding="ascii") as f:
        assert await f.readline() == "line\n"
    assert f.closed
    await sock.sendall(b"more")
    assert await sock.recv(10) == b"more"
    await sock.close()
