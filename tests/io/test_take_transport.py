"""AsyncStream.take_transport: the connection handed to a protocol, no byte lost.

A client sets a connection up with the stream (its timeouts, TLS, a
handshake), then takes the asyncio transport for a protocol of its own (see
examples/_transport.py). These pin the handover: the bytes the stream had
received come first, in order, before anything newer and before the call
returns; a reader paused on a full buffer loses nothing; TLS the same; the
stream refuses everything after it, and refuses the handover itself, having
consumed nothing, when the connection already ended.
"""

from __future__ import annotations

import asyncio
import inspect

import pytest

from ambidex.io import AsyncStream, Stream, StreamClosedError, StreamError
from tests.io.conftest import TLS
from tests.io.test_bytes_waiting import eventually

# Every byte value, in an order a lost or repeated chunk would show.
PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class Collect(asyncio.Protocol):
    """A protocol that keeps what it is told."""

    def __init__(self) -> None:
        self.transport: asyncio.BaseTransport | None = None
        self.chunks: list[bytes] = []
        self.lost: asyncio.Future[Exception | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._want = 0
        self._enough: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.chunks.append(bytes(data))
        if self._enough is not None and self.received() >= self._want:
            if not self._enough.done():
                self._enough.set_result(None)

    def eof_received(self) -> None:
        return None  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)

    def received(self) -> int:
        return sum(map(len, self.chunks))

    async def until(self, total: int) -> bytes:
        if self.received() < total:
            self._want = total
            self._enough = asyncio.get_running_loop().create_future()
            await asyncio.wait_for(self._enough, 10)
        return b"".join(self.chunks)


async def connect(serve, handler, tls: TLS | None) -> AsyncStream:
    if tls is None:
        host, port = await serve(handler)
        return await AsyncStream.connect(host, port, timeout=5)
    host, port = await serve(handler, ssl=tls.server)
    return await AsyncStream.connect(
        host, port, timeout=5, ssl=tls.client, server_hostname=tls.hostname
    )


@pytest.fixture(params=["plain", "tls"])
def over(request: pytest.FixtureRequest, tls: TLS) -> TLS | None:
    return tls if request.param == "tls" else None


async def test_bytes_buffered_before_the_handover_reach_the_protocol_first_and_in_order(
    serve, over
):
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello\n" + PAYLOAD[:1000])
        await writer.drain()
        assert await reader.readexactly(2) == b"go"
        writer.write(PAYLOAD[1000:])
        await writer.drain()
        await reader.read()  # until the client hangs up

    s = await connect(serve, handler, over)
    assert await s.read_until(b"\n") == b"hello\n"
    assert await s.read_exactly(10) == PAYLOAD[:10]  # some of the rest, by the stream
    protocol = Collect()
    transport = s.take_transport(protocol)
    # Before the call returned: connection_made, then what the stream held.
    assert protocol.transport is transport
    before = b"".join(protocol.chunks)
    assert PAYLOAD[10:].startswith(before)
    transport.write(b"go")
    assert await protocol.until(len(PAYLOAD) - 10) == PAYLOAD[10:]
    await s.close()
    assert await asyncio.wait_for(protocol.lost, 5) is None


async def test_a_reader_paused_on_a_full_buffer_hands_over_every_byte(serve, over):
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(PAYLOAD)
        await writer.drain()
        await reader.read()

    s = await connect(serve, handler, over)

    # The StreamReader pauses the transport once its buffer holds twice its
    # limit; the handover must resume it and lose nothing.
    assert await eventually(lambda: s._reader._paused)
    protocol = Collect()
    s.take_transport(protocol)
    assert protocol.chunks, "the buffered bytes come with the handover"
    assert await protocol.until(len(PAYLOAD)) == PAYLOAD
    await s.close()


async def test_after_the_handover_the_stream_refuses_reads_and_writes_but_closes(
    serve, tls: TLS
):
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    s = await connect(serve, handler, None)
    protocol = Collect()
    transport = s.take_transport(protocol)
    assert s.closed
    for call in (s.read(), s.read_exactly(1), s.read_until(b"\n"), s.write(b"x"),
                 s.start_tls(tls.client)):
        with pytest.raises(StreamClosedError, match="take_transport"):
            await call
    with pytest.raises(StreamClosedError, match="take_transport"):
        s.take_transport(Collect())
    # The questions that never wait still answer, about the socket.
    assert not s.unread_bytes_waiting() and not s.peer_closed()
    assert not transport.is_closing()  # the protocol's now: nothing closed it
    await s.close()  # closes the transport, and the protocol hears of it
    assert transport.is_closing()
    assert await asyncio.wait_for(protocol.lost, 5) is None
    await s.close()
    with pytest.raises(StreamClosedError, match="is closed"):
        s.unread_bytes_waiting()


async def test_the_handover_is_refused_once_the_peer_closed_and_consumes_nothing(serve):
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"last words")
        await writer.drain()

    s = await connect(serve, handler, None)

    assert await eventually(lambda: s._reader._eof)
    protocol = Collect()
    with pytest.raises(StreamError, match="already ended"):
        s.take_transport(protocol)
    assert protocol.transport is None and not protocol.chunks
    assert await s.read_exactly(10) == b"last words"
    assert await s.read() == b""
    await s.close()


async def test_the_handover_is_refused_after_a_write_failed_part_way(silent_listener):
    s = await AsyncStream.connect(*silent_listener, timeout=0.2)
    with pytest.raises(TimeoutError):
        await s.write(b"x" * (16 * 1024 * 1024))
    with pytest.raises(StreamError, match="can no longer write"):
        s.take_transport(Collect())
    s.close_timeout = 0.1  # the peer never reads: do not wait for a flush
    await s.close()


def test_the_handover_never_awaits_and_is_asyncio_only():
    # Nothing to cancel: no await between emptying the buffer and pointing
    # the transport at the protocol, so no byte can land in between.
    assert not inspect.iscoroutinefunction(AsyncStream.take_transport)
    # '# ambidex: async-only' keeps it out of the generated blocking twin.
    assert not hasattr(Stream, "take_transport")


async def test_after_the_handover_unread_bytes_waiting_sees_bytes_still_in_the_socket(serve):
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert await reader.readexactly(2) == b"go"
        writer.write(b"stray")
        await writer.drain()
        await reader.read()

    s = await connect(serve, handler, None)
    protocol = Collect()
    transport = s.take_transport(protocol)
    transport.pause_reading()  # so the reply stays in the socket
    assert not s.unread_bytes_waiting()
    transport.write(b"go")
    assert await eventually(s.unread_bytes_waiting)
    assert not protocol.chunks
    transport.resume_reading()
    assert await protocol.until(5) == b"stray"
    await s.close()


class CollectBuffered(asyncio.BufferedProtocol):
    """A BufferedProtocol with a small buffer: every delivery is copied out of it."""

    def __init__(self, size: int) -> None:
        self.buffer = bytearray(size)
        self.chunks: list[bytes] = []
        self.sizes_asked: list[int] = []
        self.transport: asyncio.BaseTransport | None = None
        self._enough: asyncio.Future[None] | None = None
        self._want = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        # A memoryview, not the bytearray: asyncio's TLS transport (3.11+)
        # fills the rest of a buffer through buffer[offset:], which is a
        # copy of a bytearray, and the bytes written there were lost.
        self.sizes_asked.append(sizehint)
        return memoryview(self.buffer)

    def buffer_updated(self, nbytes: int) -> None:
        self.chunks.append(bytes(self.buffer[:nbytes]))
        if self._enough is not None and sum(map(len, self.chunks)) >= self._want:
            if not self._enough.done():
                self._enough.set_result(None)

    async def until(self, total: int) -> bytes:
        if sum(map(len, self.chunks)) < total:
            self._want = total
            self._enough = asyncio.get_running_loop().create_future()
            await asyncio.wait_for(self._enough, 10)
        return b"".join(self.chunks)


async def test_a_buffered_protocol_gets_the_buffered_bytes_through_its_own_buffer(serve, over):
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello\n" + PAYLOAD[:5000])
        await writer.drain()
        assert await reader.readexactly(2) == b"go"
        writer.write(PAYLOAD[5000:])
        await writer.drain()
        await reader.read()

    s = await connect(serve, handler, over)
    assert await s.read_until(b"\n") == b"hello\n"
    assert await eventually(lambda: s._buffered() == 5000)
    protocol = CollectBuffered(1000)
    transport = s.take_transport(protocol)
    # Before the call returned: 5000 bytes, in buffers of at most 1000.
    assert protocol.transport is transport
    assert [len(c) for c in protocol.chunks] == [1000] * 5
    assert b"".join(protocol.chunks) == PAYLOAD[:5000]
    transport.write(b"go")  # the rest is received straight into the protocol's buffer
    assert await protocol.until(len(PAYLOAD)) == PAYLOAD
    await s.close()
