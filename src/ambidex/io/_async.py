"""AsyncStream: the asyncio stream, over a StreamReader and StreamWriter.

This file and ``_sync.py`` are kept parallel on purpose: same methods, same
order, same docstrings, so ``diff`` between them shows only what differs
between the colours (``await``, and how a timeout is enforced). Here a
timeout is a cancellation scope around the whole operation; cancellation
from outside lands at the same awaits, so both leave the same states.
"""

from __future__ import annotations

import asyncio
import ssl as _ssl
from types import TracebackType

from ambidex.io._buffer import ReceiveBuffer, check_read_until_args
from ambidex.io._errors import IncompleteReadError, StreamClosedError, StreamError
from ambidex.io._timeouts import run_with_timeout
from ambidex.io._tls import upgrade_writer

__all__ = ["AsyncStream"]

# How much one receive asks for. Large enough that a bulk transfer is a few
# system calls per megabyte, small enough not to allocate much per read.
_CHUNK = 65536
# read_exactly(n) with a large n asks for up to this much in one receive.
_MAX_CHUNK = 1 << 20
# How long close() lets the transport flush what is still queued before it
# aborts the connection: a dead peer must not make close() hang.
CLOSE_TIMEOUT = 5.0


class AsyncStream:
    """A byte stream over an asyncio connection, with the reads protocols need.

    :class:`~ambidex.io.Stream` and ``AsyncStream`` have the same methods,
    arguments, results and exceptions; only ``await`` differs. So a driver
    written against one is the other's twin with ``await`` dropped or added.

    **Timeouts.** ``timeout`` (seconds, or None for no limit) bounds each
    operation as a whole: ``read_exactly(1000)`` that receives 999 bytes in
    time and then waits raises :class:`TimeoutError` when the operation's
    time is up, not when one receive's is. It can be changed between calls.

    **State after a failure.** A read that times out (or is cancelled)
    consumes nothing: the bytes that arrived stay buffered and the next read
    sees them, so a caller may simply retry. A write that times out, fails
    or is cancelled may have sent any prefix of the data, so the framing of
    the outgoing stream is lost: the stream refuses further writes
    (:class:`StreamError`) while reads still work, to collect a reply or an
    error already in flight. A ``start_tls`` that fails (or is cancelled)
    closes the stream. ``close()`` may be called any number of times; any
    other use after it raises :class:`StreamClosedError`.

    **End of file.** ``read`` returns ``b""`` only at end of file;
    ``read_exactly`` and ``read_until`` raise
    :class:`~ambidex.io.IncompleteReadError` carrying the bytes that did
    arrive.
    """

    timeout: float | None
    """Seconds each operation may take; None waits forever."""
    close_timeout: float = CLOSE_TIMEOUT
    """Seconds ``close()`` waits for queued data to go out before aborting."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        timeout: float | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.timeout = timeout
        self._buffer = ReceiveBuffer()
        self._eof = False
        self._closed = False
        self._write_broken = ""
        # The host ``connect`` was given, the default server_hostname of start_tls.
        self._host: str | None = None

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        timeout: float | None = None,
        ssl: _ssl.SSLContext | None = None,
        server_hostname: str | None = None,
    ) -> AsyncStream:
        """Open a TCP connection (and, with ``ssl``, a TLS session over it).

        ``timeout`` bounds the connect and the TLS handshake together and
        becomes the stream's per-operation timeout. ``server_hostname`` is
        the name the certificate is checked against; it defaults to ``host``
        and is only meaningful with ``ssl``. On any failure nothing is left
        open (asyncio closes the half-made connection on timeout and on
        cancellation alike).
        """
        if server_hostname is not None and ssl is None:
            raise ValueError("server_hostname is only meaningful with ssl")
        reader, writer = await run_with_timeout(
            asyncio.open_connection(
                host, port, ssl=ssl, server_hostname=(server_hostname or host) if ssl else None
            ),
            timeout,
            "connect",
        )
        stream = cls(reader, writer, timeout=timeout)
        stream._host = host
        return stream

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called (or a failed ``start_tls`` closed it)."""
        return self._closed

    async def read(self, max_bytes: int = _CHUNK) -> bytes:
        """Return between 1 and ``max_bytes`` bytes, waiting for at least one.

        Returns ``b""`` only at end of file (the peer closed its side).
        Buffered bytes (left by ``read_until`` or ``read_exactly``) are
        returned first, without waiting.
        """
        self._check_open()
        if max_bytes < 1:
            raise ValueError(f"read: max_bytes must be at least 1, got {max_bytes}")
        if self._buffer:
            return self._buffer.take(max_bytes)
        if self._eof:
            return b""
        chunk = await run_with_timeout(self._reader.read(max_bytes), self.timeout, "read")
        if not chunk:
            self._eof = True
        return chunk

    async def read_exactly(self, n: int) -> bytes:
        """Return exactly ``n`` bytes, waiting for as many as needed.

        Raises :class:`~ambidex.io.IncompleteReadError` if the peer closes
        first (``.partial`` has what arrived, ``.expected`` is ``n``). On a
        timeout nothing is consumed: the bytes that arrived stay buffered.
        Up to ``n`` bytes are buffered, so check a length the peer sent
        against your protocol's maximum before asking for it.
        """
        self._check_open()
        if n < 0:
            raise ValueError(f"read_exactly: n must be >= 0, got {n}")
        if len(self._buffer) < n:
            await run_with_timeout(self._fill_to(n), self.timeout, "read_exactly")
        return self._buffer.take(n)

    async def read_until(self, separator: bytes = b"\n", *, limit: int = 65536) -> bytes:
        """Return the bytes up to and including the first ``separator``.

        The line, separator included, must fit in ``limit`` bytes: once
        ``limit`` bytes are buffered without one, :class:`~ambidex.io.ReadLimitError`
        is raised and the bytes stay buffered, so a hostile peer cannot make
        the stream buffer without bound. Raises
        :class:`~ambidex.io.IncompleteReadError` (``.expected`` is None) if
        the peer closes first. On a timeout nothing is consumed.
        """
        if self._closed:
            raise StreamClosedError("the stream is closed")
        if not separator or limit < len(separator):
            check_read_until_args(separator, limit)
        end = self._buffer.find_separator(separator, limit)
        if end is None:
            end = await run_with_timeout(
                self._fill_to_separator(separator, limit), self.timeout, "read_until"
            )
        return self._buffer.take(end)

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send all of ``data``, waiting until the transport has taken it.

        If this raises (timeout, connection reset, cancellation), any prefix
        of ``data`` may have been sent: the stream refuses further writes
        with :class:`StreamError`, since whatever comes next would be read by
        the peer as the rest of the cut-off message.
        """
        self._check_open()
        if self._write_broken:
            raise StreamError(f"write: the stream can no longer write: {self._write_broken}")
        try:
            self._writer.write(data)
            await run_with_timeout(self._writer.drain(), self.timeout, "write")
        except TimeoutError:
            self._write_broken = "an earlier write timed out part way"
            raise
        except BaseException as exc:
            self._write_broken = f"an earlier write failed part way ({exc!r})"
            raise

    async def start_tls(
        self, ssl_context: _ssl.SSLContext, server_hostname: str | None = None
    ) -> None:
        """Upgrade the connection to TLS in place (STARTTLS and friends).

        Call it right after the peer agreed to switch. ``server_hostname``
        defaults to the host given to ``connect``. Refuses (StreamError) if
        bytes are buffered: they arrived before the handshake, and treating
        them as if they came over TLS is the classic STARTTLS injection hole.
        If the handshake fails, times out or is cancelled, the stream is closed.
        (A stream made from ``asyncio.start_server``'s reader and writer
        upgrades as the server: pass the server's context.)
        """
        self._check_open()
        if self._buffer:
            raise StreamError(
                f"start_tls: {len(self._buffer)} unread bytes arrived before the handshake; "
                "refusing to mix them with the encrypted stream"
            )
        try:
            await run_with_timeout(
                self._upgrade(ssl_context, server_hostname or self._host),
                self.timeout,
                "start_tls",
            )
        except BaseException:
            self._abort()
            raise

    async def close(self) -> None:
        """Close the connection. Idempotent; never waits on the peer for long.

        Buffered, unread bytes are dropped. Data still queued for sending
        gets up to ``close_timeout`` seconds to go out; then (or at once if
        the close is cancelled) the connection is aborted. Every later call
        other than ``close`` raises :class:`StreamClosedError`.
        """
        if self._closed:
            return
        self._closed = True
        self._buffer.take_all()
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

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "eof" if self._eof else "open"
        return f"<AsyncStream {state} buffered={len(self._buffer)} timeout={self.timeout}>"

    # --- internals -------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StreamClosedError("the stream is closed")

    async def _fill(self, size: int) -> bool:
        """Receive once into the buffer; False at end of file.

        The only await is ``StreamReader.read``, which either returns bytes or
        is cancelled having taken none; the append right after it cannot be
        interrupted. That is why a cancelled read never loses data.
        """
        if self._eof:
            return False
        chunk = await self._reader.read(size)
        if not chunk:
            self._eof = True
            return False
        self._buffer.append(chunk)
        return True

    async def _fill_to(self, n: int) -> None:
        while len(self._buffer) < n:
            size = min(max(n - len(self._buffer), _CHUNK), _MAX_CHUNK)
            if not await self._fill(size):
                raise IncompleteReadError(self._buffer.take_all(), n)

    async def _fill_to_separator(self, separator: bytes, limit: int) -> int:
        while True:
            if not await self._fill(_CHUNK):
                raise IncompleteReadError(self._buffer.take_all(), None)
            end = self._buffer.find_separator(separator, limit)
            if end is not None:
                return end

    async def _upgrade(self, ssl_context: _ssl.SSLContext, server_hostname: str | None) -> None:
        await upgrade_writer(self._writer, ssl_context, server_hostname)

    def _abort(self) -> None:
        self._closed = True
        self._buffer.take_all()
        self._writer.transport.abort()
