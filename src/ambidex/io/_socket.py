"""AsyncSocket: the socket methods, awaited, so raw-socket code ports line by line.

Code written against ``socket.socket`` (``sock.connect``, ``sock.recv(n)``,
``sock.sendall(data)``, ``sock.settimeout(t)``) becomes asyncio code by
changing the constructor and awaiting each call that would block::

    sock = socket.create_connection((host, port), timeout=5)      # before
    sock = await AsyncSocket.create_connection((host, port), timeout=5)  # after

    sock.sendall(b"PING\\r\\n")        ->  await sock.sendall(b"PING\\r\\n")
    data = sock.recv(4096)            ->  data = await sock.recv(4096)

The twin's surface is the socket's: what blocks is a coroutine (``connect``,
``recv``, ``recv_into``, ``send``, ``sendall``, ``close``), what does not stays
plain (``settimeout``, ``setsockopt``, ``getsockopt``, ``getpeername``,
``getsockname``, ``shutdown``, ``fileno``, ``bind``, ``setblocking``, the
``family``/``type``/``proto`` attributes). ``makefile`` returns a file whose
reads are awaited (:mod:`ambidex.io._socketfile`), and
``ssl_context.wrap_socket(sock, server_hostname=h)`` has an awaited twin,
:func:`wrap_socket` (``await wrap_socket(ssl_context, sock, server_hostname=h)``),
which upgrades the connection in place; ``await sock.unwrap()`` runs TLS's
closing handshake and goes on in clear text on the same connection (ftplib's
``FTP_TLS.ccc()``), and :func:`~ambidex.io.speaks_tls` answers what
``isinstance(sock, ssl.SSLSocket)`` asks of a blocking one. ``AF_UNIX``
stream sockets work too.

The generator's rule table maps exactly these names, so ``ambidex port`` does
this rewrite for you. For new code prefer :class:`~ambidex.io.AsyncStream`:
it has ``read_exactly`` and ``read_until``, which raw socket code keeps
reimplementing with loops over ``recv``.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl as _ssl
import sys
import weakref
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Literal, TypeVar, cast, overload

from ambidex.io._socketfile import AsyncSocketIO, AsyncTextSocketIO
from ambidex.io._timeouts import run_with_timeout

__all__ = ["AsyncSocket", "wrap_socket"]

#: The families a stream socket may have here: TCP over IPv4/IPv6, and Unix
#: domain sockets where the platform has them.
_FAMILIES = (
    socket.AF_INET,
    socket.AF_INET6,
    *((socket.AF_UNIX,) if hasattr(socket, "AF_UNIX") else ()),
)

T = TypeVar("T")

_CLOSE_TIMEOUT = 5.0

_DEFAULT_TIMEOUT: object = getattr(socket, "_GLOBAL_DEFAULT_TIMEOUT", object())
"""socket.create_connection's default timeout: the socket's default one."""


class AsyncSocket:
    """A TCP client socket whose blocking methods are coroutines.

    It behaves like the socket it replaces, including where sockets are
    surprising:

    * ``recv`` returns ``b""`` at end of file, and keeps returning it;
    * ``settimeout(t)`` bounds each call: expiry raises the builtin
      :class:`TimeoutError` (``socket.timeout`` is the same class); with
      ``settimeout(0.0)`` a call that would have to wait raises
      :class:`BlockingIOError` instead, as a non-blocking socket does;
    * using it after ``close()`` raises ``OSError(EBADF)``, and before
      ``connect`` ``OSError(ENOTCONN)``;
    * ``create_connection(..., timeout=t)`` also sets ``t`` as the socket's
      timeout, as :func:`socket.create_connection` does.

    Where it differs: ``send`` sends everything (it returns ``len(data)``),
    since an asyncio transport takes the whole buffer; after a ``sendall``
    that timed out or was cancelled, the unsent rest is still queued and
    still goes out (a socket would leave an unknown prefix sent). A
    cancelled ``recv`` takes no data. ``close()`` lets queued data go out for
    at most a few seconds, then aborts, so a dead peer cannot make it hang.
    Stream sockets only (``SOCK_STREAM``): TCP over IPv4 or IPv6, and
    ``AF_UNIX`` (``connect`` takes a path). Options set before ``connect``
    (``setsockopt``, ``bind``) are set on the socket that connects; a connect
    that fails, times out or is cancelled leaves a fresh unconnected socket
    with the same options, ready to connect again.

    ``close()`` with files from ``makefile`` still open closes the socket
    (its own methods raise ``EBADF``) but keeps the connection until the last
    file is closed, as a socket does: http.client hands the connection to the
    response that way.
    """

    def __init__(
        self,
        family: int = socket.AF_INET,
        type: int = socket.SOCK_STREAM,
        proto: int = 0,
    ) -> None:
        if type != socket.SOCK_STREAM:
            raise ValueError("AsyncSocket supports SOCK_STREAM (TCP and Unix stream) only")
        if family not in _FAMILIES:
            raise ValueError("AsyncSocket supports AF_INET, AF_INET6 and AF_UNIX only")
        self.family = socket.AddressFamily(family)
        self.type = socket.SocketKind(type)
        self.proto = proto
        self._timeout: float | None = socket.getdefaulttimeout()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._closed = False
        self._raw: socket.socket | None = None
        """The unconnected socket, made on first need (an option, ``bind``,
        ``fileno``, ``connect``); asyncio takes it over once connected."""
        self._setup: list[tuple[str, tuple[Any, ...]]] = []
        """``setsockopt``/``bind`` calls made before connecting, to replay on
        the fresh socket a failed connect leaves."""
        self._io_refs = 0
        self._files: weakref.WeakSet[AsyncSocketIO] = weakref.WeakSet()
        """Files from ``makefile`` not closed yet: they keep the connection."""
        self._tls: _TLSLayer | None = None
        """The TLS session between ``start_tls`` and ``unwrap``, run here over
        the plain stream (an ``ssl.SSLObject`` on memory buffers, as asyncio's
        own TLS is) so that ``unwrap`` can hand the connection back in clear."""
        self._clear = b""
        """Clear bytes that arrived right behind the peer's TLS close: ``unwrap``
        found them, the next read returns them first."""
        self._tls_on_connect: tuple[_ssl.SSLContext, str | None] | None = None
        """:func:`wrap_socket` of the unconnected socket: the handshake ``connect``
        does once connected, as an ``ssl.SSLSocket``'s ``connect`` does."""

    @classmethod
    async def create_connection(
        cls,
        address: tuple[str | None, bytes | str | int | None],
        timeout: float | object | None = _DEFAULT_TIMEOUT,
        source_address: tuple[Any, ...] | str | bytes | bytearray | None = None,
        *,
        all_errors: bool = False,
    ) -> AsyncSocket:
        """Connect to ``address`` and return the socket, as
        :func:`socket.create_connection` does, with its parameters: the host may
        be ``None`` (the loopback), the port a service name; each address the
        name resolves to is tried in turn, bound to ``source_address`` first
        when given (``("", 0)``, a bytes host); ``timeout`` bounds the connect
        and becomes the socket's timeout (left out: the default timeout).
        When every address fails the last error is raised, or with
        ``all_errors=True`` (Python 3.11+) an ``ExceptionGroup`` of them all."""
        if all_errors and sys.version_info < (3, 11):
            raise TypeError(
                "create_connection(all_errors=True) needs Python 3.11 (ExceptionGroup), as "
                "socket.create_connection's all_errors does"
            )
        sock = cls()
        # The stdlib's clients pass socket._GLOBAL_DEFAULT_TIMEOUT through: "the
        # default", as socket.create_connection reads it.
        if timeout is _DEFAULT_TIMEOUT:
            sock.settimeout(socket.getdefaulttimeout())
        else:
            sock.settimeout(cast("float | None", timeout))
        await sock._connect(address, source_address, all_errors)
        return sock

    async def connect(self, address: Any) -> None:
        """Connect to ``(host, port)`` (a path for ``AF_UNIX``), within the
        socket's timeout.

        A failure, timeout or cancellation leaves the socket unconnected
        (nothing half open); it may be connected again. A socket given to
        :func:`wrap_socket` before it connected does the TLS handshake here,
        once connected; a failed one closes it.
        """
        self._check_unconnected()
        raw = self._raw_socket()
        loop = asyncio.get_running_loop()
        try:
            await self._timed(loop.sock_connect(raw, address), "connect")
            if self.family == getattr(socket, "AF_UNIX", None):
                streams = await asyncio.open_unix_connection(sock=raw)
            else:
                streams = await asyncio.open_connection(sock=raw)
        except BaseException:
            self._raw = None
            raw.close()
            raise
        self._raw = None
        self._reader, self._writer = streams
        if self._tls_on_connect is not None:
            context, server_hostname = self._tls_on_connect
            self._tls_on_connect = None
            # A failed, timed-out or cancelled handshake closes the socket.
            await self.start_tls(context, server_hostname=server_hostname)

    async def start_tls(
        self, ssl_context: _ssl.SSLContext, *, server_hostname: str | None = None
    ) -> AsyncSocket:
        """Upgrade the connection to TLS in place and return this socket.

        The twin of ``ssl_context.wrap_socket(sock, server_hostname=...)``
        for a connected client socket (see :func:`wrap_socket`). Files made
        with ``makefile`` before the upgrade stop working, as they do on the
        socket ``wrap_socket`` detaches (smtplib drops its file and makes a new
        one after STARTTLS). Refuses (``ValueError``) if such a file holds
        unread bytes: they arrived before the handshake, and reading them as
        if they came over TLS is the classic STARTTLS injection hole.
        A failed, timed-out or cancelled handshake closes the socket.
        """
        _, writer = self._connected()
        files = [f for f in self._files if not f.closed]
        if any(f._has_unread() for f in files):
            raise ValueError(
                "start_tls: a file made with makefile() holds bytes that arrived before "
                "the handshake; refusing to mix them with the encrypted stream"
            )
        if self._tls is not None:
            raise ValueError("start_tls: the socket already speaks TLS")
        if self._clear:
            raise ValueError(
                "start_tls: bytes that arrived in clear text are unread; refusing to mix "
                "them with the encrypted stream"
            )
        for f in files:
            f.close()
        layer = _TLSLayer(ssl_context, server_hostname)
        try:
            await self._timed(layer.handshake(*self._connected()), "start_tls")
        except BaseException:
            self._closed = True
            writer.transport.abort()
            raise
        self._tls = layer
        return self

    async def unwrap(self) -> AsyncSocket:
        """End TLS (its closing handshake: our close notice, then the peer's)
        and return this socket, which goes on in clear text over the same
        connection: the twin of ``SSLSocket.unwrap()``, which returns the
        plain socket under it. ``ValueError`` when it does not speak TLS, as
        a socket has no ``unwrap``. A closing handshake that fails, times out
        or is cancelled closes the socket (what was half shut cannot be read
        in either way)."""
        reader, writer = self._connected()
        layer = self._tls
        if layer is None:
            raise ValueError(f"No SSL wrapper around {self!r}")
        try:
            self._clear = await self._timed(layer.close(reader, writer), "unwrap")
        except BaseException:
            self._closed = True
            writer.transport.abort()
            raise
        self._tls = None
        return self

    @overload
    def makefile(
        self,
        mode: Literal["rb", "wb", "rwb", "wrb", "br", "bw"],
        buffering: int | None = None,
        *,
        encoding: None = None,
        errors: None = None,
        newline: None = None,
    ) -> AsyncSocketIO: ...

    @overload
    def makefile(
        self,
        mode: Literal["r", "w", "rw", "wr"] = "r",
        buffering: int | None = None,
        *,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> AsyncTextSocketIO: ...

    def makefile(
        self,
        mode: str = "r",
        buffering: int | None = None,
        *,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> AsyncSocketIO | AsyncTextSocketIO:
        """A file over the socket whose reads and writes are awaited, as
        ``socket.makefile`` takes its arguments (``buffering`` is accepted and
        ignored: reads are always buffered, writes never held back). Binary
        with ``"b"`` in ``mode``; text otherwise. Making it does no I/O."""
        if not set(mode) <= {"r", "w", "b"} or not set(mode) & {"r", "w"}:
            raise ValueError(f"invalid mode {mode!r} (only r, w, b allowed)")
        binary = "b" in mode
        if binary and (encoding is not None or errors is not None or newline is not None):
            raise ValueError("binary mode doesn't take an encoding, errors or newline argument")
        if self._closed:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        raw = AsyncSocketIO(self, mode.replace("b", "") + "b")
        self._io_refs += 1
        self._files.add(raw)
        if binary:
            return raw
        return AsyncTextSocketIO(raw, encoding, errors, newline)

    async def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Up to ``bufsize`` bytes; ``b""`` at end of file. Cancelled, it takes none.
        ``flags`` (``MSG_PEEK``, ``MSG_OOB``...) have no stream twin: only 0."""
        _no_flags(flags, "recv")
        return await self._recv(bufsize)

    async def _recv(self, bufsize: int, *, files: bool = False) -> bytes:
        reader, writer = self._connected(files=files)
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        if bufsize == 0:
            return b""
        if self._tls is not None:
            return await self._timed(self._tls.read(reader, writer, bufsize), "recv")
        if self._clear:
            data, self._clear = self._clear[:bufsize], self._clear[bufsize:]
            return data
        return await self._timed(reader.read(bufsize), "recv")

    async def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        """Receive into ``buffer`` (up to ``nbytes``, or its size); return the count."""
        view = memoryview(buffer).cast("B")
        if nbytes < 0:
            raise ValueError("negative buffersize in recv_into")
        if nbytes > len(view):
            raise ValueError("buffer too small for requested bytes")
        data = await self.recv(nbytes or len(view))
        view[: len(data)] = data
        return len(data)

    async def send(self, data: bytes | bytearray | memoryview, flags: int = 0) -> int:
        """Send ``data``; returns how much was taken, which is all of it."""
        await self.sendall(data, flags)
        return memoryview(data).nbytes

    async def sendall(self, data: bytes | bytearray | memoryview, flags: int = 0) -> None:
        """Send all of ``data``, waiting while the peer is slow to take it.
        ``flags`` (``MSG_OOB``...) have no stream twin: only 0."""
        _no_flags(flags, "sendall")
        await self._sendall(data)

    async def _sendall(self, data: bytes | bytearray | memoryview, *, files: bool = False) -> None:
        _, writer = self._connected(files=files)
        if self._tls is not None:
            data = self._tls.encrypt(data)
        writer.write(data)
        await self._timed(writer.drain(), "sendall")

    def shutdown(self, how: int) -> None:
        """``SHUT_WR`` (or ``SHUT_RDWR``) sends end of file; reading still works
        after ``SHUT_WR``. ``SHUT_RD`` only stops this side reading."""
        reader, writer = self._connected()
        if how in (socket.SHUT_WR, socket.SHUT_RDWR) and writer.can_write_eof():
            writer.write_eof()
        if how in (socket.SHUT_RD, socket.SHUT_RDWR):
            reader.feed_eof()

    async def close(self) -> None:
        """Close; idempotent. Queued data gets a few seconds, then the
        connection is aborted (at once if the close is cancelled). With files
        from ``makefile`` still open, the connection waits for the last of
        them to close (as a socket's does)."""
        if self._closed:
            return
        self._closed = True
        if self._raw is not None:
            self._raw.close()
            self._raw = None
        writer = self._writer
        if writer is None or self._io_refs:
            return
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), _CLOSE_TIMEOUT)
        except (asyncio.TimeoutError, OSError):
            writer.transport.abort()
        except BaseException:
            writer.transport.abort()
            raise

    def settimeout(self, timeout: float | None) -> None:
        """Seconds each later call may take; None: no limit; 0.0: never wait."""
        if timeout is not None:
            timeout = float(timeout)
            if timeout < 0:
                raise ValueError("Timeout value out of range")
        self._timeout = timeout

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        """``setblocking(False)`` is ``settimeout(0.0)``, ``True`` is ``settimeout(None)``."""
        self.settimeout(None if flag else 0.0)

    def getblocking(self) -> bool:
        return self._timeout != 0.0

    def setsockopt(self, level: int, optname: int, value: Any, optlen: int | None = None) -> None:
        """As ``socket.setsockopt``; before ``connect`` it applies to the socket
        that will connect."""
        args = (level, optname, value) if optlen is None else (level, optname, value, optlen)
        if self._writer is None and not self._closed:
            self._setup.append(("setsockopt", args))
        self._socket().setsockopt(*args)

    def getsockopt(self, level: int, optname: int, buflen: int | None = None) -> Any:
        if buflen is None:
            return self._socket().getsockopt(level, optname)
        return self._socket().getsockopt(level, optname, buflen)

    def bind(self, address: Any) -> None:
        """Bind the local end before ``connect`` (a source address)."""
        self._check_unconnected()
        self._setup.append(("bind", (address,)))
        self._raw_socket().bind(address)

    def getpeername(self) -> Any:
        return self._socket().getpeername()

    def getsockname(self) -> Any:
        return self._socket().getsockname()

    def fileno(self) -> int:
        """The file descriptor, or -1 once closed (as a socket)."""
        if self._closed and not self._io_refs:
            return -1
        return self._socket().fileno()

    async def __aenter__(self) -> AsyncSocket:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "connected" if self._writer else "unconnected"
        return f"<AsyncSocket {state} timeout={self._timeout}>"

    # --- internals -------------------------------------------------------------

    async def _connect(
        self,
        address: tuple[str | None, bytes | str | int | None],
        source_address: tuple[Any, ...] | str | bytes | bytearray | None,
        all_errors: bool,
    ) -> None:
        if self._closed:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        if self._writer is not None:
            raise OSError(errno.EISCONN, os.strerror(errno.EISCONN))
        self._reader, self._writer = await self._timed(
            _open_first(address, source_address, all_errors), "connect"
        )
        # Any family the name resolves to, as socket.create_connection tries them.
        self.family = socket.AddressFamily(self._socket().family)

    def _connected(
        self, *, files: bool = False
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The streams; ``files``: for a file from ``makefile``, which may
        outlive the socket's ``close()``."""
        if self._closed and not (files and self._io_refs):
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        if self._reader is None or self._writer is None:
            raise OSError(errno.ENOTCONN, os.strerror(errno.ENOTCONN))
        return self._reader, self._writer

    def _check_unconnected(self) -> None:
        if self._closed:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        if self._writer is not None:
            raise OSError(errno.EISCONN, os.strerror(errno.EISCONN))

    def _raw_socket(self) -> socket.socket:
        """The socket that will connect, made (and its setup replayed) on first need."""
        if self._raw is None:
            raw = socket.socket(self.family, self.type, self.proto)
            try:
                raw.setblocking(False)
                for method, args in self._setup:
                    getattr(raw, method)(*args)
            except BaseException:
                raw.close()
                raise
            self._raw = raw
        return self._raw

    def _socket(self) -> socket.socket:
        """The OS socket: the connected one, else the one that will connect."""
        if self._writer is None:
            if self._closed:
                raise OSError(errno.EBADF, os.strerror(errno.EBADF))
            return self._raw_socket()
        _, writer = self._connected(files=True)
        sock: socket.socket = writer.get_extra_info("socket")
        return sock

    def _file_closed(self) -> None:
        """A file from ``makefile`` closed; the last one closes a closed socket's
        connection (without waiting: ``close()`` itself was awaited already)."""
        self._io_refs -= 1
        if self._closed and not self._io_refs and self._writer is not None:
            self._writer.close()

    async def _timed(self, coro: Coroutine[Any, Any, T], what: str) -> T:
        try:
            return await run_with_timeout(coro, self._timeout, what)
        except TimeoutError:
            if self._timeout == 0:
                raise BlockingIOError(
                    errno.EAGAIN, f"{what}: {os.strerror(errno.EAGAIN)}"
                ) from None
            raise


_TLS_READ = 65536
"""How many encrypted bytes one read of the connection asks for."""


class _TLSLayer:
    """TLS over an ``AsyncSocket``'s plain streams: an ``ssl.SSLObject`` whose
    encrypted side is two memory buffers that the methods below fill from the
    reader and empty into the writer. Nothing here is cancelled half way: the
    only waits are whole reads of the connection (a cancelled one takes no
    bytes) and drains of what was already encrypted."""

    def __init__(self, context: _ssl.SSLContext, server_hostname: str | None) -> None:
        self.incoming = _ssl.MemoryBIO()
        self.outgoing = _ssl.MemoryBIO()
        self.session = context.wrap_bio(
            self.incoming, self.outgoing, server_side=False, server_hostname=server_hostname
        )

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Send what the session has to say, then feed it the next encrypted bytes
        (end of file, when the peer hung up)."""
        if self.outgoing.pending:
            writer.write(self.outgoing.read())
            await writer.drain()
        if self.incoming.eof:  # the session wants more, and there is none
            raise _ssl.SSLEOFError("EOF occurred in violation of protocol")
        data = await reader.read(_TLS_READ)
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()

    async def handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            try:
                self.session.do_handshake()
                break
            except _ssl.SSLWantReadError:
                await self._pump(reader, writer)
        writer.write(self.outgoing.read())
        await writer.drain()

    async def read(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, size: int
    ) -> bytes:
        """Up to ``size`` decrypted bytes; ``b""`` once the peer closed TLS or the
        connection (a close without TLS's notice reads as end of file too, as
        ``suppress_ragged_eofs`` makes a socket do)."""
        while True:
            try:
                return self.session.read(size)
            except _ssl.SSLWantReadError:
                await self._pump(reader, writer)
            except (_ssl.SSLZeroReturnError, _ssl.SSLEOFError):
                return b""

    def encrypt(self, data: bytes | bytearray | memoryview) -> bytes:
        view = memoryview(data).cast("B")
        while view:
            view = view[self.session.write(view):]
        return self.outgoing.read()

    async def close(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        """The closing handshake; returns the clear bytes that came behind the
        peer's close notice."""
        while True:
            try:
                self.session.unwrap()
                break
            except _ssl.SSLWantReadError:
                await self._pump(reader, writer)
        writer.write(self.outgoing.read())
        await writer.drain()
        return self.incoming.read()


async def _open_first(
    address: tuple[str | None, bytes | str | int | None],
    source_address: tuple[Any, ...] | str | bytes | bytearray | None,
    all_errors: bool,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """socket.create_connection's walk: each address the name resolves to, in
    turn, on a socket bound to ``source_address`` first (by ``bind``, which
    reads ``("", 0)`` and bytes hosts as the stdlib does: asyncio's
    ``local_addr`` resolves the host and fails on ``""``); the first that
    connects is the stream. A failure, timeout or cancellation closes every
    socket made on the way."""
    host, port = address
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    errors: list[OSError] = []
    for family, type_, proto, _, sockaddr in infos:
        raw = socket.socket(family, type_, proto)
        try:
            raw.setblocking(False)
            if source_address is not None:
                raw.bind(source_address)
            await loop.sock_connect(raw, sockaddr)
            return await asyncio.open_connection(sock=raw)
        except OSError as exc:
            raw.close()
            if not all_errors:
                errors.clear()  # only the last error is raised
            errors.append(exc)
        except BaseException:
            raw.close()
            raise
    if not errors:
        raise OSError("getaddrinfo returns an empty list")
    if all_errors and sys.version_info >= (3, 11):
        raise ExceptionGroup("create_connection failed", errors)  # noqa: F821 (3.11+)
    raise errors[0]


def _no_flags(flags: int, what: str) -> None:
    if flags:
        # An asyncio stream has no out-of-band data and no peeking: say so, at the
        # call, rather than send the byte in-band (ftplib's abort() sends MSG_OOB).
        raise OSError(errno.EOPNOTSUPP, f"{what}: flags {flags:#x} are not supported here")


async def wrap_socket(
    ssl_context: _ssl.SSLContext,
    sock: AsyncSocket,
    server_side: bool = False,
    do_handshake_on_connect: bool = True,
    suppress_ragged_eofs: bool = True,
    server_hostname: str | None = None,
    session: _ssl.SSLSession | None = None,
) -> AsyncSocket:
    """The awaited twin of ``ssl_context.wrap_socket(sock, server_hostname=h)``.

    The port writes ``sock = await wrap_socket(ssl_context, sock,
    server_hostname=h)``: the context moves into the first argument, the
    other arguments keep their names and order. The connection is upgraded
    in place (see :meth:`AsyncSocket.start_tls`) and the same socket is
    returned, now speaking TLS. A socket not connected yet is returned as it
    is, and its ``connect`` does the handshake once connected, as an
    ``ssl.SSLSocket``'s does. Only the client side, with the handshake done
    at once, has a twin: other arguments raise ``ValueError`` rather than do
    something else quietly.
    """
    if server_side:
        raise ValueError("wrap_socket: AsyncSocket is a client socket (server_side=True)")
    if not do_handshake_on_connect:
        raise ValueError("wrap_socket: the handshake is done at once (do_handshake_on_connect)")
    if session is not None:
        raise ValueError("wrap_socket: TLS session reuse is not supported (session=...)")
    del suppress_ragged_eofs  # asyncio's TLS treats a ragged EOF as end of file
    if sock._writer is None and not sock._closed:
        # Not connected yet (pymemcache wraps, then connects): as with an
        # ssl.SSLSocket, the handshake comes with connect().
        if sock._tls_on_connect is not None:
            raise ValueError("wrap_socket: the socket is wrapped already")
        sock._tls_on_connect = (ssl_context, server_hostname)
        return sock
    return await sock.start_tls(ssl_context, server_hostname=server_hostname)
