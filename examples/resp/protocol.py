"""RESP, the Redis wire protocol, as a sans-IO machine: bytes in, replies out.

Nothing here touches a socket. The machine speaks h11's three calls, like
every machine in this guide: a driver hands it whatever bytes it read
(:meth:`RespParser.receive_data`, ``b""`` when the server closed) and asks
for events (:meth:`RespParser.next_event`: a reply, :class:`ConnectionClosed`,
or :data:`~ambidex.sansio.NEED_DATA`); to send, it writes what
:meth:`RespParser.send` returns for a command (:func:`encode_command`). The
same machine serves the blocking and the asyncio client, and tests drive it
with no server at all.

Replies map to Python values so (RESP2 and RESP3):

========================  ==============================================
``+OK``                   ``bytes``
``$5 hello`` / ``$-1``    ``bytes`` / ``None``
``:42`` / ``(1234...``    ``int`` (a big number is an ``int`` too)
``-ERR ...`` / ``!n``     a :class:`~examples.resp.errors.ResponseError`
                          *instance* -- returned, not raised: it may be one
                          element of a transaction's reply
``*n`` / ``*-1``          ``list`` / ``None``
``_``                     ``None``
``,1.5`` / ``,inf``       ``float`` (``inf``, ``-inf``, ``nan`` included)
``#t`` / ``#f``           ``bool``
``%n``                    ``dict`` (an aggregate key becomes a tuple)
``~n``                    ``list`` (a set may hold unhashable elements)
``=n txt:...``            :class:`VerbatimString` (``bytes`` with ``format``)
``>n``                    :class:`PushReply` (a ``list``): out-of-band data
                          the server sent on its own, never a command's reply
``|n``                    not a reply: the attribute map is recorded in
                          :attr:`RespParser.attributes` for the reply it
                          precedes, and parsing goes on to that reply
========================  ==============================================

Every size the server controls is bounded, and going over a bound raises a
:class:`~ambidex.sansio.LimitExceeded` naming it, as soon as the size is
announced (before the payload is buffered): ``max_bulk_length`` (one bulk,
verbatim or blob-error payload), ``max_aggregate_length`` (elements of one
array, set, push, or pairs of one map), ``max_depth`` (nesting of
aggregates) and ``max_line_length`` (a header or simple-string line).
Any other malformed input raises :class:`~ambidex.sansio.RemoteProtocolError`;
after either, the machine refuses to go on (the stream's framing is lost).

Performance notes, because this is the hot path of every command:

* The buffer is one ``bytearray`` and an offset. Consuming a reply moves the
  offset; the consumed prefix is deleted only once per call, which CPython
  does in O(1) for a ``bytearray`` prefix.
* Aggregates are parsed with an explicit stack that survives between calls,
  so a big array arriving in many reads is parsed once, not re-parsed from its
  first element on every read (what a sans-IO parser that simply rewinds on
  incomplete input would do).
* A bulk payload of ``stream_threshold`` bytes or more that is not complete
  yet stops going through the buffer: the bytes already read and every
  following ``receive_data`` are kept as a list of chunks and joined once when the
  payload is complete. So a 100 MB value is copied once, not re-concatenated
  or re-scanned on every read.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Final, Union

from ambidex.sansio import (
    NEED_DATA,
    CountedFraming,
    LimitExceeded,
    LocalProtocolError,
    NeedData,
    RemoteProtocolError,
)
from ambidex.sansio._counted import accelerated as counted_in_c

from .errors import ResponseError

__all__ = [
    "DEFAULT_MAX_AGGREGATE_LENGTH",
    "DEFAULT_MAX_BULK_LENGTH",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_LINE_LENGTH",
    "Arg",
    "ConnectionClosed",
    "PushReply",
    "RespParser",
    "VerbatimString",
    "encode_command",
    "encode_commands",
]

#: Redis's own ``proto-max-bulk-len`` default: no legitimate reply is bigger.
DEFAULT_MAX_BULK_LENGTH: Final = 512 * 1024 * 1024
#: Elements of one aggregate. Redis collections hold at most 2**32 - 1.
DEFAULT_MAX_AGGREGATE_LENGTH: Final = 2**32 - 1
#: Nesting of aggregates. Redis 7.0's deepest reply we found, COMMAND DOCS over
#: RESP3, nests 12 levels; 32 leaves room and still stops a hostile server.
DEFAULT_MAX_DEPTH: Final = 32
#: A header, a simple string, an error line, a number.
DEFAULT_MAX_LINE_LENGTH: Final = 64 * 1024
#: Incomplete bulk payloads this big are collected as chunks (see module doc).
DEFAULT_STREAM_THRESHOLD: Final = 64 * 1024

Arg = Union[bytes, bytearray, memoryview, str, int, float]  # noqa: UP007 (a runtime alias on 3.10)
"""What a command argument may be. ``bool`` is refused (Redis has no boolean
argument, and ``True`` would silently become ``1``)."""


class VerbatimString(bytes):
    """A RESP3 verbatim string: the text, and its three-letter ``format``.

    It is ``bytes`` (the text, without the ``txt:`` prefix), so it compares
    equal to the plain bulk string RESP2 would have sent.
    """

    format: str

    def __new__(cls, value: bytes, format: str = "txt") -> VerbatimString:
        self = super().__new__(cls, value)
        self.format = format
        return self

    def __repr__(self) -> str:
        return f"VerbatimString({bytes(self)!r}, format={self.format!r})"


class ConnectionClosed:
    """The server closed the connection cleanly, between replies.

    Returned by :meth:`RespParser.next_event` once ``receive_data(b"")`` was
    called and every complete reply before it has been returned. (A close in
    the middle of a reply is a :class:`~ambidex.sansio.RemoteProtocolError`.)
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "ConnectionClosed()"

    def __eq__(self, other: object) -> bool:
        return type(other) is ConnectionClosed

    def __hash__(self) -> int:
        return hash(ConnectionClosed)


class PushReply(list[Any]):
    """A RESP3 push: data the server sent on its own (pub/sub message, client
    tracking invalidation), not the reply to any command. A client must route
    it elsewhere and never pair it with a waiting caller."""

    def __repr__(self) -> str:
        return f"PushReply({list.__repr__(self)})"


# Reply type bytes, as ints (indexing a bytearray gives an int).
_BULK: Final = 0x24  # $
_ARRAY: Final = 0x2A  # *
_SIMPLE: Final = 0x2B  # +
_ERROR: Final = 0x2D  # -
_INTEGER: Final = 0x3A  # :
_NULL: Final = 0x5F  # _
_DOUBLE: Final = 0x2C  # ,
_BOOLEAN: Final = 0x23  # #
_BIG_NUMBER: Final = 0x28  # (
_VERBATIM: Final = 0x3D  # =
_BLOB_ERROR: Final = 0x21  # !
_MAP: Final = 0x25  # %
_SET: Final = 0x7E  # ~
_PUSH: Final = 0x3E  # >
_ATTRIBUTE: Final = 0x7C  # |

_AGGREGATE_NAMES: Final = {
    _ARRAY: "array", _MAP: "map", _SET: "set", _PUSH: "push", _ATTRIBUTE: "attribute",
}
_BLOB_NAMES: Final = {_BULK: "bulk string", _VERBATIM: "verbatim string",
                      _BLOB_ERROR: "blob error"}

_INTEGER_RE: Final = re.compile(rb"-?[0-9]+\Z")
_DOUBLE_RE: Final = re.compile(
    rb"[-+]?(?:inf|nan|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\Z", re.IGNORECASE
)


class _Nothing:
    """Marks "no value yet" where ``None`` is a legitimate reply."""


_NOTHING: Final = _Nothing()
#: Stands for a length of 19 digits or more: over any limit, and int() of an
#: arbitrarily long digit string is not something a server should make us do.
_HUGE: Final = 2**63


def _limit(name: str, size: int, limit: int, what: str) -> LimitExceeded:
    error = LimitExceeded(name, size, limit, what)
    # LimitExceeded's own message counts bytes; depth and element counts are not.
    if name in ("max_depth", "max_aggregate_length"):
        error.args = (f"{what}: {size} is over {name}={limit}",)
    return error


def _hashable(key: Any) -> Any:
    """A map key as a dict can hold it: aggregates become tuples, recursively."""
    if isinstance(key, list):
        return tuple(_hashable(k) for k in key)
    if isinstance(key, dict):
        return tuple((_hashable(k), _hashable(v)) for k, v in key.items())
    return key


class RespParser:
    """Turns the bytes a Redis server sends into replies, one at a time.

    Usage, by any driver (h11's shape)::

        wire = parser.send(["GET", "k"])       # bytes to write, however you write
        parser.receive_data(data)              # every chunk read, as read
        while (reply := parser.next_event()) is not NEED_DATA:
            deliver(reply)

    ``receive_data(b"")`` says the server closed: once the complete replies
    before it are returned, ``next_event()`` returns :class:`ConnectionClosed`,
    or raises :class:`~ambidex.sansio.RemoteProtocolError` if a reply was cut
    in half (it is never returned). The clients in this chapter see the close
    themselves (their read returned ``b""``) and fail whoever still waits.

    After a :class:`~ambidex.sansio.RemoteProtocolError` (including
    :class:`~ambidex.sansio.LimitExceeded`) every later call raises a
    ``RemoteProtocolError`` too: nobody knows where the next reply starts.

    :attr:`attributes` holds the RESP3 attribute maps (``|``) that preceded
    the reply most recently returned, in order (``None`` when there were none).
    """

    __slots__ = (
        "_attrs",
        "_buf",
        "_bulks",
        "_chunk_kind",
        "_chunk_need",
        "_chunks",
        "_eof",
        "_fast",
        "_pending",
        "_pos",
        "_scan_from",
        "_stack",
        "attributes",
        "error",
        "max_aggregate_length",
        "max_depth",
        "max_line_length",
        "stream_threshold",
    )

    def __init__(
        self,
        *,
        max_bulk_length: int = DEFAULT_MAX_BULK_LENGTH,
        max_aggregate_length: int = DEFAULT_MAX_AGGREGATE_LENGTH,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_line_length: int = DEFAULT_MAX_LINE_LENGTH,
        stream_threshold: int = DEFAULT_STREAM_THRESHOLD,
    ) -> None:
        # Whole bulk strings at the front of a read, in one call (C when
        # ambidex's optional module is built): the fast path of next_events
        # and receive_events. It stops at anything else, which _parse judges.
        self._bulks = CountedFraming(marker=b"$", separator=b"\r\n", trailer=b"\r\n",
                                     max_payload=max_bulk_length)
        self.max_aggregate_length = max_aggregate_length
        self.max_depth = max_depth
        self.max_line_length = max_line_length
        self.stream_threshold = max(stream_threshold, 1)
        self.attributes: list[dict[Any, Any]] | None = None
        self._buf = bytearray()
        self._pos = 0
        # Where the search for the CRLF of an incomplete line resumes: bytes
        # before it were searched already, so a line fed one byte at a time
        # costs linear time, not quadratic.
        self._scan_from = 0
        # Open aggregates, innermost last: [type byte, expected items, items].
        self._stack: list[list[Any]] = []
        self._attrs: list[dict[Any, Any]] | None = None
        # A big bulk payload being collected outside the buffer.
        self._chunks: list[bytes] | None = None
        self._chunk_need = 0
        self._chunk_kind = 0
        # A payload collected as chunks, complete but for its CRLF.
        self._pending: tuple[int, bytes] | None = None
        self.error: RemoteProtocolError | None = None
        """The protocol error that stopped the machine, or ``None`` while it is
        usable (read it; the machine sets it).

        :meth:`next_events` returns the good replies that came before an error and
        keeps the error for its next call; a driver that will not call again
        until more bytes arrive checks this, so an error already received is
        reported now, not after bytes that may never come. (An attribute, not a
        property: the asyncio client reads it after every read, and a
        property's call was 600 machine instructions of a GET's ~55,000.)
        """
        self._eof = False
        # True when nothing is half-parsed: next_event may try its fast path.
        self._fast = True

    @property
    def max_bulk_length(self) -> int:
        """The largest bulk, verbatim or blob-error payload accepted (bytes)."""
        return self._bulks.max_payload  # type: ignore[no-any-return]

    @max_bulk_length.setter
    def max_bulk_length(self, value: int) -> None:
        self._bulks.max_payload = value

    # -- input ---------------------------------------------------------------

    def send(self, command: Iterable[Arg]) -> bytes:
        """The bytes of one command (see :func:`encode_command`).

        RESP needs no record of what was sent to read the replies (they are
        self-describing, in request order); pairing them with callers is the
        driver's FIFO. So this is :func:`encode_command`, offered here so the
        machine has the same three calls as every other machine in the guide.
        """
        return encode_command(command)

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes read from the connection; ``b""`` means the server closed.

        Never parses, never raises (but bytes after ``b""`` are a
        :class:`~ambidex.sansio.LocalProtocolError`: the driver misused it).
        """
        if not data:
            self._eof = True
            return
        if self._eof:
            raise LocalProtocolError("receive_data after end of file (b'') was already fed")
        chunks = self._chunks
        if chunks is not None:
            need = self._chunk_need
            if len(data) < need:
                chunks.append(bytes(data))
                self._chunk_need = need - len(data)
                return
            chunks.append(bytes(data[:need]))
            data = data[need:]
            self._pending = (self._chunk_kind, b"".join(chunks))
            self._chunks = None
        if self._pos:
            # Drop what was consumed before growing: deleting a bytearray's
            # prefix is O(1) in CPython (it moves the start pointer).
            del self._buf[:self._pos]
            self._scan_from = max(0, self._scan_from - self._pos)
            self._pos = 0
        self._buf += data

    def __len__(self) -> int:
        """Bytes received and not yet consumed (chunks of a big bulk included)."""
        pending = 0
        if self._chunks is not None:
            pending = sum(map(len, self._chunks))
        elif self._pending is not None:
            pending = len(self._pending[1])
        return len(self._buf) - self._pos + pending

    # -- output --------------------------------------------------------------

    def next_events(self) -> list[Any]:
        """Every complete reply in the buffer, in order (may be empty).

        The same as calling :meth:`next_event` until ``NEED_DATA``, with the
        bulk-string fast path inlined in the loop: what a reader that drains
        the buffer after each read should call. If a protocol error follows
        good replies, the good ones are returned, the error is kept in
        :attr:`error` and raised by the next call.
        """
        out: list[Any] = []
        append = out.append
        while True:
            if self._fast:
                # A bytes copy of the buffer: a slice of bytes is the reply's
                # bytes in one allocation (a bytearray's slice is a bytearray,
                # made into bytes by a second allocation and copy).
                buf = bytes(self._buf)
                first = self._pos
                pos = self._bulks.split_checked(buf, first, out)
                size = len(buf)
                if pos != first:
                    self._pos = pos
                    self.attributes = None
                if pos == size and not self._eof:
                    # Everything taken, nothing odd pending (_fast): the
                    # general path would only find that it needs data.
                    return out
            try:
                reply = self._next_event_slow()
            except RemoteProtocolError:
                if out:  # deliver what was good; the next call raises again
                    return out
                raise
            if reply is NEED_DATA:
                return out
            append(reply)
            if type(reply) is ConnectionClosed:
                return out

    def receive_events(self, data: bytes) -> list[Any]:
        """:meth:`receive_data` then :meth:`next_events`, in one call: what
        a driver that parses as bytes arrive (a transport's callback) does
        with each read. Same replies, same errors, same state afterwards.

        Why a fourth call: it is the hot path of every asyncio command. When
        nothing is left over from earlier reads (the usual case: one read
        brings whole replies), whole bulk strings are sliced from ``data``
        itself, and the buffer is not touched at all -- no append, no copy
        of the buffer, no delete of its prefix (one GET's reply: about 15,000
        -> 7,600 machine instructions, counted with callgrind). Anything
        else, or anything odd, goes the general way, which checks everything.
        """
        if not (self._fast and self._pos == len(self._buf) and type(data) is bytes
                and data and not self._eof):
            self.receive_data(data)
            return self.next_events()
        # next_events' fast path, over `data`.
        out: list[Any] = []
        pos = self._bulks.split_checked(data, 0, out)
        size = len(data)
        if out:
            self.attributes = None
        if pos == size:
            return out
        self.receive_data(data[pos:] if pos else data)
        try:
            out += self.next_events()
        except RemoteProtocolError:
            if out:  # deliver what was good; the next call raises again
                return out
            raise
        return out

    def next_event(self) -> Any | ConnectionClosed | NeedData:
        """The next complete reply, :class:`ConnectionClosed` once the server
        closed between replies, or ``NEED_DATA`` (receive more bytes, call again)."""
        # Fast path: a whole top-level bulk string already in the buffer, the
        # reply to GET and most commands. Anything else, or anything odd about
        # this one, takes the general path, which checks everything.
        if self._fast:
            buf = self._buf
            pos = self._pos
            end = buf.find(b"\r\n", pos, pos + 21)
            if end > pos and buf[pos] == 0x24:
                header = buf[pos + 1:end]
                if header.isdigit():
                    start = end + 2
                    stop = start + int(header)
                    if (stop + 2 <= len(buf) and buf[stop] == 13 and buf[stop + 1] == 10
                            and stop - start <= self._bulks.max_payload):
                        self._pos = stop + 2
                        self.attributes = None
                        return bytes(buf[start:stop])
        return self._next_event_slow()

    def _next_event_slow(self) -> Any | NeedData:
        if self.error is not None:
            raise RemoteProtocolError(f"the reply stream broke earlier: {self.error}")
        try:
            if self._chunks is not None:
                return self._at_end() if self._eof else NEED_DATA
            if self._pending is not None:
                value = self._finish_pending()
                if value is not _NOTHING:
                    return value
                if self._pending is not None:
                    return self._at_end() if self._eof else NEED_DATA
            value = self._parse()
            if value is NEED_DATA and self._eof:
                return self._at_end()
            return value
        except RemoteProtocolError as exc:
            self.error = exc
            self._fast = False
            raise
        finally:
            self._fast = not (self._stack or self._chunks is not None or self._attrs
                              or self._pending is not None or self.error is not None)

    def _at_end(self) -> ConnectionClosed:
        """No complete reply left, and the server closed: cleanly, or mid-reply."""
        if len(self) or self._stack or self._attrs:
            raise RemoteProtocolError(
                f"the server closed the connection in the middle of a reply "
                f"({len(self)} bytes of it received)")
        return ConnectionClosed()

    def _parse(self) -> Any:
        buf = self._buf
        pos = self._pos
        stack = self._stack
        max_line = self.max_line_length
        find = buf.find
        while True:
            scan_from = self._scan_from
            end = find(b"\r\n", pos if scan_from <= pos else scan_from - 1)
            if end < 0 or end - pos > max_line:
                if end < 0:
                    # Incomplete: within the limit so far? A line of exactly
                    # max_line bytes may be waiting for the LF after its CR:
                    # the answer must not depend on where the packets split.
                    waiting = len(buf) - pos
                    if waiting <= max_line or (waiting == max_line + 1 and buf[-1] == 13):
                        self._scan_from = len(buf)
                        break
                    end = len(buf) if buf[-1] != 13 else len(buf) - 1
                raise _limit("max_line_length", end - pos, max_line, "reply line")
            t = buf[pos]
            if t == _BULK or t == _VERBATIM or t == _BLOB_ERROR:
                header = buf[pos + 1:end]
                if header.isdigit():
                    n = int(header) if len(header) < 19 else _HUGE
                    if n > self.max_bulk_length:
                        raise _limit("max_bulk_length", n, self.max_bulk_length,
                                     _BLOB_NAMES[t])
                    start = end + 2
                    stop = start + n
                    if stop + 2 > len(buf):
                        if n >= self.stream_threshold and len(buf) < stop:
                            self._start_chunks(t, start, n)
                            self._pos = 0
                            return NEED_DATA
                        break
                    if buf[stop] != 13 or buf[stop + 1] != 10:
                        raise RemoteProtocolError(
                            f"{_BLOB_NAMES[t]} of {n} bytes is not followed by CRLF")
                    value: Any = bytes(buf[start:stop])
                    pos = stop + 2
                    if t != _BULK:
                        value = _finish_blob(t, value)
                elif header == b"-1" and t == _BULK:
                    value = None
                    pos = end + 2
                else:
                    raise RemoteProtocolError(
                        f"bad {_BLOB_NAMES[t]} length {bytes(header)!r}")
            elif t == _SIMPLE:
                value = bytes(buf[pos + 1:end])
                pos = end + 2
            elif t == _INTEGER or t == _BIG_NUMBER:
                line = bytes(buf[pos + 1:end])
                if not _INTEGER_RE.match(line):
                    raise RemoteProtocolError(f"bad integer {line!r}")
                try:
                    value = int(line)
                except ValueError:  # more digits than int() converts
                    raise RemoteProtocolError(f"integer of {len(line)} digits") from None
                pos = end + 2
            elif t == _ARRAY or t == _MAP or t == _SET or t == _PUSH or t == _ATTRIBUTE:
                header = buf[pos + 1:end]
                pos = end + 2
                if header.isdigit():
                    n = int(header) if len(header) < 19 else _HUGE
                    if n > self.max_aggregate_length:
                        raise _limit("max_aggregate_length", n, self.max_aggregate_length,
                                     f"{_AGGREGATE_NAMES[t]} length")
                elif header == b"-1" and t == _ARRAY:
                    value = None
                    n = -1
                else:
                    raise RemoteProtocolError(
                        f"bad {_AGGREGATE_NAMES[t]} length {bytes(header)!r}")
                if n > 0:
                    if len(stack) >= self.max_depth:
                        raise _limit("max_depth", len(stack) + 1, self.max_depth,
                                     "reply nesting depth")
                    stack.append([t, 2 * n if t == _MAP or t == _ATTRIBUTE else n, []])
                    continue
                if n == 0:
                    if t == _ATTRIBUTE:
                        continue
                    value = _empty(t)
            elif t == _ERROR:
                value = ResponseError(buf[pos + 1:end].decode("utf-8", "replace"))
                pos = end + 2
            elif t == _NULL:
                if end != pos + 1:
                    raise RemoteProtocolError(f"bad null {bytes(buf[pos:end])!r}")
                value = None
                pos = end + 2
            elif t == _DOUBLE:
                line = bytes(buf[pos + 1:end])
                if not _DOUBLE_RE.match(line):
                    raise RemoteProtocolError(f"bad double {line!r}")
                value = float(line)
                pos = end + 2
            elif t == _BOOLEAN:
                line = bytes(buf[pos + 1:end])
                if line == b"t":
                    value = True
                elif line == b"f":
                    value = False
                else:
                    raise RemoteProtocolError(f"bad boolean {line!r}")
                pos = end + 2
            else:
                raise RemoteProtocolError(
                    f"unknown reply type byte {bytes(buf[pos:pos + 1])!r}")
            if not stack:
                return self._emit(pos, value)
            value = self._deliver(value)
            if value is not _NOTHING:
                return self._emit(pos, value)
        self._compact(pos)
        return NEED_DATA

    def _emit(self, pos: int, value: Any) -> Any:
        """Finish a top-level reply: consume it, attach its attributes."""
        self._pos = pos
        self.attributes = self._attrs
        if self._attrs is not None:
            self._attrs = None
        return value

    def _compact(self, pos: int) -> None:
        self._pos = pos

    def _deliver(self, value: Any) -> Any:
        """Put ``value`` into the innermost open aggregate, closing every
        aggregate it completes. Returns the finished top-level reply, or
        ``_NOTHING`` while an aggregate is still open."""
        stack = self._stack
        while stack:
            frame = stack[-1]
            items = frame[2]
            items.append(value)
            if len(items) < frame[1]:
                return _NOTHING
            stack.pop()
            t = frame[0]
            if t == _ARRAY or t == _SET:
                value = items
            elif t == _MAP:
                it = iter(items)
                value = {_hashable(k): v for k, v in zip(it, it, strict=True)}
            elif t == _PUSH:
                value = PushReply(items)
            else:  # an attribute describes the next value; it is not one itself
                it = iter(items)
                if self._attrs is None:
                    self._attrs = []
                self._attrs.append({_hashable(k): v for k, v in zip(it, it, strict=True)})
                return _NOTHING
        return value

    def _start_chunks(self, t: int, start: int, n: int) -> None:
        buf = self._buf
        self._chunks = [bytes(buf[start:])] if start < len(buf) else []
        self._chunk_need = n - (len(buf) - start)
        self._chunk_kind = t
        del buf[:]
        self._scan_from = 0

    def _finish_pending(self) -> Any:
        """Deliver a chunk-collected payload once its CRLF is in the buffer."""
        assert self._pending is not None
        buf = self._buf
        pos = self._pos
        if len(buf) - pos < 2:
            return _NOTHING
        t, payload = self._pending
        if buf[pos] != 13 or buf[pos + 1] != 10:
            raise RemoteProtocolError(
                f"{_BLOB_NAMES[t]} of {len(payload)} bytes is not followed by CRLF")
        self._pending = None
        pos += 2
        value = payload if t == _BULK else _finish_blob(t, payload)
        if self._stack:
            value = self._deliver(value)
            if value is _NOTHING:
                self._pos = pos
                return _NOTHING
        return self._emit(pos, value)


def _finish_blob(t: int, payload: bytes) -> Any:
    if t == _BLOB_ERROR:
        return ResponseError(payload.decode("utf-8", "replace"))
    if len(payload) < 4 or payload[3:4] != b":":
        raise RemoteProtocolError(f"verbatim string without a format prefix: {payload[:8]!r}")
    return VerbatimString(payload[4:], payload[:3].decode("ascii", "replace"))


def _empty(t: int) -> Any:
    if t == _MAP:
        return {}
    if t == _PUSH:
        return PushReply()
    return []


# -- encoding -------------------------------------------------------------------


# The whole command's format, by argument count, built once.
_COMMAND_FORMATS: Final = [b"*%d\r\n" % n + b"$%d\r\n%b\r\n" * n for n in range(64)]
_TWO_ARGS: Final = _COMMAND_FORMATS[2]
# A bulk string's header by length, for names and keys of usual sizes.
_LENGTHS: Final = [b"$%d" % n for n in range(1024)]
# A command's array header by argument count, and its arguments as bulk strings
# (CountedFraming.join). No head for no arguments: join refuses None, and
# encode_command says why.
_ARRAY_HEADS: Final = [None] + [b"*%d\r\n" % n for n in range(1, 64)]
_ARGUMENTS: Final = CountedFraming(marker=b"$", separator=b"\r\n", trailer=b"\r\n",
                                   max_payload=sys.maxsize)
#: Whether join is compiled (ambidex's optional module): then it is the fast
#: path; without it the Python below is faster than join's pure twin.
_JOIN_IN_C: Final = counted_in_c()


def encode_command(args: Iterable[Arg]) -> bytes:
    """One command as RESP bytes: an array of bulk strings.

    The hot path of every command (the largest single cost of an asyncio
    pipeline, measured): a tuple or list of up to 63 ``str``, ``bytes`` and
    ``int`` arguments is one call of :meth:`ambidex.sansio.CountedFraming.join`
    when it is compiled (a GET: 4,200 machine instructions -> 2,200), else
    encoded here, with one format built in advance per argument count;
    anything else takes :func:`_encode_any`, which checks every type and
    gives the same bytes.
    """
    if _JOIN_IN_C and (type(args) is tuple or type(args) is list) and len(args) < 64:
        try:
            return _ARGUMENTS.join(args, _ARRAY_HEADS[len(args)])  # type: ignore[no-any-return]
        except TypeError:  # a float, bytearray, memoryview, bool, no arguments
            return _encode_any(args)
    if type(args) is not tuple and type(args) is not list:
        return _encode_any(args)
    count = len(args)
    if count == 2:
        # A name and one key (GET k, INCR k, DEL k...): the commonest shape
        # there is, without the loop below (7,200 -> 4,300 instructions, callgrind).
        name, key = args
        if type(name) is str and type(key) is str:
            name = name.encode()
            key = key.encode()
            try:  # one C-level join of prebuilt pieces: cheaper than % formatting
                return b"\r\n".join(
                    (b"*2", _LENGTHS[len(name)], name, _LENGTHS[len(key)], key, b""))
            except IndexError:  # a name or key of 1 KiB or more
                return _TWO_ARGS % (len(name), name, len(key), key)
    if not 0 < count < len(_COMMAND_FORMATS):
        return _encode_any(args)  # no arguments (it raises), or very many
    # One C-level formatting of "*N\r\n" + "$%d\r\n%b\r\n" * N over
    # [len0, arg0, len1, arg1, ...]: no intermediate bytes per argument.
    fields: list[int | bytes] = []
    append = fields.append
    for arg in args:
        t = type(arg)
        if t is str:
            data = arg.encode()
        elif t is bytes:
            data = arg
        elif t is int:
            data = b"%d" % arg
        else:
            return _encode_any(args)
        append(len(data))
        append(data)
    return _COMMAND_FORMATS[count] % tuple(fields)



def encode_commands(commands: Sequence[Sequence[Arg]]) -> bytes:
    """Several commands as one block of RESP bytes (a pipeline): the same
    bytes as joining :func:`encode_command` of each.

    A pipeline's hot path: the formats of every command are joined and the
    whole block is formatted by one C-level ``%`` over every argument -- no
    call and no intermediate ``bytes`` per command (0.55 -> 0.38 us per GET
    of a 1000-command pipeline, measured). A block with any command off the
    fast path (see :func:`encode_command`) is encoded command by command.
    """
    formats: list[bytes] = []
    fields: list[int | bytes] = []
    add_format = formats.append
    append = fields.append
    limit = len(_COMMAND_FORMATS)
    for args in commands:
        if type(args) is not tuple and type(args) is not list:
            break
        count = len(args)
        if not 0 < count < limit:
            break
        add_format(_COMMAND_FORMATS[count])
        for arg in args:
            t = type(arg)
            if t is str:
                data = arg.encode()
            elif t is bytes:
                data = arg
            elif t is int:
                data = b"%d" % arg
            else:
                break
            append(len(data))
            append(data)
        else:
            continue
        break
    else:
        return b"".join(formats) % tuple(fields)
    return b"".join([encode_command(args) for args in commands])


def _encode_any(args: Iterable[Arg]) -> bytes:
    """One command as RESP bytes: an array of bulk strings.

    ``str`` is encoded as UTF-8, ``int`` and ``float`` as their decimal text
    (``repr`` for floats, so no precision is lost; ``inf`` and ``-inf`` are
    spelled as Redis reads them). Anything else, ``bool`` included, raises
    ``TypeError`` before a byte is produced: a half-encoded command must never
    reach the wire.
    """
    parts = [b""]  # the array header, once the count is known
    count = 0
    for arg in args:
        data: bytes
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, bool):
            raise TypeError("a bool is not a Redis argument: pass 0/1 or b'true'/b'false'")
        elif isinstance(arg, int):
            data = b"%d" % arg
        elif isinstance(arg, float):
            data = float.__repr__(arg).encode()
        elif isinstance(arg, (bytearray, memoryview)):
            data = bytes(arg)
        else:
            raise TypeError(f"cannot send {type(arg).__name__} to Redis: "
                            "use bytes, str, int or float")
        if len(data) < 4096:
            parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
        else:  # big values are copied once, by the final join
            parts += (b"$%d\r\n" % len(data), data, b"\r\n")
        count += 1
    if not count:
        raise ValueError("a command needs at least its name")
    parts[0] = b"*%d\r\n" % count
    return b"".join(parts)
