"""Files on the thread pool: what the rule table's ``fix`` for ``open`` points to.

Operating systems offer no portable non-blocking file I/O that asyncio could
wait on, so "async files" everywhere (aiofiles, trio's, anyio's) are what
this is: each call hops to a worker thread. That is honest about cost too:
one hop per call, so read in large pieces (``await f.read()``,
``readlines(hint)``) rather than a byte or a line at a time when speed matters.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from collections.abc import Generator
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, AnyStr, Generic, overload

from ambidex.offload._threads import ThreadPool, default_thread_pool

if TYPE_CHECKING:
    from _typeshed import OpenBinaryMode, OpenTextMode

StrPath = str | os.PathLike[str]


class AsyncFile(Generic[AnyStr]):
    """A file whose every method runs on a bounded thread pool.

    ``bytes`` in binary modes and ``str`` in text modes, as the file gives.
    Iterating (``async for line in f``) reads a line per hop.

    **Cancellation.** Cancelling an ``await f.read()`` raises
    :class:`asyncio.CancelledError` at once, but the read itself runs to its
    end in its thread (it cannot be stopped): the file position has moved
    past data you will not see. A cancelled ``write`` may have written.
    After cancelling, treat the position as unknown (``seek`` to be sure) or
    close the file. ``close()`` is idempotent.
    """

    def __init__(self, file: IO[AnyStr], pool: ThreadPool) -> None:
        self.wrapped: IO[AnyStr] = file
        """The underlying file object, for what this class does not forward."""
        self._pool = pool

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
        return await self._pool.run(self.wrapped.read, size)

    async def readline(self, size: int = -1) -> AnyStr:
        """One line, with its line ending; empty at end of file."""
        return await self._pool.run(self.wrapped.readline, size)

    async def readlines(self, hint: int = -1) -> list[AnyStr]:
        """Lines until about ``hint`` bytes or characters (all if < 0), in one hop."""
        return await self._pool.run(self.wrapped.readlines, hint)

    async def write(self, data: AnyStr) -> int:
        """Write ``data`` (all of it, buffered); returns its length."""
        return await self._pool.run(self.wrapped.write, data)

    async def flush(self) -> None:
        await self._pool.run(self.wrapped.flush)

    async def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return await self._pool.run(self.wrapped.seek, offset, whence)

    async def tell(self) -> int:
        return await self._pool.run(self.wrapped.tell)

    async def close(self) -> None:
        """Flush and close; idempotent."""
        if not self.wrapped.closed:
            await self._pool.run(self.wrapped.close)

    def __aiter__(self) -> AsyncFile[AnyStr]:
        return self

    async def __anext__(self) -> AnyStr:
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line

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


class _FileOpener(Generic[AnyStr]):
    """What :func:`open_file` returns: await it, or ``async with`` it."""

    def __init__(self, pool: ThreadPool, args: tuple[Any, ...]) -> None:
        self._pool = pool
        self._args = args
        self._file: AsyncFile[AnyStr] | None = None

    async def _open(self) -> AsyncFile[AnyStr]:
        future = await self._pool._submit(_open_raw, self._args, {})
        try:
            file: IO[AnyStr] = await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            # The open may still succeed in its thread; close what it opens
            # rather than leak the descriptor.
            future.add_done_callback(_close_if_opened)
            raise
        return AsyncFile(file, self._pool)

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
) -> IO[Any]:
    return open(path, mode, buffering, encoding, errors, newline)  # AsyncFile closes it


def _close_if_opened(future: concurrent.futures.Future[IO[Any]]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()


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
