"""One HTTP/1.1 connection: a stream, and h11's client machine.

Written once, as asyncio code; ``ambidex generate`` writes the blocking twin
(``examples/http/_sync/connection.py``).

The machine is not ours. h11 parses and frames; this module only moves bytes
between it and the stream and turns its events into calls that wait:

* :meth:`send_request` gives h11 a ``Request`` (then ``Data`` and
  ``EndOfMessage``) and writes the bytes it returns;
* :meth:`receive_head` feeds h11 what the stream reads until it yields a
  ``Response`` (skipping ``1xx`` ``InformationalResponse`` events);
* :meth:`receive_body` returns the next piece of the body, ``b""`` at
  ``EndOfMessage``;
* :meth:`reusable` asks h11 whether both sides finished this exchange
  cleanly (``our_state`` and ``their_state`` both ``DONE``: no
  ``Connection: close``, the body read to its end) and nothing extra came;
  only then may :meth:`start_next_cycle` reset the machine for the next
  request. Anything else -- a response abandoned half read, a cancelled or
  timed-out task, an error -- leaves h11 in some other state, and the pool
  closes the connection instead. That is how an abandoned response never
  leaves its bytes for the next request;
* :meth:`quiet_while_idle` asks the stream, without waiting, whether bytes
  or a close arrived while the connection sat idle; the pool reuses it only
  if nothing did.

Every failure is raised as one of :mod:`examples.http.errors`, the same
classes in both colours: a timeout of the stream as the phase's timeout, an
``OSError`` as a read or write error, h11's errors as ours.
"""

from __future__ import annotations

import ssl as _ssl
import time

import h11

from ambidex.io import AsyncStream, StreamError

from .._models import Origin, Request, Timeout
from ..errors import (
    ConnectError,
    ConnectTimeout,
    LocalProtocolError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    WriteError,
    WriteTimeout,
)

__all__ = ["DEFAULT_MAX_HEADER_SIZE", "AsyncConnection"]

IS_ASYNC = True

#: How much one read asks the stream for.
_READ_SIZE = 65536
#: The largest response head (status line and headers) we accept: h11's
#: ``max_incomplete_event_size``. Past it h11 raises, and so do we.
DEFAULT_MAX_HEADER_SIZE = 64 * 1024

_NEED_DATA = h11.NEED_DATA
_DONE = h11.DONE
_IDLE = h11.IDLE
_Data = h11.Data
_EndOfMessage = h11.EndOfMessage
_Response = h11.Response
_InformationalResponse = h11.InformationalResponse


class AsyncConnection:
    """A connection to one origin, ready for a request once :meth:`connect` returns.

    One exchange at a time: the pool hands the connection to one caller,
    who sends a request, reads the response, and gives it back.
    ``cycles`` counts the requests started on it; ``received`` says whether
    any byte of the current response arrived (the pool's retry needs both).
    """

    def __init__(self, stream: AsyncStream, origin: Origin, *,
                 max_header_size: int = DEFAULT_MAX_HEADER_SIZE) -> None:
        self._stream = stream
        self.origin = origin
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=max_header_size)
        self.max_header_size = max_header_size
        self.cycles = 0
        self.received = False
        self.idle_since = time.monotonic()
        self.closed = False

    @classmethod
    async def connect(cls, origin: Origin, *, timeout: Timeout,
                      ssl_context: _ssl.SSLContext | None = None,
                      max_header_size: int = DEFAULT_MAX_HEADER_SIZE) -> AsyncConnection:
        """Open a connection to ``origin``; TLS with ``ssl_context`` for ``https``."""
        scheme, host, port = origin
        tls = ssl_context if scheme == "https" else None
        try:
            stream = await AsyncStream.connect(host, port, timeout=timeout.connect, ssl=tls)
        except TimeoutError as exc:
            raise ConnectTimeout(f"connecting to {host}:{port} took more than "
                                 f"{timeout.connect} s") from exc
        except (OSError, StreamError) as exc:
            raise ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        return cls(stream, origin, max_header_size=max_header_size)

    # --- one exchange ----------------------------------------------------------------

    async def send_request(self, request: Request, timeout: Timeout) -> None:
        """Send the request line, the headers and the body.

        A ``bytes`` body goes out with the head in one write; an iterable
        body is sent chunk by chunk as it is produced (chunked encoding,
        unless the caller gave a ``Content-Length``).
        """
        self.cycles += 1
        self.received = False
        h = self._h11
        body = request.body
        try:
            data = h.send(h11.Request(method=request.method, target=request.url.target,
                                      headers=request.h11_headers()))
            if isinstance(body, bytes):
                if body:
                    data += h.send(_Data(data=body))
                data += h.send(_EndOfMessage())
                await self._write(data, timeout.write)
                return
            await self._write(data, timeout.write)
            if IS_ASYNC:
                if hasattr(body, "__aiter__"):
                    async for chunk in body:
                        await self._send_chunk(chunk, timeout)
                    await self._write(h.send(_EndOfMessage()), timeout.write)
                    return
            for chunk in body:  # type: ignore[union-attr]
                await self._send_chunk(chunk, timeout)
            await self._write(h.send(_EndOfMessage()), timeout.write)
        except h11.LocalProtocolError as exc:
            raise LocalProtocolError(str(exc)) from exc

    async def receive_head(self, timeout: Timeout) -> h11.Response:
        """Wait for the response's status line and headers."""
        while True:
            event = await self._next_event(timeout.read)
            kind = type(event)
            if kind is _Response:
                return event  # type: ignore[return-value]
            if kind is not _InformationalResponse:  # pragma: no cover - h11 forbids others
                raise RemoteProtocolError(f"expected a response, got {event!r}")

    async def receive_body(self, timeout: Timeout) -> bytes:
        """The next piece of the body as it arrived; ``b""`` once it is complete."""
        while True:
            event = await self._next_event(timeout.read)
            kind = type(event)
            if kind is _Data:
                data: bytes = event.data  # type: ignore[attr-defined]
                if data:
                    return data
            elif kind is _EndOfMessage:
                return b""
            else:  # pragma: no cover - h11 yields only Data, then EndOfMessage
                raise RemoteProtocolError(f"expected the body, got {event!r}")

    # --- reuse ------------------------------------------------------------------------

    def reusable(self) -> bool:
        """True when h11 says the exchange is over on both sides and the
        connection stays open: both states ``DONE``, no stray bytes after
        the response."""
        h = self._h11
        return (not self.closed and h.our_state is _DONE and h.their_state is _DONE
                and not h.trailing_data[0])

    def quiet_while_idle(self) -> bool:
        """True if nothing came while the connection sat idle in the pool.

        Asked (without waiting) before the connection is reused. Bytes the
        server sent with no request outstanding -- a broken server, a response
        to a request never sent -- would be read as the next request's
        response; a close means the server gave up on the connection. Either
        way the connection is closed, not reused. A stray response that
        crosses the request on the wire cannot be told from the real one.
        """
        stream = self._stream
        return not (self.closed or stream.closed or stream.unread_bytes_waiting()
                    or stream.peer_closed())

    def start_next_cycle(self) -> None:
        """Reset h11 for the next request (only after :meth:`reusable`)."""
        self._h11.start_next_cycle()
        self.idle_since = time.monotonic()

    @property
    def maybe_stale(self) -> bool:
        """The connection was kept alive from an earlier exchange and nothing of
        this response has arrived: a failure now most likely means the server
        closed it while it was idle (so the request may be sent again)."""
        return self.cycles > 1 and not self.received

    async def close(self) -> None:
        """Close the connection. One closed in the middle of an exchange is
        aborted at once: whatever it still had queued to send is worthless,
        and a server that stopped reading must not hold up the close."""
        self.closed = True
        if self._h11.our_state is not _IDLE:
            self._stream.close_timeout = 0.0
        await self._stream.close()

    def __repr__(self) -> str:
        h = self._h11
        return (f"<{type(self).__name__} {self.origin[0]}://{self.origin[1]}:{self.origin[2]} "
                f"cycles={self.cycles} ours={h.our_state} theirs={h.their_state}>")

    # --- internals ----------------------------------------------------------------

    async def _send_chunk(self, chunk: bytes, timeout: Timeout) -> None:
        if chunk:
            await self._write(self._h11.send(_Data(data=chunk)), timeout.write)

    async def _write(self, data: bytes | None, timeout: float | None) -> None:
        stream = self._stream
        stream.timeout = timeout
        try:
            await stream.write(data or b"")
        except TimeoutError as exc:
            raise WriteTimeout(f"the server took nothing for {timeout} s") from exc
        except (OSError, StreamError) as exc:
            raise WriteError(f"sending failed: {exc!r}") from exc

    async def _next_event(self, timeout: float | None) -> object:
        h = self._h11
        while True:
            try:
                event = h.next_event()
            except h11.RemoteProtocolError as exc:
                if exc.error_status_hint == 431:  # h11's "Receive buffer too long"
                    raise RemoteProtocolError(
                        f"the server sent a response head larger than "
                        f"max_header_size={self.max_header_size} bytes") from exc
                raise RemoteProtocolError(f"the server broke HTTP/1.1: {exc}") from exc
            if event is not _NEED_DATA:
                return event
            stream = self._stream
            stream.timeout = timeout
            try:
                data = await stream.read(_READ_SIZE)
            except TimeoutError as exc:
                raise ReadTimeout(f"the server sent nothing for {timeout} s") from exc
            except (OSError, StreamError) as exc:
                raise ReadError(f"receiving failed: {exc!r}") from exc
            if data:
                self.received = True
            h.receive_data(data)
