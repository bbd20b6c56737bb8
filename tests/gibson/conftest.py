"""Helpers for the gibson tests: the real server, and scripted misbehaving ones."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType

import pytest

from examples.gibson.protocol import HEADER
from examples.gibson.server import GibsonServer, ServerThread, serve

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def server() -> AsyncIterator[GibsonServer]:
    """The real gibson server, on the test's own event loop."""
    async with serve("127.0.0.1", 0) as running:
        yield running


@pytest.fixture
def server_thread() -> Iterator[ServerThread]:
    """The real gibson server on a loop in a background thread, for blocking clients."""
    with ServerThread() as running:
        yield running


async def read_request(reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
    """One raw request off the wire: (code, encoding, payload)."""
    code, encoding, size = HEADER.unpack(await reader.readexactly(HEADER.size))
    return code, encoding, await reader.readexactly(size)


class ScriptedServer:
    """A loopback server, in its own thread, that runs ``script`` for each connection.

    Scripts play the misbehaving peer: garbage, lies about sizes, silence. The
    thread makes the server usable from blocking tests and async tests alike.
    Leaving the block cancels running scripts and stops the loop; nothing is
    left behind if a script is still waiting.
    """

    def __init__(self, script: Script) -> None:
        self._script = script
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.port = 0
        self.errors: list[BaseException] = []
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._script(reader, writer)
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass
        except BaseException as exc:  # a broken script must fail the test, not vanish
            self.errors.append(exc)
        finally:
            writer.close()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        handlers: set[asyncio.Task[None]] = set()

        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await self._handle(reader, writer)
            finally:
                handlers.discard(task)

        listener = await asyncio.start_server(tracked, "127.0.0.1", 0)
        self.port = listener.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        # A connection accepted in the last loop turns may still have its accept
        # task (asyncio's _accept_connection2) or its handler task waiting for a
        # first step. Closing the listener first makes that accept task fail
        # (3.10/3.11: the server has no sockets left to attach the transport to)
        # and drop the accepted socket unclosed; cancelling a handler before its
        # first step never runs the ``finally`` that closes its writer. Either is
        # a ResourceWarning, an error under -W error. So let every other task on
        # this loop start first: a few turns, counted, not timed.
        me = asyncio.current_task()
        for _ in range(1000):
            if all(task in handlers for task in asyncio.all_tasks() if task is not me):
                break
            await asyncio.sleep(0)
        listener.close()
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(listener.wait_closed(), 2)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        assert self._ready.wait(10), "scripted server did not start"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        assert not self._thread.is_alive(), "scripted server did not stop"
        if exc_type is None and self.errors:
            raise self.errors[0]
