"""asyncio only: a shared connection's bytes, moved by callbacks, not by tasks.

Both chapters' asyncio clients share one connection between many callers.
Read with a task, and every reply crosses the event loop three times: the
poll that sees the bytes, the reader task that parses them, the caller it
wakes. Raw asyncio streams need two. So once the connection is open (over
:class:`ambidex.io.AsyncStream`, the same code as the blocking twin), the
client takes the stream's transport over and sets its own protocol: bytes
arrive in :meth:`ReplyProtocol.data_received`, where the client's sans-IO
machine parses them and the waiting callers' futures are resolved right
there -- two turns of the loop per request, like raw streams, and no second
buffer between the socket and the parser (a 10 MB reply is not copied into
a StreamReader and out again). Writes go to ``transport.write``, which never
waits: a caller cannot be interrupted half way through writing its request.

Used by ``examples/resp`` and ``examples/gibson`` (one copy, here). It is
what ``ambidex.io`` should offer and does not yet: :func:`take_transport`
reads private state of ``AsyncStream`` (its StreamWriter and its
StreamReader's buffer), and refuses, loudly, when that state is not what it
expects (asked for in the notes of issue 13).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ambidex.io import AsyncStream

__all__ = ["ReplyProtocol", "take_transport"]


class ReplyProtocol(asyncio.Protocol):
    """Hands a connection's events to the connection's own methods.

    ``previous`` is the protocol the stream had (asyncio's
    StreamReaderProtocol): it is told when the connection is lost, so the
    stream's ``close()`` (which waits for that) still finishes at once.
    """

    def __init__(
        self,
        on_data: Callable[[bytes], None],
        on_lost: Callable[[BaseException | None], None],
        previous: asyncio.BaseProtocol,
    ) -> None:
        self._on_data = on_data
        self._on_lost = on_lost
        self._previous = previous

    def data_received(self, data: bytes) -> None:
        self._on_data(data)

    def eof_received(self) -> bool:
        self._on_lost(None)
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost(exc)
        self._previous.connection_lost(exc)

    # Flow control: writes are bounded by the connection's max_pending, and
    # transport.write never waits; nothing to pause.
    def pause_writing(self) -> None:
        pass

    def resume_writing(self) -> None:
        pass


def take_transport(stream: AsyncStream) -> tuple[asyncio.Transport, asyncio.BaseProtocol, bytes]:
    """The stream's transport, its current protocol, and the bytes it had
    received but not handed out yet (which the new protocol must see first).

    From here on the stream must not be read or written; ``close()`` still
    closes it. Raises ``RuntimeError`` if the stream is not what this code
    knows (then the caller keeps using the stream as it is).
    """
    writer: Any = getattr(stream, "_writer", None)
    reader: Any = getattr(stream, "_reader", None)
    own: Any = getattr(stream, "_buffer", None)  # a stream that keeps a buffer of its own
    transport = getattr(writer, "transport", None)
    if (transport is None or reader is None
            or not isinstance(getattr(reader, "_buffer", None), bytearray)
            or not hasattr(transport, "set_protocol") or transport.is_closing()):
        raise RuntimeError("this AsyncStream cannot hand its transport over")
    leftover = own.take_all() if own is not None and len(own) else b""
    if reader._buffer:
        leftover += bytes(reader._buffer)
        reader._buffer.clear()
    if getattr(reader, "_eof", False):
        raise RuntimeError("the server already closed the connection")
    previous = transport.get_protocol()
    return transport, previous, leftover
