"""SyncBackend: what Stream needs from a socket, and a reader as fast as makefile's.

``socket.makefile("rb")`` reads through a C ``BufferedReader``: a line is
one C call. ``SocketReader`` reads through one too, and adds the promise
``makefile`` does not keep: a read that times out (or is interrupted)
consumes nothing. The trick is in the raw layer under the buffered reader:
when ``recv_into`` fails, it records the failure and reports "no data for
now" instead of raising, so the C ``readline``/``read`` returns what it had
collected rather than dropping it (which is what it does when the raw read
raises). ``SocketReader`` puts those bytes back in front (in a
:class:`~ambidex.sansio.ReceiveBuffer`) and then raises the failure.

Its method names and exceptions are ``asyncio.StreamReader``'s (``read``,
``readexactly``, ``readuntil``, ``_limit``, ``IncompleteRead``,
``LimitOverrun``), so the stream written once against the StreamReader is
right over a socket too.
"""

from __future__ import annotations

import io
import math
import select
import socket
import ssl as _ssl
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ambidex.io._accelerate import new_door
from ambidex.io._errors import StreamClosedError, StreamError, timed_out
from ambidex.io._peek import Waiting, peek_socket, readable_now
from ambidex.sansio import LimitExceeded, ReceiveBuffer

if TYPE_CHECKING:
    from ambidex.io._speedups import Door

T = TypeVar("T")
A = TypeVar("A")

# The buffered reader's size: what one recv asks for when lines are short.
_BUFFER_SIZE = 65536


class IncompleteRead(EOFError):
    """The peer closed mid-read; ``partial`` is what arrived (consumed)."""

    def __init__(self, partial: bytes, expected: int | None) -> None:
        super().__init__(f"{len(partial)} bytes read before end of file")
        self.partial = partial
        self.expected = expected


class LimitOverrun(Exception):
    """``readuntil`` saw ``_limit`` + len(separator) bytes without the
    separator ending within them; nothing is consumed."""

    def __init__(self, message: str, consumed: int) -> None:
        super().__init__(message)
        self.consumed = consumed


class _SocketRaw(io.RawIOBase):
    """``recv_into`` for a BufferedReader, which never raises into it.

    A failure (a timeout, a reset, an exception from a signal handler) is
    kept in ``failure`` and reported as "no data" (None), so the C reader
    returns the bytes it collected; SocketReader raises the failure after
    putting them back. ``deadline`` bounds the operation in progress;
    ``hold`` makes reads report "no data" without touching the socket.

    Under a deadline, a plain (not TLS) socket is left non-blocking and
    polled here (``poll_in``; ``poll_out`` is the writer's): one ``poll``
    and one ``recv`` per receive. ``settimeout(left)`` before each receive
    would add an ``ioctl`` every time, and Python polls before the ``recv``
    all the same. A TLS socket keeps ``settimeout``: it may hold decrypted
    bytes that a poll of the socket cannot see.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock
        self.deadline: float | None = None
        self.failure: BaseException | None = None
        self.hold = False
        self.sock_timeout: float | None = sock.gettimeout()
        self.poll_in: select.poll | None = None
        self.poll_out: select.poll | None = None
        if (hasattr(select, "poll") and isinstance(sock, socket.socket)
                and not isinstance(sock, _ssl.SSLSocket)):
            self.poll_in = select.poll()
            self.poll_in.register(sock, select.POLLIN)
            self.poll_out = select.poll()
            self.poll_out.register(sock, select.POLLOUT)

    def readable(self) -> bool:
        return True

    def flush(self) -> None:
        """Nothing to flush: a reader. (Not ``io.IOBase.flush``, which the
        blocking-call detector watches as a file's: a stream freed while a task
        runs is closed there, and closing flushes.)"""

    def readinto(self, buffer: memoryview) -> int | None:  # type: ignore[override]
        if self.hold:
            return None
        try:
            deadline = self.deadline
            if deadline is None:
                if self.sock_timeout is not None:
                    self.settimeout(None)
            elif self.poll_in is not None:
                self.settimeout(0.0)
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self.poll_in.poll(math.ceil(left * 1000)):
                        raise TimeoutError
                    try:
                        return self.sock.recv_into(buffer)
                    except BlockingIOError:
                        continue  # woken with nothing to take after all: wait again
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                self.settimeout(left)
            return self.sock.recv_into(buffer)
        except BaseException as exc:
            self.failure = exc
            return None

    def settimeout(self, timeout: float | None) -> None:
        # settimeout is a system call (an ioctl) every time; skip it when
        # nothing changes (no timeout at all, or non-blocking under a deadline).
        if timeout != self.sock_timeout:
            self.sock.settimeout(timeout)
            self.sock_timeout = timeout


class SocketReader:
    """``asyncio.StreamReader``'s reads, blocking, over a socket.

    **The open door.** ``lines`` and ``exact`` are the C ``BufferedReader``'s
    own ``readline`` and ``read`` while nothing stands between the caller and
    them, and None otherwise: bytes were given back (they must come first), a
    timeout applies (the reads need a deadline), or the stream is closed. So
    the stream's hot path asks one attribute, calls C, and checks the
    result's length or last bytes, with no Python frame of the reader's own
    (on CPython a Python call costs about as much as ``makefile``'s whole
    ``readline``). Every change of those three conditions goes through
    :meth:`_reopen`, which also sets the owner's copy of the door
    (``owner._lines``, ``owner._exact``): the stream's hot path then loads one
    attribute of its own instead of two. The owner is held weakly: it owns
    this reader, and a cycle would keep an unclosed socket alive until the
    garbage collector runs. With the C accelerator, :meth:`_reopen` also sets
    the same two in the reader's ``Door`` (``owner._door``), where the C reads
    find them without looking an attribute up.
    """

    lines: Callable[[int], bytes] | None
    """``BufferedReader.readline`` while the C path is open, else None."""
    exact: Callable[[int], bytes | None] | None
    """``BufferedReader.read`` while the C path is open, else None."""

    def __init__(
        self, sock: socket.socket, *, bounded: bool = False, owner: SyncBackend | None = None
    ) -> None:
        self._owner = None if owner is None else weakref.ref(owner)
        # The C reads' copy of the door (None without them); a new reader's
        # Door retires its stream's previous one.
        self._door: Door | None = None if owner is None else new_door(owner)
        if owner is not None:
            owner._door = self._door
        self._raw = _SocketRaw(sock)
        file = io.BufferedReader(self._raw, _BUFFER_SIZE)
        self._file = file
        self._readline = file.readline
        self._read = file.read
        self._read1 = file.read1
        # Bytes given back after a failed or over-long read: they come first.
        # None when there are none, so the hot paths test one attribute.
        self._pending: ReceiveBuffer | None = None
        self._limit = 65536
        self._eof = False
        # The stream has a timeout: every read needs a deadline.
        self._bounded = bounded
        self._shut = False
        self._reopen()

    def _reopen(self) -> None:
        """Open the C path (``lines``, ``exact``) if nothing stands in its way, else shut it."""
        if self._pending is None and not self._bounded and not self._shut:
            self.lines, self.exact = self._readline, self._read
        else:
            self.lines = self.exact = None
        owner = None if self._owner is None else self._owner()
        if owner is not None:
            owner._lines, owner._exact = self.lines, self.exact
        if self._door is not None:
            self._door.lines, self._door.exact = self.lines, self.exact

    def set_bounded(self, bounded: bool) -> None:
        """The stream's timeout changed: its reads need a deadline (True) or not."""
        self._bounded = bounded
        self._reopen()

    def shut(self) -> None:
        """The stream is closed: the C path stays shut for good."""
        self._shut = True
        self._reopen()

    def missed(self, data: bytes | None) -> None:
        """The C path's answer was not a whole line or frame: keep it, raise any failure.

        ``data`` (a short line or frame: end of file, an over-long line, a
        failed receive) goes back in front; then the failure the raw layer
        recorded, if any, is raised with nothing consumed; otherwise the
        caller lets the careful path (``readuntil``, ``readexactly``) decide.
        """
        if data:
            self._give_back(data)
        self._raise_failure()

    @property
    def deadline(self) -> float | None:
        return self._raw.deadline

    @deadline.setter
    def deadline(self, deadline: float | None) -> None:
        self._raw.deadline = deadline

    def settimeout(self, timeout: float | None) -> None:
        """Set the socket's timeout (for the writer), keeping the reader's note of it."""
        self._raw.settimeout(timeout)

    def at_eof(self) -> bool:
        return self._eof and self._pending is None

    def buffered(self) -> int:
        """Bytes received and not read yet."""
        self._raw.hold = True
        try:
            held = len(self._file.peek())
        finally:
            self._raw.hold = False
        return held + (0 if self._pending is None else len(self._pending))

    def receive_nowait(self) -> Waiting:
        """TLS: decrypt the records that have arrived, without waiting.

        An ``SSLSocket`` cannot be peeked at, and its socket's bytes may be
        records with no data in them (a TLS 1.3 session ticket). So take what
        has arrived through the SSL object, non-blocking, and keep any data
        in front of the buffered reader (which is empty when this is asked),
        where the next read finds it: the stream consumes nothing.
        """
        raw = self._raw
        sock = raw.sock
        assert isinstance(sock, _ssl.SSLSocket)
        try:
            if not sock.pending() and not readable_now(sock):
                return Waiting.NOTHING
            raw.settimeout(0.0)  # the next read or write sets its own timeout again
            data = sock.recv(_BUFFER_SIZE)  # ambidex: allow-blocking non-blocking (timeout 0)
        except (_ssl.SSLWantReadError, _ssl.SSLWantWriteError, BlockingIOError):
            return Waiting.NOTHING  # records with no data in them
        except OSError:
            return Waiting.CLOSED  # a read would fail too
        if not data:
            self._eof = True
            return Waiting.CLOSED
        self._give_back(data)
        return Waiting.BYTES

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes, buffered ones first; ``b""`` at end of file."""
        if self._pending is not None:
            return self._take(n)
        data = self._read1(n)
        if not data:
            self._raise_failure()
            self._eof = True
        return data

    def readexactly(self, n: int) -> bytes:
        if self._pending is None:
            data = self._read(n)
            if data is not None and len(data) == n:
                return data
            pending = self._give_back(data)
        else:
            pending = self._pending
            data = self._read(max(n - len(pending), 0))
            if data:
                pending.feed(data)
        if len(pending) >= n:
            return self._take(n)
        self._raise_failure()
        self._eof = True
        raise IncompleteRead(self._take(-1), n)

    def readuntil(self, separator: bytes = b"\n") -> bytes:
        if self._pending is None and separator[-1:] == b"\n":
            # The C path: one readline call per line. Its limit is the
            # line's longest, separator included.
            line = self._readline(self._limit + len(separator))
            if line.endswith(separator):
                return line
            # Short (end of file, a failure), over the limit, or a "\n" that
            # does not end this separator: the careful path decides.
            self._give_back(line)
            self._raise_failure()
        return self._readuntil_pending(separator)

    def _readuntil_pending(self, separator: bytes) -> bytes:
        pending = self._give_back(b"")
        limit = self._limit + len(separator)
        while True:
            try:
                line = pending.read_line(separator, limit=limit)
            except LimitExceeded:
                raise LimitOverrun(f"no separator within {limit} bytes", len(pending)) from None
            if line is not None:
                if not pending:
                    self._pending = None
                    self._reopen()
                return line
            chunk = self._read1(_BUFFER_SIZE)
            if not chunk:
                self._raise_failure()
                self._eof = True
                raise IncompleteRead(self._take(-1), None)
            pending.feed(chunk)

    def _give_back(self, data: bytes | None) -> ReceiveBuffer:
        """Put ``data`` in front of what the buffered reader holds."""
        pending = self._pending
        if pending is None:
            pending = self._pending = ReceiveBuffer(max_buffer=None)
            self._reopen()
        if data:
            pending.feed(data)
        return pending

    def _take(self, n: int) -> bytes:
        """Up to ``n`` given-back bytes (all if ``n`` < 0)."""
        pending = self._pending
        assert pending is not None
        out = pending.consume(len(pending) if n < 0 else n)
        if not pending:
            self._pending = None
            self._reopen()
        return out

    def _raise_failure(self) -> None:
        failure = self._raw.failure
        if failure is not None:
            self._raw.failure = None
            raise failure


class SyncBackend:
    """The blocking half of a stream: a connected socket."""

    close_timeout: float = 5.0
    """For parity with AsyncStream; unused here: closing a socket never waits."""
    _closed_why: str
    _transport_taken: bool
    _lines: Callable[[int], bytes] | None
    """The reader's ``lines`` (its C ``readline`` while the door is open), kept by the reader."""
    _exact: Callable[[int], bytes | None] | None
    """The reader's ``exact`` (its C ``read`` while the door is open), kept by the reader."""
    _door: Door | None = None
    """The same two for the C reads (``ambidex.io._speedups``), kept by the reader; None without."""

    def __init__(self, sock: socket.socket, *, timeout: float | None = None) -> None:
        self._sock = sock
        self._timeout = timeout
        self._reader = SocketReader(sock, bounded=timeout is not None, owner=self)
        self._closed = False
        self._write_broken = ""
        # The host ``connect`` was given, the default server_hostname of start_tls.
        self._host: str | None = None

    @property
    def timeout(self) -> float | None:
        """Seconds each operation may take; None waits forever. May be changed between calls."""
        return self._timeout

    @timeout.setter
    def timeout(self, timeout: float | None) -> None:
        self._timeout = timeout
        # Without a timeout the reads need no deadline and may take the C path.
        self._reader.set_bounded(timeout is not None)

    @staticmethod
    def _open(
        host: str,
        port: int,
        timeout: float | None,
        ssl: _ssl.SSLContext | None,
        server_hostname: str | None,
    ) -> tuple[socket.socket]:
        """Connect; what ``__init__`` takes. On any failure nothing is left open."""
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
        return (sock,)

    def _timed(self, read: Callable[[A], T], argument: A, what: str) -> T:
        """``read(argument)`` with the socket reads bounded by the stream's timeout."""
        reader = self._reader
        reader.deadline = _deadline(self._timeout)
        try:
            return read(argument)
        except TimeoutError:
            raise timed_out(what, self._timeout) from None
        finally:
            reader.deadline = None

    def _send_all(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        deadline = _deadline(self._timeout)
        try:
            poll_out = self._reader._raw.poll_out
            if deadline is None:
                self._reader.settimeout(None)
                self._sock.sendall(view)  # one C loop, no per-send deadline checks
            elif poll_out is not None:
                # Non-blocking, polled only when the socket's buffer is full:
                # a request that fits is one send (see _SocketRaw).
                self._reader.settimeout(0.0)
                while view:
                    try:
                        sent = self._sock.send(view)
                    except BlockingIOError:
                        left = deadline - time.monotonic()
                        if left <= 0 or not poll_out.poll(math.ceil(left * 1000)):
                            raise timed_out("write", self.timeout) from None
                        continue
                    view = view[sent:]
            else:
                while view:
                    self._reader.settimeout(_remaining(deadline, "write", self._timeout))
                    sent = self._sock.send(view)
                    view = view[sent:]
        except TimeoutError:
            raise timed_out("write", self._timeout) from None

    def _upgrade(self, ssl_context: _ssl.SSLContext, server_hostname: str | None) -> None:
        try:
            self._sock.settimeout(self._timeout)
            self._sock = ssl_context.wrap_socket(self._sock, server_hostname=server_hostname)
        except TimeoutError:
            raise timed_out("start_tls", self._timeout) from None
        self._reader = SocketReader(self._sock, bounded=self._timeout is not None, owner=self)

    def _buffered(self) -> int:
        """Bytes received and not read yet."""
        return self._reader.buffered()

    def _at_eof(self) -> bool:
        return self._reader.at_eof()

    def _speaks_tls(self) -> bool:
        """For :func:`ambidex.io.speaks_tls`: the socket is an ``ssl.SSLSocket``."""
        return isinstance(self._sock, _ssl.SSLSocket) and self._sock.version() is not None

    def _waiting(self) -> Waiting:
        """What a read would find beyond the (empty) reader buffer."""
        reader = self._reader
        if reader._eof:
            return Waiting.CLOSED
        if isinstance(self._sock, _ssl.SSLSocket):
            return reader.receive_nowait()
        return peek_socket(self._sock)

    def take_socket(self) -> socket.socket:
        """Hand the connection's socket over: from now on the caller reads and
        writes it, not the stream. The blocking twin of
        ``AsyncStream.take_transport``.

        **When.** A client that makes one exchange at a time on a connection
        (a request, then its reply) and parses with a sans-IO machine needs
        two things from the socket per exchange: one send, and a wait then a
        ``recv_into`` per read. The stream's layers (a buffered reader, a
        deadline per read, a timeout per write, the C fast path's bookkeeping)
        cost several Python calls on each, which such a client feels on every
        request. So: open the connection with the stream (connect with its
        timeout, ``TCP_NODELAY``, the same code as the asyncio twin), then
        take the socket for the hot path. ``examples/http``'s blocking
        connection is the worked example (a ``poll`` object registered once,
        a ``recv_into`` into its own buffer).

        **What you get**: the plain, connected socket, blocking with no
        timeout (``settimeout(None)``): set your own. Nothing has been read
        from it that a read of the stream had not taken: refused while the
        stream holds unread bytes.

        **What you give up**: the stream's timeouts, limits and error
        mapping, and its refusal of writes after one failed part way.

        **The stream after it** refuses every read and write with
        :class:`StreamClosedError` saying the socket was taken; ``closed`` is
        True. ``unread_bytes_waiting()``, ``peer_closed()`` and
        ``read_would_wait()`` still answer, about the socket, until
        ``close()``, which closes the socket.

        Refuses with :class:`StreamError`, taking nothing (the stream stays
        usable), over TLS (the socket carries records, not the data: keep
        the stream), when the stream holds unread bytes, when the peer
        closed its side or the connection failed, and when an earlier write
        failed part way. Raises :class:`StreamClosedError` after ``close()``.
        Blocking only: the asyncio stream hands over its transport instead.
        """
        if self._closed:
            raise StreamClosedError(self._closed_why)
        if self._write_broken:
            raise StreamError(f"take_socket: the stream can no longer write: {self._write_broken}")
        if isinstance(self._sock, _ssl.SSLSocket):
            raise StreamError("take_socket: a TLS stream's socket carries records, "
                              "not the data: keep reading through the stream")
        if self._buffered():
            raise StreamError("take_socket: the stream holds unread bytes; read them first")
        if self._reader._eof:
            raise StreamError("take_socket: the connection already ended (the peer closed "
                              "it or it failed); read what is left with the stream")
        self._sock.settimeout(None)
        self._reader.shut()
        self._closed = True
        self._transport_taken = True
        self._closed_why = "the stream handed its socket over (take_socket): use the socket"
        return self._sock

    def _close_taken(self) -> None:
        """close() after take_socket: close the socket the caller has."""
        if self._transport_taken:
            self._transport_taken = False
            self._closed_why = "the stream is closed"
            self._sock.close()

    def _close_transport(self) -> None:
        self._reader.shut()
        self._sock.close()

    def _abort(self) -> None:
        self._closed = True
        self._reader.shut()
        self._sock.close()


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


def _remaining(deadline: float | None, what: str, timeout: float | None) -> float | None:
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise timed_out(what, timeout)
    return left
