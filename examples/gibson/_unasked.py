"""Has the server sent bytes that nobody asked for? Asked without blocking.

gibson has no request ids: the order of replies is the only thing that pairs
a reply with its request. So a reply the server sends when nothing is
outstanding -- right after accept, or a while after a real reply -- would be
taken for the answer to the *next* request, and every later reply would be
shifted by one. The machine refuses bytes that arrive when nothing is
outstanding (:meth:`ClientConnection.next_event`), but only bytes it has been
given: stray bytes still in the stream's buffer or in the socket when the
client writes its next request would arrive "in time" for it.

So, when nothing is outstanding, the client asks here before it writes. The
answer costs one ``select`` with a zero timeout (and a ``MSG_PEEK`` only when
that says readable, to tell data from an orderly close). It is exact for bytes
that arrived before the request is written; a stray reply that crosses the
request on the wire is indistinguishable from the real one, and is caught one
reply later, as a reply with no request pending.

``ambidex.io`` has no public "is anything readable now" yet; this reads the
streams' private state (the receive buffer, asyncio's StreamReader buffer, the
socket) and says "no" when it cannot tell. (Asked of ``ambidex.io`` in the
notes of issue 12.)
"""

from __future__ import annotations

import select
import socket
from typing import Any

__all__ = ["unasked_bytes_waiting"]


def unasked_bytes_waiting(stream: Any) -> bool:
    """True if ``stream`` holds, or its socket has, bytes not read yet.

    Never blocks. An orderly close (end of file) waiting to be read is not
    bytes: that is for the read to report.
    """
    if getattr(stream, "_buffer", None):  # ambidex.io's own receive buffer
        return True
    reader = getattr(stream, "_reader", None)  # asyncio's StreamReader (AsyncStream)
    if reader is not None and getattr(reader, "_buffer", None):
        return True
    sock = getattr(stream, "_sock", None)  # Stream
    if sock is None:
        writer = getattr(stream, "_writer", None)  # AsyncStream
        sock = writer.get_extra_info("socket") if writer is not None else None
    if sock is None:
        return False
    try:
        fd = sock.fileno()
        if fd < 0 or not select.select([fd], [], [], 0)[0]:  # ambidex: allow-blocking a poll
            return False
        # Readable: data, or end of file. Peek at one byte on our own socket
        # object for the same descriptor (asyncio's wrapper has no recv).
        peek = socket.socket(fileno=fd)
        try:
            flags = socket.MSG_PEEK | socket.MSG_DONTWAIT
            return bool(peek.recv(1, flags))  # ambidex: allow-blocking MSG_DONTWAIT
        finally:
            peek.detach()
    except (OSError, ValueError):
        return False
