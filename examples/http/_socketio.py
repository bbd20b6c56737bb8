"""The blocking connection's own reads and writes, on a plain TCP socket.

The asyncio connection moves its bytes by callbacks once the stream has set
the connection up (``AsyncStream.take_transport``). This is the blocking
colour's counterpart: once ``Stream.connect`` has opened the connection (its
connect timeout, ``TCP_NODELAY``, the same code as the asyncio twin), the
connection takes the socket (``Stream.take_socket``) and an exchange costs
what it must -- one ``send`` for a request that fits the socket's buffer, a
``poll`` and a ``recv_into`` per read -- and no more Python calls than that
(through the stream, the layers that serve every kind of reader cost a
dozen calls per read and per write, on every request).

Only the blocking colour calls this (``ambidex lint`` follows the calls
from the asyncio source's ``async def`` functions into the code after their
``if IS_ASYNC:`` branch, which the asyncio colour never runs: hence the
``allow-blocking`` comments).

Over TLS the stream is kept (the socket carries records, not the data), and
so is any stream that cannot be taken; :meth:`SocketIO.take` says None then.

The promises are the stream's: each wait is bounded by the phase's timeout
(``poll`` with what is left of it), a timeout or an ``OSError`` is raised as
the chapter's own error, and nothing is read ahead of what the caller asks
for. Nothing here knows HTTP.
"""

from __future__ import annotations

import math
import select
import socket
import time

from ambidex.io import Stream, StreamError

from .errors import ReadError, ReadTimeout, WriteError, WriteTimeout

__all__ = ["SocketIO"]

#: How much one read takes at most (the connection's read size).
READ_SIZE = 65536


class SocketIO:
    """A plain, non-blocking socket with its two ``poll`` objects, registered once."""

    __slots__ = ("_poll_in", "_poll_out", "_sock", "_view")

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._poll_in = select.poll()
        self._poll_in.register(sock, select.POLLIN)
        self._poll_out = select.poll()
        self._poll_out.register(sock, select.POLLOUT)
        self._view = memoryview(bytearray(READ_SIZE))

    @classmethod
    def take(cls, stream: object) -> SocketIO | None:
        """The socket of ``stream``, a blocking stream over plain TCP; None
        for anything else (TLS, an asyncio stream, no ``poll`` on this
        platform): keep using the stream then."""
        if not isinstance(stream, Stream) or not hasattr(select, "poll"):
            return None
        try:
            sock = stream.take_socket()
        except StreamError:  # TLS, or bytes the stream already holds
            return None
        return cls(sock)

    def send(self, data: bytes, timeout: float | None) -> None:
        """Send all of ``data``; wait (up to ``timeout`` seconds each time
        the socket's buffer is full) for the peer to take the rest."""
        sock = self._sock
        view: bytes | memoryview = data
        deadline = None
        while True:
            try:
                sent = sock.send(view)  # ambidex: allow-blocking blocking colour only
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                raise WriteError(f"sending failed: {exc!r}") from exc
            if sent == len(view):
                return
            view = memoryview(view)[sent:]
            if timeout is not None and deadline is None:
                deadline = time.monotonic() + timeout
            if not self._wait(self._poll_out, deadline):
                raise WriteTimeout(f"the server took nothing for {timeout} s")

    def receive(self, timeout: float | None) -> memoryview:
        """Wait up to ``timeout`` seconds for bytes; the bytes that came
        (valid until the next call), empty at end of file."""
        sock = self._sock
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if not self._wait(self._poll_in, deadline):
                raise ReadTimeout(f"the server sent nothing for {timeout} s")
            try:
                got = sock.recv_into(self._view)  # ambidex: allow-blocking blocking colour only
                return self._view[:got]
            except BlockingIOError:
                continue  # woken with nothing to take after all: wait again
            except OSError as exc:
                raise ReadError(f"receiving failed: {exc!r}") from exc

    def quiet(self) -> bool:
        """True if nothing (no bytes, no close, no error) is waiting in the
        socket: a zero-timeout poll, never waits."""
        return not self._poll_in.poll(0)  # ambidex: allow-blocking blocking colour only

    @staticmethod
    def _wait(poller: select.poll, deadline: float | None) -> bool:
        """Poll until ``deadline`` (``time.monotonic()``; None: for ever);
        False if it passed first."""
        if deadline is None:
            return bool(poller.poll())  # ambidex: allow-blocking blocking colour only
        left = math.ceil((deadline - time.monotonic()) * 1000)
        return left > 0 and bool(poller.poll(left))  # ambidex: allow-blocking blocking colour only
