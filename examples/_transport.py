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

The protocol is an :class:`asyncio.BufferedProtocol`: the transport reads
into one buffer the connection keeps. A plain ``Protocol`` gets each read as
a new ``bytes`` object, which asyncio's socket transport makes by asking for
256 KiB (``recv(max_size)``) and shrinking the result: for a 39-byte reply
that is a fresh mapping of 256 KiB, a page fault to write into it, a
``mremap`` and a ``munmap``, on every read (measured with ``strace -c``:
one ``mmap``, ``mremap`` and ``munmap`` per request; client CPU per
one-at-a-time request halved without them). Each read is then copied out
of the buffer, sized to what arrived, so the parser may keep it.

Closing a transport is asynchronous: ``transport.close()`` returns at once,
a plain socket is closed on the loop's next turn, a TLS one only once the
peer has answered the TLS close (asyncio waits up to 30 s for that). A
client's ``close()`` that returned there would leave the socket open past
the end of ``asyncio.run`` ("unclosed transport" ResourceWarning, found by
the GC later). :meth:`ReplyProtocol.close` closes and waits until the
socket is closed -- within a bound, then it aborts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

__all__ = ["MAX_READ", "MIN_READ", "ReplyProtocol"]


MIN_READ = 64 * 1024
"""Bytes the connection's buffer holds at first: one read takes at most this much."""

MAX_READ = 1024 * 1024
"""The most the buffer grows to, doubling each time a read fills it."""


class ReplyProtocol(asyncio.BufferedProtocol, asyncio.Protocol):
    """Hands a connection's events to the connection's own methods.

    Both kinds of protocol: the transport sees a ``BufferedProtocol`` first
    (``set_protocol`` checks for it) and reads into :meth:`get_buffer`;
    ``take_transport`` sees a ``Protocol`` and hands over the bytes the
    stream held with :meth:`data_received`.

    Given to :meth:`ambidex.io.AsyncStream.take_transport`, which calls
    ``connection_made`` (``on_made`` keeps the transport) and then
    ``data_received`` with the bytes the stream had already received, all
    before it returns: so the client has its transport before the first
    byte reaches ``on_data``. After that the transport reads into this
    protocol's buffer (:meth:`get_buffer`), and ``on_data`` gets a copy of
    what each read brought (``bytes``, its own: the buffer is reused).
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
        self._view = memoryview(bytearray(MIN_READ))
        self._transport: asyncio.Transport | None = None
        self._lost = False  # connection_lost came: the socket is closed
        self._lost_waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._on_made(self._transport)

    async def close(self, timeout: float) -> None:
        """Close the transport and return once its socket is closed.

        Waits up to ``timeout`` seconds for the close to finish (queued
        bytes going out; for TLS, the peer's answer to the TLS close), then
        aborts: the socket is closed either way when this returns. Cancelled
        while it waits, it aborts too (the socket is closed on the loop's
        next turn) and lets the cancellation through. Idempotent.
        """
        transport = self._transport
        if transport is None or self._lost:
            return
        if not transport.is_closing():
            transport.close()
        try:
            await self._wait_lost(timeout)
        except asyncio.TimeoutError:  # not the builtin TimeoutError before 3.11
            # A peer that reads nothing (or never answers the TLS close).
            transport.abort()
            await self._wait_lost(timeout)  # abort closes it on the next turn
        except BaseException:
            transport.abort()
            raise

    async def _wait_lost(self, timeout: float) -> None:
        if self._lost:
            return
        if self._lost_waiter is None:
            self._lost_waiter = asyncio.get_running_loop().create_future()
        # shield: wait_for's timeout must not cancel the waiter others may share
        await asyncio.wait_for(asyncio.shield(self._lost_waiter), timeout)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        view = self._view
        if nbytes == len(view) and nbytes < MAX_READ:
            # The read filled the buffer: more is coming than it holds (a big
            # reply). Take bigger bites from now on: fewer reads, fewer turns.
            self._view = memoryview(bytearray(2 * nbytes))
        self._on_data(view[:nbytes].tobytes())

    def data_received(self, data: bytes) -> None:
        # take_transport calls this, with the bytes the stream held.
        self._on_data(data)

    def eof_received(self) -> bool:
        self._on_lost(None)
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        waiter = self._lost_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._on_lost(exc)

    # Flow control: writes are bounded by the connection's max_pending, and
    # transport.write never waits; nothing to pause.
    def pause_writing(self) -> None:
        pass

    def resume_writing(self) -> None:
        pass
