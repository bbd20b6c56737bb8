"""An asyncio gibson server: an in-memory store behind the sans-IO server machine.

It exists so the clients have something real to talk to -- in the tests, the
demo and the benchmark -- and to show the other half of the pattern: the same
kind of machine, driven by a loop that reads, drains every complete request,
and writes all the replies in one go (which is what makes pipelining pay).

Start it from code on a free loopback port::

    async with serve("127.0.0.1", 0) as server:
        print(server.port)

    with ServerThread() as server:   # for blocking code: its own loop, its own thread
        print(server.port)

or from a shell: ``python -m examples.gibson --port 7070`` (0 picks a free port).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from types import TracebackType

from ambidex.sansio import NEED_DATA, PAUSED, RemoteProtocolError
from examples.gibson.protocol import (
    DEFAULT_MAX_PAYLOAD,
    BadRequest,
    ConnectionClosed,
    Delete,
    Encoding,
    Get,
    NotFound,
    Ok,
    Reply,
    Request,
    ServerConnection,
    Set,
    Value,
    encode_reply,
    error_for,
)

_READ_SIZE = 65536


class GibsonServer:
    """A store and the connections serving it. Use :func:`serve` to run one."""

    def __init__(self, *, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        self.max_payload = max_payload
        self.store: dict[bytes, tuple[Encoding, bytes]] = {}
        self.host = ""
        self.port = 0
        self._handlers: set[asyncio.Task[None]] = set()

    def answer(self, request: Request) -> Reply:
        """The reply to one request: the whole of the server's logic."""
        if isinstance(request, Get):
            found = self.store.get(request.key)
            return NotFound() if found is None else Value(found[1], found[0])
        if isinstance(request, Set):
            self.store[request.key] = (request.encoding, request.value)
            return Ok()
        if isinstance(request, Delete):
            return Ok() if self.store.pop(request.key, None) is not None else NotFound()
        raise TypeError(f"not a request: {request!r}")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection until the client closes it or breaks the protocol."""
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        conn = ServerConnection(max_payload=self.max_payload)
        try:
            while True:
                replies = bytearray()
                event = conn.next_event()
                while event is not NEED_DATA and event is not PAUSED:
                    if isinstance(event, ConnectionClosed):
                        break
                    if isinstance(event, BadRequest):
                        replies += conn.send(error_for(event))
                    else:
                        replies += conn.send(self.answer(event))
                    event = conn.next_event()
                # One write for every reply this read produced: pipelined
                # requests get pipelined replies.
                if replies:
                    writer.write(replies)
                    await writer.drain()
                if isinstance(event, ConnectionClosed):
                    return
                conn.receive_data(await reader.read(_READ_SIZE))
        except RemoteProtocolError as exc:
            # The stream is out of step; say why (best effort), then hang up.
            with contextlib.suppress(OSError):
                writer.write(encode_reply(error_for(exc), max_payload=self.max_payload))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Only close_connections() cancels us, at shutdown. Ending normally
            # spares asyncio (3.11) logging the cancelled callback as an error.
            pass
        finally:
            if task is not None:
                self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def close_connections(self) -> None:
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


@contextlib.asynccontextmanager
async def serve(
    host: str = "127.0.0.1", port: int = 0, *, max_payload: int = DEFAULT_MAX_PAYLOAD
) -> AsyncIterator[GibsonServer]:
    """Listen on ``host:port`` (0 picks a free port) until the block exits.

    On exit the listener closes and every open connection is cancelled, so a
    test that forgot to close a client still finishes.
    """
    server = GibsonServer(max_payload=max_payload)
    listener = await asyncio.start_server(server.handle, host, port)
    server.host, server.port = listener.sockets[0].getsockname()[:2]
    try:
        yield server
    finally:
        # A connection accepted in the last turns of the loop may still have its
        # accept task (asyncio's _accept_connection2) or its handler task
        # waiting for a first step: closing the listener first makes that
        # accept fail (3.10/3.11) and drop the socket unclosed, and a handler
        # cancelled before its first step never runs the ``finally`` that
        # closes its writer -- a ResourceWarning either way. So let the other
        # tasks on this loop start first: a few turns, counted, not timed.
        me = asyncio.current_task()
        for _ in range(100):
            if all(task in server._handlers for task in asyncio.all_tasks() if task is not me):
                break
            await asyncio.sleep(0)
        # Close the listener, then the connections, then wait: from Python 3.12
        # wait_closed() also waits for open connections to finish.
        listener.close()
        await server.close_connections()
        await listener.wait_closed()


class ServerThread:
    """A gibson server on its own event loop in a daemon thread, for blocking code.

    ``with ServerThread() as server:`` starts it and waits until it listens;
    leaving the block stops it and joins the thread. ``server.store`` is the live
    store (read it from the test thread only while no request is in flight).
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, max_payload: int = DEFAULT_MAX_PAYLOAD
    ) -> None:
        self._address = (host, port)
        self._max_payload = max_payload
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._server: GibsonServer | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="gibson-server", daemon=True)

    @property
    def server(self) -> GibsonServer:
        if self._server is None:
            raise RuntimeError("the server is not running")
        return self._server

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def store(self) -> dict[bytes, tuple[Encoding, bytes]]:
        return self.server.store

    def start(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the gibson server thread did not start within 10 s")
        if self._failure is not None:
            raise RuntimeError(f"the gibson server failed to start: {self._failure!r}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start(), which raises it
            self._failure = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        host, port = self._address
        async with serve(host, port, max_payload=self._max_payload) as server:
            self._server = server
            self._ready.set()
            await self._stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a gibson server (in-memory store).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7070)
    args = parser.parse_args()

    async def run() -> None:
        async with serve(args.host, args.port) as server:
            print(f"gibson server on {server.host}:{server.port}", flush=True)
            await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
