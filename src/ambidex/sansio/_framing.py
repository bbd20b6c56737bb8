"""Framing: the three shapes most binary and text protocols are cut into.

Each class knows one shape and its limits, reads frames from a
:class:`ReceiveBuffer` and writes them back to bytes:

* :class:`LineFraming` -- lines ending in ``\\n`` (accepting ``\\r\\n`` too) or
  strictly ``\\r\\n``: RESP, memcached, SMTP, most text protocols.
* :class:`LengthPrefixFraming` -- an unsigned integer saying how many bytes
  follow: many RPC protocols, Kafka's size field, ``multiprocessing``.
* :class:`StructFraming` -- a fixed ``struct`` header, one of whose fields is
  the payload size: gibson, PostgreSQL messages, most game and device protocols.

``read(buf)`` returns a frame, or :data:`NEED_DATA` with nothing consumed, so a
machine calls it again after the next ``feed``. Limits are checked as soon as
the size is known (from the header, or from the bytes held), so a peer that
announces 4 GB gets :class:`LimitExceeded` after seven bytes, not after 4 GB.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from ambidex.sansio._errors import LocalProtocolError
from ambidex.sansio._receivebuffer import DEFAULT_MAX_LINE, DEFAULT_MAX_PAYLOAD, ReceiveBuffer
from ambidex.sansio._sentinels import NEED_DATA, NeedData


def _too_big_to_send(what: str, size: int, limit_name: str, limit: int) -> LocalProtocolError:
    # Sending more than the limit is our own doing, not the peer's: a local error.
    return LocalProtocolError(f"{what} to send: {size} bytes is over {limit_name}={limit}")


def _as_struct(fmt: struct.Struct | str) -> struct.Struct:
    return fmt if isinstance(fmt, struct.Struct) else struct.Struct(fmt)


def _check_size_field(fmt: struct.Struct, index: int) -> None:
    """Refuse, when the framing is made, a size field that cannot hold a length.

    A float, bool or bytes field is our own mistake and is said so at once,
    rather than as an error on the first frame. A *signed* integer is allowed
    (Java's ``writeInt``, PostgreSQL): a negative length on the wire is then
    the peer's fault, a :class:`RemoteProtocolError` when it arrives.
    """
    value = fmt.unpack(bytes(fmt.size))[index]
    if not isinstance(value, int) or isinstance(value, bool):
        raise LocalProtocolError(
            f"field {index} of {fmt.format!r} must be an integer to hold a length"
        )


class LineFraming:
    """Lines, returned without their line ending.

    ``separator=b"\\n"`` (the default) accepts both ``\\n`` and ``\\r\\n`` endings
    and strips either; ``separator=b"\\r\\n"`` is strict: a bare ``\\n`` is
    ordinary data inside the line. ``max_line`` bounds a line *including* its
    ending; a longer one raises :class:`LimitExceeded`.
    """

    __slots__ = ("max_line", "separator")

    def __init__(self, separator: bytes = b"\n", *, max_line: int = DEFAULT_MAX_LINE) -> None:
        if separator not in (b"\n", b"\r\n"):
            raise LocalProtocolError(f"separator must be b'\\n' or b'\\r\\n', not {separator!r}")
        if max_line < len(separator):
            raise ValueError(f"max_line={max_line} cannot hold even the separator")
        self.separator = separator
        self.max_line = max_line

    def read(self, buf: ReceiveBuffer) -> bytes | NeedData:
        line = buf.read_line(self.separator, limit=self.max_line)
        if line is None:
            return NEED_DATA
        line = line[: -len(self.separator)]
        if self.separator == b"\n" and line.endswith(b"\r"):
            line = line[:-1]
        return line

    def encode(self, line: bytes) -> bytes:
        """``line`` with its ending; refuses a line that contains one already."""
        if b"\n" in line:
            raise LocalProtocolError("a line to send cannot contain a line feed")
        frame = line + (b"\r\n" if self.separator == b"\r\n" else b"\n")
        if len(frame) > self.max_line:
            raise _too_big_to_send("line", len(frame), "max_line", self.max_line)
        return frame


class LengthPrefixFraming:
    """Payloads preceded by their length as one unsigned integer.

    ``prefix`` is a ``struct`` format with one integer field; the default
    ``"!I"`` is a 4-byte big-endian (network order) count. A signed format
    (``"!i"``) works too: a negative length from the peer is a
    :class:`RemoteProtocolError`. ``max_payload`` bounds the declared length.
    """

    __slots__ = ("max_payload", "prefix")

    def __init__(
        self, prefix: struct.Struct | str = "!I", *, max_payload: int = DEFAULT_MAX_PAYLOAD
    ) -> None:
        self.prefix = _as_struct(prefix)
        if len(self.prefix.unpack(bytes(self.prefix.size))) != 1:
            raise LocalProtocolError(f"prefix {self.prefix.format!r} must hold exactly one field")
        _check_size_field(self.prefix, 0)
        self.max_payload = max_payload

    def read(self, buf: ReceiveBuffer) -> bytes | NeedData:
        payload = buf.read_length_prefixed(self.prefix, limit=self.max_payload)
        return NEED_DATA if payload is None else payload

    def encode(self, payload: bytes) -> bytes:
        if len(payload) > self.max_payload:
            raise _too_big_to_send("payload", len(payload), "max_payload", self.max_payload)
        try:
            return self.prefix.pack(len(payload)) + payload
        except struct.error as exc:
            raise LocalProtocolError(f"payload of {len(payload)} bytes: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Frame:
    """A header's fields (the size field included) and the payload it announced."""

    header: tuple[Any, ...]
    payload: bytes


class StructFraming:
    """A fixed ``struct`` header followed by a payload whose size the header gives.

    ``size_field`` is the index of the size among the header's fields. ``read``
    returns a :class:`Frame` only once header and payload are both held, so a
    machine never has to remember half a frame.
    """

    __slots__ = ("header", "max_payload", "size_field")

    def __init__(
        self,
        header: struct.Struct | str,
        *,
        size_field: int,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
    ) -> None:
        self.header = _as_struct(header)
        fields = len(self.header.unpack(bytes(self.header.size)))
        if not -fields <= size_field < fields:
            raise LocalProtocolError(
                f"size_field={size_field} is not a field of {self.header.format!r}"
            )
        self.size_field = size_field % fields
        _check_size_field(self.header, self.size_field)
        self.max_payload = max_payload

    def read(self, buf: ReceiveBuffer) -> Frame | NeedData:
        frame = buf.read_frame(self.header, size_index=self.size_field, limit=self.max_payload)
        return NEED_DATA if frame is None else Frame(frame[0], frame[1])

    def encode(self, fields: tuple[Any, ...], payload: bytes) -> bytes:
        """Header then payload; ``fields`` omits the size field, which is filled in."""
        if len(payload) > self.max_payload:
            raise _too_big_to_send("payload", len(payload), "max_payload", self.max_payload)
        values = list(fields)
        values.insert(self.size_field, len(payload))
        try:
            return self.header.pack(*values) + payload
        except struct.error as exc:
            raise LocalProtocolError(f"cannot pack header {tuple(values)!r}: {exc}") from exc
