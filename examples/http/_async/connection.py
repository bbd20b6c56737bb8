"""One HTTP/1.1 connection: a stream, and h11's client machine.

Written once, as asyncio code; ``ambidex generate`` writes the blocking twin
(``examples/http/_sync/connection.py``).

The machine is not ours. h11 parses and frames; this module only moves bytes
between it and the connection and turns its events into calls that wait:

* :meth:`send_request` gives h11 a ``Request`` (then ``Data`` and
  ``EndOfMessage``) and writes the bytes it returns;
* :meth:`receive_head` feeds h11 what arrives until it yields a
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
* :meth:`quiet_while_idle` asks, without waiting, whether bytes or a close
  arrived while the connection sat idle; the pool reuses it only if nothing
  did.

**How the bytes move differs by colour** (``IS_ASYNC`` keeps both):

* Blocking: the caller reads when h11 says ``NEED_DATA`` and writes what
  h11 returns, under the phase's timeout. Over plain TCP the connection takes
  the socket once the stream has opened it (``Stream.take_socket``) and
  reads and writes it itself (:class:`~examples.http._socketio.SocketIO`:
  a ``send`` per request, a ``poll`` and a ``recv_into`` per read); over TLS
  it reads and writes the stream (``Stream.read``, ``Stream.write``).
* asyncio: once the connection is open (TCP and TLS through
  :class:`ambidex.io.AsyncStream`, the same code as the blocking twin), the
  connection takes the stream's transport (``AsyncStream.take_transport``)
  and sets its own protocol (:class:`_Callbacks`). Bytes arrive in
  :meth:`_on_data`, which feeds h11 right there and wakes the caller waiting
  for them (one future per wait, nothing else: no StreamReader, no reader
  task, no timeout scope per read); a request is ``transport.write``, which
  never waits, and only waits for the transport to drain when asyncio asks
  us to pause. A request's phases are bounded by one deadline each, kept on
  the connection and checked by one timer that is re-armed lazily
  (:meth:`_arm`), so a request that finishes in time costs a clock read, not
  a timer.

Every failure is raised as one of :mod:`examples.http.errors`, the same
classes in both colours: a timeout as the phase's timeout, an ``OSError``
(or a lost connection) as a read or write error, h11's errors as ours.
"""

from __future__ import annotations

import asyncio  # ambidex: async-only
import select  # ambidex: async-only
import ssl as _ssl
import time
from typing import Any

import h11

from ambidex.io import AsyncStream, StreamError

from .._fastpath import DECLINE, FastHead, ResponseParser, request_bytes
from .._models import Origin, Request, Timeout
from .._socketio import SocketIO
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

__all__ = ["DEFAULT_MAX_HEADER_SIZE", "AsyncConnection", "RequestEvents", "request_event"]

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
#: h11's events are immutable values: one ``EndOfMessage`` serves every request.
_END = h11.EndOfMessage()
_TIMED_OUT: Any = object()  # ambidex: async-only  (a wait's result when its deadline passed)


class RequestEvents:
    """h11 ``Request`` events, built once per distinct request and sent again.

    Building a ``Request`` event is most of what h11 spends on sending one:
    it validates every header name and value with a regular expression and
    lower-cases it. The event is an immutable value, and ``send()`` takes
    the same event any number of times, so a client that sends the same
    request again and again (the same method, target and headers: polling
    an API, fetching one resource) validates it once. The cache is keyed by
    everything the event holds, and bounded: past ``max_size`` distinct
    requests it starts over.
    """

    __slots__ = ("_events", "_wire", "max_size")

    def __init__(self, max_size: int = 256) -> None:
        self._events: dict[tuple[Any, ...], h11.Request] = {}
        # id(event) -> (the event, the bytes the fast path writes for it or None)
        self._wire: dict[int, tuple[h11.Request, bytes | None]] = {}
        self.max_size = max_size

    def get(self, request: Request) -> h11.Request:
        event: h11.Request | None = request._event  # built already (the client's cache)
        if event is not None:
            return event
        key = request.key()
        event = self._events.get(key)
        if event is None:
            event = h11.Request(method=request.method, target=request.url.target,
                                headers=request.h11_headers())
            events = self._events
            if len(events) >= self.max_size:
                events.clear()
            events[key] = event
        return event

    def wire(self, event: h11.Request) -> bytes | None:
        """What h11 writes for ``event`` (a request without a body) on a fresh
        connection, or None if the fast path must not send it behind h11's
        back (:func:`~examples.http._fastpath.request_bytes`); found once per
        event. The entry holds the event, so its id is not reused while
        the entry lives."""
        known = self._wire.get(id(event))
        if known is None or known[0] is not event:
            wire = self._wire
            if len(wire) >= self.max_size:
                wire.clear()
            known = wire[id(event)] = (event, request_bytes(event))
        return known[1]


def request_event(request: Request) -> h11.Request | None:
    """The h11 ``Request`` event for ``request``, or None when h11 refuses
    its headers (the refusal is then raised when the request is sent, as
    :class:`~examples.http.errors.LocalProtocolError`)."""
    try:
        return h11.Request(method=request.method, target=request.url.target,
                           headers=request.h11_headers())
    except h11.LocalProtocolError:
        return None


def _poller_for(transport: asyncio.BaseTransport | None) -> Any:  # ambidex: async-only
    """A ``select.poll`` watching the transport's socket for input, or None
    (no ``poll`` on this platform, no socket)."""
    sock = None if transport is None else transport.get_extra_info("socket")
    if sock is None or not hasattr(select, "poll"):
        return None
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return poller


class _Callbacks(asyncio.BufferedProtocol):  # ambidex: async-only
    """The protocol the transport calls (asyncio): each event goes to the connection.

    A ``BufferedProtocol``: the transport receives into this connection's
    own buffer (``recv_into``), and h11 copies the bytes out at once. With
    a plain ``Protocol`` asyncio receives each time into a new ``bytes`` of
    256 KiB, which the allocator serves with a fresh ``mmap`` and returns
    with a ``munmap``: two more system calls and page faults, about five
    times what the receive itself costs for a small response.
    """

    __slots__ = ("_conn", "_view")

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._view = memoryview(bytearray(_READ_SIZE))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._conn._transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        self._conn._on_data(self._view[:nbytes])

    def eof_received(self) -> bool:
        self._conn._on_lost(None)
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._conn._on_lost(exc)

    def pause_writing(self) -> None:
        self._conn._paused = True

    def resume_writing(self) -> None:
        conn = self._conn
        conn._paused = False
        conn._wake()


class AsyncConnection:
    """A connection to one origin, ready for a request once :meth:`connect` returns.

    One exchange at a time: the pool hands the connection to one caller,
    who sends a request, reads the response, and gives it back.
    ``cycles`` counts the requests started on it; ``received`` says whether
    any byte of the current response arrived (the pool's retry needs both).
    (asyncio: made over a stream, the connection takes the stream's
    transport at once; the stream serves no reads or writes after that.)
    """

    def __init__(self, stream: AsyncStream, origin: Origin, *,
                 max_header_size: int = DEFAULT_MAX_HEADER_SIZE,
                 events: RequestEvents | None = None) -> None:
        self._stream = stream
        self.origin = origin
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=max_header_size)
        self.max_header_size = max_header_size
        self._events = events if events is not None else RequestEvents()
        self.cycles = 0
        self.received = False
        self.arrived = 0  # bytes of this exchange's response received so far
        self.idle_since = time.monotonic()
        self.closed = False
        # True when h11 may hold an event not yet taken: set when bytes are
        # given to it, cleared when next_event says NEED_DATA (and by
        # start_next_cycle, whose buffer is empty). While it is False, asking
        # h11 is skipped: it could only say NEED_DATA (which costs as much as
        # parsing a small event). (In a fast-path exchange: bytes came that
        # the parser has not looked at.)
        self._unparsed = False
        # The fast path (see exchange and examples/http/_fastpath.py): while an
        # exchange runs on it, _fast is the buffer the response's bytes go to
        # instead of h11, _fast_event and _fast_wire the request (for the
        # replay), _fast_eof whether the server closed meanwhile. _fast_done:
        # the exchange finished on it (h11 never left IDLE; reusable() and
        # start_next_cycle() answer for it).
        self._parser = ResponseParser(max_header_size)
        self._fast: bytearray | None = None
        self._fast_event: Any = None
        self._fast_wire = b""
        self._fast_eof = False
        self._fast_done = False
        if IS_ASYNC:
            self._loop = loop = asyncio.get_running_loop()
            # The loop's clock, for deadlines: asyncio's own loop reads
            # time.monotonic() in a Python method; called directly it is a C
            # call (every wait reads it). Any other loop keeps its own.
            self._clock: Any = (time.monotonic if type(loop).time is asyncio.BaseEventLoop.time
                                else loop.time)
            self._transport: asyncio.Transport | None = None
            # The caller's one wait (for bytes, or for the transport to drain).
            self._waiter: asyncio.Future[Any] | None = None
            # The connection ended (None until it did; then the error, or EOF).
            self._lost: BaseException | None = None
            self._ended = False
            self._paused = False  # the transport asked us to stop writing
            # The current wait's deadline (loop time), and the one timer that
            # enforces deadlines: armed at the earliest, re-armed when it fires early.
            self._deadline: float | None = None
            self._timer: asyncio.TimerHandle | None = None
            self._timer_when = 0.0
            # From here on bytes move by callbacks (see the module's docstring):
            # take_transport calls connection_made, which sets _transport.
            stream.take_transport(_Callbacks(self))
            # What quiet_while_idle asks the socket (plain TCP): one poll
            # object, made once, so the question is one system call.
            self._poller = _poller_for(self._transport) if origin[0] == "http" else None
        else:
            # Blocking, plain TCP: the connection reads and writes the socket
            # itself (Stream.take_socket; see examples/http/_socketio.py), a
            # send per request and a poll and a recv_into per read. None over
            # TLS: the stream moves the bytes.
            self._io = SocketIO.take(stream) if origin[0] == "http" else None

    @classmethod
    async def connect(cls, origin: Origin, *, timeout: Timeout,
                      ssl_context: _ssl.SSLContext | None = None,
                      max_header_size: int = DEFAULT_MAX_HEADER_SIZE,
                      events: RequestEvents | None = None) -> AsyncConnection:
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
        try:
            return cls(stream, origin, max_header_size=max_header_size, events=events)
        except BaseException as exc:
            await stream.close()
            if isinstance(exc, (OSError, StreamError)):
                raise ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
            raise

    # --- one exchange ----------------------------------------------------------------

    async def send_request(self, request: Request, timeout: Timeout) -> None:
        """Send the request line, the headers and the body.

        A ``bytes`` body goes out with the head in one write; an iterable
        body is sent chunk by chunk as it is produced (chunked encoding,
        unless the caller gave a ``Content-Length``).
        """
        self.cycles += 1
        self.received = False
        self.arrived = 0
        h = self._h11
        body = request.body
        try:
            data = h.send(self._events.get(request))
            if isinstance(body, bytes):
                if body:
                    data += h.send(_Data(data=body))
                data += h.send(_END)
                if IS_ASYNC:  # _write, spelled out: this is every bodiless request's path
                    self._transport_write(data)
                    if self._paused:
                        await self._drained(timeout.write)
                    return
                await self._write(data, timeout.write)
                return
            await self._write(data, timeout.write)
            if IS_ASYNC:
                if hasattr(body, "__aiter__"):
                    async for chunk in body:
                        await self._send_chunk(chunk, timeout)
                    await self._write(h.send(_END), timeout.write)
                    return
            for chunk in body:  # type: ignore[union-attr]
                await self._send_chunk(chunk, timeout)
            await self._write(h.send(_END), timeout.write)
        except h11.LocalProtocolError as exc:
            raise LocalProtocolError(str(exc)) from exc

    async def receive_head(self, timeout: Timeout) -> h11.Response:
        """Wait for the response's status line and headers.

        h11's ``max_incomplete_event_size`` bounds a head that has not all
        arrived yet; one that arrives whole in a single read is parsed
        whatever its size. So when more than ``max_header_size`` bytes have
        come, the head is measured too.
        """
        while True:
            event = self._event()
            if event is _NEED_DATA:
                await self._receive(timeout.read)
                continue
            if self.arrived > self.max_header_size:
                self._check_head_size(event)
            kind = type(event)
            if kind is _Response:
                return event  # type: ignore[return-value]
            if kind is not _InformationalResponse:  # pragma: no cover - h11 forbids others
                raise RemoteProtocolError(f"expected a response, got {event!r}")

    async def exchange(self, request: Request,
                       timeout: Timeout) -> tuple[h11.Response | FastHead, list[bytes], bool]:
        """Send ``request``, wait for the response's head, and take as much
        of the body as came with it, without waiting for more:
        ``(head, pieces, complete)``. ``complete`` says the body's end was
        among the pieces; if not, the rest is read with :meth:`receive_body`.

        This is :meth:`send_request`, :meth:`receive_head` and
        :meth:`body_piece` in one call, for the caller who reads the whole
        body (``Client.request``): a small response arrives whole in one
        read, so its request needs one wait, and the caller gets it all at
        once (no loop over the body's pieces, no wait after the head).
        Spelled out, with h11's events taken here: this is every such
        request's path.

        **The fast path.** A request without a body, on a connection whose
        h11 machine is ``IDLE``/``IDLE`` with nothing in its buffer, is
        written as the bytes h11 would write for it (``RequestEvents.wire``)
        without telling h11, and its response is read by the strict parser
        of :mod:`examples.http._fastpath`, which takes the common response
        whole (a ``Content-Length`` body, kept alive) and declines anything
        else. The head is then a :class:`~examples.http._fastpath.FastHead`
        (the same attributes as h11's ``Response``). On a decline the cycle
        is replayed into h11 (:meth:`_replay`) and h11 goes on from there,
        so its errors, limits and decisions stay the reference.
        """
        body = request.body
        if type(body) is bytes and not body:
            # send_request, spelled out for a request without a body
            self.cycles += 1
            self.received = False
            self.arrived = 0
            h = self._h11
            try:
                sent_event = self._events.get(request)
            except h11.LocalProtocolError as exc:  # pragma: no cover - the client checks first
                raise LocalProtocolError(str(exc)) from exc
            wire = self._events.wire(sent_event)
            if (wire is not None and not self._unparsed and h.our_state is _IDLE
                    and h.their_state is _IDLE):
                fast = True
                self._fast = self._parser.start(sent_event.method == b"HEAD")
                self._fast_event = sent_event
                self._fast_wire = wire
                self._fast_eof = False
                data = wire
            else:
                fast = False
                try:
                    data = h.send(sent_event) + h.send(_END)
                except h11.LocalProtocolError as exc:
                    raise LocalProtocolError(str(exc)) from exc
            # _write, spelled out in async (one coroutine less per request)
            if IS_ASYNC:
                self._transport_write(data)
                if self._paused:
                    await self._drained(timeout.write)
            else:
                await self._write(data, timeout.write)
            if fast:
                parser = self._parser
                while True:
                    if self._unparsed:
                        self._unparsed = False
                        result = parser.parse()
                        if result is DECLINE:
                            break
                        if result is not None:  # the whole response, kept alive
                            self._fast = None
                            self._fast_done = not self._fast_eof
                            return parser.head, [result], True  # type: ignore[return-value, unused-ignore]
                    if self._fast_eof:  # the server closed before the response was whole
                        break
                    await self._receive(timeout.read)
                self._replay()
        else:
            await self.send_request(request, timeout)
        h = self._h11
        head: h11.Response | None = None
        pieces: list[bytes] = []
        while True:
            if not self._unparsed:  # h11 said NEED_DATA since the last bytes came
                if head is not None:
                    return head, pieces, False
                await self._receive(timeout.read)
                continue
            try:
                event = h.next_event()
            except h11.RemoteProtocolError as exc:
                raise self._remote_error(exc) from exc
            kind = type(event)
            if kind is _Data:
                data = event.data  # type: ignore[union-attr]
                if data:
                    pieces.append(data)
            elif kind is _EndOfMessage:
                if head is None:  # pragma: no cover - h11 sends the head first
                    raise RemoteProtocolError(f"expected a response, got {event!r}")
                return head, pieces, True
            elif event is _NEED_DATA:
                self._unparsed = False
            elif kind is _Response:
                if self.arrived > self.max_header_size:
                    self._check_head_size(event)
                head = event  # type: ignore[assignment]
            elif kind is not _InformationalResponse:  # pragma: no cover - h11 forbids others
                raise RemoteProtocolError(f"expected a response, got {event!r}")

    async def receive_body(self, timeout: Timeout) -> bytes:
        """The next piece of the body as it arrived; ``b""`` once it is complete."""
        while True:
            piece = self.body_piece()
            if piece is not None:
                return piece
            await self._receive(timeout.read)

    def body_piece(self) -> bytes | None:
        """The next piece of the body if h11 holds it already (``b""`` once
        the body is complete), without waiting; None when more must arrive
        first (then :meth:`receive_body` waits for it). A small response
        comes whole in one read, so its reader needs no wait after the head."""
        while True:
            event = self._event()
            if event is _NEED_DATA:
                return None
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
        the response. (After a fast-path exchange: it finished whole, and
        nothing came since.)"""
        if self._fast_done:
            return not self.closed and not self._unparsed
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

        Blocking: the stream is asked (one peek at the socket). asyncio: the
        transport has told us most of it -- whatever the event loop received
        went to :meth:`_on_data` and into h11's buffer (empty after
        :meth:`start_next_cycle`), and a close to :meth:`_on_lost` -- and
        what reached the socket since the loop last looked is one
        zero-timeout ``poll`` on a poll object the connection keeps (over
        TLS, where the socket holds records that may carry no data, the
        stream's own check). A stray response the server sends in the same
        instant as we reuse the connection is one that crosses the request.
        """
        if IS_ASYNC:
            if self.closed or self._ended or self._unparsed:
                return False
            # Bytes, the server's close or an error in the socket, not yet
            # delivered by the loop: any of them, and the answer is no.
            poller = self._poller
            if poller is not None:
                return not poller.poll(0)  # a zero timeout: never waits
            # TLS: the socket holds records, maybe no data; the stream knows
            # (the stream counts as closed once its transport was taken).
            return self._stream.read_would_wait()
        io = self._io
        if io is not None:  # plain TCP: one zero-timeout poll of the socket
            return not self.closed and io.quiet()
        stream = self._stream
        return not (self.closed or stream.closed) and stream.read_would_wait()

    def start_next_cycle(self) -> None:
        """Reset h11 for the next request (only after :meth:`reusable`)."""
        if self._fast_done:  # h11 never left IDLE
            self._fast_done = False
        else:
            self._h11.start_next_cycle()
        self.idle_since = time.monotonic()
        self._unparsed = False  # reusable() saw h11's buffer empty

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
        mid_exchange = self._h11.our_state is not _IDLE or self._fast is not None
        if IS_ASYNC:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            transport = self._transport
            if mid_exchange and transport is not None:
                transport.abort()
        if mid_exchange:
            self._stream.close_timeout = 0.0
        await self._stream.close()

    def __repr__(self) -> str:
        h = self._h11
        return (f"<{type(self).__name__} {self.origin[0]}://{self.origin[1]}:{self.origin[2]} "
                f"cycles={self.cycles} ours={h.our_state} theirs={h.their_state}>")

    def _on_data(self, data: bytes | memoryview) -> None:  # ambidex: async-only
        """(asyncio, the transport's callback) Bytes from the server: into
        h11's buffer now, and the caller woken.

        Bytes that arrive while no request is out (the connection idle in
        the pool) go there too: :meth:`quiet_while_idle` then says no, and
        the connection is closed, never reused.
        """
        if self._ended:  # pragma: no cover - asyncio delivers nothing after EOF
            return
        fast = self._fast
        if fast is not None:  # a fast-path exchange: to its parser's buffer
            fast += data
        else:
            self._h11.receive_data(data)  # type: ignore[arg-type]  # "a bytes-like object", say h11's docs
        self._unparsed = True
        self.received = True
        self.arrived += len(data)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _on_lost(self, exc: BaseException | None) -> None:  # ambidex: async-only
        """The server closed its side (``exc`` None) or the connection failed."""
        if not self._ended:
            self._ended = True
            self._lost = exc
            if exc is None:  # end of file: h11 decides what it means
                if self._fast is not None:
                    self._fast_eof = True  # (the fast path declines, and replays it)
                else:
                    self._h11.receive_data(b"")
                self._unparsed = True
        self._wake()

    def _wake(self) -> None:  # ambidex: async-only
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _drained(self, timeout: float | None) -> None:  # ambidex: async-only
        """Wait until asyncio resumes our writing (its buffer drained), within ``timeout``."""
        deadline = None if timeout is None else self._clock() + timeout
        while self._paused:
            if self._ended:
                raise WriteError(f"sending failed: the connection is closed ({self._lost!r})")
            if await self._wait(deadline):
                raise WriteTimeout(f"the server took nothing for {timeout} s")

    async def _wait(self, deadline: float | None) -> bool:  # ambidex: async-only
        """One wait for a callback to wake us; True if ``deadline`` (loop
        time) passed first.

        A cancellation leaves the connection mid-exchange, so the pool
        closes it: nothing more to undo here.
        """
        waiter = self._loop.create_future()
        self._waiter = waiter
        if deadline is not None:
            self._arm(deadline)
        try:
            return await waiter is _TIMED_OUT
        finally:
            self._waiter = None
            self._deadline = None

    def _arm(self, deadline: float) -> None:  # ambidex: async-only
        """Set the current wait's deadline; make sure a timer fires by then.

        The timer is not cancelled when a wait ends in time (most do, in
        microseconds): it fires later, finds no wait or a later deadline, and
        re-arms or retires. So a wait costs a clock read, and the loop's
        timer heap holds at most one entry per connection.
        """
        self._deadline = deadline
        timer = self._timer
        if timer is None or self._timer_when > deadline:
            if timer is not None:
                timer.cancel()
            self._timer_when = deadline
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:  # ambidex: async-only
        self._timer = None
        deadline = self._deadline
        waiter = self._waiter
        if deadline is None or waiter is None or waiter.done():
            return
        if deadline <= self._timer_when:
            waiter.set_result(_TIMED_OUT)
        else:  # this wait started after the timer was armed: its deadline is later
            self._timer_when = deadline
            self._timer = self._loop.call_at(deadline, self._on_timer)

    # --- internals ----------------------------------------------------------------

    def _check_head_size(self, event: object) -> None:
        head: h11.Response = event  # type: ignore[assignment]
        size = len(head.reason) + 15  # "HTTP/1.1 200 " and CRLF
        for name, value in head.headers:
            size += len(name) + len(value) + 4  # ": " and CRLF
        if size > self.max_header_size:
            raise RemoteProtocolError(f"the server sent a response head larger than "
                                      f"max_header_size={self.max_header_size} bytes")

    async def _send_chunk(self, chunk: bytes, timeout: Timeout) -> None:
        if chunk:
            await self._write(self._h11.send(_Data(data=chunk)), timeout.write)

    async def _write(self, data: bytes | None, timeout: float | None) -> None:
        if IS_ASYNC:
            self._transport_write(data or b"")
            if self._paused:  # asyncio's buffer is past its high-water mark
                await self._drained(timeout)
            return
        io = self._io
        if io is not None:
            io.send(data or b"", timeout)
            return
        stream = self._stream
        if stream.timeout != timeout:
            stream.timeout = timeout
        try:
            await stream.write(data or b"")
        except TimeoutError as exc:
            raise WriteTimeout(f"the server took nothing for {timeout} s") from exc
        except (OSError, StreamError) as exc:
            raise WriteError(f"sending failed: {exc!r}") from exc

    def _transport_write(self, data: bytes) -> None:  # ambidex: async-only
        """(asyncio) Hand ``data`` to the transport, which never waits (it
        sends what the socket takes and buffers the rest, then calls
        ``pause_writing`` past its high-water mark)."""
        transport = self._transport
        if self._ended or transport is None or transport.is_closing():
            raise WriteError(f"sending failed: the connection is closed ({self._lost!r})")
        transport.write(data)

    def _event(self) -> object:
        """h11's next event, or ``NEED_DATA``; h11's errors raised as ours."""
        if not self._unparsed:  # nothing new since h11 last said NEED_DATA
            return _NEED_DATA
        try:
            event = self._h11.next_event()
        except h11.RemoteProtocolError as exc:
            raise self._remote_error(exc) from exc
        if event is _NEED_DATA:
            self._unparsed = False
        return event

    def _replay(self) -> None:
        """The fast path declined: tell h11 the exchange so far, as if it had
        seen it from the start -- the request (h11 must write exactly the
        bytes that were written), its end, every byte of the response that
        came, and the server's close if it came -- and let h11 go on."""
        h = self._h11
        received = self._fast
        self._fast = None
        sent = h.send(self._fast_event) + h.send(_END)
        if sent != self._fast_wire:  # pragma: no cover - a bug in request_bytes
            raise RuntimeError(f"the fast path wrote {self._fast_wire!r}, h11 would write {sent!r}")
        if received:
            h.receive_data(received)  # type: ignore[arg-type]  # (h11 copies it)
            self._parser.release()
        if self._fast_eof:
            h.receive_data(b"")
            self._fast_eof = False
        self._unparsed = True

    def _remote_error(self, exc: h11.RemoteProtocolError) -> RemoteProtocolError:
        """h11's complaint about the server, as ours."""
        if exc.error_status_hint == 431:  # h11's "Receive buffer too long"
            return RemoteProtocolError(f"the server sent a response head larger than "
                                       f"max_header_size={self.max_header_size} bytes")
        return RemoteProtocolError(f"the server broke HTTP/1.1: {exc}")

    async def _receive(self, timeout: float | None) -> None:
        """Wait for more bytes and give them to h11 (``b""`` at end of file).

        asyncio: :meth:`_on_data` gives them to h11; this waits until it did.
        A connection that ended in a failure (a reset) raises here once h11
        has parsed every byte that came before it; a clean end of file went
        to h11 as ``b""``, and h11 says what it means (an error if a response
        was due, the end of a body delimited by the close).
        """
        if IS_ASYNC:
            # _wait, spelled out: this is every response's wait.
            deadline = None if timeout is None else self._clock() + timeout
            while not self._unparsed:
                if self._ended:
                    lost = self._lost
                    raise ReadError(f"receiving failed: {lost!r}" if lost is not None else
                                    "receiving failed: the connection ended") from lost
                waiter = self._waiter = self._loop.create_future()
                if deadline is not None:
                    self._arm(deadline)
                try:
                    woken = await waiter
                finally:
                    self._waiter = None
                    self._deadline = None
                if woken is _TIMED_OUT:
                    raise ReadTimeout(f"the server sent nothing for {timeout} s")
            return
        io = self._io
        if io is not None:
            data: bytes | memoryview = io.receive(timeout)
        else:
            data = await self._read(timeout)
        if data:
            self.received = True
            self.arrived += len(data)
        fast = self._fast
        if fast is None:
            self._h11.receive_data(data)  # type: ignore[arg-type]  # h11 copies it, as _on_data's
        elif data:  # a fast-path exchange: to its parser's buffer
            fast += data
        else:
            self._fast_eof = True
        self._unparsed = True

    async def _read(self, timeout: float | None) -> bytes:
        """(blocking, TLS) The next read of the stream."""
        stream = self._stream
        if stream.timeout != timeout:
            stream.timeout = timeout
        try:
            return await stream.read(_READ_SIZE)
        except TimeoutError as exc:
            raise ReadTimeout(f"the server sent nothing for {timeout} s") from exc
        except (OSError, StreamError) as exc:
            raise ReadError(f"receiving failed: {exc!r}") from exc
