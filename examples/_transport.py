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

Used by ``examples/resp`` and ``examples/gibson`` (one copy, here). The
handover itself is :meth:`ambidex.io.AsyncStream.take_transport`: it gives
the protocol the bytes the stream had received and no read had taken, in
order, before anything newer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

__all__ = ["ReplyProtocol"]


class ReplyProtocol(asyncio.Protocol):
    """Hands a connection's events to the connection's own methods.

    Given to :meth:`ambidex.io.AsyncStream.take_transport`, which calls
    ``connection_made`` (``on_made`` keeps the transport) and then
    ``data_received`` with the bytes the stream had already received, all
    before it returns: so the client has its transport before the first
    byte reaches ``on_data``.
    """

    def __init__(
        self,
        on_made: Callable[[asyncio.Transport], None],
        on_data: Callable[[bytes], None],
        on_lost: Callable[[BaseException | None], None],
    ) -> None:
        self._on_made = on_made
        self._on_data = on_data
        self._on_lost = on_lost

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._on_made(cast(asyncio.Transport, transport))

    def data_received(self, data: bytes) -> None:
        self._on_data(data)

    def eof_received(self) -> bool:
        self._on_lost(None)
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost(exc)

    # Flow control: writes are bounded by the connection's max_pending, and
    # transport.write never waits; nothing to pause.
    def pause_writing(self) -> None:
        pass

    def resume_writing(self) -> None:
        pass
