"""One connection to a Redis server: a stream, a RESP machine, and the pairing
of replies with callers.

Written once, as asyncio code; ``ambidex generate`` writes the blocking twin
(``examples/resp/_sync/connection.py``). The two colours pair replies with
callers differently, and the difference is spelled out with ``IS_ASYNC``:

* **Blocking**: one caller at a time owns the connection. It writes its
  command(s) and reads exactly as many replies back (:meth:`_roundtrip`). If
  anything interrupts it half way -- a timeout, an error, a
  KeyboardInterrupt -- nobody knows how much of the reply is still on the
  wire, so the connection is closed and marked broken; the pool drops it.
* **asyncio**: many tasks share the connection at once (auto-pipelining).
  After the handshake the connection moves its bytes by callbacks
  (:mod:`examples._transport`): a command on an idle connection is
  written at once, commands queued in the same loop iteration are written
  back to back in one write; the transport's ``data_received`` parses the
  replies and hands each to the oldest waiting caller, first in first out
  (the rules of :class:`ambidex.sansio.PipelineQueue`, spelled with a
  ``deque`` on this hot path), in the same turn of the loop.
  A caller that gives up (cancelled, timed out) keeps its place in that
  FIFO: its reply is read and dropped in its turn, never handed to the next
  caller. That is the whole fix for redis-py's CVE-2023-28858/28859, where a
  cancelled command left its reply on the wire for the next command to read.
"""

from __future__ import annotations

import asyncio
import collections  # ambidex: async-only
import functools  # ambidex: async-only
import itertools  # ambidex: async-only
import ssl as _ssl
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ambidex.io import AsyncStream, StreamError
from ambidex.sansio import NEED_DATA, RemoteProtocolError
from examples._timer import DeadlineTimer  # ambidex: async-only
from examples._transport import MAX_READ, ReplyProtocol  # ambidex: async-only

from .. import protocol as _wire  # ambidex: async-only
from .._hiredis import HIREDIS_AVAILABLE, HiredisParser
from ..commands import switches_mode
from ..errors import RedisConnectionError, ResponseError
from ..protocol import Arg, PushReply, RespParser, encode_command, encode_commands

__all__ = ["AsyncConnection", "make_parser"]

# The kinds of a RESP3 push that confirm a subscription (RESP2 sends them as
# ordinary arrays): the first one is the reply to the SUBSCRIBE that asked.
_CONFIRMATIONS = frozenset({b"subscribe", b"psubscribe", b"ssubscribe"})

IS_ASYNC = True

_READ_SIZE = 65536

T = TypeVar("T")  # ambidex: async-only
_JOIN = _wire._ARGUMENTS.join if _wire._JOIN_IN_C else None  # ambidex: async-only
_ARRAY_HEADS = _wire._ARRAY_HEADS  # ambidex: async-only
_NEVER = float("inf")  # ambidex: async-only

#: Replies a connection may be waiting for at once before new callers wait for
#: room (asyncio): bounds the memory a slow server makes the client hold.
DEFAULT_MAX_PENDING = 10_000

PushHandler = Callable[[PushReply], None]
"""Receives each RESP3 push (client tracking invalidations, pub/sub messages)."""


def make_parser(kind: str = "python") -> RespParser | HiredisParser:
    """``"python"``: the pure-Python machine (the default); ``"hiredis"``:
    hiredis's C reader (see ``examples/resp/_hiredis.py`` for what it cannot
    read); ``"auto"``: hiredis when it is installed, else pure Python."""
    if kind == "python" or (kind == "auto" and not HIREDIS_AVAILABLE):
        return RespParser()
    if kind in ("hiredis", "auto"):
        return HiredisParser()
    raise ValueError(f"parser must be 'python', 'hiredis' or 'auto', not {kind!r}")


class _Batch:  # ambidex: async-only
    """One waiter for several replies (a pipeline): pushed once per command;
    :class:`_Replies` appends each reply and resolves ``future`` with the last."""

    __slots__ = ("expected", "future", "replies")

    def __init__(self, future: asyncio.Future[list[Any]], expected: int) -> None:
        self.future = future
        self.expected = expected
        self.replies: list[Any] = []


class AsyncConnection:
    """A connection, ready for commands once :meth:`connect` returns.

    :meth:`execute` runs one command and returns its raw reply (an error
    reply is *returned* as a :class:`ResponseError` value; the client raises
    it). :meth:`execute_many` runs several back to back and returns their
    replies in order. ``broken`` is ``None`` while the connection is usable,
    else the reason it is not; a broken connection never becomes usable again.
    """

    def __init__(self, stream: AsyncStream, parser: RespParser | HiredisParser, *,
                 timeout: float | None = None, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, not {max_pending}")
        self._stream = stream
        self._parser = parser
        self.timeout = timeout
        self.max_pending = max_pending
        """(asyncio) Replies waited for at once; callers past it wait, in turn, for room."""
        self.broken: str | None = None
        self.push_handler: PushHandler | None = None
        """Called with each RESP3 push (client tracking, pub/sub); dropped if None."""
        # Set once a command switched the connection into another mode
        # (SUBSCRIBE, MONITOR: see commands.MODE_SWITCHES); from then on
        # `broken` says so, and replies nobody waits for are that mode's own.
        self._mode: str | None = None
        # RESP3 confirmations of a subscription still owed to the caller that
        # asked (one per SUBSCRIBE-like command: its reply).
        self._confirmations = 0
        if IS_ASYNC:
            self._loop = loop = asyncio.get_running_loop()
            # asyncio's own loops make a plain Future: call it directly (one
            # Python frame less per command than loop.create_future).
            self._create_future: Callable[[], asyncio.Future[Any]] = loop.create_future
            if type(loop).create_future is asyncio.BaseEventLoop.create_future:
                self._create_future = functools.partial(asyncio.Future, loop=loop)
            # Who takes the next reply, oldest first: a future, or a _Batch
            # once per reply it waits for. PipelineQueue's rules (push when
            # written, pop the OLDEST when a reply comes, a caller who gave
            # up keeps its place) on a bare deque: its push and pop are
            # Python calls, and this is every command's path.
            self._waiters: collections.deque[Any] = collections.deque()
            # Commands queued in this turn of the loop, written together by
            # _flush (scheduled once per turn); see _send.
            self._writes: list[bytes] = []
            self._flush_scheduled = False
            self._transport: asyncio.Transport | None = None
            self._protocol: ReplyProtocol | None = None
            # Callers waiting for room under max_pending, first come first served.
            self._room: list[asyncio.Future[None]] = []
            self._closing: asyncio.Task[None] | None = None
            # Timeouts: one timer per connection, not one per command. Each
            # waiting call with a deadline is listed here, in the order it was
            # made; the timer is armed for the earliest deadline (see _expire).
            self._deadlines: collections.deque[tuple[float, asyncio.Future[Any]]] = (
                collections.deque()
            )
            # (a timer descriptor on Linux: see examples/_timer.py for why
            # not loop.call_at)
            self._timer = DeadlineTimer(loop, self._expire)
            self._timer_when = _NEVER

    @classmethod
    async def connect(
        cls,
        host: str = "127.0.0.1",
        port: int = 6379,
        *,
        protocol: int = 2,
        username: str | None = None,
        password: str | None = None,
        db: int = 0,
        client_name: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        ssl: _ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        parser: str = "python",
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> AsyncConnection:
        """Open a connection and say hello: HELLO 3 (``protocol=3``), AUTH,
        CLIENT SETNAME and SELECT as asked, checking every answer.

        ``timeout`` bounds each command (and, unless ``connect_timeout`` is
        given, the connect and handshake). Refused or unreachable servers raise
        :class:`RedisConnectionError`; a server that says no to AUTH or SELECT
        raises its :class:`ResponseError`; nothing is left open either way.
        """
        if protocol not in (2, 3):
            raise ValueError(f"protocol must be 2 or 3, not {protocol}")
        machine = make_parser(parser)  # a bad name fails before anything is opened
        first_timeout = connect_timeout if connect_timeout is not None else timeout
        try:
            stream = await AsyncStream.connect(host, port, timeout=first_timeout, ssl=ssl,
                                               server_hostname=server_hostname)
        except TimeoutError:
            raise
        except OSError as exc:
            raise RedisConnectionError(f"cannot connect to {host}:{port}: {exc}") from exc
        try:
            conn = cls(stream, machine, timeout=timeout, max_pending=max_pending)
        except BaseException:
            await stream.close()
            raise
        try:
            await conn._hello(protocol, username, password, db, client_name)
        except BaseException:
            await conn.close()
            raise
        stream.timeout = timeout
        if IS_ASYNC:
            # From here on bytes move by callbacks (see examples/_transport.py);
            # deadlines belong to the callers, not to reads.
            stream.timeout = None
            try:
                conn._take_transport()
            except BaseException:
                await conn.close()
                raise
        return conn

    async def _hello(self, protocol: int, username: str | None, password: str | None,
                     db: int, client_name: str | None) -> None:
        commands: list[tuple[Arg, ...]] = []
        if protocol == 3:
            hello: list[Arg] = ["HELLO", 3]
            if password is not None:
                hello += ("AUTH", username or "default", password)
            if client_name is not None:
                hello += ("SETNAME", client_name)
            commands.append(tuple(hello))
        else:
            if password is not None:
                commands.append(("AUTH", username, password) if username else ("AUTH", password))
            if client_name is not None:
                commands.append(("CLIENT", "SETNAME", client_name))
        if db:
            commands.append(("SELECT", db))
        if commands:
            for reply in await self._roundtrip(commands):
                if isinstance(reply, ResponseError):
                    raise reply

    # -- commands ------------------------------------------------------------

    async def execute(self, args: Sequence[Arg]) -> Any:
        """Send one command; return its reply (an error reply as a value)."""
        if self.broken is not None:
            raise RedisConnectionError(f"connection is unusable: {self.broken}")
        if IS_ASYNC:
            # The wait for room counts against the caller's deadline too.
            deadline = None if self.timeout is None else self._loop.time() + self.timeout
            if self._room or len(self._waiters) >= self.max_pending:
                await self._wait_for_room(1, deadline)
            future = self._create_future()
            mode = switches_mode(args)
            if mode is not None:
                self._switch(mode, 1)
            self._send(encode_command(args), future, 1)
            if deadline is None:
                return await future
            return await self._wait(future, deadline)
        else:
            mode = switches_mode(args)
            if mode is not None:
                self._switch(mode, 1)
            replies = await self._roundtrip([args])
            return replies[0]

    def _start(self, args: Sequence[Arg]) -> asyncio.Future[Any] | None:  # ambidex: async-only
        """:meth:`execute` without its coroutine, for the client's hot path:
        the command goes out as ``execute`` sends it and the future of its
        reply is returned -- or ``None``, nothing sent, when ``execute`` has
        more to do (wait for room, watch a deadline, raise for a broken
        connection): the caller then awaits ``execute`` instead.

        One coroutine frame less per command; awaiting the future is what
        ``execute`` does, cancellation included (a cancelled caller cancels
        the future, and its reply is dropped in its turn), and so is the
        deadline: with ``timeout`` set, the future is watched as
        :meth:`_wait` watches it (the connection's timer fails it with
        ``TimeoutError`` when its deadline comes).
        """
        waiters = self._waiters
        if self.broken is not None or self._room or len(waiters) >= self.max_pending:
            return None
        timeout = self.timeout
        # encode_command(args), its compiled path inlined (a bad argument
        # raises here: nothing queued); _JOIN is its join, bound at import
        # (None without the compiled module)
        if _JOIN is not None:
            try:
                data = _JOIN(args, _ARRAY_HEADS[len(args)])
            except (TypeError, IndexError):  # no arguments, 64 or more, not str/bytes/int
                data = encode_command(args)
        else:
            data = encode_command(args)
        future = self._create_future()
        # _send(data, future, 1), inlined (see there for the why of the order)
        transport = self._transport
        if transport is None:
            raise RedisConnectionError("the connection is not open")
        if not waiters and not self._writes:
            waiters.append(future)
            transport.write(data)
        else:
            waiters.append(future)
            self._writes.append(data)
            if not self._flush_scheduled:
                self._flush_scheduled = True
                self._loop.call_soon(self._flush)
        if timeout is not None:
            self._watch(future, self._loop.time() + timeout)
        return future

    async def execute_many(self, commands: Sequence[Sequence[Arg]]) -> list[Any]:
        """Send several commands in one write; return their replies in order."""
        if self.broken is not None:
            raise RedisConnectionError(f"connection is unusable: {self.broken}")
        if not commands:
            return []
        if IS_ASYNC:
            deadline = None if self.timeout is None else self._loop.time() + self.timeout
            if self._room or len(self._waiters) + len(commands) > self.max_pending:
                await self._wait_for_room(len(commands), deadline)
            future: asyncio.Future[list[Any]] = self._create_future()
            self._switch_for(commands)
            self._send(encode_commands(commands), _Batch(future, len(commands)), len(commands))
            return await self._wait(future, deadline)
        else:
            self._switch_for(commands)
            return await self._roundtrip(commands)

    def _switch_for(self, commands: Sequence[Sequence[Arg]]) -> None:
        for args in commands:
            mode = switches_mode(args)
            if mode is not None:
                self._switch(mode, 1)

    def _switch(self, mode: str, count: int) -> None:
        """A command about to be sent switches the connection into ``mode``
        for good: no command may be sent after it (``broken`` says why, so
        the pool closes the connection instead of lending it again)."""
        self._mode = mode
        if mode != "MONITOR":
            self._confirmations += count
        if self.broken is None:
            self.broken = (f"in {mode} mode: a connection that ran {mode} answers "
                           "nothing else (no pub/sub API yet: it is retired)")

    async def close(self) -> None:
        """Close the connection; commands still waiting fail with
        :class:`RedisConnectionError`. Idempotent.

        When it returns, the socket is closed. asyncio: that may take a turn
        of the loop, or, over TLS, the server's answer to the TLS close; it
        waits up to the stream's ``close_timeout`` (5 s) for it, then aborts
        the connection (and at once if the close is cancelled).
        """
        if self.broken is None:
            self.broken = "closed"
        if IS_ASYNC:
            self._fail(RedisConnectionError("connection closed"))
        await self._stream.close()
        if IS_ASYNC:
            if self._protocol is not None:
                await self._protocol.close(self._stream.close_timeout)

    # -- one caller at a time: write, then read exactly the replies ----------

    async def _roundtrip(self, commands: Sequence[Sequence[Arg]]) -> list[Any]:
        """Write ``commands``, read their replies. Any interruption breaks the
        connection for good (it is out of step: unread replies are on the wire)."""
        parser = self._parser
        stream = self._stream
        try:
            if len(commands) == 1:
                await stream.write(encode_command(commands[0]))
            else:
                await stream.write(encode_commands(commands))
            replies: list[Any] = []
            while len(replies) < len(commands):
                reply = parser.next_event()
                if reply is NEED_DATA:
                    data = await stream.read(_READ_SIZE)
                    if not data:
                        raise RedisConnectionError("the server closed the connection")
                    parser.receive_data(data)
                elif type(reply) is PushReply and not self._confirms(reply):
                    self._on_push(reply)
                else:
                    replies.append(reply)
            return replies
        except BaseException as exc:
            self.broken = f"interrupted mid-command: {exc!r}"
            await self._stream.close()
            if isinstance(exc, (StreamError, OSError)) and not isinstance(exc, TimeoutError):
                raise RedisConnectionError(f"connection lost: {exc}") from exc
            raise

    def _on_push(self, reply: PushReply) -> None:
        if self.push_handler is not None:
            self.push_handler(reply)

    def _confirms(self, push: PushReply) -> bool:
        """Whether ``push`` is the (RESP3) reply to a SUBSCRIBE-like command
        still waiting for one; if so it is counted as given."""
        if self._confirmations and push and push[0] in _CONFIRMATIONS:
            self._confirmations -= 1
            return True
        return False

    def _take_transport(self) -> None:  # ambidex: async-only
        """Move the bytes by callbacks from now on (asyncio): see
        :mod:`examples._transport`."""
        self._protocol = _Replies(self)
        self._stream.take_transport(self._protocol)

    def _on_made(self, transport: asyncio.Transport) -> None:  # ambidex: async-only
        # Called by take_transport before the bytes already received reach _Replies.
        self._transport = transport

    def _send(self, data: bytes, waiter: Any, count: int) -> None:  # ambidex: async-only
        """Many callers at once (asyncio): ``waiter`` takes the next ``count``
        replies; ``data`` goes to the transport now, or with this turn's others.

        The waiter is queued before the bytes are written, with no await in
        between (``transport.write`` never waits): so the order of the FIFO is
        the order of the bytes on the wire, and no cancellation can cut a
        command in half. On an idle connection (nothing pending, nothing
        queued) the bytes are written at once; otherwise they join the list
        that :meth:`_flush` writes in one go at the next turn of the loop
        (that is what coalesces many concurrent callers into one write).
        """
        transport = self._transport
        if transport is None:
            raise RedisConnectionError("the connection is not open")
        waiters = self._waiters
        idle = not waiters and not self._writes
        if count == 1:
            waiters.append(waiter)
        else:
            waiters.extend(itertools.repeat(waiter, count))  # one entry per reply
        if idle:
            transport.write(data)
            return
        self._writes.append(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:  # ambidex: async-only
        self._flush_scheduled = False
        writes = self._writes
        # (_fail empties the list; a connection retired by a mode switch
        # still sends what was queued before and with the switching command)
        if writes and self._transport is not None:
            # Everything queued in the last turn goes out in one write.
            self._transport.write(writes[0] if len(writes) == 1 else b"".join(writes))
        writes.clear()

    def _on_lost(self, exc: BaseException | None) -> None:  # ambidex: async-only
        if exc is None:
            self._fail(RedisConnectionError("the server closed the connection"))
        else:
            self._fail(RedisConnectionError(f"connection lost: {exc}"))

    async def _wait(self, future: asyncio.Future[T],  # ambidex: async-only
                    deadline: float | None) -> T:
        """Await a reply until ``deadline`` (loop time), then ``TimeoutError``.
        Giving up leaves the future done (timed out, or cancelled with its
        caller); its place in the FIFO stays, so its reply is dropped when it
        comes (and only then is its slot under ``max_pending`` free again).

        No ``asyncio.wait_for`` per command (a timer, a second future and
        callbacks each time, a task on 3.11 and older: 50% more CPU per GET
        measured): the deadline goes on the connection's list, watched by
        one timer (:meth:`_expire`).
        """
        if deadline is not None:
            self._watch(future, deadline)
        return await future

    def _watch(self, future: asyncio.Future[Any], deadline: float) -> None:  # ambidex: async-only
        """List ``future`` to fail with ``TimeoutError`` at ``deadline`` (loop time)."""
        deadlines = self._deadlines
        # Answered (or abandoned) calls leave from the front: replies come
        # in order, so what is done sits ahead of what still waits.
        while deadlines and deadlines[0][1].done():
            deadlines.popleft()
        deadlines.append((deadline, future))
        if deadline < self._timer_when:
            self._arm(deadline)

    def _arm(self, deadline: float) -> None:  # ambidex: async-only
        self._timer.arm(deadline)
        self._timer_when = deadline

    def _expire(self) -> None:  # ambidex: async-only
        """The timer fired: every listed call whose deadline has come fails
        with ``TimeoutError``; the timer is armed again for the earliest left."""
        due = max(self._timer_when, self._loop.time())
        self._timer_when = _NEVER
        left: collections.deque[tuple[float, asyncio.Future[Any]]] = collections.deque()
        earliest = _NEVER
        for deadline, future in self._deadlines:
            if future.done():
                continue
            if deadline <= due:
                future.set_exception(TimeoutError(f"no reply within {self.timeout} s"))
            else:
                left.append((deadline, future))
                earliest = min(earliest, deadline)
        self._deadlines = left
        if earliest != _NEVER:
            self._arm(earliest)

    async def _wait_for_room(self, count: int,  # ambidex: async-only
                             deadline: float | None) -> None:
        """Wait, in line, until ``count`` more replies fit under ``max_pending``
        (a batch bigger than that goes alone, once nothing is pending), or
        until ``deadline`` (loop time): then ``TimeoutError``, nothing sent."""
        waiters = self._waiters
        while True:
            if self.broken is not None:
                raise RedisConnectionError(f"connection is unusable: {self.broken}")
            pending = len(waiters)
            if pending == 0 or pending + count <= self.max_pending:
                if not self._room or self._room[0].done():
                    return
            room = self._loop.create_future()
            self._room.append(room)
            try:
                if deadline is None:
                    await room
                else:
                    await asyncio.wait_for(room, deadline - self._loop.time())
            except asyncio.TimeoutError:  # not the builtin TimeoutError before 3.11
                raise TimeoutError(f"no room for the command within {self.timeout} s "
                                   f"({self.max_pending} replies pending)") from None
            finally:
                self._room.remove(room)

    def _grant_room(self) -> None:  # ambidex: async-only
        # Wake every waiter; each re-checks in turn (in the order they came).
        for room in self._room:
            if not room.done():
                room.set_result(None)

    def _fail(self, exc: BaseException) -> None:  # ambidex: async-only
        """Fail every waiting caller; the connection is broken from now on."""
        if self.broken is None:
            self.broken = f"connection lost: {exc!r}"
        self._writes.clear()
        self._timer.close()  # no deadline is watched again: broken for good
        self._timer_when = _NEVER
        self._grant_room()  # they see `broken` and fail
        waiters = list(self._waiters)
        self._waiters.clear()
        for waiter in waiters:
            future = waiter.future if type(waiter) is _Batch else waiter
            if future.done():
                continue
            error: BaseException
            if isinstance(exc, RemoteProtocolError):
                error = RemoteProtocolError(str(exc))
            else:
                error = RedisConnectionError(str(exc) or repr(exc))
            error.__cause__ = exc
            future.set_exception(error)


def _split_nothing(data: bytes, start: int, out: list[Any]) -> int:  # ambidex: async-only
    """A splitter that takes nothing (for a machine without RespParser's)."""
    return start


class _Replies(ReplyProtocol):  # ambidex: async-only
    """The connection's end of its transport (see examples/_transport.py):
    each read's replies go to the OLDEST waiters right here, in the turn the
    bytes arrive -- one Python call per read, not a protocol method that
    calls the connection's (a call is ~900 machine instructions of a GET's
    ~57,000).

    The bytes ``take_transport`` hands over (those the stream had received
    before) come through :meth:`data_received`, copied into the buffer and
    then handled as a read, so there is one path for replies.
    """

    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn._on_made, self.data_received, conn._on_lost)
        self._conn = conn
        parser = conn._parser
        # RespParser's own fast path for whole bulk strings (CountedFraming's
        # split, compiled when the optional module is built). A machine of
        # another shape (hiredis's) is never idle here: it gets every read.
        self._resp = type(parser) is RespParser
        self._split: Callable[[bytes, int, list[Any]], int] = (
            parser._bulks.split_checked if type(parser) is RespParser else _split_nothing)
        self._idle = self._parser_idle()

    def _parser_idle(self) -> bool:
        """Whether the parser holds nothing at all: no byte, no half-parsed
        reply, no attributes, no error, no end of file. Only then may
        :meth:`buffer_updated` take a read's whole bulk strings without it."""
        parser = self._conn._parser
        return (type(parser) is RespParser and parser._fast and parser._pos == len(parser._buf)
                and parser.attributes is None and not parser._eof)

    def buffer_updated(self, nbytes: int) -> None:
        view = self._view
        if nbytes == len(view) and nbytes < MAX_READ:
            # The read filled the buffer: more is coming than it holds (a big
            # reply). Take bigger bites from now on: fewer reads, fewer turns.
            self._view = memoryview(bytearray(2 * nbytes))
        conn = self._conn
        waiters = conn._waiters
        try:
            data = view[:nbytes].tobytes()  # each read's bytes are its own (the buffer is reused)
            if self._idle:
                # The parser holds nothing: the read's whole bulk strings (a
                # GET's reply) are taken here, as RespParser.receive_events
                # would take them, without its call; the rest, if any,
                # goes to the parser. Same replies, errors and state
                # (tests/resp/test_fast_replies.py).
                got: list[Any] = []
                pos = self._split(data, 0, got)
                if pos != nbytes:
                    try:
                        got += conn._parser.receive_events(data[pos:] if pos else data)
                    except RemoteProtocolError:
                        pass  # kept in parser.error: raised below, after the good replies
                    self._idle = self._parser_idle()
            else:
                got = conn._parser.receive_events(data)
                if self._resp:
                    self._idle = self._parser_idle()
            for reply in got:
                if type(reply) is PushReply and not conn._confirms(reply):
                    conn._on_push(reply)
                    continue
                if conn._mode is not None and not waiters:
                    continue  # the mode's own traffic (confirmations, MONITOR lines)
                try:
                    waiter = waiters.popleft()  # the OLDEST: replies come in request order
                except IndexError:
                    raise RemoteProtocolError(
                        "the server sent a reply with no request pending") from None
                if type(waiter) is _Batch:  # _Batch.add, inlined: once per reply
                    replies = waiter.replies
                    replies.append(reply)
                    if len(replies) == waiter.expected and not waiter.future.done():
                        waiter.future.set_result(replies)
                elif not waiter.done():  # done = its caller gave up: drop the reply
                    waiter.set_result(reply)
            if conn._room:
                conn._grant_room()
            error = conn._parser.error
            if error is not None:  # after good replies: raise it now, not
                raise error        # after bytes that may never come
        except BaseException as exc:  # a callback: report it to the callers
            conn._fail(exc)
            conn._closing = conn._loop.create_task(conn.close())

    def data_received(self, data: bytes) -> None:
        # take_transport's handover: a buffer's worth at a time, as reads.
        while data and self._conn._closing is None:
            size = min(len(data), len(self._view))
            self._view[:size] = data[:size]
            data = data[size:]
            self.buffer_updated(size)
