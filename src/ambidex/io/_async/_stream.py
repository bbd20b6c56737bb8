"""AsyncStream, written once: ``io/_sync/_stream.py`` (``Stream``) is generated from it.

Everything a stream promises is here: argument checks, ``read_until``'s
limit, which exceptions come out, what a failed write or ``start_tls``
leaves behind, when the stream counts as closed. What differs between the
colours (connecting, reading under a deadline, sending, TLS, closing) is in
the backend this class inherits from: ``AsyncBackend`` here, ``SyncBackend``
in the generated twin (``ambidex.io._backends``). Edit this file, then run
``ambidex generate``; CI runs ``ambidex generate --check``.

The hot paths reach the stdlib's fast paths directly, differently per
colour (``if IS_ASYNC:`` keeps one branch in each): asyncio takes a line or
frame that has already arrived straight from the StreamReader's buffer, with
no coroutine of its own; the socket stream calls its C ``BufferedReader``'s
``readline``/``read``. Everything else goes through the backend's reader
(``readuntil``, ``readexactly``), which keeps every guarantee.
"""

from __future__ import annotations

import asyncio  # ambidex: async-only
import ssl as _ssl
from types import TracebackType

from ambidex.io._backends._async import AsyncBackend, IncompleteRead, LimitOverrun
from ambidex.io._errors import IncompleteReadError, ReadLimitError, StreamClosedError, StreamError
from ambidex.io._peek import Waiting

__all__ = ["AsyncStream"]

IS_ASYNC = True

# What ``read()`` asks for by default.
_CHUNK = 65536


class AsyncStream(AsyncBackend):
    """A byte stream over a connection, with the reads protocols need.

    :class:`~ambidex.io.Stream` (over a socket) and
    :class:`~ambidex.io.AsyncStream` (over asyncio's StreamReader and
    StreamWriter) have the same methods, arguments, results and exceptions;
    only ``await`` differs. So a driver written against one is the other's
    twin with ``await`` dropped or added (this class is itself written once
    and generated in the other colour).

    **Timeouts.** ``timeout`` (seconds, or None for no limit) bounds each
    operation as a whole: ``read_exactly(1000)`` that receives 999 bytes in
    time and then waits raises :class:`TimeoutError` when the operation's
    time is up, not when one receive's is. It can be changed between calls.

    **State after a failure.** A read that times out (or is cancelled, or
    interrupted) consumes nothing: the bytes that arrived stay buffered and
    the next read sees them, so a caller may simply retry. A write that
    times out, fails or is cancelled may have sent any prefix of the data,
    so the framing of the outgoing stream is lost: the stream refuses
    further writes (:class:`StreamError`) while reads still work, to collect
    a reply or an error already in flight. A ``start_tls`` that fails (or
    is cancelled) closes the stream. ``close()`` may be called any number
    of times; any other use after it raises :class:`StreamClosedError`.

    **End of file.** ``read`` returns ``b""`` only at end of file;
    ``read_exactly`` and ``read_until`` raise
    :class:`~ambidex.io.IncompleteReadError` carrying the bytes that did
    arrive.

    **Sharing.** An ``AsyncStream`` is for one task at a time (a reader task
    and a writer task may share it). Like a socket, a ``Stream`` may be read
    by one thread while another writes (with a timeout set, both then set
    it on the one socket, so each bounds the other's wait only loosely).
    """

    _closed_why = "the stream is closed"
    """What StreamClosedError says (take_transport changes it)."""
    _transport_taken = False
    """True from take_transport to close(): the questions still answer."""

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
        and is only meaningful with ``ssl``. On any failure (a timeout or a
        cancellation too) nothing is left open.
        """
        if server_hostname is not None and ssl is None:
            raise ValueError("server_hostname is only meaningful with ssl")
        transport = await cls._open(host, port, timeout, ssl, server_hostname)
        stream = cls(*transport, timeout=timeout)
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
        if self._closed:
            raise StreamClosedError(self._closed_why)
        if max_bytes < 1:
            raise ValueError(f"read: max_bytes must be at least 1, got {max_bytes}")
        if self._timeout is None:
            return await self._reader.read(max_bytes)
        return await self._timed(self._reader.read, max_bytes, "read")

    async def read_exactly(self, n: int) -> bytes:
        """Return exactly ``n`` bytes, waiting for as many as needed.

        Raises :class:`~ambidex.io.IncompleteReadError` if the peer closes
        first (``.partial`` has what arrived, ``.expected`` is ``n``). On a
        timeout nothing is consumed: the bytes that arrived stay buffered.
        Up to ``n`` bytes are buffered, so check a length the peer sent
        against your protocol's maximum before asking for it.
        """
        if IS_ASYNC:
            # Already received: taken from the StreamReader's buffer without
            # awaiting its coroutine, before anything else (every step here
            # counts against readexactly's own). Anything else (not all
            # there, an error pending, closed, a bad n) is for below.
            reader = self._reader
            buffer = reader._buffer
            if 0 <= n <= len(buffer) and not self._closed and reader._exception is None:
                data = bytes(buffer[:n])
                del buffer[:n]
                if reader._paused:
                    reader._maybe_resume_transport()
                return data
        else:
            # The C path, before anything else (a Python frame's every step
            # counts against makefile's one C call): one BufferedReader.read
            # while the reader's door is open (open stream, no timeout,
            # nothing given back; see SocketReader, which keeps the stream's
            # copy, ``_exact``/``_lines``, one attribute load away). A short
            # read (end of file, a failed receive) goes back for the careful
            # path below. With ambidex.io._speedups built, this method is C
            # (the same fast case, then this method for the rest).
            read = self._exact
            if read is not None and n >= 0:
                data = read(n)
                if data is not None and len(data) == n:
                    return data
                self._reader.missed(data)
        if self._closed:
            raise StreamClosedError(self._closed_why)
        if n < 0:
            raise ValueError(f"read_exactly: n must be >= 0, got {n}")
        reader = self._reader
        try:
            if self._timeout is None:
                return await reader.readexactly(n)
            return await self._timed(reader.readexactly, n, "read_exactly")
        except IncompleteRead as exc:
            raise IncompleteReadError(exc.partial, n) from None

    async def read_until(self, separator: bytes = b"\n", *, limit: int = 65536) -> bytes:
        """Return the bytes up to and including the first ``separator``.

        The line, separator included, must fit in ``limit`` bytes: once
        ``limit`` bytes are buffered without one, :class:`~ambidex.io.ReadLimitError`
        is raised and the bytes stay buffered, so a hostile peer cannot make
        the stream buffer without bound. Raises
        :class:`~ambidex.io.IncompleteReadError` (``.expected`` is None) if
        the peer closes first. On a timeout nothing is consumed.
        """
        if IS_ASYNC:
            # A whole line already received is taken from the StreamReader's
            # buffer without awaiting its coroutine, first (see read_exactly).
            # ``find`` stops at ``limit``, so a line found fits in it; anything
            # else (not all there, past the limit, an error pending, closed,
            # a bad argument) is for the checks and readuntil below.
            reader = self._reader
            buffer = reader._buffer
            end = buffer.find(separator, 0, limit)
            if (
                end >= 0
                and limit > 0
                and separator
                and not self._closed
                and reader._exception is None
            ):
                end += len(separator)
                line = bytes(buffer[:end])
                del buffer[:end]
                if reader._paused:
                    reader._maybe_resume_transport()
                return line
        else:
            # The C path, first (see read_exactly): one BufferedReader.readline,
            # whose limit is the line's, separator included, so it never
            # holds more than ``limit`` bytes of a line. A line that does not
            # end with the separator (end of file, over the limit, a failed
            # receive, a bare "\n" inside a "\r\n" line) goes back for the
            # careful path below, which decides. "\n" and "\r\n" are
            # spelled out: a slice compare costs half of ``endswith``.
            readline = self._lines
            if readline is not None and limit > 0:
                if separator == b"\n":
                    line = readline(limit)
                    if line[-1:] == b"\n":
                        return line
                    self._reader.missed(line)
                elif separator == b"\r\n":
                    line = readline(limit)
                    if line[-2:] == b"\r\n":
                        return line
                    self._reader.missed(line)
                elif separator[-1:] == b"\n":
                    line = readline(limit)
                    if line[-len(separator) :] == separator:
                        return line
                    self._reader.missed(line)
        if self._closed:
            raise StreamClosedError(self._closed_why)
        if not separator:
            raise ValueError("read_until: the separator must not be empty")
        reader = self._reader
        # The reader's limit counts the bytes before the separator.
        bound = limit - len(separator)
        if reader._limit != bound:
            if bound < 0:
                raise ValueError(
                    f"read_until: limit ({limit}) is shorter than the separator "
                    f"({len(separator)} bytes)"
                )
            reader._limit = bound
        try:
            if self._timeout is None:
                return await reader.readuntil(separator)
            return await self._timed(reader.readuntil, separator, "read_until")
        except IncompleteRead as exc:
            raise IncompleteReadError(exc.partial, None) from None
        except LimitOverrun:
            raise ReadLimitError(separator, limit, self._buffered()) from None

    def unread_bytes_waiting(self) -> bool:
        """True if bytes have arrived that no read has taken yet. Never waits, never consumes.

        For a protocol that pairs replies with requests by their order alone
        (no request ids), or a connection kept for reuse (HTTP keep-alive):
        ask before writing the next request on an idle connection. Bytes
        nobody asked for would otherwise be read as the next request's
        answer. The bytes may be in the stream's buffer (left by a read that
        timed out, or after a line) or still in the socket; an orderly close
        from the peer is not bytes (see :meth:`peer_closed`).

        The answer is about *now*: bytes still on the wire are not seen, so a
        stray reply that crosses the request is the protocol's to catch.
        Over TLS, the blocking ``Stream`` decrypts whatever records have
        arrived (without waiting) to tell data from, say, a TLS 1.3 session
        ticket, keeping the data buffered for the next read. The asyncio
        ``AsyncStream`` counts the bytes its event loop has decrypted, which
        it does whenever the loop runs (at any ``await``); records still in
        the socket are not counted, since they may hold no data.
        """
        if self._closed and not self._transport_taken:
            raise StreamClosedError(self._closed_why)
        return self._buffered() > 0 or self._waiting() is Waiting.BYTES

    def peer_closed(self) -> bool:
        """True if a read now would find end of file (or a reset) and nothing before it.

        Never waits, never consumes. A kept-alive connection the server
        closed while it sat idle says True here: drop it rather than find it
        stale on the next write. False while unread bytes are waiting, even
        if the close follows them (those are :meth:`unread_bytes_waiting`'s).
        """
        if self._closed and not self._transport_taken:
            raise StreamClosedError(self._closed_why)
        return self._buffered() == 0 and self._waiting() is Waiting.CLOSED

    def read_would_wait(self) -> bool:
        """True if a read now would wait: no unread bytes, and no close from the peer.

        Both of the questions above in one look at the socket (one system
        call where each of them takes one): what a pool asks before reusing
        an idle connection, which it reuses only if nothing at all came
        while it sat idle. Never waits, never consumes; the same caveats
        about *now* and about TLS as :meth:`unread_bytes_waiting`.
        """
        if self._closed and not self._transport_taken:
            raise StreamClosedError(self._closed_why)
        return self._buffered() == 0 and self._waiting() is Waiting.NOTHING

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send all of ``data``, waiting until the transport has taken it.

        If this raises (timeout, connection reset, cancellation), any prefix
        of ``data`` may have been sent: the stream refuses further writes
        with :class:`StreamError`, since whatever comes next would be read by
        the peer as the rest of the cut-off message.
        """
        if self._closed:
            raise StreamClosedError(self._closed_why)
        if self._write_broken:
            raise StreamError(f"write: the stream can no longer write: {self._write_broken}")
        try:
            await self._send_all(data)
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
        If the handshake fails, times out or is cancelled, the stream is
        closed. (An AsyncStream made from ``asyncio.start_server``'s reader
        and writer upgrades as the server: pass the server's context.)
        """
        if self._closed:
            raise StreamClosedError(self._closed_why)
        buffered = self._buffered()
        if buffered:
            raise StreamError(
                f"start_tls: {buffered} unread bytes arrived before the handshake; "
                "refusing to mix them with the encrypted stream"
            )
        try:
            await self._upgrade(ssl_context, server_hostname or self._host)
        except BaseException:
            self._abort()
            raise

    def take_transport(  # ambidex: async-only
        self, protocol: asyncio.Protocol | asyncio.BufferedProtocol
    ) -> asyncio.Transport:
        """Hand the connection to ``protocol``: from now on asyncio calls it, not the stream.

        **When.** A client that shares one connection between many callers
        (pipelining: RESP, a multiplexed protocol) and reads replies with a
        task makes every reply cross the event loop three times: the poll
        that sees the bytes, the reader task that parses them, the caller it
        wakes. A protocol whose ``data_received`` feeds a sans-IO parser and
        resolves the callers' futures right there needs two, and no second
        buffer sits between the socket and the parser. So: open and set up
        the connection with the stream (connect, TLS, a handshake, all with
        the stream's timeouts and the same code as the blocking twin), then
        take the transport for the hot path. ``examples/_transport.py``
        (used by the resp and gibson chapters) is the worked example.

        **What the protocol gets**, as if the connection had just been made
        with it, before this returns: ``connection_made(transport)``, then
        ``data_received(bytes)`` once with every byte the stream had
        received and no read had taken (none if there were none), then, from
        the next turn of the loop, whatever arrives next. No byte is lost or
        delivered twice, and the order is the order on the wire: nothing can
        arrive in between, since this never awaits. (A ``BufferedProtocol``
        that is not also a ``Protocol`` gets them the way asyncio gives it
        bytes: copied into the buffers its ``get_buffer`` returns, each
        followed by ``buffer_updated``. Either kind gets the bytes that come
        later as asyncio delivers them: a ``BufferedProtocol`` straight into
        its buffer, with no ``bytes`` object made per read.) Over TLS the bytes are
        the decrypted ones, and the transport is the TLS transport. If the
        stream had paused reading (its buffer was full), reading is resumed;
        pausing again is the protocol's business (``transport.pause_reading``).

        **What you give up.** The stream's guarantees stop here: no
        ``timeout`` (put deadlines on your callers' futures), no
        ``read_until`` limit (bound your parser's buffer yourself), no
        refusal of writes after a failed one (``transport.write`` never
        waits, so a request is never cut in half, but it never pushes back
        either: bound what you queue, and watch ``pause_writing``).

        **The stream after it** refuses every read and write with
        :class:`StreamClosedError` saying the transport was taken; ``closed``
        is True. The two questions that never wait still answer, until
        ``close()``, about what the protocol has not been given yet (bytes or
        a close still in the socket): ``unread_bytes_waiting()`` is what a
        client that pairs replies with requests by order alone asks before
        writing on an idle connection (over TLS, only a close is seen there).
        It still owns the connection's lifetime: ``close()`` closes
        the transport (asyncio sends what is queued, then calls the
        protocol's ``connection_lost``) and returns without waiting for it.
        Keep the stream while you use the transport: on Python 3.11+ asyncio
        closes a transport whose StreamWriter is garbage collected.

        Refuses, with :class:`StreamError` and nothing consumed (the stream
        stays usable, so read what is left with it), when the peer already
        closed its side or the connection failed, and when an earlier write
        failed part way (the outgoing framing is unknown). Raises
        :class:`StreamClosedError` after ``close()``. If the protocol's own
        ``connection_made`` or ``data_received`` raises, the exception comes
        out of this call and the transport is the protocol's all the same.
        Asyncio only: the blocking ``Stream`` has no transport to give.
        """
        if self._closed:
            raise StreamClosedError(self._closed_why)
        if self._write_broken:
            raise StreamError(
                f"take_transport: the stream can no longer write: {self._write_broken}"
            )
        return self._hand_over(protocol)

    async def close(self) -> None:
        """Close the connection. Idempotent; never waits on the peer for long.

        Buffered, unread bytes are dropped. In the asyncio colour, data still
        queued for sending gets up to ``close_timeout`` seconds to go out;
        then (or at once if the close is cancelled) the connection is
        aborted. Every later call other than ``close`` raises
        :class:`StreamClosedError`. After :meth:`take_transport` (asyncio),
        ``close()`` closes the transport and returns at once; after
        ``take_socket`` (blocking), it closes the socket.
        """
        if self._closed:
            self._close_taken()
            return
        self._closed = True
        await self._close_transport()

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
        state = "closed" if self._closed else "eof" if self._at_eof() else "open"
        buffered = 0 if self._closed else self._buffered()
        return f"<{type(self).__name__} {state} buffered={buffered} timeout={self.timeout}>"
