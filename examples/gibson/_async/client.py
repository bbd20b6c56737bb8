"""The gibson client: written once, here, in the asyncio colour.

The blocking client in ``examples/gibson/_sync/client.py`` is generated from
this file by ``ambidex generate`` (see ``[[tool.ambidex.generate]]`` in
pyproject.toml): ``await`` and ``async`` are dropped, ``AsyncStream`` becomes
``Stream``, ``AsyncClient`` becomes ``Client``. The protocol itself lives in
``examples.gibson.protocol`` as a sans-IO machine both colours share, so what
is left here is only the moving of bytes.

Two things differ between the colours, and are marked so the generator knows:

* statements ending in ``# ambidex: async-only`` (or ``sync-only``) exist in
  one colour only;
* ``if IS_ASYNC: ... else: ...`` keeps, in each colour, the branch that is
  right for it.

The asyncio colour shares one connection between any number of tasks and
moves its bytes by callbacks (``examples/_transport.py``): requests go to the
transport in the order they were made, and the transport's ``data_received``
pairs each reply with the oldest waiting request (the machine's
``PipelineQueue`` says which request a reply answers), in the same turn of
the loop (two turns per request, like raw streams). The blocking colour
sends a request and reads its reply; ``execute_many`` and ``get_many``
pipeline a batch (send N, then read N) in both colours.
"""

from __future__ import annotations

import asyncio  # ambidex: async-only
import collections.abc  # ambidex: async-only
import copy  # ambidex: async-only
import functools  # ambidex: async-only
import time  # ambidex: async-only
from collections.abc import Iterable
from types import TracebackType
from typing import TypeVar  # ambidex: async-only

from ambidex.io import AsyncStream
from ambidex.sansio import NEED_DATA, RemoteProtocolError
from examples._timer import DeadlineTimer  # ambidex: async-only
from examples._transport import MAX_READ, ReplyProtocol  # ambidex: async-only
from examples.gibson._unasked import (
    transport_check,  # ambidex: async-only
    unasked_bytes_waiting,
)
from examples.gibson.protocol import (
    DEFAULT_MAX_PAYLOAD,
    ClientConnection,
    ConnectionClosed,
    ConnectionClosedError,
    Delete,
    Encoding,
    Error,
    Get,
    NotFound,
    Ok,
    Reply,
    Request,
    ServerError,
    Set,
    Value,
    as_key,
)

IS_ASYNC = True

_UNASKED = "the server sent bytes with no request pending (before this request was sent)"

T = TypeVar("T")  # ambidex: async-only

RECEIVE_SIZE = 65536
"""Bytes asked of the stream per read."""

DEFAULT_MAX_PENDING = 1024
"""Requests in flight on one connection before new ones wait (or, in a blocking
batch, before the client stops to read replies)."""


class AsyncClient:
    """A gibson client on one connection.

    ``get``/``set``/``delete`` raise :class:`ServerError` when the server answers
    ERROR (the connection stays usable). ``execute``/``execute_many`` return the
    replies as they are, ERROR included.

    **Timeouts.** ``timeout`` (seconds, ``None`` for none) bounds each call and
    raises the builtin :class:`TimeoutError`. A caller that times out or is
    cancelled keeps its place in line: its reply is still read, then dropped, so
    it can never be handed to a later request. In the blocking colour the
    timeout applies to each socket operation.

    **Failures.** If the server breaks the protocol or the connection drops,
    every request still waiting fails with that error, and later calls raise
    :class:`ConnectionClosedError` naming it. A failed write leaves the
    connection unusable (part of a request may be on the wire).

    **Concurrency.** The asyncio colour is safe to share between tasks on one
    event loop. The blocking colour is for one thread at a time.
    """

    def __init__(
        self,
        stream: AsyncStream,
        *,
        timeout: float | None = None,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, not {max_pending}")
        self._stream = stream
        self._conn = ClientConnection(max_payload=max_payload)
        self._timeout = timeout
        self.max_pending = max_pending
        self._error: BaseException | None = None
        self._closed = False
        if IS_ASYNC:
            # Replies are read as long as the connection lives (by callbacks, see
            # examples/_transport.py); timeouts are enforced where callers wait.
            stream.timeout = None
            # One entry per request on the wire, oldest first: (the caller's
            # future, its deadline in loop time or None). The machine's own
            # PipelineQueue pairs replies with requests; this deque mirrors it
            # one for one (pushed and popped together), so a reply goes to
            # the oldest entry. A future already done when its reply comes
            # belongs to a caller who gave up: the reply is dropped.
            self._waiters: collections.deque[tuple[asyncio.Future[Reply], float | None]] = (
                collections.deque()
            )
            # Requests queued in this turn of the loop, written together by
            # _flush (scheduled once per turn); see _queue.
            self._outgoing: list[bytes] = []
            self._flush_scheduled = False
            self._transport: asyncio.Transport | None = None
            # The running loop's clock (until _start binds the loop's own
            # methods: once, not looked up per request).
            self._loop_time: collections.abc.Callable[[], float] = _no_loop_yet
            self._create_future: collections.abc.Callable[[], asyncio.Future[Reply]]
            # Has the server sent bytes nobody asked for? (_start binds the
            # cheapest exact answer once it has the transport.)
            self._bytes_waiting: collections.abc.Callable[[], bool] = functools.partial(
                unasked_bytes_waiting, stream
            )
            # One timer per connection, not per request: armed for the
            # earliest deadline among the waiting requests; see _expire. Made
            # by _start, with the loop: a timer descriptor on Linux, so the
            # loop's waits for replies carry no timeout (examples/_timer.py).
            self._timer: DeadlineTimer | None = None
            self._timer_when = _NEVER
            self._broken = asyncio.Event()  # set when the connection fails or closes
            # Callers waiting for room (max_pending), first come first served:
            # (how many requests, woken when they fit). _reserved counts room
            # granted to woken callers that have not queued their requests yet.
            self._room_waiters: collections.deque[tuple[int, asyncio.Future[None]]] = (
                collections.deque()
            )
            self._reserved = 0
        else:
            stream.timeout = timeout  # in this colour, the stream enforces it
            # Replies come in request order: numbering both sides tells whose
            # reply has arrived, and which ones belong to callers who gave up.
            self._sent = 0
            self._received = 0

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        timeout: float | None = None,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> AsyncClient:
        """Open a connection; ``timeout`` bounds the connect too."""
        stream = await AsyncStream.connect(host, port, timeout=timeout)
        client = cls(stream, timeout=timeout, max_payload=max_payload, max_pending=max_pending)
        # Read from the start: a byte the server sends before any request is an
        # error to report, not something to mistake for the first reply.
        client._start()  # ambidex: async-only
        return client

    # -- the API ------------------------------------------------------------------

    @property
    def timeout(self) -> float | None:
        """Seconds each call may take (``None``: no limit); may be changed at any time."""
        return self._timeout

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self._timeout = value
        if not IS_ASYNC:
            self._stream.timeout = value

    async def get(self, key: str | bytes) -> bytes | str | None:
        """The value of ``key`` (``str`` if it was stored as text), or ``None``."""
        if IS_ASYNC:
            # No Get made: the machine encodes the key itself (send_get).
            future = self._begin(self._conn.send_get, key)
            if future is not None:
                return _value_of(await future, key)
        return _value_of(await self.execute(Get(as_key(key))), key)

    async def set(self, key: str | bytes, value: bytes | str) -> None:
        """Store ``value`` under ``key``; ``str`` values are stored as UTF-8 text."""
        request = _set_request(key, value)
        if IS_ASYNC:
            future = self._begin(self._conn.send, request)
            if future is not None:
                _check_ok(await future)
                return
        _check_ok(await self.execute(request))

    async def delete(self, key: str | bytes) -> bool:
        """Remove ``key``; True if it existed."""
        request = Delete(as_key(key))
        if IS_ASYNC:
            future = self._begin(self._conn.send, request)
            if future is not None:
                return _deleted(await future)
        return _deleted(await self.execute(request))

    async def get_many(self, keys: Iterable[str | bytes]) -> list[bytes | str | None]:
        """Pipelined ``get`` of every key: one write, then the replies in order."""
        keys = list(keys)
        replies = await self.execute_many([Get(as_key(key)) for key in keys])
        return [_value_of(reply, key) for reply, key in zip(replies, keys, strict=True)]

    async def execute(self, request: Request) -> Reply:
        """Send one request and return its reply (an ERROR reply is returned, not raised)."""
        if self._closed or self._error is not None:
            self._check_usable()  # raises
        if IS_ASYNC:
            # The hot path of every call: no coroutine but this one, no timer
            # of its own (see _expire), and the reply set on the future by
            # _Replies.buffer_updated in the turn it arrives.
            deadline = None if self._timeout is None else self._loop_time() + self._timeout
            if self._room_waiters or len(self._waiters) + self._reserved >= self.max_pending:
                await self._wait_for_room(1, deadline)
            # Awaited bare: a caller cancelled here cancels the future itself
            # (Task.cancel does), so it is done either way and, if its reply
            # has not come, the reply is dropped when it does.
            return await self._queue([request], deadline)[0]
        else:
            return await self._reply_number(await self._send([request]))

    async def execute_many(self, requests: Iterable[Request]) -> list[Reply]:
        """Pipeline ``requests``: send them together, return their replies in order."""
        batch = list(requests)
        self._check_usable()
        if not batch:
            return []
        if IS_ASYNC:
            deadline = None if self._timeout is None else self._loop_time() + self._timeout
            await self._wait_for_room(len(batch), deadline)
            futures = self._queue(batch, deadline)
            try:
                if len(futures) == 1:
                    return [await futures[0]]
                return await asyncio.gather(*futures)
            finally:
                # No-op for answered futures. The others (we timed out or were
                # cancelled) keep their places; _Replies drops their replies.
                for future in futures:
                    future.cancel()
        else:
            replies: list[Reply] = []
            # Read between chunks, so a huge batch cannot fill both sockets'
            # buffers with each side blocked writing to the other.
            for start in range(0, len(batch), self.max_pending):
                chunk = batch[start : start + self.max_pending]
                last = await self._send(chunk)
                for number in range(last - len(chunk) + 1, last + 1):
                    replies.append(await self._reply_number(number))
            return replies

    async def close(self) -> None:
        """Close the connection. Requests still waiting fail with ConnectionClosedError."""
        if self._closed:
            return
        self._closed = True
        self._break(ConnectionClosedError("the client was closed"))
        await self._stream.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "broken" if self._error else "open"
        return f"<{type(self).__name__} {state} outstanding={self._conn.outstanding}>"

    # -- both colours -------------------------------------------------------------

    async def _receive_reply(self) -> Reply:
        """Read until the machine has a whole reply."""
        while True:
            event = self._conn.next_event()
            if event is NEED_DATA:
                self._conn.receive_data(await self._stream.read(RECEIVE_SIZE))
            elif isinstance(event, ConnectionClosed):
                raise ConnectionClosedError("the server closed the connection")
            else:
                return event

    def _check_usable(self) -> None:
        if self._closed:
            raise ConnectionClosedError("the client is closed")
        if self._error is not None:
            raise ConnectionClosedError(
                f"the connection is unusable since an earlier error: {self._error!r}"
            ) from self._error

    def _break(self, error: BaseException) -> None:
        """The connection is unusable: remember why; fail every waiting request with it."""
        if self._error is None:
            self._error = error
        if IS_ASYNC:
            waiters = list(self._waiters)
            self._waiters.clear()
            for waiter, _ in waiters:
                if not waiter.done():
                    waiter.set_exception(_copy_error(error))
            if self._timer is not None:
                self._timer.close()  # no deadline is watched again: broken for good
            self._timer_when = _NEVER
            for _, room in self._room_waiters:
                if not room.done():
                    room.set_exception(ConnectionClosedError(f"connection failed: {error!r}"))
            self._room_waiters.clear()
            self._outgoing.clear()
            self._broken.set()

    def _refuse_unasked_bytes(self) -> None:
        """Raise if the server sent bytes while nothing was outstanding and
        they are still unread (see :mod:`examples.gibson._unasked`)."""
        if unasked_bytes_waiting(self._stream):
            raise RemoteProtocolError(_UNASKED)

    # -- blocking colour only (sync-only): one caller at a time, replies counted ----

    async def _send(self, requests: list[Request]) -> int:  # ambidex: sync-only
        """Write a batch; the number of its last request."""
        if self._conn.outstanding == 0:
            # Bytes the server sent unasked are an error; find out before they
            # could be taken for this batch's replies.
            try:
                self._conn.next_event()
                self._refuse_unasked_bytes()
            except BaseException as exc:
                self._break(exc)
                raise
        data = self._conn.send_many(requests)
        try:
            await self._stream.write(data)
        except BaseException as exc:
            # Part of the batch may be on the wire: the connection is out of step.
            self._break(exc)
            raise
        self._sent += len(requests)
        return self._sent

    async def _reply_number(self, number: int) -> Reply:  # ambidex: sync-only
        """The reply to request ``number``, dropping earlier ones nobody waits for."""
        while True:
            try:
                reply = await self._receive_reply()
            except TimeoutError:
                # A timed-out read consumes nothing: the reply is still owed,
                # and the next call will read and drop it before its own.
                raise
            except BaseException as exc:
                self._break(exc)
                raise
            self._received += 1
            if self._received == number:
                return reply

    # -- asyncio colour only (async-only, absent from the blocking twin): many tasks,
    #    one transport, replies delivered by its callbacks

    def _begin(  # ambidex: async-only
        self, send: collections.abc.Callable[[T], bytes], request: T
    ) -> asyncio.Future[Reply] | None:
        """:meth:`execute` without its coroutine, for get/set/delete: the
        request goes out as ``execute`` sends it and the future of its reply
        is returned -- or ``None``, nothing sent, when ``execute`` has more to
        do (raise for a closed or broken connection, wait for room, take the
        transport over): the caller then awaits ``execute`` instead.
        ``send(request)`` is the machine's: ``send`` for a request, or
        ``send_get`` for a GET's key (no :class:`Get` made).

        :meth:`_queue`'s steps for one request, without its lists: every call
        but a batch comes here. Awaiting the future is what ``execute`` does,
        cancellation included (a cancelled caller cancels the future; its
        reply is dropped when it comes), and the deadline is the same entry
        for the same timer.
        """
        transport = self._transport
        waiters = self._waiters
        if (
            transport is None
            or self._closed
            or self._error is not None
            or self._room_waiters
            or len(waiters) + self._reserved >= self.max_pending
        ):
            return None
        # Checked and recorded by the machine first: a bad key raises here,
        # with nothing recorded and the connection still usable.
        data = send(request)
        idle = not waiters  # nothing on the wire, so nothing queued either
        if idle and self._bytes_waiting():
            error = RemoteProtocolError(_UNASKED)
            self._break(error)
            raise error
        # Written BEFORE its waiter is recorded: one at a time, the time from
        # a reply to the next write is the client's whole share of the round
        # trip (the server, on another CPU, starts on the request while this
        # caller records it: measured, 1.5-2 us of each spread GET moved off
        # the critical path). Nothing runs in between -- no await, and
        # asyncio hands a transport's bytes to its protocol only from a turn
        # of the loop, never from inside write -- so the waiter is in place,
        # in wire order, before any reply can be read.
        if idle:
            try:
                transport.write(data)  # never waits: nothing can cut the request in half
            except BaseException as exc:
                self._write_failed(exc)
                raise
        else:
            self._enqueue(data)
        future = self._create_future()
        timeout = self._timeout
        if timeout is None:
            waiters.append((future, None))
        else:
            deadline = self._loop_time() + timeout
            waiters.append((future, deadline))
            if deadline < self._timer_when:
                self._arm(deadline)
        return future

    def _queue(  # ambidex: async-only
        self, requests: list[Request], deadline: float | None
    ) -> list[asyncio.Future[Reply]]:
        """Send ``requests`` (now, or with this turn's others); return their futures
        in wire order. Called once the requests fit under max_pending.

        Not a coroutine: between recording the requests (machine, waiters)
        and handing their bytes to the transport or the queue nothing can
        interrupt, so the waiters' order is the order on the wire and no
        cancellation falls between them (``transport.write`` never waits).
        """
        if self._closed or self._error is not None:
            self._check_usable()
        transport = self._transport
        if transport is None:
            transport = self._start()
        waiters = self._waiters
        # Checked and recorded first: an invalid request raises here, with
        # nothing recorded and the connection still usable.
        conn = self._conn
        data = conn.send(requests[0]) if len(requests) == 1 else conn.send_many(requests)
        idle = not waiters  # nothing on the wire, so nothing queued either
        if idle and self._bytes_waiting():
            # Bytes the server sent unasked (see examples.gibson._unasked):
            # refused before they could be taken for these requests' replies.
            error = RemoteProtocolError(_UNASKED)
            self._break(error)
            raise error
        create_future = self._create_future
        futures: list[asyncio.Future[Reply]] = []
        for _ in requests:
            future = create_future()
            futures.append(future)
            waiters.append((future, deadline))
        if deadline is not None and deadline < self._timer_when:
            self._arm(deadline)
        if idle:
            try:
                transport.write(data)
            except BaseException as exc:
                self._write_failed(exc)  # these futures fail with it
                raise
        else:
            self._enqueue(data)
        return futures

    def _enqueue(self, data: bytes) -> None:  # ambidex: async-only
        """Recorded requests' bytes for a busy connection (requests already on
        the wire): they join this turn's queue, which :meth:`_flush` writes
        in one go. (An idle connection's are written at once, by the caller:
        ``transport.write`` never waits, so nothing can cut a request in
        half; that one line is not worth a call per request.)"""
        self._outgoing.append(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._call_soon(self._flush)

    def _start(self) -> asyncio.Transport:  # ambidex: async-only
        """Take the stream's transport over, once (a client built on a stream by
        hand does it at its first request, when there is surely a running loop):
        from then on replies arrive in :meth:`_Replies.buffer_updated`."""
        if self._transport is None:
            loop = asyncio.get_running_loop()
            self._loop = loop
            self._call_soon = loop.call_soon
            # The loop's own methods, bound once. asyncio's loops make a plain
            # Future and read time.monotonic: call those directly, one Python
            # frame less per request (another loop's methods are kept).
            if type(loop).create_future is asyncio.BaseEventLoop.create_future:
                self._create_future = functools.partial(asyncio.Future, loop=loop)
            else:
                self._create_future = loop.create_future
            if type(loop).time is asyncio.BaseEventLoop.time:
                self._loop_time = time.monotonic
            else:
                self._loop_time = loop.time
            # connection_made sets self._transport, then the bytes the stream
            # had already received reach _Replies: all before this returns.
            self._timer = DeadlineTimer(loop, self._expire)
            transport = self._stream.take_transport(_Replies(self))
            self._bytes_waiting = transport_check(self._stream, transport)
            return transport
        return self._transport

    def _on_made(self, transport: asyncio.Transport) -> None:  # ambidex: async-only
        self._transport = transport

    def _flush(self) -> None:  # ambidex: async-only
        self._flush_scheduled = False
        outgoing = self._outgoing
        if outgoing and self._error is None and self._transport is not None:
            # Everything queued in the last turn goes out in one write.
            data = outgoing[0] if len(outgoing) == 1 else b"".join(outgoing)
            try:
                self._transport.write(data)
            except Exception as exc:  # a callback: nobody to raise it to
                self._write_failed(exc)
        outgoing.clear()

    def _write_failed(self, error: BaseException) -> None:  # ambidex: async-only
        """A write raised: the machine counts its requests as sent (some of
        their bytes may be on the wire), so the connection is out of step for
        good. Broken, and closed: were it used on, the next reply would be
        paired with a request the server never got, and every later caller
        would get the reply meant for the one before."""
        self._break(error)
        self._abort()

    def _arm(self, deadline: float) -> None:  # ambidex: async-only
        """Make the connection's timer fire at ``deadline`` (earlier than it would).
        Only once :meth:`_start` has made the timer (every path that records a
        request with a deadline goes through it first)."""
        assert self._timer is not None
        self._timer.arm(deadline)
        self._timer_when = deadline

    def _expire(self) -> None:  # ambidex: async-only
        """The timer fired: every waiting request whose deadline has come fails
        with the builtin TimeoutError (its caller raises it; its reply, when it
        comes, is dropped, as for any caller who gave up); the timer is armed
        again for the earliest deadline left.

        One timer per connection instead of one per request: a request with
        a timeout costs a tuple entry and a comparison, not a TimerHandle
        pushed on and taken off the loop's heap. The scan is over requests
        still on the wire (at most max_pending, more only for one big batch),
        once per deadline that comes.
        """
        due = max(self._timer_when, self._loop.time())
        self._timer_when = _NEVER
        earliest = _NEVER
        for future, deadline in self._waiters:
            if deadline is None or future.done():
                continue
            if deadline <= due:
                future.set_exception(TimeoutError("no reply within the client's timeout"))
            elif deadline < earliest:
                earliest = deadline
        if earliest is not _NEVER:
            self._arm(earliest)

    def _fits(self, count: int) -> bool:  # ambidex: async-only
        in_flight = len(self._waiters) + self._reserved
        # A batch larger than max_pending still goes, alone.
        return in_flight == 0 or in_flight + count <= self.max_pending

    async def _wait_for_room(  # ambidex: async-only
        self, count: int, deadline: float | None
    ) -> None:
        """Wait, in line, until ``count`` more requests fit under max_pending."""
        if not self._room_waiters and self._fits(count):
            return
        room: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._room_waiters.append((count, room))
        try:
            await _until(room, deadline)
        except BaseException:
            if not room.done():
                room.cancel()
            elif not room.cancelled() and room.exception() is None:
                # Room was granted but we are leaving (cancelled): hand it on.
                self._reserved -= count
            self._grant_room()
            raise
        self._reserved -= count

    def _grant_room(self) -> None:  # ambidex: async-only
        """Wake waiting callers in order while their requests fit."""
        while self._room_waiters:
            count, room = self._room_waiters[0]
            if room.done():  # cancelled while waiting
                self._room_waiters.popleft()
                continue
            if not self._fits(count):
                return
            self._room_waiters.popleft()
            self._reserved += count
            room.set_result(None)

    def _on_lost(self, exc: BaseException | None) -> None:  # ambidex: async-only
        """The connection ended: the machine says whether cleanly (nothing owed)."""
        if self._error is not None:
            return
        try:
            if exc is not None:
                raise ConnectionClosedError(f"the connection was lost: {exc}") from exc
            self._conn.receive_data(b"")
            self._conn.next_event()  # ConnectionClosed, or the error of a cut reply
            raise ConnectionClosedError("the server closed the connection")
        except Exception as error:
            self._break(error)

    def _abort(self) -> None:  # ambidex: async-only
        if self._transport is not None:
            self._transport.abort()


class _Replies(ReplyProtocol):  # ambidex: async-only
    """The client's end of its transport (see examples/_transport.py): each
    read's replies go to the oldest waiting requests right here, in the turn
    the bytes arrive -- one Python call per read, not a protocol method that
    calls the client's.

    The bytes ``take_transport`` hands over (those the stream had received
    before) come through :meth:`data_received`, copied into the buffer and
    then handled as a read, so there is one path for replies.
    """

    def __init__(self, client: AsyncClient) -> None:
        super().__init__(client._on_made, self.data_received, client._on_lost)
        self._client = client
        self._conn = client._conn
        self._pop = client._waiters.popleft

    def buffer_updated(self, nbytes: int) -> None:
        view = self._view
        if nbytes == len(view) and nbytes < MAX_READ:
            # The read filled the buffer: more is coming than it holds (a big
            # reply). Take bigger bites from now on: fewer reads, fewer turns.
            self._view = memoryview(bytearray(2 * nbytes))
        conn = self._conn
        pop = self._pop
        try:
            # Each read's bytes are its own (the buffer is reused).
            for event in conn.receive_replies(view[:nbytes].tobytes()):
                if isinstance(event, ConnectionClosed):
                    raise ConnectionClosedError("the server closed the connection")
                # The machine returned a reply, so a request was outstanding
                # and its entry is here: the oldest, never the newest.
                waiter = pop()[0]
                if not waiter.done():  # done = its caller gave up: drop the reply
                    waiter.set_result(event)
            if conn.error is not None:
                # A protocol error after good replies (delivered above).
                raise conn.error
            if self._client._room_waiters:
                self._client._grant_room()
        except Exception as exc:
            self._client._break(exc)
            self._client._abort()

    def data_received(self, data: bytes) -> None:
        # take_transport's handover: a buffer's worth at a time, as reads.
        while data and self._client._error is None:
            size = min(len(data), len(self._view))
            self._view[:size] = data[:size]
            data = data[size:]
            self.buffer_updated(size)


_NEVER = float("inf")  # ambidex: async-only


def _no_loop_yet() -> float:  # ambidex: async-only
    # Until the transport is taken over (the first request, or connect), the
    # running loop's clock; afterwards _start binds loop.time directly.
    return asyncio.get_running_loop().time()


async def _until(  # ambidex: async-only
    future: asyncio.Future[T], deadline: float | None
) -> T:
    """Await ``future``, cancelling it at ``deadline`` (loop time) with the builtin TimeoutError.

    Not ``asyncio.wait_for``: on Python 3.11 and older it returns the result,
    swallowing our own cancellation, when the future completes in the same
    loop turn as the cancel -- a caller cancelled just as its room was granted
    would go on and send its request.
    """
    if deadline is None:
        return await future
    expired = False

    def expire() -> None:
        nonlocal expired
        if not future.done():
            expired = True
            future.cancel()

    handle = asyncio.get_running_loop().call_at(deadline, expire)
    try:
        return await future
    except asyncio.CancelledError:
        task = asyncio.current_task()
        cancelled_from_outside = task is not None and getattr(task, "cancelling", lambda: 0)()
        if expired and not cancelled_from_outside:
            raise TimeoutError("no reply within the client's timeout") from None
        raise
    finally:
        handle.cancel()


def _copy_error(error: BaseException) -> BaseException:  # ambidex: async-only
    # Each waiter raises its own copy, so tracebacks do not pile up on one object.
    try:
        return copy.copy(error)
    except Exception:
        return error


def _set_request(key: str | bytes, value: bytes | str) -> Set:
    if isinstance(value, str):
        return Set(as_key(key), value.encode(), Encoding.UTF8)
    return Set(as_key(key), bytes(value), Encoding.BINARY)


def _raise_error(reply: Reply) -> None:
    if isinstance(reply, Error):
        raise ServerError(reply.code, reply.message)


def _value_of(reply: Reply, key: str | bytes) -> bytes | str | None:
    if isinstance(reply, Value):  # the common case first
        try:
            return reply.decoded()
        except UnicodeDecodeError as exc:
            # The server's fault, not the caller's: say so, and say which key.
            # The frame was whole, so the connection is still in step.
            raise RemoteProtocolError(
                f"the value of key {key!r} is flagged UTF8 but is not valid UTF-8: {exc}"
            ) from None
    _raise_error(reply)
    if isinstance(reply, NotFound):
        return None
    raise AssertionError(f"the machine let {reply!r} through as a GET reply")


def _check_ok(reply: Reply) -> None:
    _raise_error(reply)
    if not isinstance(reply, Ok):
        raise AssertionError(f"the machine let {reply!r} through as a SET reply")


def _deleted(reply: Reply) -> bool:
    _raise_error(reply)
    return isinstance(reply, Ok)
