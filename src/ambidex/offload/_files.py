"""Files on the thread pool: what the rule table's ``fix`` for ``open`` points to.

Operating systems offer no portable non-blocking file I/O that asyncio could
wait on, so "async files" everywhere (aiofiles, trio's, anyio's) are what
this is: each call hops to a worker thread. That is honest about cost too:
one hop per call, so read in large pieces (``await f.read()``,
``readlines(hint)``) rather than a byte at a time when speed matters.

Two exceptions make the common cases cheap. **Reads from the page cache
take no hop**: on Linux, ``await f.read(n)`` on a regular file opened in
``"rb"`` reads with ``os.preadv(..., RWF_NOWAIT)`` on the loop itself, a
flag that makes the kernel copy what its page cache holds and answer
``EAGAIN`` rather than wait for the disk; only what is not cached (and every
other call) goes to the thread. A thread hop costs two cross-thread
wake-ups, tens of microseconds each on a busy machine; copying 64 KiB from
the page cache costs a few. And ``async for line in f`` is made cheap: it reads lines in
batches (64 KiB, growing to 512 KiB) and hands them out one by one without
further hops, and it reads the next batch while the current one is handed
out, so the thread hop's latency hides behind the caller's own work. That
brings it within a few times the speed of a plain ``for line in f`` (one hop
per line, as aiofiles and anyio do it, is over a hundred times slower). Any
other call made in the middle of such a loop first puts the file position
back where the lines handed out so far end, so reads, ``tell`` and ``seek``
see the file as if it had been read line by line.
"""

from __future__ import annotations

import asyncio
import functools
import io
import os
import stat
import sys
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
)
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, AnyStr, Generic, TypeVar, cast, overload

from ambidex.offload._threads import ThreadPool, default_thread_pool

if TYPE_CHECKING:
    from _typeshed import OpenBinaryMode, OpenTextMode

    from ambidex.io._speedups import Lines

StrPath = str | os.PathLike[str]
_T = TypeVar("_T")

# ``async for`` reads about this many bytes (or characters) of lines in its
# first hop, and twice as many in each next one, up to the maximum.
_FIRST_BATCH = 64 * 1024
_MAX_BATCH = 512 * 1024
# Text batches are read in blocks of this many characters (see _text_lines).
_TEXT_BLOCK = 32 * 1024
# Reads of up to this many bytes may be served from the page cache on the loop.
_DIRECT_MAX = 1 << 20
_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)


class AsyncFile(Generic[AnyStr]):
    """A file whose every method runs on a bounded thread pool.

    ``bytes`` in binary modes and ``str`` in text modes, as the file gives.
    Iterating (``async for line in f``) reads about 64 KiB of lines per hop
    when the file is seekable (a regular file), a line per hop otherwise (a
    pipe, a terminal); any other call in the middle of the loop first puts
    the position back after the last line handed out.

    **Cancellation.** Cancelling an ``await f.read()`` raises
    :class:`asyncio.CancelledError` at once, but the read itself runs to its
    end in its thread (it cannot be stopped): the file position has moved
    past data you will not see. A cancelled ``write`` may have written.
    After cancelling, treat the position as unknown (``seek`` to be sure) or
    close the file. ``close()`` is idempotent.

    **Reads from the page cache.** In ``"rb"`` mode on a regular file (Linux,
    ``os.RWF_NOWAIT``), ``read(n)`` for ``0 < n <= 1 MiB`` first copies what
    the page cache holds, on the loop, without a hop and without waiting for
    the disk; the rest comes from the thread as usual. The position moves as
    for any read (``wrapped.tell()`` agrees; the file's read buffer is
    dropped). While another call of this file is on a thread, and for good
    once one was cancelled, reads take the thread.
    """

    def __init__(
        self,
        file: IO[AnyStr],
        pool: ThreadPool,
        *,
        newline: str | bool | None = False,
        direct: bool = False,
        compiled: Any = None,
    ) -> None:
        self.wrapped: IO[AnyStr] = file
        """The underlying file object, for what this class does not forward."""
        self._pool: ThreadPool = pool
        # The ``newline`` the file was opened with (text mode), which says
        # where its lines end; False when unknown (then text lines are read
        # with readline, still many per hop).
        self._newline: str | bool | None = newline
        # Lines ``async for`` read ahead and has not handed out yet, and what
        # it takes to put the position back before them (see _give_back).
        # With the C accelerator (``compiled``, which open_file looks up in its
        # thread: loading it reads a file; before 3.12, see _C_LINES) they are a
        # ``_speedups.Lines`` that ``async for`` holds and _set_ahead resets.
        self._compiled = compiled
        self._ahead_c: Lines | None = None if compiled is None else compiled.Lines()
        self._ahead: Iterator[AnyStr] = iter(()) if self._ahead_c is None else self._ahead_c
        self._batch_start: int = 0
        self._batch_size = 0
        # The next batch, being read while the current one is handed out.
        self._prefetch: asyncio.Future[_Batch[AnyStr]] | None = None
        self._batch_hint = _FIRST_BATCH
        self._seekable: bool | None = None
        # Reads may come from the page cache on the loop (see read()): a
        # binary, read-only regular file, and no call of ours on a thread.
        self._direct = direct and _NOWAIT is not None
        self._hops = 0

    @property
    def name(self) -> Any:
        return self.wrapped.name

    @property
    def mode(self) -> str:
        return str(self.wrapped.mode)

    @property
    def closed(self) -> bool:
        return bool(self.wrapped.closed)

    async def read(self, size: int = -1) -> AnyStr:
        """Up to ``size`` bytes or characters; everything left if ``size`` < 0;
        empty at end of file."""
        await self._give_back()
        if self._direct and 0 < size <= _DIRECT_MAX and not self._hops:
            return await self._read_cached(size)
        return await self._hop(self.wrapped.read, size)

    async def _read_cached(self, size: int) -> AnyStr:
        """``read(size)`` from the page cache, on the loop; what it does not
        hold, from the thread. The file object's position moves as if it had
        read (its buffer, if any, is dropped by the seek)."""
        f: Any = self.wrapped
        flags = _NOWAIT
        assert flags is not None
        start = f.tell()
        buffer = bytearray(size)
        got = 0
        at_end = False
        with memoryview(buffer) as view:
            while got < size:
                try:
                    # RWF_NOWAIT: EAGAIN instead of waiting for the disk.
                    n = os.preadv(f.fileno(), [view[got:]], start + got, flags)
                except BlockingIOError:
                    break  # not in the page cache: the thread reads the rest
                except OSError:
                    # This file system cannot (EOPNOTSUPP): the thread reads.
                    self._direct = False
                    break
                if not n:
                    at_end = True
                    break
                got += n
        f.seek(start + got)
        data = bytes(buffer) if got == size else bytes(buffer[:got])
        if got == size or at_end:
            return data  # type: ignore[return-value]
        rest: Any = await self._hop(self.wrapped.read, size - got)
        return data + rest  # type: ignore[no-any-return]

    async def _hop(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run one of the file's calls on the pool. While one is on a thread,
        reads stay off the loop (the file's position is the thread's); once
        one is cancelled, for good (its thread may still be moving it)."""
        self._hops += 1
        try:
            return await self._pool.run(fn, *args)
        except asyncio.CancelledError:
            self._direct = False
            raise
        finally:
            self._hops -= 1

    async def readline(self, size: int = -1) -> AnyStr:
        """One line, with its line ending; empty at end of file."""
        if size < 0:
            line = next(self._ahead, None)
            if line is not None:
                return line
        await self._give_back()
        return await self._hop(self.wrapped.readline, size)

    async def readlines(self, hint: int = -1) -> list[AnyStr]:
        """Lines until about ``hint`` bytes or characters (all if < 0), in one hop."""
        await self._give_back()
        return await self._hop(self.wrapped.readlines, hint)

    async def write(self, data: AnyStr) -> int:
        """Write ``data`` (all of it, buffered); returns its length."""
        await self._give_back()
        return await self._hop(self.wrapped.write, data)

    async def flush(self) -> None:
        await self._hop(self.wrapped.flush)

    async def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        await self._give_back()
        return await self._hop(self.wrapped.seek, offset, whence)

    async def tell(self) -> int:
        await self._give_back()
        return await self._hop(self.wrapped.tell)

    async def close(self) -> None:
        """Flush and close; idempotent."""
        self._set_ahead(())
        if self._prefetch is not None:
            # Let the read in flight end before the file closes under it.
            await asyncio.wait([self._prefetch])
            if not self._prefetch.cancelled():
                self._prefetch.exception()  # retrieved: closing, nobody wants it
            self._prefetch = None
        if not self.wrapped.closed:
            await self._hop(self.wrapped.close)

    def __aiter__(self) -> AsyncIterator[AnyStr]:
        if self._ahead_c is not None:
            # C (ambidex.io._speedups): a line already read costs no Python
            # frame; an empty batch goes to _next_line.
            return cast("AsyncIterator[AnyStr]", self._compiled.AsyncLines(self, self._ahead_c))
        if _LINES_BY_GENERATOR:
            return self._lines()
        return _LineIterator(self)

    async def _next_line(self) -> AnyStr:
        """The next line once the lines read ahead are out (the C iterator's slow step)."""
        while await self._refill():
            for line in self._ahead:
                return line
        raise StopAsyncIteration

    def _set_ahead(self, lines: Iterable[AnyStr]) -> None:
        """Hand these lines out next."""
        if self._ahead_c is not None:
            self._ahead_c.reset(lines)  # held by the C iterator: refilled, not replaced
        else:
            self._ahead = iter(lines)

    async def _lines(self) -> AsyncGenerator[AnyStr, None]:
        # Up to Python 3.11, an async generator is the cheapest way to hand
        # out lines already read: a C-level step per line (~0.07 us), where
        # an ``async def __anext__`` costs a coroutine per line (~0.1 us).
        # From 3.12 on it is the other way round (0.16 against 0.11 us):
        # see _LineIterator. Both hand lines out from the list iterator kept
        # on self, so that _give_back can take what is left of it (and count
        # it) without the loop counting lines one by one.
        while True:
            for line in self._ahead:
                yield line
            if not await self._refill():
                return

    async def _refill(self) -> bool:
        """Make the next batch of lines the one handed out; False at the end."""
        batch = await self._next_batch()
        if not batch.lines:
            return False
        self._set_ahead(batch.lines)
        self._batch_start = batch.start
        self._batch_size = batch.size
        if batch.seekable:
            # Read the next batch while this one is handed out. (Not on a
            # pipe or a terminal: reading ahead there may wait forever.)
            self._prefetch = self._read_ahead()
        return True

    def _read_ahead(self) -> asyncio.Future[_Batch[AnyStr]]:
        hint = self._batch_hint
        self._batch_hint = min(hint * 2, _MAX_BATCH)
        return asyncio.ensure_future(self._hop(self._read_batch, hint))

    async def _next_batch(self) -> _Batch[AnyStr]:
        if self._prefetch is None:
            self._prefetch = self._read_ahead()
        # Shielded: if the caller is cancelled, the batch stays in
        # self._prefetch for the next call instead of being lost.
        try:
            batch = await asyncio.shield(self._prefetch)
        except asyncio.CancelledError:
            if not self._prefetch.done():
                raise
            self._prefetch = None
            raise
        except BaseException:
            self._prefetch = None
            raise
        self._prefetch = None
        return batch

    def _read_batch(self, hint: int) -> _Batch[AnyStr]:
        """In the worker: the position before, and the next lines (about ``hint``)."""
        f = self.wrapped
        if self._seekable is None:
            self._seekable = f.seekable()
        if not self._seekable:
            line = f.readline()
            return _Batch(0, [line] if line else [], len(line), False)
        start = f.tell()
        if isinstance(f, io.TextIOBase):
            lines, size = _text_lines(f, hint, self._newline)
        else:
            lines = f.readlines(hint)
            size = f.tell() - start
        return _Batch(start, lines, size, True)

    async def _give_back(self) -> None:
        """Put the position back after the last line ``async for`` handed out."""
        rest = list(self._ahead)  # the lines read ahead, not handed out
        unread = sum(map(len, rest))
        start, consumed = self._batch_start, self._batch_size - unread
        if self._prefetch is not None:
            batch = await self._next_batch()
            if not rest:
                # Nothing of it was handed out: go back to where it began.
                start, consumed = batch.start, 0
            unread += batch.size
        if not unread:
            return
        await self._hop(self._reposition, start, consumed, unread)

    def _reposition(self, start: int, consumed: int, unread: int) -> None:
        f = self.wrapped
        if not isinstance(f, io.TextIOBase):
            f.seek(-unread, os.SEEK_CUR)
        else:
            # Characters are not bytes: go back to the batch's start and read
            # forward over what was handed out.
            f.seek(start)
            f.read(consumed)

    async def __aenter__(self) -> AsyncFile[AnyStr]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<AsyncFile {self.wrapped!r}>"


# Characters str.splitlines() ends a line at and a text file does not.
_ODD_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _text_lines(f: io.TextIOBase, hint: int, newline: str | bool | None) -> tuple[list[Any], int]:
    """About ``hint`` characters of whole lines from a text file, split where the
    file's own iteration would split them, and their length in characters.

    Not ``readlines(hint)``: it iterates the file, which disables ``tell()``
    until the end of the file, and the batch's start must be known. So: read
    blocks, complete each one's last line, and split them in C.

    The blocks are small (``_TEXT_BLOCK``) even when the batch is large. One
    ``read`` of the whole batch would allocate strings and buffers of half a
    megabyte each time, which the C allocator maps fresh from the system and
    gives back when freed (a worker thread's arena is trimmed eagerly): 6,500
    page faults per 10 MB, which made text lines cost twice what binary ones
    cost (32 against 17 ms of CPU per 100k lines; 21 ms with small blocks).
    """
    lines: list[str] = []
    size = 0
    if newline not in (None, "\n", ""):
        # "\r" or "\r\n" line endings (or unknown): one readline per line.
        while size < hint:
            line: str = f.readline()
            if not line:
                break
            lines.append(line)
            size += len(line)
        return lines, size
    # splitlines() is the fastest split, and right unless the block holds a
    # character it breaks at and the file does not ("\r" too, unless the file
    # keeps universal endings); StringIO with the file's rule is always right.
    odd = _ODD_BREAKS if newline == "" else _ODD_BREAKS + "\r"
    keep = "" if newline == "" else "\n"
    while size < hint:
        block = f.read(_TEXT_BLOCK)
        if not block:
            break
        block += f.readline()
        size += len(block)
        if not any(c in block for c in odd):
            lines += block.splitlines(True)
        else:
            lines += io.StringIO(block, newline=keep).readlines()
    return lines, size


# Which way ``async for`` hands lines out is cheaper depends on the Python
# (see AsyncFile._lines); the tests run every way on every version.
_LINES_BY_GENERATOR = sys.version_info < (3, 12)
# With the C accelerator, up to 3.11: ~0.03-0.04 us a line against the async
# generator's ~0.09-0.10. From 3.12 on the interpreter resumes a C awaitable
# through a StopIteration, as dear as a coroutine (see _speedups.c).
_C_LINES = sys.version_info < (3, 12)


def _compiled() -> Any:
    """``ambidex.io._speedups`` as the process uses it, or None (imported on first use:
    importing ``ambidex.offload`` does not import ``ambidex.io``)."""
    from ambidex.io._accelerate import speedups

    return speedups()


class _LineIterator(Generic[AnyStr]):
    """``async for line in f`` from Python 3.12 on: the lines ``f`` has read
    ahead, one per ``__anext__``, then the next batch. Unlike a generator it
    is never finished for good: at the end of the file it stops, and a later
    ``async for`` reads on from there (as a plain file's iteration does)."""

    __slots__ = ("_file",)

    def __init__(self, file: AsyncFile[AnyStr]) -> None:
        self._file: AsyncFile[AnyStr] = file

    def __aiter__(self) -> _LineIterator[AnyStr]:
        return self

    async def __anext__(self) -> AnyStr:
        file = self._file
        for line in file._ahead:
            return line
        while await file._refill():
            for line in file._ahead:
                return line
        raise StopAsyncIteration


class _Batch(Generic[AnyStr]):
    """Lines ``async for`` read in one hop, and where they began."""

    __slots__ = ("lines", "seekable", "size", "start")

    def __init__(self, start: int, lines: list[AnyStr], size: int, seekable: bool) -> None:
        self.start = start
        self.lines: list[AnyStr] = lines
        self.size = size
        self.seekable = seekable


class _FileOpener(Generic[AnyStr]):
    """What :func:`open_file` returns: await it, or ``async with`` it."""

    def __init__(self, pool: ThreadPool, args: tuple[Any, ...]) -> None:
        self._pool: ThreadPool = pool
        self._args = args
        self._file: AsyncFile[AnyStr] | None = None

    async def _open(self) -> AsyncFile[AnyStr]:
        # If the caller is cancelled while its thread is still opening, the
        # pool closes what the open returns rather than leak the descriptor.
        file: IO[AnyStr]
        file, direct, compiled = await self._pool._run(
            functools.partial(_open_raw, *self._args), cleanup=_close
        )
        return AsyncFile(
            file, self._pool, newline=self._args[5], direct=direct, compiled=compiled
        )

    def __await__(self) -> Generator[Any, None, AsyncFile[AnyStr]]:
        return self._open().__await__()

    async def __aenter__(self) -> AsyncFile[AnyStr]:
        self._file = await self._open()
        return self._file

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            await self._file.close()


def _open_raw(
    path: StrPath | int,
    mode: str,
    buffering: int,
    encoding: str | None,
    errors: str | None,
    newline: str | None,
) -> tuple[IO[Any], bool, Any]:
    """The open file; whether its reads may come from the page cache on the
    loop: binary, read-only, buffered over a plain file descriptor, a regular
    file (a pipe's or a device's reads must wait); and the C accelerator for
    its lines, or None (loaded here, off the loop, the first time)."""
    file = open(path, mode, buffering, encoding, errors, newline)  # AsyncFile closes it
    try:
        direct = (
            _NOWAIT is not None
            and type(file) is io.BufferedReader
            and type(file.raw) is io.FileIO
            and stat.S_ISREG(os.fstat(file.fileno()).st_mode)
        )
        compiled = _compiled() if _C_LINES else None
    except BaseException:
        file.close()
        raise
    return file, direct, compiled


def _close(opened: tuple[IO[Any], bool, Any]) -> None:
    opened[0].close()


@overload
def open_file(
    path: StrPath | int,
    mode: OpenBinaryMode = "rb",
    buffering: int = -1,
    encoding: None = None,
    errors: None = None,
    newline: None = None,
    *,
    pool: ThreadPool | None = None,
) -> _FileOpener[bytes]: ...
@overload
def open_file(
    path: StrPath | int,
    mode: OpenTextMode,
    buffering: int = -1,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
    *,
    pool: ThreadPool | None = None,
) -> _FileOpener[str]: ...
@overload
def open_file(
    path: StrPath | int,
    mode: str,
    buffering: int = -1,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
    *,
    pool: ThreadPool | None = None,
) -> _FileOpener[Any]: ...
def open_file(
    path: StrPath | int,
    mode: str = "rb",
    buffering: int = -1,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
    *,
    pool: ThreadPool | None = None,
) -> _FileOpener[Any]:
    """Open a file for use from coroutines; arguments as for :func:`open`.

    Either form works::

        async with open_file("data.bin") as f:      # closes on exit
            header = await f.read(16)

        f = await open_file("log.txt", "a", encoding="utf-8")
        await f.write("started\\n")
        await f.close()

    Every call (the open too) runs on ``pool``, by default the bounded
    process-wide pool of :func:`run_in_thread`. The default mode is binary
    (``"rb"``), as network code mostly wants bytes. If the open is cancelled
    while its thread is still opening, the file is closed once it opens.
    """
    return _FileOpener(
        pool or default_thread_pool(), (path, mode, buffering, encoding, errors, newline)
    )
