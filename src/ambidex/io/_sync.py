"""Stream: the blocking stream, over a socket.

This file and ``_async.py`` are kept parallel on purpose: same methods, same
order, same docstrings, so ``diff`` between them shows only what differs
between the colours (``await``, and how a timeout is enforced). The sync stream
is written by hand because it is the foundation the generator maps
``AsyncStream`` onto; it is not generated from ``_async.py``.
"""

from __future__ import annotations

import socket
import ssl as _ssl
import time
from types import TracebackType

from ambidex.io._buffer import ReceiveBuffer, check_read_until_args
from ambidex.io._errors import IncompleteReadError, StreamClosedError, StreamError, timed_out

__all__ = ["Stream"]

# How much one receive asks for. Large enough that a bulk transfer is a few
# system calls per megabyte, small enough not to allocate much per read.
_CHUNK = 65536
# read_exactly(n) with a large n asks for up to this much in one receive.
_MAX_CHUNK = 1 << 20


class Stream:
    """A byte stream over a connected socket, with the reads protocols need.

    ``Stream`` and :class:`~ambidex.io.AsyncStream` have the same methods,
    arguments, results and exceptions; only ``await`` differs. So a driver
    written against one is the other's twin with ``await`` dropped or added.

    **Timeouts.** ``timeout`` (seconds, or None for no limit) bounds each
    operation as a whole: ``read_exactly(1000)`` that receives 999 bytes in
    time and then waits raises :class:`TimeoutError` when the operation's
    time is up, not when one receive's is. It can be changed between calls.

    **State after a failure.** A read that times out (or is interrupted)
    consumes nothing: the bytes that arrived stay buffered and the next read
    sees them, so a caller may simply retry. A write that times out or fails
    may have sent any prefix of the data, so the framing of the outgoing
    stream is lost: the stream refuses further writes (:class:`StreamError`)
    while reads still work, to collect a reply or an error already in
    flight. A ``start_tls`` that fails closes the stream. ``close()`` may be
    called any number of times; any other use after it raises
    :class:`StreamClosedError`.

    **End of file.** ``read`` returns ``b""`` only at end of file;
    ``read_exactly`` and ``read_until`` raise
    :class:`~ambidex.io.IncompleteReadError` carrying the bytes that did
    arrive.

    **Threads.** Like a socket, a ``Stream`` may be read by one thread while
    another writes (with a timeout set, both then set it on the one socket,
    so each bounds the other's wait only loosely); other concurrent use
    needs a lock.
    """

    timeout: float | None
    """Seconds each operation may take; None waits forever."""
    close_timeout: float = 5.0
    """For parity with AsyncStream; unused here: closing a socket never waits."""

    def __init__(self, sock: socket.socket, *, timeout: float | None = None) -> None:
        self._sock = sock
        self.timeout = timeout
        self._buffer = ReceiveBuffer()
        self._eof = False
        self._closed = False
        self._write_broken = ""
        # The host ``connect`` was given, the default server_hostname of start_tls.
        self._host: str | None = None
        # The timeout last set on the socket, to skip redundant settimeout calls.
        self._sock_timeout: float | None = sock.gettimeout()

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        *,
        timeout: float | None = None,
        ssl: _ssl.SSLContext | None = None,
        server_hostname: str | None = None,
    ) -> Stream:
        """Open a TCP connection (and, with ``ssl``, a TLS session over it).

        ``timeout`` bounds the connect and the TLS handshake together and
        becomes the stream's per-operation timeout. ``server_hostname`` is
        the name the certificate is checked against; it defaults to ``host``
        and is only meaningful with ``ssl``. On any failure nothing is left
        open.
        """
        if server_hostname is not None and ssl is None:
            raise ValueError("server_hostname is only meaningful with ssl")
        deadline = _deadline(timeout)
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError:
            raise timed_out("connect", timeout) from None
        try:
            # asyncio sets TCP_NODELAY on its transports; do the same so
            # small request/reply exchanges behave alike in both colours.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if ssl is not None:
                sock.settimeout(_remaining(deadline, "connect", timeout))
                sock = ssl.wrap_socket(sock, server_hostname=server_hostname or host)
        except TimeoutError:
            sock.close()
            raise timed_out("connect", timeout) from None
        except BaseException:
            sock.close()
            raise
        stream = cls(sock, timeout=timeout)
        stream._host = host
        return stream

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called (or a failed ``start_tls`` closed it)."""
        return self._closed

    def read(self, max_bytes: int = _CHUNK) -> bytes:
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
        chunk = self._recv(max_bytes, _deadline(self.timeout), "read")
        if not chunk:
            self._eof = True
        return chunk

    def read_exactly(self, n: int) -> bytes:
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
            self._fill_to(n, _deadline(self.timeout))
        return self._buffer.take(n)

    def read_until(self, separator: bytes = b"\n", *, limit: int = 65536) -> bytes:
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
            end = self._fill_to_separator(separator, limit, _deadline(self.timeout))
        return self._buffer.take(end)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send all of ``data``, waiting until the kernel has taken it.

        If this raises (timeout, connection reset, interruption), any prefix
        of ``data`` may have been sent: the stream refuses further writes
        with :class:`StreamError`, since whatever comes next would be read by
        the peer as the rest of the cut-off message.
        """
        self._check_open()
        if self._write_broken:
            raise StreamError(f"write: the stream can no longer write: {self._write_broken}")
        view = memoryview(data).cast("B")
        deadline = _deadline(self.timeout)
        try:
            if deadline is None:
                self._settimeout(None)
                self._sock.sendall(view)  # one C loop, no per-send deadline checks
            else:
                while view:
                    self._settimeout(_remaining(deadline, "write", self.timeout))
                    sent = self._sock.send(view)
                    view = view[sent:]
        except TimeoutError:
            self._write_broken = "an earlier write timed out part way"
            raise timed_out("write", self.timeout) from None
        except BaseException as exc:
            self._write_broken = f"an earlier write failed part way ({exc!r})"
            raise

    def start_tls(
        self, ssl_context: _ssl.SSLContext, server_hostname: str | None = None
    ) -> None:
        """Upgrade the connection to TLS in place (STARTTLS and friends).

        Call it right after the peer agreed to switch. ``server_hostname``
        defaults to the host given to ``connect``. Refuses (StreamError) if
        bytes are buffered: they arrived before the handshake, and treating
        them as if they came over TLS is the classic STARTTLS injection hole.
        If the handshake fails or times out, the stream is closed.
        """
        self._check_open()
        if self._buffer:
            raise StreamError(
                f"start_tls: {len(self._buffer)} unread bytes arrived before the handshake; "
                "refusing to mix them with the encrypted stream"
            )
        try:
            self._settimeout(self.timeout)
            self._sock = ssl_context.wrap_socket(
                self._sock, server_hostname=server_hostname or self._host
            )
        except TimeoutError:
            self.close()
            raise timed_out("start_tls", self.timeout) from None
        except BaseException:
            self.close()
            raise
        self._sock_timeout = self._sock.gettimeout()

    def close(self) -> None:
        """Close the connection. Idempotent; never waits on the peer.

        Buffered, unread bytes are dropped. Every later call other than
        ``close`` raises :class:`StreamClosedError`.
        """
        if self._closed:
            return
        self._closed = True
        self._buffer.take_all()
        self._sock.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "eof" if self._eof else "open"
        return f"<Stream {state} buffered={len(self._buffer)} timeout={self.timeout}>"

    # --- internals -------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StreamClosedError("the stream is closed")

    def _settimeout(self, timeout: float | None) -> None:
        # settimeout is a system call when blocking mode flips; skip it when
        # nothing changes (the common case: no timeout at all).
        if timeout != self._sock_timeout or timeout is not None:
            self._sock.settimeout(timeout)
            self._sock_timeout = timeout

    def _recv(self, size: int, deadline: float | None, what: str) -> bytes:
        self._settimeout(_remaining(deadline, what, self.timeout))
        try:
            return self._sock.recv(size)
        except TimeoutError:
            raise timed_out(what, self.timeout) from None

    def _fill(self, size: int, deadline: float | None, what: str) -> bool:
        """Receive once into the buffer; False at end of file."""
        if self._eof:
            return False
        chunk = self._recv(size, deadline, what)
        if not chunk:
            self._eof = True
            return False
        self._buffer.append(chunk)
        return True

    def _fill_to(self, n: int, deadline: float | None) -> None:
        while len(self._buffer) < n:
            size = min(max(n - len(self._buffer), _CHUNK), _MAX_CHUNK)
            if not self._fill(size, deadline, "read_exactly"):
                raise IncompleteReadError(self._buffer.take_all(), n)

    def _fill_to_separator(self, separator: bytes, limit: int, deadline: float | None) -> int:
        while True:
            if not self._fill(_CHUNK, deadline, "read_until"):
                raise IncompleteReadError(self._buffer.take_all(), None)
            end = self._buffer.find_separator(separator, limit)
            if end is not None:
                return end


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


def _remaining(deadline: float | None, what: str, timeout: float | None) -> float | None:
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise timed_out(what, timeout)
    return left

