"""What a socket holds right now, asked without waiting and without taking it.

Both backends answer :meth:`~ambidex.io.Stream.unread_bytes_waiting` and
:meth:`~ambidex.io.Stream.peer_closed` with :func:`peek_socket` once their
own buffers are empty. The kernel keeps three states apart that a blocking
``recv`` would not: nothing yet (``recv`` would wait), bytes (it would
return them), and the peer's orderly close or a reset (it would return
``b""`` or raise). One ``recv(1, MSG_PEEK | MSG_DONTWAIT)`` tells which,
consuming nothing. A zero-timeout poll asks first, so the usual answer
(nothing) costs one system call and no exception (a ``recv`` that finds
nothing raises ``BlockingIOError``, which costs more than the call); and
on a socket with a timeout Python would poll before a ``recv`` anyway, for
up to that timeout.
"""

from __future__ import annotations

import enum
import select
import socket

__all__ = ["Waiting", "peek_socket", "readable_now"]

_DONTWAIT: int = getattr(socket, "MSG_DONTWAIT", 0)
_PEEK = socket.MSG_PEEK | _DONTWAIT


class Waiting(enum.Enum):
    """What a read would find, were it made now."""

    NOTHING = "nothing"
    """It would wait: nothing has arrived."""
    BYTES = "bytes"
    """It would return bytes at once."""
    CLOSED = "closed"
    """It would return end of file, or fail: the peer closed (or reset) the connection."""


def peek_socket(sock: socket.socket) -> Waiting:
    """Peek at ``sock``'s receive queue; never blocks, never consumes.

    ``sock`` is a plain socket (not an ``SSLSocket``: its bytes are TLS
    records, which the caller must decrypt to know whether they are data).
    """
    try:
        if not readable_now(sock):
            return Waiting.NOTHING
        data = sock.recv(1, _PEEK)  # ambidex: allow-blocking the poll said readable
    except (BlockingIOError, InterruptedError):
        return Waiting.NOTHING
    except OSError:
        # A reset, or a descriptor already gone: a read would fail too.
        return Waiting.CLOSED
    return Waiting.BYTES if data else Waiting.CLOSED


def readable_now(sock: socket.socket) -> bool:
    """A zero-timeout poll: is a read on ``sock`` certain not to wait?"""
    fd = sock.fileno()
    if fd < 0:
        raise OSError("the socket is closed")
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))  # ambidex: allow-blocking a zero-timeout poll
    return bool(select.select([fd], [], [], 0)[0])  # ambidex: allow-blocking a zero-timeout poll
