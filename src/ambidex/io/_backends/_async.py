"""AsyncBackend: what AsyncStream needs from an asyncio connection.

The reads go straight to the ``StreamReader``: its ``readuntil`` and
``readexactly`` already keep what a stream promises (a cancelled read
consumes nothing; a line over the limit stays buffered), so the stream keeps
no buffer of its own and copies nothing twice. The per-call ``limit`` of
``read_until`` is the reader's ``_limit``, set for each call (the one
private attribute used; it exists from 3.8 to 3.13).
"""

from __future__ import annotations

import asyncio
import socket
import ssl as _ssl
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar, cast

from ambidex.io._errors import StreamError
from ambidex.io._peek import Waiting, peek_socket
from ambidex.io._timeouts import run_with_timeout
from ambidex.io._tls import upgrade_writer

T = TypeVar("T")
A = TypeVar("A")

IncompleteRead = asyncio.IncompleteReadError
"""What ``_reader`` raises when the peer closes mid-read (``.partial``)."""
LimitOverrun = asyncio.LimitOverrunError
"""What ``_reader.readuntil`` raises past ``_limit`` (nothing consumed)."""

# Creates a socket object in non-blocking mode without a system call (Linux).
_NONBLOCK: int = getattr(socket, "SOCK_NONBLOCK", 0)

# How long close() lets the transport flush what is still queued before it
# aborts the connection: a dead peer must not make close() hang.
CLOSE_TIMEOUT = 5.0


class Reader(Protocol):
    """The part of ``asyncio.StreamReader`` the stream uses.

    Its private state too: ``_limit`` (read_until's limit, set per call) and,
    for taking what has already arrived without awaiting a coroutine (most of
    what a short read costs), ``_buffer``, ``_exception``, ``_paused`` and
    ``_maybe_resume_transport``. They exist, unchanged, from 3.8 to 3.13.
    """

    _limit: int
    _buffer: bytearray
    _exception: BaseException | None
    _paused: bool
    _eof: bool

    def _maybe_resume_transport(self) -> None: ...

    async def read(self, n: int = -1) -> bytes: ...
    async def readexactly(self, n: int) -> bytes: ...
    async def readuntil(self, separator: bytes = b"\n") -> bytes: ...
    def at_eof(self) -> bool: ...


class AsyncBackend:
    """The asyncio half of a stream: a StreamReader and a StreamWriter."""

    close_timeout: float = CLOSE_TIMEOUT
    """Seconds ``close()`` waits for queued data to go out before aborting."""
    _closed_why: str
    _transport_taken: bool

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        timeout: float | None = None,
    ) -> None:
        self._reader = cast(Reader, reader)
        self._writer = writer
        self._timeout = timeout
        self._closed = False
        self._write_broken = ""
        # The host ``connect`` was given, the default server_hostname of start_tls.
        self._host: str | None = None
        # For _waiting: the socket to peek at, and whether TLS runs over it.
        self._peekable: tuple[Any, bool] | None = None
        # The transport take_transport handed over, which close() still closes.
        self._taken: asyncio.Transport | None = None

    @property
    def timeout(self) -> float | None:
        """Seconds each operation may take; None waits forever. May be changed between calls."""
        return self._timeout

    @timeout.setter
    def timeout(self, timeout: float | None) -> None:
        self._timeout = timeout

    @staticmethod
    async def _open(
        host: str,
        port: int,
        timeout: float | None,
        ssl: _ssl.SSLContext | None,
        server_hostname: str | None,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect; what ``__init__`` takes. On any failure (timeout and
        cancellation too) asyncio leaves nothing open."""
        return await run_with_timeout(
            asyncio.open_connection(
                host, port, ssl=ssl, server_hostname=(server_hostname or host) if ssl else None
            ),
            timeout,
            "connect",
        )

    async def _timed(
        self, read: Callable[[A], Coroutine[Any, Any, T]], argument: A, what: str
    ) -> T:
        """``await read(argument)`` under the stream's timeout (a cancel scope:
        the read is cancelled where it waits, having consumed nothing)."""
        return await run_with_timeout(read(argument), self._timeout, what)

    async def _send_all(self, data: bytes | bytearray | memoryview) -> None:
        self._writer.write(data)
        await run_with_timeout(self._writer.drain(), self._timeout, "write")

    async def _upgrade(self, ssl_context: _ssl.SSLContext, server_hostname: str | None) -> None:
        self._peekable = None  # the socket stays; TLS starts over it
        await run_with_timeout(
            upgrade_writer(self._writer, ssl_context, server_hostname), self._timeout, "start_tls"
        )

    def _buffered(self) -> int:
        """Bytes received and not read yet."""
        return len(cast(Any, self._reader)._buffer)

    def _at_eof(self) -> bool:
        return self._reader.at_eof()

    def _speaks_tls(self) -> bool:
        """For :func:`ambidex.io.speaks_tls`: TLS runs over the transport."""
        return self._writer.get_extra_info("ssl_object") is not None

    def _waiting(self) -> Waiting:
        """What a read would find beyond the (empty) StreamReader buffer.

        The loop may not have run since bytes reached the socket: peek at it.
        asyncio's socket wrapper has no ``recv``; the socket it wraps (its
        ``_sock``, 3.8 to 3.13) is non-blocking and is peeked at directly,
        else a socket object is borrowed for the descriptor (and detached, so
        it never closes it). Over TLS, bytes in the socket are records not
        yet decrypted, perhaps holding no data: only a close is believed there.
        """
        reader = self._reader
        if reader._exception is not None or reader.at_eof():
            return Waiting.CLOSED
        peekable = self._peekable
        if peekable is None:
            peekable = self._peekable = self._find_peekable()
        sock, tls = peekable
        if sock is None:
            return Waiting.NOTHING
        if isinstance(sock, socket.socket):
            waiting = peek_socket(sock)
        else:
            fd = sock.fileno()
            if fd < 0:
                return Waiting.CLOSED
            # Non-blocking like the descriptor under it (asyncio made it so),
            # so the peek is one recv, and visibly no wait to the detector.
            borrowed = socket.socket(sock.family, sock.type | _NONBLOCK, sock.proto, fileno=fd)
            try:
                if not _NONBLOCK:
                    borrowed.settimeout(0.0)
                waiting = peek_socket(borrowed)
            finally:
                borrowed.detach()
        if waiting is Waiting.BYTES and tls:
            return Waiting.NOTHING
        return waiting

    def _find_peekable(self) -> tuple[Any, bool]:
        """The transport's socket (a real one if asyncio's wrapper holds one),
        and whether TLS runs over it; kept until ``start_tls``."""
        writer = self._writer
        sock = writer.get_extra_info("socket")
        inner = getattr(sock, "_sock", None)
        if isinstance(inner, socket.socket) and inner.gettimeout() == 0.0:
            sock = inner
        return sock, writer.get_extra_info("ssl_object") is not None

    async def _close_transport(self) -> None:
        self._writer.close()
        try:
            await asyncio.wait_for(self._writer.wait_closed(), self.close_timeout)
        except (asyncio.TimeoutError, OSError):
            # A peer that stopped reading (or a connection already broken):
            # give up on a clean close.
            self._writer.transport.abort()
        except BaseException:
            self._writer.transport.abort()
            raise

    def _hand_over(
        self, protocol: asyncio.Protocol | asyncio.BufferedProtocol
    ) -> asyncio.Transport:
        """take_transport's asyncio part: the StreamReader's buffer is emptied
        into ``protocol`` and the transport is pointed at it, with no await
        in between (so no byte can land in the StreamReader after it)."""
        reader = self._reader
        transport = cast(asyncio.Transport, self._writer.transport)
        if reader._exception is not None or reader._eof or transport.is_closing():
            raise StreamError(
                "take_transport: the connection already ended (the peer closed it or it "
                "failed); read what is left with the stream"
            )
        buffer = reader._buffer
        leftover = bytes(buffer)
        buffer.clear()
        transport.set_protocol(protocol)
        self._taken = transport
        self._closed = True
        self._transport_taken = True
        self._closed_why = (
            "the stream handed its transport over (take_transport): use the transport"
        )
        if reader._paused:
            # The StreamReader paused reading when its buffer filled; that
            # buffer is empty now, and pausing is the new protocol's to decide.
            reader._paused = False
            transport.resume_reading()
        protocol.connection_made(transport)
        if leftover:
            if isinstance(protocol, asyncio.Protocol):
                protocol.data_received(leftover)
            else:
                _feed_buffered(protocol, leftover)
        return transport

    def _close_taken(self) -> None:
        """close() after take_transport: close the transport the protocol now
        has (it hears of it in connection_lost); no waiting for the peer."""
        self._transport_taken = False
        self._closed_why = "the stream is closed"
        taken = self._taken
        if taken is not None and not taken.is_closing():
            taken.close()

    def _abort(self) -> None:
        self._closed = True
        self._writer.transport.abort()


def _feed_buffered(protocol: asyncio.BufferedProtocol, data: bytes) -> None:
    """Give ``data`` to a BufferedProtocol as asyncio would: into the buffers
    ``get_buffer`` returns (each may be smaller than asked), ``buffer_updated``
    after each."""
    view = memoryview(data)
    while view:
        buffer = memoryview(protocol.get_buffer(len(view))).cast("B")
        n = min(len(buffer), len(view))
        if not n:
            raise RuntimeError("take_transport: the protocol's get_buffer() returned no room")
        buffer[:n] = view[:n]
        protocol.buffer_updated(n)
        view = view[n:]
