"""Servers and helpers for the io tests: real sockets on 127.0.0.1, free ports.

* ``serve`` starts an asyncio server running a scripted handler (one script per
  test); it serves both colours, since the sync stream is driven from a worker
  thread (see ``Either``) while the loop runs the server.
* ``thread_server`` is a plain listening socket served by a thread, for tests
  that must not involve an event loop on the server side.
* ``silent_listener`` accepts TCP handshakes in the kernel and never reads: a
  peer whose buffers fill up, so writes eventually wait.
* ``full_backlog`` is a listener whose accept queue is full: connects to it
  hang in SYN retransmission, so a connect can time out or be cancelled.
* ``tls`` holds a throwaway CA (trustme) with server and client contexts.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import trustme

from ambidex.io import AsyncStream, Stream, accelerated
from ambidex.io._accelerate import pure_methods

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Address = tuple[str, int]

# Stream's read_until / read_exactly are C (ambidex.io._speedups) when the
# optional accelerator was built (the test sessions build it), and the
# pure-Python methods otherwise; PureStream always has the pure ones. The
# behaviour suite (the ``colour`` fixture) and the property tests run on both.
PureStream: type[Stream] = type("PureStream", (Stream,), pure_methods(Stream))


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Address]]]:
    servers: list[asyncio.Server] = []
    handlers: set[asyncio.Task[Any]] = set()

    async def start(handler: Handler, *, ssl: ssl.SSLContext | None = None) -> Address:
        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass  # the client under test hung up: that is what some tests do
            finally:
                writer.transport.abort()

        server = await asyncio.start_server(run, "127.0.0.1", 0, ssl=ssl)
        servers.append(server)
        host, port = server.sockets[0].getsockname()[:2]
        return host, port

    yield start
    for task in handlers:
        task.cancel()
    await asyncio.gather(*handlers, return_exceptions=True)
    for server in servers:
        server.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)


@contextlib.contextmanager
def thread_server(handler: Callable[[socket.socket], object]) -> Iterator[Address]:
    """Serve each connection with ``handler(conn)`` in a thread, until the block ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()
    errors: list[BaseException] = []

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    handler(conn)
                except OSError:
                    pass
                except BaseException as exc:  # reported by the test, not lost
                    errors.append(exc)

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    assert not errors, errors


@pytest.fixture
def silent_listener() -> Iterator[Address]:
    """A listener that never accepts: the kernel completes handshakes and buffers
    a little, then the peer's window closes and writes wait."""
    listener = socket.socket()
    # A small receive buffer, inherited by the queued connections, so writes
    # stall after less data.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[:2]
    listener.close()


def accept_queue(listener: socket.socket) -> tuple[int, int] | None:
    """(connections waiting in ``listener``'s accept queue, its backlog), as the
    kernel counts them (Linux: ``TCP_INFO`` of a listening socket answers with
    these two in ``tcpi_unacked`` and ``tcpi_sacked``); None where it does not say."""
    option = getattr(socket, "TCP_INFO", None)
    if option is None:
        return None
    try:
        info = listener.getsockopt(socket.IPPROTO_TCP, option, 104)
    except OSError:
        return None
    if len(info) < 32 or info[0] != _TCP_LISTEN:
        return None
    queued, backlog = struct.unpack_from("=II", info, 24)
    return queued, backlog


_TCP_LISTEN = 10  # tcpi_state of a listening socket (include/net/tcp_states.h)


@pytest.fixture
def full_backlog() -> Iterator[Address]:
    """A listener whose accept queue is full: a new connect gets no answer.

    Linux drops a SYN while the accept queue holds more than the backlog (0
    here), and nobody accepts: a connect waits in SYN retransmission until it
    times out or is cancelled. The queue is *seen* full (the kernel's count)
    before a test connects, not inferred from a probe's connect timing out
    (0.2 s per test, and a timeout read as proof); the probe stays where the
    count is not available.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()[:2]
    fillers = []
    try:
        if accept_queue(listener) is not None:
            fillers.append(socket.create_connection(address, timeout=10))
            deadline = time.monotonic() + 10
            while not _full(listener):  # the filler's handshake lands in the queue
                assert time.monotonic() < deadline, ("the accept queue never filled",
                                                     accept_queue(listener))
                time.sleep(0.001)
        else:
            _fill_by_probing(address, fillers)
        yield address
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def _full(listener: socket.socket) -> bool:
    queue = accept_queue(listener)
    return queue is not None and queue[0] > queue[1]


def _fill_by_probing(address: Address, fillers: list[socket.socket]) -> None:
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(address)
        fillers.append(filler)
    # Let the fillers' handshakes land in the queue before a test connects.
    probe = socket.socket()
    probe.settimeout(0.2)
    try:
        probe.connect(address)
        raise AssertionError("the backlog is not full: connects still succeed")
    except TimeoutError:
        pass
    finally:
        probe.close()


@dataclass
class TLS:
    server: ssl.SSLContext
    client: ssl.SSLContext
    hostname: str = "localhost"


@pytest.fixture(scope="session")
def tls() -> TLS:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return TLS(server, client)


class Either:
    """One async face over a stream of either colour.

    Methods of an AsyncStream are awaited; those of a Stream run in a worker
    thread, so the test's loop stays free to run the server. A behaviour test
    written against ``Either`` therefore pins both colours at once.
    """

    def __init__(self, stream: Stream | AsyncStream) -> None:
        self.stream = stream

    @classmethod
    async def connect(cls, colour: str, host: str, port: int, **kwargs: Any) -> Either:
        if colour == "async":
            return cls(await AsyncStream.connect(host, port, **kwargs))
        return cls(await asyncio.to_thread(sync_class(colour).connect, host, port, **kwargs))

    @property
    def is_async(self) -> bool:
        return isinstance(self.stream, AsyncStream)

    def __getattr__(self, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        method = getattr(self.stream, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.is_async:
                return await method(*args, **kwargs)
            return await asyncio.to_thread(method, *args, **kwargs)

        return call


def sync_class(colour: str) -> type[Stream]:
    """The blocking stream class a sync colour tests: "sync-pure" is PureStream."""
    return PureStream if colour == "sync-pure" else Stream


# "sync" is Stream as installed (its C reads when the accelerator was built),
# "sync-pure" its pure-Python reads, when they differ.
COLOURS = ["sync", "sync-pure", "async"] if accelerated() else ["sync", "async"]


@pytest.fixture(params=COLOURS)
def colour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- scripted handlers shared by several tests ---------------------------------


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


def sends(*parts: bytes, pause: float = 0.0, then_close: bool = True) -> Handler:
    """A handler that sends ``parts`` (pausing between them), then closes or idles."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for part in parts:
            writer.write(part)
            await writer.drain()
            if pause:
                await asyncio.sleep(pause)
        if then_close:
            writer.close()
        else:
            await reader.read()  # until the client hangs up

    return handler


def on_signal(first: bytes, rest: bytes, go: asyncio.Event) -> Handler:
    """Send ``first``, wait for ``go``, send ``rest``, then idle until the client leaves."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(first)
        await writer.drain()
        await go.wait()
        writer.write(rest)
        await writer.drain()
        await reader.read()

    return handler
