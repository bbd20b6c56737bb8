"""Stream.take_socket: the blocking twin of take_transport.

A client sets a connection up with the stream (connect, its timeout,
TCP_NODELAY), then takes the socket and reads and writes it itself (see
examples/http/_async/connection.py, the blocking colour). These pin the
handover: the caller gets the plain socket, blocking with no timeout; the
stream refuses every read and write after it but still closes the socket;
and it refuses the handover itself, having taken nothing, over TLS, while it
holds unread bytes, once the connection ended, and after a write failed
part way.
"""

from __future__ import annotations

import socket
import ssl
import threading

import pytest

from ambidex.io import AsyncStream, Stream, StreamClosedError, StreamError
from tests.io.conftest import COLOURS, TLS, sync_class, thread_server

SYNC_COLOURS = [c for c in COLOURS if c != "async"]


def echo(conn: socket.socket) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


@pytest.mark.parametrize("colour", SYNC_COLOURS)
def test_the_taken_socket_is_the_connection_and_the_stream_refuses_reads_and_writes(colour):
    with thread_server(echo) as address:
        s = sync_class(colour).connect(*address, timeout=5)
        s.write(b"before\n")
        assert s.read_until(b"\n") == b"before\n"
        sock = s.take_socket()
        assert isinstance(sock, socket.socket) and not isinstance(sock, ssl.SSLSocket)
        assert sock.gettimeout() is None  # blocking, no timeout: the caller sets its own
        assert s.closed
        for call in (lambda: s.read(), lambda: s.read_exactly(1), lambda: s.read_until(b"\n"),
                     lambda: s.write(b"x"), s.take_socket):
            with pytest.raises(StreamClosedError, match="take_socket"):
                call()
        sock.sendall(b"after")
        received = b""
        while len(received) < 5:
            received += sock.recv(5)
        assert received == b"after"
        # The questions that never wait still answer, about the socket.
        assert s.read_would_wait() and not s.peer_closed()
        assert sock.fileno() >= 0  # the caller's now: nothing closed it
        s.close()  # closes the socket
        assert sock.fileno() == -1
        s.close()
        with pytest.raises(StreamClosedError, match="is closed"):
            s.read_would_wait()


@pytest.mark.parametrize("colour", SYNC_COLOURS)
def test_the_handover_is_refused_while_the_stream_holds_unread_bytes(colour):
    def two_lines(conn: socket.socket) -> None:
        conn.sendall(b"one\ntwo\n")
        conn.recv(1)

    with thread_server(two_lines) as address:
        s = sync_class(colour).connect(*address, timeout=5)
        assert s.read_exactly(1) == b"o"  # the rest of the reply is in the stream's buffer
        with pytest.raises(StreamError, match="unread bytes"):
            s.take_socket()
        assert s.read_until(b"\n") == b"ne\n"  # nothing was taken
        assert s.read_until(b"\n") == b"two\n"
        s.close()


def test_the_handover_is_refused_once_the_peer_closed_and_consumes_nothing():
    def last_words(conn: socket.socket) -> None:
        conn.sendall(b"bye")

    with thread_server(last_words) as address:
        s = Stream.connect(*address, timeout=5)
        assert s.read_exactly(3) == b"bye"
        assert s.read() == b""  # end of file seen
        with pytest.raises(StreamError, match="already ended"):
            s.take_socket()
        assert s.read() == b""
        s.close()


def test_the_handover_is_refused_over_tls(tls: TLS):
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with tls.server.wrap_socket(conn, server_side=True) as tconn:
            data = tconn.recv(100)
            tconn.sendall(data)
            done.wait(5)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        s = Stream.connect(*listener.getsockname()[:2], timeout=5, ssl=tls.client,
                           server_hostname=tls.hostname)
        with pytest.raises(StreamError, match="TLS"):
            s.take_socket()
        s.write(b"still mine")  # nothing was taken: the stream still works
        assert s.read_exactly(10) == b"still mine"
        s.close()
    finally:
        done.set()
        thread.join(5)
        listener.close()


def test_the_handover_is_refused_after_a_write_failed_part_way(silent_listener):
    s = Stream.connect(*silent_listener, timeout=0.2)
    with pytest.raises(TimeoutError):
        s.write(b"x" * (16 * 1024 * 1024))
    with pytest.raises(StreamError, match="can no longer write"):
        s.take_socket()
    s.close()


def test_take_socket_is_blocking_only():
    # The asyncio stream hands over its transport instead (take_transport).
    assert not hasattr(AsyncStream, "take_socket")
