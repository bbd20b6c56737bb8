"""What ``AsyncSocket.makefile`` returns: a file over the socket, awaited.

Blocking clients rarely call ``recv`` themselves. smtplib, ftplib, poplib,
imaplib and http.client all wrap the socket once::

    self.file = self.sock.makefile("rb")          # or "r" with an encoding (ftplib)
    line = self.file.readline(_MAXLINE + 1)

and read lines and exact byte counts from the file. The ported code keeps
that shape, with each read awaited::

    self.file = self.sock.makefile("rb")          # not awaited: nothing is read yet
    line = await self.file.readline(_MAXLINE + 1)

:class:`AsyncSocketIO` is the binary file (``"rb"``, ``"wb"``, ``"rwb"``) and
:class:`AsyncTextSocketIO` the text one (``"r"``, ``"w"``, ``"rw"``, with
``encoding``, ``errors`` and ``newline`` as :class:`io.TextIOWrapper` takes
them). Reads behave as a buffered file's do: ``read(n)`` and ``readinto(b)``
wait until they have ``n`` bytes (or end of file), ``readline`` until a line
ending (or ``size``), ``read()`` until end of file. Each wait on the socket
is bounded by the socket's timeout, as a blocking file's reads are.

Writes go straight to the socket (``await f.write(data)`` is
``await sock.sendall(data)``), so ``flush`` has nothing to push and stays a
plain method (``io.IOBase.close`` calls ``flush`` itself, without awaiting).

``close()`` is plain, as it is on a socket's file: it drops this file's
buffer and, as with ``socket.makefile``, the connection stays open until the
socket *and* every file made from it are closed.
"""

from __future__ import annotations

import codecs
import io
import locale
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, AnyStr, Generic, TypeVar

if TYPE_CHECKING:
    from ambidex.io._socket import AsyncSocket

__all__ = ["AsyncSocketIO", "AsyncTextSocketIO"]

_CHUNK = 64 * 1024


_File = TypeVar("_File", bound="_Lines[Any]")


class _Lines(Generic[AnyStr]):
    """What the binary and the text file share, given ``readline`` and ``close``:
    ``readlines``, ``async for line in f`` and ``async with f`` (which closes the
    file, not the socket)."""

    async def readline(self, size: int | None = -1) -> AnyStr:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    async def readlines(self, hint: int = -1) -> list[AnyStr]:
        lines: list[AnyStr] = []
        total = 0
        while line := await self.readline():
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    async def __aenter__(self: _File) -> _File:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def __aiter__(self: _File) -> _File:
        return self

    async def __anext__(self) -> AnyStr:
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line


class AsyncSocketIO(_Lines[bytes]):
    """A binary file over an :class:`~ambidex.io.AsyncSocket`; reads are awaited."""

    def __init__(self, sock: AsyncSocket, mode: str) -> None:
        self._sock = sock
        self.mode = mode
        self._reading = "r" in mode
        self._writing = "w" in mode
        self._buffer = bytearray()
        self._searched = 0
        """How far ``readline`` already looked for b"\\n" in the buffer (no
        quadratic rescans when a long line arrives in small pieces)."""
        self._eof = False
        self._closed = False
        self._decoded: Callable[[], str] | None = None
        """The text file over this one, if any: its decoded, unread text."""

    def _has_unread(self) -> bool:
        """Bytes (or decoded text) received and not read yet."""
        return bool(self._buffer) or (self._decoded is not None and bool(self._decoded()))

    # --- the file's face ------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def readable(self) -> bool:
        return self._reading

    def writable(self) -> bool:
        return self._writing

    def seekable(self) -> bool:
        return False

    def fileno(self) -> int:
        self._check(None)
        return self._sock.fileno()

    def close(self) -> None:
        """Close this file (idempotent). The connection closes once the socket
        is closed too, as with ``socket.makefile``."""
        if self._closed:
            return
        self._closed = True
        self._buffer.clear()
        self._sock._file_closed()

    # --- reading --------------------------------------------------------------------
    async def read(self, size: int | None = -1) -> bytes:
        """``size`` bytes, fewer only at end of file; all of it to end of file
        when ``size`` is negative or None."""
        self._check("r")
        if size is None or size < 0:
            while await self._fill():
                pass
            return self._take(len(self._buffer))
        while len(self._buffer) < size and await self._fill():
            pass
        return self._take(min(size, len(self._buffer)))

    async def read1(self, size: int = -1) -> bytes:
        """What is buffered, or one receive's worth: at most one wait."""
        self._check("r")
        if not self._buffer:
            await self._fill()
        return self._take(len(self._buffer) if size < 0 else min(size, len(self._buffer)))

    async def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` (fewer bytes only at end of file); return the count."""
        view = memoryview(buffer).cast("B")
        data = await self.read(len(view))
        view[: len(data)] = data
        return len(data)

    async def peek(self, size: int = 0) -> bytes:
        """The buffered bytes without consuming them; waits once if there are none."""
        self._check("r")
        if not self._buffer:
            await self._fill()
        return bytes(self._buffer)

    async def readline(self, size: int | None = -1) -> bytes:
        """Up to and including the next b"\\n", or ``size`` bytes, or to end of file."""
        self._check("r")
        limit = -1 if size is None else size
        while True:
            end = self._buffer.find(b"\n", self._searched)
            if end >= 0:
                count = end + 1
                break
            self._searched = len(self._buffer)
            if 0 <= limit <= len(self._buffer) or not await self._fill():
                count = len(self._buffer)
                break
        if 0 <= limit < count:
            count = limit
        return self._take(count)

    # --- writing --------------------------------------------------------------------
    async def write(self, data: bytes | bytearray | memoryview) -> int:
        """Send ``data`` (all of it); return its length."""
        self._check("w")
        await self._sock._sendall(data, files=True)
        return memoryview(data).nbytes

    async def writelines(self, lines: Any) -> None:
        for line in lines:
            await self.write(line)

    def flush(self) -> None:
        """Writes are not held back (each ``write`` is sent and awaited), so
        there is nothing to push: plain, as ``io.IOBase.close`` calls it."""
        if self._closed:
            raise ValueError("flush of closed file")

    # --- internals ------------------------------------------------------------------
    def _check(self, mode: str | None) -> None:
        if self._closed:
            raise ValueError("I/O operation on closed file.")
        if mode == "r" and not self._reading:
            raise io.UnsupportedOperation("File not open for reading")
        if mode == "w" and not self._writing:
            raise io.UnsupportedOperation("File not open for writing")

    async def _fill(self) -> bool:
        """One receive into the buffer; False at end of file."""
        if self._eof:
            return False
        chunk = await self._sock._recv(_CHUNK, files=True)
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    def _take(self, count: int) -> bytes:
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        self._searched = 0
        return data

    def __repr__(self) -> str:
        return f"<AsyncSocketIO mode={self.mode!r} closed={self._closed}>"


class AsyncTextSocketIO(_Lines[str]):
    """A text file over an :class:`~ambidex.io.AsyncSocket`, as
    ``sock.makefile("r", encoding=...)`` gives; reads are awaited.

    ``newline`` means what it means to :class:`io.TextIOWrapper`: None (the
    default) ends lines at ``"\\n"``, ``"\\r\\n"`` or ``"\\r"`` and reads each as
    ``"\\n"``; ``""`` ends lines there too but keeps them as they came;
    ``"\\n"``, ``"\\r"`` or ``"\\r\\n"`` end lines only there. On writing, with
    ``newline`` ``"\\r"`` or ``"\\r\\n"``, each ``"\\n"`` is written as it.
    """

    def __init__(
        self,
        raw: AsyncSocketIO,
        encoding: str | None,
        errors: str | None,
        newline: str | None,
    ) -> None:
        if newline not in (None, "", "\n", "\r", "\r\n"):
            raise ValueError(f"illegal newline value: {newline!r}")
        if encoding is None or encoding == "locale":
            # What io.TextIOWrapper picks: UTF-8 in UTF-8 mode, else the locale's.
            encoding = "utf-8" if sys.flags.utf8_mode else locale.getpreferredencoding(False)
        self.buffer = raw
        self.encoding = encoding
        self.errors = errors or "strict"
        self.newlines = newline
        self._decoder = codecs.getincrementaldecoder(encoding)(self.errors)
        self._text = ""
        self._eof = False
        raw._decoded = lambda: self._text

    mode = property(lambda self: self.buffer.mode)
    closed = property(lambda self: self.buffer.closed)

    def readable(self) -> bool:
        return self.buffer.readable()

    def writable(self) -> bool:
        return self.buffer.writable()

    def fileno(self) -> int:
        return self.buffer.fileno()

    def close(self) -> None:
        self.buffer.close()

    async def readline(self, size: int | None = -1) -> str:
        """The next line with its ending (translated as ``newline`` says), or
        ``size`` characters, or what is left at end of file."""
        self.buffer._check("r")
        limit = -1 if size is None else size
        while True:
            end = self._line_end()
            if end is not None:
                break
            if 0 <= limit <= len(self._text) or not await self._more():
                end = len(self._text)
                break
        if 0 <= limit < end:
            end = limit
        return self._take(end)

    async def read(self, size: int | None = -1) -> str:
        self.buffer._check("r")
        if size is None or size < 0:
            while await self._more():
                pass
            return self._take(len(self._text))
        while len(self._text) < size and await self._more():
            pass
        return self._take(min(size, len(self._text)))

    async def write(self, text: str) -> int:
        """Send ``text`` encoded (all of it); return its length in characters."""
        written = text
        if self.newlines in ("\r", "\r\n"):
            written = text.replace("\n", self.newlines)
        await self.buffer.write(written.encode(self.encoding, self.errors))
        return len(text)

    def flush(self) -> None:
        self.buffer.flush()

    # --- internals ------------------------------------------------------------------
    def _line_end(self) -> int | None:
        """Where the first complete line of the decoded text ends, if any."""
        text = self._text
        if self.newlines in (None, ""):
            lf, cr = text.find("\n"), text.find("\r")
            if cr < 0 or 0 <= lf < cr:
                return lf + 1 if lf >= 0 else None
            if cr + 1 < len(text):
                return cr + 2 if text[cr + 1] == "\n" else cr + 1
            # A "\r" last: it ends the line only if no "\n" follows.
            return cr + 1 if self._eof else None
        found = text.find(self.newlines)
        return found + len(self.newlines) if found >= 0 else None

    async def _more(self) -> bool:
        if self._eof:
            return False
        chunk = await self.buffer.read1(_CHUNK)
        final = not chunk
        self._text += self._decoder.decode(chunk, final)
        if final:
            self._eof = True
        return True

    def _take(self, count: int) -> str:
        text, self._text = self._text[:count], self._text[count:]
        if self.newlines is None:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text

    def __repr__(self) -> str:
        return f"<AsyncTextSocketIO mode={self.mode!r} encoding={self.encoding!r}>"
