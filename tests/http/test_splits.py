"""hypothesis: a response arriving cut at random points reads as the same bytes.

The connection runs over a fake stream that hands out the response's bytes
in the pieces hypothesis chose (one byte, a few, all at once), in both
colours: to the blocking connection's reads, and to the asyncio
connection's receive buffer, one piece per turn of the loop. Bodies come
with ``Content-Length`` or chunked (chunk sizes chosen too), plain or
gzip-encoded; whatever the cuts, the body read is the body
sent and the connection ends ready for its next request.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
from typing import Any

import h11
from hypothesis import given, settings
from hypothesis import strategies as st

from examples.http import (
    URL,
    AsyncConnection,
    AsyncResponse,
    Connection,
    Headers,
    Request,
    Response,
    Timeout,
)


def wire(body: bytes, chunks: list[int] | None, encoding: str | None) -> bytes:
    """The bytes of a response carrying ``body``, as a server would send them."""
    server = h11.Connection(h11.SERVER)
    server.receive_data(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    server.next_event()
    payload = gzip.compress(body) if encoding == "gzip" else body
    headers = [("content-encoding", "gzip")] if encoding else []
    if chunks is None:
        headers.append(("content-length", str(len(payload))))
        pieces = [payload]
    else:
        headers.append(("transfer-encoding", "chunked"))
        pieces, rest = [], payload
        for size in chunks:
            pieces.append(rest[:size])
            rest = rest[size:]
        pieces.append(rest)
    out = server.send(h11.Response(status_code=200, headers=headers)) or b""
    for piece in pieces:
        if piece:
            out += server.send(h11.Data(data=piece)) or b""
    return out + (server.send(h11.EndOfMessage()) or b"")


def cut(data: bytes, points: list[int]) -> list[bytes]:
    edges = sorted({0, len(data), *(p % (len(data) + 1) for p in points)})
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]


class FakeStream:
    """Gives out pre-cut pieces to ``read``; swallows writes."""

    close_timeout = 5.0

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = list(pieces)
        self.timeout: float | None = None
        self.written = b""

    def read(self, max_bytes: int = 65536) -> bytes:
        if not self.pieces:
            return b""
        piece = self.pieces.pop(0)
        if len(piece) > max_bytes:
            self.pieces.insert(0, piece[max_bytes:])
            piece = piece[:max_bytes]
        return piece

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        pass


class FakeTransport:
    """asyncio's side (the async connection takes the stream's transport): each
    write (the request) starts the delivery of the pieces, one per turn of the
    loop, into the protocol's buffer."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = list(pieces)
        self.protocol: Any = None
        self.written = b""
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written += data
        asyncio.get_running_loop().call_soon(self.deliver)

    def deliver(self) -> None:
        """One piece, the way asyncio gives bytes to a BufferedProtocol: into
        the buffer it asks for (at most its size at a time), then its length."""
        if self.pieces and not self.closing:
            piece = self.pieces.pop(0)
            buffer = self.protocol.get_buffer(len(piece))
            if len(piece) > len(buffer):
                self.pieces.insert(0, piece[len(buffer):])
                piece = piece[:len(buffer)]
            buffer[:len(piece)] = piece
            self.protocol.buffer_updated(len(piece))
            asyncio.get_running_loop().call_soon(self.deliver)

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default  # no socket under it: nothing to poll

    def close(self) -> None:
        self.closing = True

    abort = close


class AsyncFakeStream:
    """What the async connection asks of its stream: the transport, and a close."""

    close_timeout = 5.0

    def __init__(self, pieces: list[bytes]) -> None:
        self.transport = FakeTransport(pieces)

    def take_transport(self, protocol: Any) -> FakeTransport:
        self.transport.protocol = protocol
        protocol.connection_made(self.transport)
        return self.transport

    def read_would_wait(self) -> bool:
        return True

    async def close(self) -> None:
        self.transport.close()


class FakePool:
    def __init__(self) -> None:
        self.released: list[bool] = []

    def release(self, conn: Any) -> None:
        self.released.append(conn.reusable())


class AsyncFakePool(FakePool):
    async def release(self, conn: Any) -> None:  # type: ignore[override]
        FakePool.release(self, conn)

    def put_back(self, conn: Any) -> bool:
        return False  # the response then awaits release()


REQUEST = Request("GET", URL("http://x/"), Headers(), b"")
ORIGIN = ("http", "x", 80)

bodies = st.binary(max_size=3000) | st.builds(lambda n, b: bytes([b]) * n,
                                             st.integers(0, 100_000), st.integers(0, 255))
framings = st.none() | st.lists(st.integers(1, 5000), max_size=8)
encodings = st.sampled_from([None, "gzip"])
points = st.lists(st.integers(0, 200_000), max_size=40)


def read_sync(pieces: list[bytes]) -> tuple[bytes, list[bool]]:
    conn = Connection(FakeStream(pieces), ORIGIN)  # type: ignore[arg-type]
    conn.send_request(REQUEST, Timeout())
    head = conn.receive_head(Timeout())
    pool = FakePool()
    response = Response(head.status_code, Headers.from_raw(head.headers), request=REQUEST,
                        reason_phrase="", http_version="HTTP/1.1", connection=conn,
                        pool=pool, timeout=Timeout())  # type: ignore[arg-type]
    return response.read(), pool.released


async def read_async(pieces: list[bytes]) -> tuple[bytes, list[bool]]:
    conn = AsyncConnection(AsyncFakeStream(pieces), ORIGIN)  # type: ignore[arg-type]
    await conn.send_request(REQUEST, Timeout())
    head = await conn.receive_head(Timeout())
    pool = AsyncFakePool()
    response = AsyncResponse(head.status_code, Headers.from_raw(head.headers), request=REQUEST,
                             reason_phrase="", http_version="HTTP/1.1", connection=conn,
                             pool=pool, timeout=Timeout())  # type: ignore[arg-type]
    return await response.aread(), pool.released


@settings(max_examples=150, deadline=None)
@given(body=bodies, chunks=framings, encoding=encodings, at=points)
def test_a_body_cut_anywhere_reads_as_the_body_sent(body: bytes, chunks: list[int] | None,
                                                    encoding: str | None,
                                                    at: list[int]) -> None:
    pieces = cut(wire(body, chunks, encoding), at)
    assert read_sync(pieces) == (body, [True])
    assert asyncio.run(read_async(pieces)) == (body, [True])
