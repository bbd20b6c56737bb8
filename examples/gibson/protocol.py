"""The gibson wire protocol, as two pure state machines (no sockets, no asyncio).

Every message, in both directions, is a 7-byte little-endian header and a
payload::

    offset  size  field
    0       2     code       uint16  request or reply code (Code)
    2       1     encoding   uint8   how to read a value (Encoding)
    3       4     size       uint32  payload length in bytes
    7       size  payload

:class:`ClientConnection` turns requests into bytes and bytes into replies;
:class:`ServerConnection` does the reverse. Both are built on
:mod:`ambidex.sansio`: the frames come out of a :class:`ReceiveBuffer` through
a :class:`StructFraming`, declared sizes are checked against ``max_payload``
as soon as a header arrives, and the first error from the peer leaves the
machine in its ERROR state.

The machines check more than framing. The client knows which request each
reply answers (a :class:`PipelineQueue` of request codes), so a VALUE in reply
to a SET, or a reply to a request never sent, is a
:class:`RemoteProtocolError`. The server tells a malformed frame (fatal: the
stream is out of step) from a well-framed request it cannot serve (an
:class:`BadRequest` event, answered with an ERROR reply; the connection goes
on).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from ambidex.sansio import (
    NEED_DATA,
    PAUSED,
    LimitExceeded,
    LocalProtocolError,
    NeedData,
    Paused,
    PipelineQueue,
    ProtocolMachine,
    ReceiveBuffer,
    RemoteProtocolError,
    StructFraming,
)

HEADER: Final = struct.Struct("<HBI")
"""code (uint16), encoding (uint8), payload size (uint32), little-endian: 7 bytes."""

_HEADER_SIZE: Final = HEADER.size
_SMALL: Final = 4096  # payloads up to this size are taken with their header, then sliced

_KEY_LENGTH: Final = struct.Struct("<H")
_ERROR_CODE: Final = struct.Struct("<H")

DEFAULT_MAX_PAYLOAD: Final = 1024 * 1024
"""Largest payload either machine accepts unless told otherwise (1 MiB)."""

MAX_KEY: Final = 1024
"""Longest key, in bytes. Keys are never empty."""

# Bytes a machine may hold beyond one whole frame: a driver reads at most this
# much at a time and drains every complete frame before reading again.
# The asyncio driver's reads grow to 1 MiB while they come back full
# (examples/_transport.py's MAX_READ; a test keeps the two equal).
_READ_SLACK: Final = 1024 * 1024


class Code(enum.IntEnum):
    """The ``code`` field. Requests are below 0x80, replies from 0x80 up."""

    GET = 0x01
    SET = 0x02
    DEL = 0x03

    OK = 0x80
    VALUE = 0x81
    NOT_FOUND = 0x82
    ERROR = 0x83


class Encoding(enum.IntEnum):
    """The ``encoding`` field: how the value of a SET or a VALUE is to be read."""

    BINARY = 0
    UTF8 = 1


class ErrorCode(enum.IntEnum):
    """The first two bytes (uint16 LE) of an ERROR reply's payload."""

    BAD_REQUEST = 1
    UNKNOWN_COMMAND = 2
    TOO_LARGE = 3
    BAD_KEY = 4
    INTERNAL = 5


# -- events ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Get:
    key: bytes


@dataclass(frozen=True, slots=True)
class Set:
    key: bytes
    value: bytes
    encoding: Encoding = Encoding.BINARY


@dataclass(frozen=True, slots=True)
class Delete:
    key: bytes


Request = Get | Set | Delete


@dataclass(frozen=True, slots=True)
class Ok:
    """SET stored the value; DEL removed the key."""


@dataclass(frozen=True, slots=True)
class Value:
    """GET found the key."""

    value: bytes
    encoding: Encoding = Encoding.BINARY

    def decoded(self) -> bytes | str:
        """The value as stored: ``str`` for UTF8, ``bytes`` otherwise."""
        return self.value.decode() if self.encoding is Encoding.UTF8 else self.value


# For receive_replies' fast path: a Value's slots, set as its __init__ sets them.
_new_object: Final = object.__new__
_set_value: Final = Value.__dict__["value"].__set__
_set_encoding: Final = Value.__dict__["encoding"].__set__


@dataclass(frozen=True, slots=True)
class NotFound:
    """GET or DEL of a key that does not exist."""


@dataclass(frozen=True, slots=True)
class Error:
    """The server could not serve the request. The connection is still usable."""

    code: ErrorCode | int
    message: str


Reply = Ok | Value | NotFound | Error


@dataclass(frozen=True, slots=True)
class BadRequest:
    """Server side: a well-framed request the server cannot serve.

    The frame's size was valid, so the stream is still in step: answer it (with
    :func:`error_for`) and go on reading.
    """

    code: ErrorCode
    message: str


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The peer closed the connection cleanly, between messages."""


# -- errors a client raises (both colours) ---------------------------------------


class GibsonError(Exception):
    """Base class of the errors the gibson clients raise themselves."""


class ServerError(GibsonError):
    """The server answered ERROR. The connection stays usable."""

    def __init__(self, code: ErrorCode | int, message: str) -> None:
        self.code = code
        self.message = message
        name = code.name if isinstance(code, ErrorCode) else str(code)
        super().__init__(f"server error {name}: {message}")


class ConnectionClosedError(GibsonError, ConnectionError):
    """The connection is closed (by us or by the server) or unusable after an error."""


# -- pure encoders -------------------------------------------------------------------

_REQUEST_CODES: Final = frozenset({Code.GET, Code.SET, Code.DEL})
_REPLY_CODES: Final = {c.value: c for c in (Code.OK, Code.VALUE, Code.NOT_FOUND, Code.ERROR)}
_ENCODINGS: Final = {e.value: e for e in Encoding}
_ERROR_CODES: Final = {e.value: e for e in ErrorCode}
_OK: Final = Ok()
_NOT_FOUND: Final = NotFound()
# For the fast paths of send and receive_replies: the request codes bound
# once (reading an enum member, ``Code.GET``, costs 0.1-0.2 us on CPython
# 3.10-3.13: a lookup through the enum's metaclass), and the reply codes as
# plain ints, what the header unpacks to.
_unpack_header: Final = HEADER.unpack_from
_GET: Final = Code.GET
_SET: Final = Code.SET
_GET_CODE: Final = int(Code.GET)
_BINARY: Final = int(Encoding.BINARY)
_VALUE_CODE: Final = int(Code.VALUE)
_OK_CODE: Final = int(Code.OK)
_NOT_FOUND_CODE: Final = int(Code.NOT_FOUND)

_REPLIES_TO: Final = {
    Code.GET: frozenset({Code.VALUE, Code.NOT_FOUND, Code.ERROR}),
    Code.SET: frozenset({Code.OK, Code.ERROR}),
    Code.DEL: frozenset({Code.OK, Code.NOT_FOUND, Code.ERROR}),
}


def as_key(key: str | bytes) -> bytes:
    """A key as bytes (``str`` is UTF-8 encoded), checked: 1 to MAX_KEY bytes."""
    data = key.encode() if isinstance(key, str) else bytes(key)
    if not 0 < len(data) <= MAX_KEY:
        raise LocalProtocolError(f"a key is 1 to {MAX_KEY} bytes, not {len(data)}")
    return data


def _frame(code: Code, encoding: Encoding, payload: bytes, max_payload: int) -> bytes:
    if len(payload) > max_payload:
        raise LocalProtocolError(
            f"{code.name} payload to send: {len(payload)} bytes is over max_payload={max_payload}"
        )
    return HEADER.pack(code, encoding, len(payload)) + payload


def encode_request(request: Request, *, max_payload: int = DEFAULT_MAX_PAYLOAD) -> bytes:
    """The bytes of one request. Raises :class:`LocalProtocolError` if it is invalid."""
    if isinstance(request, Get):
        return _frame(Code.GET, Encoding.BINARY, as_key(request.key), max_payload)
    if isinstance(request, Delete):
        return _frame(Code.DEL, Encoding.BINARY, as_key(request.key), max_payload)
    if isinstance(request, Set):
        key = as_key(request.key)
        payload = _KEY_LENGTH.pack(len(key)) + key + request.value
        return _frame(Code.SET, Encoding(request.encoding), payload, max_payload)
    raise LocalProtocolError(f"not a gibson request: {request!r}")


def encode_reply(reply: Reply, *, max_payload: int = DEFAULT_MAX_PAYLOAD) -> bytes:
    """The bytes of one reply. Raises :class:`LocalProtocolError` if it is invalid."""
    if isinstance(reply, Ok):
        return _frame(Code.OK, Encoding.BINARY, b"", max_payload)
    if isinstance(reply, NotFound):
        return _frame(Code.NOT_FOUND, Encoding.BINARY, b"", max_payload)
    if isinstance(reply, Value):
        return _frame(Code.VALUE, Encoding(reply.encoding), reply.value, max_payload)
    if isinstance(reply, Error):
        payload = _ERROR_CODE.pack(reply.code) + reply.message.encode()
        return _frame(Code.ERROR, Encoding.BINARY, payload, max_payload)
    raise LocalProtocolError(f"not a gibson reply: {reply!r}")


def error_for(problem: BadRequest | RemoteProtocolError) -> Error:
    """The ERROR reply that tells a client what was wrong with what it sent."""
    if isinstance(problem, BadRequest):
        return Error(problem.code, problem.message)
    limit_name = getattr(problem, "limit_name", None)
    code = ErrorCode.TOO_LARGE if limit_name is not None else ErrorCode.BAD_REQUEST
    return Error(code, str(problem))


# -- the machines --------------------------------------------------------------------


class _Connection(ProtocolMachine):
    """What both ends share: the buffer, the framing, end of file."""

    def __init__(self, *, max_payload: int, max_buffer: int | None) -> None:
        super().__init__()
        self.max_payload = max_payload
        if max_buffer is None:
            max_buffer = HEADER.size + max_payload + _READ_SLACK
        self._buffer = ReceiveBuffer(max_buffer=max_buffer)
        self._framing = StructFraming(HEADER, size_field=2, max_payload=max_payload)
        self._eof = False
        # False only while the buffer is surely empty: set by receive_data,
        # cleared by receive_replies when it leaves nothing behind (whatever
        # next_event consumes meanwhile, True is never wrong, only slower).
        self._held = False

    def receive_data(self, data: bytes) -> None:
        """Bytes from the peer; ``b""`` means the peer closed its side."""
        if self._error is not None:
            self._check_usable()
        if self._eof:
            raise LocalProtocolError("receive_data after end of file (b'') was already fed")
        if not data:
            self._eof = True
            return
        self._held = True
        try:
            self._buffer.feed(data)
        except Exception:
            # The rare path goes through _breaking (which records the error):
            # entering a context manager for every chunk costs more than the
            # rest of this method.
            with self._breaking():
                raise

    def _next_frame(self) -> tuple[int, int, bytes] | NeedData:
        frame = self._framing.read(self._buffer)
        if frame is NEED_DATA:
            return NEED_DATA
        code, encoding, _size = frame.header
        return code, encoding, frame.payload


class ClientConnection(_Connection):
    """The client end: ``send(request) -> bytes``, ``receive_data``, ``next_event()``.

    ``next_event()`` returns the next :data:`Reply` (in the order the requests
    were sent), :class:`ConnectionClosed` once the server has closed cleanly
    with nothing outstanding, or :data:`NEED_DATA`. It raises
    :class:`RemoteProtocolError` (and the machine stays broken) for an unknown
    code, a reply that does not fit the request it answers, a reply with no
    request outstanding, a declared size over ``max_payload``, or a close in the
    middle of a reply or with requests unanswered.
    """

    def __init__(
        self, *, max_payload: int = DEFAULT_MAX_PAYLOAD, max_buffer: int | None = None
    ) -> None:
        super().__init__(max_payload=max_payload, max_buffer=max_buffer)
        self._sent: PipelineQueue[Code] = PipelineQueue()

    @property
    def outstanding(self) -> int:
        """Requests sent whose replies have not been returned by ``next_event`` yet."""
        return len(self._sent)

    def send(self, request: Request) -> bytes:
        """The bytes of one request, recorded as outstanding."""
        if self._error is not None or self._eof:
            self._check_can_send()
        if type(request) is Get:
            # The most common request, checked as encode_request checks it,
            # without its three calls.
            key = request.key
            size = len(key)
            if type(key) is bytes and 0 < size <= MAX_KEY and size <= self.max_payload:
                self._sent.push(_GET)
                return HEADER.pack(_GET_CODE, _BINARY, size) + key
        data = encode_request(request, max_payload=self.max_payload)
        self._sent.push(_CODES[type(request)])
        return data

    def send_get(self, key: str | bytes) -> bytes:
        """``send(Get(as_key(key)))`` in one call: the bytes of a GET of
        ``key``, recorded as outstanding. The same checks, the same errors
        in the same order; no :class:`Get` is made and no other function is
        called when the key is good (the asyncio client's GET one at a time
        pays for every Python call, see its ``get``)."""
        data = key.encode() if isinstance(key, str) else bytes(key)  # as as_key does
        size = len(data)
        if self._error is None and not self._eof and 0 < size <= min(MAX_KEY, self.max_payload):
            self._sent.push(_GET)
            return HEADER.pack(_GET_CODE, _BINARY, size) + data
        return self.send(Get(as_key(key)))  # every refusal, raised where send raises it

    def send_many(self, requests: Iterable[Request]) -> bytes:
        """The bytes of several pipelined requests; all are checked before any is recorded."""
        self._check_can_send()
        requests = list(requests)
        data = b"".join([encode_request(r, max_payload=self.max_payload) for r in requests])
        for request in requests:
            self._sent.push(_CODES[type(request)])
        return data

    def _check_can_send(self) -> None:
        self._check_usable()
        if self._eof:
            raise LocalProtocolError("cannot send: the server has closed the connection")

    def next_event(self) -> Reply | ConnectionClosed | NeedData:
        if self._error is not None:
            self._check_usable()
        # The hot path of every driver, called at least twice per reply (the
        # reply, then NEED_DATA): one length, one header unpack, dictionary
        # lookups instead of enum calls, no intermediate frame object.
        buffer = self._buffer
        held = len(buffer)
        try:
            if held and not self._sent:
                # Any byte when nothing was asked breaks the protocol; saying so
                # now keeps it from being taken for the next request's reply.
                raise RemoteProtocolError(f"the server sent {held} bytes with no request pending")
            if held < _HEADER_SIZE:
                return self._at_end() if self._eof else NEED_DATA
            # held >= 7, so never None:
            code, encoding, size = buffer.peek_struct(HEADER)  # type: ignore[misc]
            # Judge the header before waiting for the payload: garbage is
            # reported after 7 bytes, not after whatever size it announces.
            reply_code = self._check_header(code, encoding)
            if size > self.max_payload:
                raise LimitExceeded(
                    "max_payload", size, self.max_payload, "declared payload size"
                )
            if held < _HEADER_SIZE + size:
                return self._at_end() if self._eof else NEED_DATA
            if size <= _SMALL:
                # One call and two small copies beat two calls.
                payload = buffer.consume(_HEADER_SIZE + size)[_HEADER_SIZE:]
            else:
                buffer.discard(_HEADER_SIZE)
                payload = buffer.consume(size)
            self._sent.pop()
            if reply_code is Code.VALUE:
                return Value(payload, _ENCODINGS[encoding])
            if reply_code is Code.ERROR:
                return _error_reply(payload)
            if payload:
                raise RemoteProtocolError(
                    f"{reply_code.name} carries {len(payload)} unexpected bytes"
                )
            return _OK if reply_code is Code.OK else _NOT_FOUND
        except RemoteProtocolError as exc:
            self._fail(exc)
            raise

    def receive_replies(self, data: bytes) -> list[Reply | ConnectionClosed]:
        """``receive_data(data)``, then every event ``next_event`` gives
        before NEED_DATA, in a list (empty if no reply is whole yet): for a
        driver that is handed each read's bytes by a callback (the asyncio
        client). The same checks, the same errors, in the same order. If a
        protocol error comes after good replies, the good ones are returned
        and the machine is broken (:attr:`error` says why): the next call
        raises.

        The common case -- nothing held from earlier reads, and ``data``
        starts with whole replies that the pending requests expect (a VALUE
        to a GET, OK or NOT_FOUND with no payload) -- is read straight out
        of ``data``: no copy into the buffer and out again, and one call
        instead of a dozen per reply (what the asyncio client costs beyond
        the blocking one is mostly Python calls). Anything else, and
        whatever follows it, goes through ``receive_data`` and
        ``next_event``, which check everything.
        """
        out: list[Reply | ConnectionClosed] = []
        end = len(data)
        limit = self._buffer.max_buffer
        if (
            not self._held
            and self._error is None
            and not self._eof
            and type(data) is bytes  # slices of it are the payloads next_event gives
            and (limit is None or end <= limit)
        ):
            pos = 0
            max_payload, append = self.max_payload, out.append
            for request in self._sent:  # oldest first; ends when none is pending
                if end - pos < _HEADER_SIZE:
                    break
                code, encoding, size = _unpack_header(data, pos)
                stop = pos + _HEADER_SIZE + size
                if stop > end or size > max_payload:
                    break
                if code == _VALUE_CODE and request is _GET and encoding in _ENCODINGS:
                    # Value(payload, encoding), made the way its frozen
                    # dataclass __init__ makes it, without that call's two
                    # object.__setattr__ lookups: half the time.
                    value = _new_object(Value)
                    _set_value(value, data[pos + _HEADER_SIZE : stop])
                    _set_encoding(value, _ENCODINGS[encoding])
                    append(value)
                elif size or encoding:
                    break
                elif code == _OK_CODE and request is not _GET:
                    append(_OK)
                elif code == _NOT_FOUND_CODE and request is not _SET:
                    append(_NOT_FOUND)
                else:
                    break
                pos = stop
            if pos:
                pop = self._sent.pop
                for _ in out:
                    pop()
                if pos == end:
                    return out
                data = data[pos:]
        try:
            self.receive_data(data)
            while (event := self.next_event()) is not NEED_DATA:
                out.append(event)
                if type(event) is ConnectionClosed:
                    break
            self._held = bool(self._buffer)
        except Exception:
            if out and self._error is not None:
                return out  # the good ones; the error is raised by the next call
            raise
        return out

    def _at_end(self) -> ConnectionClosed:
        if self._buffer:
            raise RemoteProtocolError(
                f"the server closed the connection in the middle of a reply "
                f"({len(self._buffer)} bytes of it received)"
            )
        if self._sent:
            raise RemoteProtocolError(
                f"the server closed the connection with {len(self._sent)} requests unanswered"
            )
        return ConnectionClosed()

    def _check_header(self, code: int, encoding: int) -> Code:
        reply_code = _REPLY_CODES.get(code)
        if reply_code is None:
            if code in _REQUEST_CODES:
                raise RemoteProtocolError(f"the server sent a request code ({Code(code).name})")
            raise RemoteProtocolError(f"unknown reply code 0x{code:04x}")
        request = self._sent.peek()
        if reply_code not in _REPLIES_TO[request]:
            raise RemoteProtocolError(f"{reply_code.name} is not a reply to {request.name}")
        if reply_code is Code.VALUE:
            if encoding not in _ENCODINGS:
                raise RemoteProtocolError(f"unknown encoding {encoding}")
        elif encoding != Encoding.BINARY:
            raise RemoteProtocolError(f"{reply_code.name} with encoding {encoding}")
        return reply_code


def _error_reply(payload: bytes) -> Error:
    if len(payload) < _ERROR_CODE.size:
        raise RemoteProtocolError(f"ERROR payload of {len(payload)} bytes has no code")
    (number,) = _ERROR_CODE.unpack_from(payload)
    code: ErrorCode | int = _ERROR_CODES.get(number, number)
    return Error(code, payload[_ERROR_CODE.size :].decode(errors="replace"))


class ServerConnection(_Connection):
    """The server end: ``receive_data``, ``next_event()``, ``send(reply) -> bytes``.

    ``next_event()`` returns a :data:`Request`, a :class:`BadRequest` (answer it
    with an :class:`Error`), :class:`ConnectionClosed`, :data:`NEED_DATA`, or
    :data:`PAUSED` when ``max_unanswered`` requests await replies (answer some,
    then ask again). Every request and bad request gets exactly one reply, in
    order; ``send`` with nothing to answer is a :class:`LocalProtocolError`.
    """

    def __init__(
        self,
        *,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        max_buffer: int | None = None,
        max_unanswered: int = 1024,
    ) -> None:
        super().__init__(max_payload=max_payload, max_buffer=max_buffer)
        self.max_unanswered = max_unanswered
        self.unanswered = 0

    def next_event(self) -> Request | BadRequest | ConnectionClosed | NeedData | Paused:
        self._check_usable()
        if self.unanswered >= self.max_unanswered:
            return PAUSED
        with self._breaking():
            frame = self._next_frame()
            if frame is NEED_DATA:
                if not self._eof:
                    return NEED_DATA
                if self._buffer:
                    raise RemoteProtocolError(
                        f"the client closed the connection in the middle of a request "
                        f"({len(self._buffer)} bytes of it received)"
                    )
                return ConnectionClosed()
            event = _request(*frame)
            self.unanswered += 1
            return event

    def send(self, reply: Reply) -> bytes:
        self._check_usable()
        if self.unanswered == 0:
            raise LocalProtocolError("a reply with no request to answer")
        data = encode_reply(reply, max_payload=self.max_payload)
        self.unanswered -= 1
        return data


_CODES: Final[dict[type[Get | Set | Delete], Code]] = {
    Get: Code.GET,
    Set: Code.SET,
    Delete: Code.DEL,
}


def _request(code: int, encoding: int, payload: bytes) -> Request | BadRequest:
    """A request from a well-framed message; a BadRequest when its content is wrong."""
    if code not in (Code.GET, Code.SET, Code.DEL):
        return BadRequest(ErrorCode.UNKNOWN_COMMAND, f"unknown command code 0x{code:04x}")
    if encoding not in Encoding._value2member_map_:
        return BadRequest(ErrorCode.BAD_REQUEST, f"unknown encoding {encoding}")
    if code == Code.SET:
        if len(payload) < _KEY_LENGTH.size:
            return BadRequest(ErrorCode.BAD_REQUEST, "SET payload too short for its key length")
        (key_length,) = _KEY_LENGTH.unpack_from(payload)
        key = payload[_KEY_LENGTH.size : _KEY_LENGTH.size + key_length]
        if len(key) != key_length:
            return BadRequest(
                ErrorCode.BAD_REQUEST, f"SET key length {key_length} overruns the payload"
            )
        value = payload[_KEY_LENGTH.size + key_length :]
    else:
        key, value = payload, b""
    if not 0 < len(key) <= MAX_KEY:
        return BadRequest(ErrorCode.BAD_KEY, f"a key is 1 to {MAX_KEY} bytes, not {len(key)}")
    if code == Code.GET:
        return Get(key)
    if code == Code.DEL:
        return Delete(key)
    return Set(key, value, Encoding(encoding))
