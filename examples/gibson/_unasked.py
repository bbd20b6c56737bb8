"""Has the server sent bytes that nobody asked for? Asked without blocking.

gibson has no request ids: the order of replies is the only thing that pairs
a reply with its request. So a reply the server sends when nothing is
outstanding -- right after accept, or a while after a real reply -- would be
taken for the answer to the *next* request, and every later reply would be
shifted by one. The machine refuses bytes that arrive when nothing is
outstanding (:meth:`ClientConnection.next_event`), but only bytes it has been
given: stray bytes still in the stream's buffer or in the socket when the
client writes its next request would arrive "in time" for it.

So, when nothing is outstanding, the client asks before it writes, with
the streams' own non-blocking question,
:meth:`~ambidex.io.Stream.unread_bytes_waiting` (the same in both colours: it
never waits, so it is not awaited). It looks at the stream's buffer and peeks
at the socket, consuming nothing; an orderly close waiting to be read is not
bytes (the read reports it). It is exact for bytes that arrived before the
request is written; a stray reply that crosses the request on the wire is
indistinguishable from the real one, and is caught one reply later, as a
reply with no request pending.

Once the asyncio client has taken the transport over (its replies arrive by
callbacks, see ``examples/_transport.py``) nothing sits between the socket
and the machine: every byte read went to the machine, so "bytes waiting" is
just the socket's receive queue. :func:`transport_check` asks the kernel
for its length (``FIONREAD``): one ``ioctl``, where a peek is a ``recv``
that fails with ``EAGAIN`` when nothing is there -- an exception raised and
caught in Python on every idle request (1.3 us against 0.5 us here, and the
stream's layers around it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ambidex.io import AsyncStream, Stream, StreamClosedError

try:
    import fcntl
    import termios

    _FIONREAD: int | None = termios.FIONREAD
except ImportError:  # Windows: no fcntl; the stream's peek answers there
    _FIONREAD = None

__all__ = ["transport_check", "unasked_bytes_waiting"]


def unasked_bytes_waiting(stream: Stream | AsyncStream) -> bool:
    """True if ``stream`` holds, or its socket has, bytes not read yet.

    Never blocks, never consumes. A closed stream has nothing waiting (the
    write that follows reports it closed). After ``AsyncStream.take_transport``
    the stream still answers, about the bytes still in the socket (those
    already received went to the protocol, whose machine refuses them).
    """
    try:
        return stream.unread_bytes_waiting()
    except StreamClosedError:
        return False


def transport_check(stream: AsyncStream, transport: asyncio.Transport) -> Callable[[], bool]:
    """The question of :func:`unasked_bytes_waiting`, for a connection whose
    transport ``stream`` handed over: a function that answers it, cheaply.

    A plain TCP socket where ``FIONREAD`` exists: the length of the socket's
    receive queue, through its descriptor. Otherwise (TLS, whose records in
    the socket may hold no data; no ``fcntl``): the stream's own answer.
    """
    sock = transport.get_extra_info("socket")
    if _FIONREAD is None or sock is None or transport.get_extra_info("ssl_object") is not None:
        return lambda: unasked_bytes_waiting(stream)
    fd = sock.fileno()
    request = _FIONREAD
    count = bytearray(4)
    nothing = bytes(4)

    def bytes_queued() -> bool:
        try:
            fcntl.ioctl(fd, request, count, True)
        except OSError:
            return False  # closed or reset: not bytes (the write reports it)
        return count != nothing

    return bytes_queued
