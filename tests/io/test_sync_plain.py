"""Stream in a plain blocking program: no event loop anywhere, a thread serves."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from ambidex.io import IncompleteReadError, Stream, StreamClosedError
from tests.io.conftest import thread_server


def line_echo(conn: socket.socket) -> None:
    pending = b""
    while chunk := conn.recv(4096):
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            conn.sendall(b"%d:" % len(line) + line + b"\n")


def test_a_request_reply_exchange_over_a_plain_socket_server():
    with thread_server(line_echo) as address, Stream.connect(*address, timeout=5) as s:
        for word in (b"a", b"hello", b"x" * 1000):
            s.write(word + b"\n")
            header = s.read_until(b":")
            assert int(header[:-1]) == len(word)
            assert s.read_exactly(len(word) + 1) == word + b"\n"
    assert s.closed
    with pytest.raises(StreamClosedError):
        s.read()


def test_a_stream_wraps_a_socket_it_did_not_open():
    with thread_server(line_echo) as address:
        sock = socket.create_connection(address)
        with Stream(sock, timeout=5) as s:
            s.write(b"hi\n")
            assert s.read_until() == b"2:hi\n"
        assert sock.fileno() == -1  # closing the stream closed the socket


def test_a_silent_server_makes_read_until_time_out():
    quiet = threading.Event()
    with thread_server(lambda conn: quiet.wait(5)) as address:
        s = Stream.connect(*address, timeout=0.2)
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=r"read_until timed out after 0\.2 s"):
            s.read_until(b"\n")
        assert time.monotonic() - started < 2
        s.close()
        quiet.set()


def test_a_server_that_hangs_up_mid_frame_gives_incomplete_read():
    with thread_server(lambda conn: conn.sendall(b"\x00\x10abc")) as address:
        with Stream.connect(*address, timeout=5) as s:
            assert s.read_exactly(2) == b"\x00\x10"
            with pytest.raises(IncompleteReadError) as info:
                s.read_exactly(16)
            assert (info.value.partial, info.value.expected) == (b"abc", 16)


async def test_a_sync_stream_freed_inside_a_watched_task_is_not_a_blocking_call():
    # A blocking Stream dropped (or collected by the garbage collector) while a
    # task runs is finalized there: its buffered reader closes its raw layer,
    # and closing flushes. A reader has nothing to flush, so the detector, which
    # watches io.IOBase.flush (files), must not report it from the task.
    import asyncio
    import gc

    import ambidex.detect

    a, b = socket.socketpair()
    s = Stream(a)
    s.close()
    b.close()
    with ambidex.detect.watch(watchdog=False):
        del s
        gc.collect()
        await asyncio.sleep(0)
