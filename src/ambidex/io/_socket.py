"""AsyncSocket: the socket methods, awaited, so raw-socket code ports line by line.

Code written against ``socket.socket`` (``sock.connect``, ``sock.recv(n)``,
``sock.sendall(data)``, ``sock.settimeout(t)``) becomes asyncio code by
changing the constructor and awaiting each call that would block::

    sock = socket.create_connection((host, port), timeout=5)      # before
    sock = await AsyncSocket.create_connection((host, port), timeout=5)  # after

    sock.sendall(b"PING\\r\\n")        ->  await sock.sendall(b"PING\\r\\n")
    data = sock.recv(4096)            ->  data = await sock.recv(4096)

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
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from ambidex.io._timeouts import run_with_timeout

__all__ = ["AsyncSocket"]

T = TypeVar("T")

_CLOSE_TIMEOUT = 5.0


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
    Only TCP (``SOCK_STREAM`` over IPv4 or IPv6) is supported.
    """

    def __init__(
        self,
        family: int = socket.AF_INET,
        type: int = socket.SOCK_STREAM,
        proto: int = 0,
    ) -> None:
        if type != socket.SOCK_STREAM:
            raise ValueError("AsyncSocket supports SOCK_STREAM (TCP) only")
        if family not in (socket.AF_INET, socket.AF_INET6):
            raise ValueError("AsyncSocket supports AF_INET and AF_INET6 only")
        self.family = family
        self.type = type
        self.proto = proto
        self._timeout: float | None = socket.getdefaulttimeout()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._closed = False

    @classmethod
    async def create_connection(
        cls,
        address: tuple[str, int],
        timeout: float | None = None,
        source_address: tuple[str, int] | None = None,
    ) -> AsyncSocket:
        """Connect to ``address`` and return the socket; ``timeout`` bounds the
        connect and becomes the socket's timeout (as in ``socket.create_connection``)."""
        sock = cls()
        sock.settimeout(timeout)
        await sock._connect(address, source_address)
        return sock

    async def connect(self, address: tuple[str, int]) -> None:
        """Connect to ``(host, port)``, within the socket's timeout.

        A timeout or cancellation leaves the socket unconnected (nothing half
        open); it may be connected again.
        """
        await self._connect(address, None)

    async def recv(self, bufsize: int) -> bytes:
        """Up to ``bufsize`` bytes; ``b""`` at end of file. Cancelled, it takes none."""
        reader, _ = self._connected()
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        if bufsize == 0:
            return b""
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

    async def send(self, data: bytes | bytearray | memoryview) -> int:
        """Send ``data``; returns how much was taken, which is all of it."""
        await self.sendall(data)
        return memoryview(data).nbytes

    async def sendall(self, data: bytes | bytearray | memoryview) -> None:
        """Send all of ``data``, waiting while the peer is slow to take it."""
        _, writer = self._connected()
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
        connection is aborted (at once if the close is cancelled)."""
        if self._closed:
            return
        self._closed = True
        writer = self._writer
        if writer is None:
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

    def getpeername(self) -> Any:
        return self._socket().getpeername()

    def getsockname(self) -> Any:
        return self._socket().getsockname()

    def fileno(self) -> int:
        """The file descriptor, or -1 when closed or unconnected (as a socket)."""
        if self._closed or self._writer is None:
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
        self, address: tuple[str, int], source_address: tuple[str, int] | None
    ) -> None:
        if self._closed:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        if self._writer is not None:
            raise OSError(errno.EISCONN, os.strerror(errno.EISCONN))
        host, port = address[0], address[1]
        self._reader, self._writer = await self._timed(
            asyncio.open_connection(host, port, family=self.family, local_addr=source_address),
            "connect",
        )

    def _connected(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._closed:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        if self._reader is None or self._writer is None:
            raise OSError(errno.ENOTCONN, os.strerror(errno.ENOTCONN))
        return self._reader, self._writer

    def _socket(self) -> socket.socket:
        _, writer = self._connected()
        sock: socket.socket = writer.get_extra_info("socket")
        return sock

    async def _timed(self, coro: Coroutine[Any, Any, T], what: str) -> T:
        try:
            return await run_with_timeout(coro, self._timeout, what)
        except TimeoutError:
            if self._timeout == 0:
                raise BlockingIOError(
                    errno.EAGAIN, f"{what}: {os.strerror(errno.EAGAIN)}"
                ) from None
            raise
