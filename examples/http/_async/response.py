"""A response whose body is still on the connection.

``AsyncResponse`` adds to :class:`~examples.http._models.BaseResponse` the
methods that wait for the body: :meth:`aread`, :meth:`aiter_bytes` (decoded),
:meth:`aiter_raw` (as sent), :meth:`aclose`. The blocking twin,
``Response``, has ``read``, ``iter_bytes``, ``iter_raw``, ``close``.

The response holds its connection until the body has been read to its end or
the response is closed; then it gives the connection back to its pool, which
keeps it only if h11 says the exchange finished cleanly. So a body read to
the end frees the connection for the next request at once, and a body
abandoned half way closes it.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

from .._decoders import make_decoder
from .._models import BaseResponse, Headers, Request, Timeout
from ..errors import ResponseTooLarge, StreamConsumed
from .connection import AsyncConnection
from .pool import AsyncConnectionPool

__all__ = ["AsyncResponse"]

IS_ASYNC = True


class AsyncResponse(BaseResponse):
    """Status, headers, and a body to read (once)."""

    __slots__ = ("_connection", "_consumed", "_early", "_early_complete", "_max_body_size",
                 "_pool", "_received", "_timeout")

    # (The client makes one per request, passing every argument by position:
    # in CPython a call by keywords costs about twice as much.)
    def __init__(self, status_code: int, headers: Headers, request: Request,
                 reason_phrase: str | bytes, http_version: str | bytes,
                 connection: AsyncConnection,
                 pool: AsyncConnectionPool, timeout: Timeout,
                 max_body_size: int | None = None) -> None:
        # BaseResponse.__init__, spelled out: one call less per response.
        self.status_code = status_code
        self.headers = headers
        self.request = request
        self._reason_phrase = reason_phrase
        self._http_version = http_version
        self.history: list[BaseResponse] = []
        self._content: bytes | None = None
        self._connection: AsyncConnection | None = connection
        self._pool = pool
        self._timeout = timeout
        self._max_body_size = max_body_size
        self._received = 0
        self._consumed = False
        # Pieces of the body that came with the head (Connection.exchange),
        # not yet read; and whether the body's end came with them.
        self._early: list[bytes] | None = None
        self._early_complete = False

    @property
    def is_closed(self) -> bool:
        """True once the connection went back to the pool (or was closed)."""
        return self._connection is None

    def _take_body(self, pieces: list[bytes], complete: bool) -> bool:
        """(``Client.request``) Keep the pieces of the body that came with the
        head. A body that came whole, in no encoding and within
        ``max_body_size``, is the content at once: True, and the caller gives
        the connection back now (:meth:`aclose`; most small responses, whose
        :meth:`aread` then only returns the content). Anything else is read
        on by :meth:`aread`, from these pieces first: False."""
        if complete and self.headers.get("content-encoding") is None:
            body = pieces[0] if len(pieces) == 1 else b"".join(pieces)
            limit = self._max_body_size
            if limit is None or len(body) <= limit:
                self._consumed = True
                # (h11 gives each piece as a bytearray: content is bytes)
                self._content = bytes(body)
                return True
        self._early = pieces
        self._early_complete = complete
        return False

    async def aread(self) -> bytes:
        """Read the rest of the body, decode it, keep it as ``content``, and
        give the connection back. Returns the body."""
        if self._content is not None:
            return self._content
        if self._consumed:
            raise StreamConsumed("the body of this response was already read")
        self._consumed = True
        conn = self._connection
        decoder = make_decoder(self.headers.get("content-encoding"))
        limit = self._max_body_size
        timeout = self._timeout
        # The loop of aiter_bytes, spelled out: this is every non-streamed
        # request's path, and a generator per response costs. A body that
        # comes in one piece (most small ones) is that piece: the buffer
        # for the pieces is made when a second one comes.
        first = b""
        body: _Body | None = None
        early, complete = self._early, self._early_complete
        self._early = None
        try:
            while True:
                if early:  # what came with the head (exchange), first
                    chunk = early.pop(0)
                elif complete or conn is None:
                    break
                else:
                    piece = conn.body_piece()  # what came with the head, without a wait
                    chunk = piece if piece is not None else await conn.receive_body(timeout)
                    if not chunk:
                        break
                if limit is not None:
                    self._received += len(chunk)
                    if self._received > limit:
                        raise ResponseTooLarge(f"the body is larger than max_body_size={limit}")
                if decoder is not None:
                    chunk = decoder.decode(chunk)
                if body is None:
                    if not first:
                        first = chunk
                        continue
                    body = _Body(None if decoder is not None else
                                 self.headers.get("content-length"))
                    body.add(first)
                body.add(chunk)
            if decoder is not None:
                rest = decoder.flush()
                if rest:
                    if body is None:
                        body = _Body(None)
                        body.add(first)
                    body.add(rest)
        except BaseException:
            await self.aclose()
            raise
        await self.aclose()
        # (h11 gives each piece as a bytearray: content is bytes)
        self._content = bytes(first) if body is None else body.value()
        return self._content

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it arrives, decoded (gzip, deflate)."""
        decoder = make_decoder(self.headers.get("content-encoding"))
        if decoder is None:
            async for chunk in self.aiter_raw():
                yield chunk
            return
        async for chunk in self.aiter_raw():
            decoded = decoder.decode(chunk)
            if decoded:
                yield decoded
        rest = decoder.flush()
        if rest:
            yield rest

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        """The body as it arrives, as the server encoded it.

        If the caller stops early (``break``, an exception, a cancellation,
        a timeout), the connection is *not* given back as it is:
        :meth:`aclose` (which the ``stream()`` context manager calls) closes
        it, since the rest of this body is still on it.
        """
        if self._consumed:
            raise StreamConsumed("the body of this response was already read")
        self._consumed = True
        conn = self._connection
        early, complete = self._early or [], self._early_complete
        self._early = None
        if conn is None and not early:
            return
        limit = self._max_body_size
        try:
            while True:
                if early:  # what came with the head (exchange), first
                    chunk = early.pop(0)
                elif complete or conn is None:
                    break
                else:
                    chunk = await conn.receive_body(self._timeout)
                    if not chunk:
                        break
                if limit is not None:
                    self._received += len(chunk)
                    if self._received > limit:
                        raise ResponseTooLarge(f"the body is larger than max_body_size={limit}")
                yield chunk
        except BaseException:
            await self.aclose()
            raise
        await self.aclose()

    async def aclose(self) -> None:
        """Give the connection back (kept only if the body was read to its end)."""
        conn = self._connection
        if conn is not None:
            self._connection = None
            if IS_ASYNC:
                if self._pool.put_back(conn):  # kept, and nobody to wake: no await
                    return
            await self._pool.release(conn)

    async def __aenter__(self) -> AsyncResponse:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _Body:
    """Where ``aread`` collects a body: at most one copy of it beyond the result.

    A large body of known length (``Content-Length``, not encoded) goes into a
    ``BytesIO`` sized once up front: each piece is copied in and freed at
    once, and ``getvalue()`` hands the buffer over without copying it. (A
    ``BytesIO`` left to grow piece by piece reallocates -- and copies -- as it
    goes.) Anything else is a list of pieces joined once at the end.
    """

    __slots__ = ("_buffer", "_pieces")

    def __init__(self, content_length: str | None) -> None:
        self._pieces: list[bytes] = []
        self._buffer: io.BytesIO | None = None
        if content_length is not None and content_length.isdigit():
            size = int(content_length)
            if size > _PREALLOCATE_OVER:
                self._buffer = io.BytesIO()
                self._buffer.seek(size - 1)
                self._buffer.write(b"\0")  # sizes the buffer once
                self._buffer.seek(0)

    def add(self, piece: bytes) -> None:
        if self._buffer is not None:
            self._buffer.write(piece)
        elif piece:
            self._pieces.append(piece)

    def value(self) -> bytes:
        buffer = self._buffer
        if buffer is not None:
            buffer.truncate(buffer.tell())  # a HEAD response has no body
            return buffer.getvalue()
        pieces = self._pieces
        return bytes(pieces[0]) if len(pieces) == 1 else b"".join(pieces)


#: Bodies larger than this (and of known length) are collected in one buffer.
_PREALLOCATE_OVER = 256 * 1024
