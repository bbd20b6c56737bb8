"""ReceiveBuffer: bytes from the peer, waiting to become frames.

A protocol machine appends whatever the transport delivered and then takes
complete frames off the front. Both must stay cheap however the bytes arrive:

* **Consuming from the front is O(1) amortised.** The bytes live in one
  ``bytearray`` with a start offset; taking a frame moves the offset. The dead
  prefix is cut off only once it is at least half of the array (and not tiny),
  so each byte is moved at most a constant number of times overall.
* **Searching for a separator never rescans.** ``read_line`` remembers how far it
  already looked; when a peer dribbles a 10 kB line one byte per packet, the
  total work is O(10 kB), not O(10 kB squared). (h11's receive buffer does the
  same; without it, a slow peer is a CPU denial of service.)
* **Nothing grows without bound.** ``max_buffer`` caps the bytes held; every
  framing call takes a limit too and fails with :class:`LimitExceeded` as soon
  as a frame is known to be too large, before its bytes are buffered.

Every ``read_*`` method either returns a whole frame and consumes it, or
returns ``None`` and consumes nothing, so a caller can retry after the next
``feed`` with no state of its own.
"""

from __future__ import annotations

import struct
from typing import Any

from ambidex.sansio._errors import LimitExceeded, LocalProtocolError, RemoteProtocolError

DEFAULT_MAX_BUFFER = 16 * 1024 * 1024
"""Bytes a buffer holds at most, unless told otherwise (16 MiB)."""

DEFAULT_MAX_LINE = 64 * 1024
"""Longest line, separator included, ``read_line`` accepts by default (64 KiB)."""

DEFAULT_MAX_PAYLOAD = 4 * 1024 * 1024
"""Largest length-prefixed payload accepted by default (4 MiB)."""

# Below this many dead bytes compaction is not worth a memmove.
_COMPACT_MIN = 4096


class ReceiveBuffer:
    """Bytes received and not yet parsed, with cheap framing operations.

    ``buf += data`` or ``buf.feed(data)`` appends; ``len(buf)`` is the number of
    unconsumed bytes. ``max_buffer`` (``None`` for no limit) bounds that number:
    a ``feed`` that would exceed it raises :class:`LimitExceeded` and appends
    nothing. A driver that drains every complete frame after each read keeps the
    buffer near one frame plus one read's worth of bytes.
    """

    __slots__ = ("_data", "_scan_separator", "_scanned", "_start", "max_buffer")

    def __init__(self, data: bytes = b"", *, max_buffer: int | None = DEFAULT_MAX_BUFFER) -> None:
        if max_buffer is not None and max_buffer < 1:
            raise ValueError(f"max_buffer must be positive or None, not {max_buffer}")
        self.max_buffer = max_buffer
        self._data = bytearray()
        self._start = 0
        # read_line's memory: the separator last searched for, and the absolute
        # index in _data up to which no occurrence of it can *start*.
        self._scan_separator = b""
        self._scanned = 0
        if data:
            self.feed(data)

    # -- filling -------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data``. Raises :class:`LimitExceeded` past ``max_buffer``."""
        if self.max_buffer is not None:
            size = len(self._data) - self._start + len(data)  # len(self), without the call
            if size > self.max_buffer:
                raise LimitExceeded("max_buffer", size, self.max_buffer, "unparsed data")
        self._data += data

    def __iadd__(self, data: bytes | bytearray | memoryview) -> ReceiveBuffer:
        self.feed(data)
        return self

    def __len__(self) -> int:
        return len(self._data) - self._start

    def __bool__(self) -> bool:
        return len(self._data) > self._start

    def __bytes__(self) -> bytes:
        return bytes(self._data[self._start :])

    def __repr__(self) -> str:
        head = bytes(self._data[self._start : self._start + 32])
        more = "..." if len(self) > 32 else ""
        return f"<ReceiveBuffer {len(self)} bytes: {head!r}{more}>"

    # -- taking --------------------------------------------------------------

    def peek(self, n: int) -> bytes:
        """Up to ``n`` bytes from the front, not consumed."""
        return bytes(self._data[self._start : self._start + n])

    def consume(self, n: int) -> bytes:
        """Take ``n`` bytes from the front (fewer if fewer are held)."""
        if n < 0:
            raise LocalProtocolError(f"cannot consume a negative count ({n})")
        end = min(self._start + n, len(self._data))
        out = bytes(self._data[self._start : end])
        self._advance(end)
        return out

    def discard(self, n: int) -> None:
        """Drop ``n`` bytes from the front without copying them (fewer if fewer are held)."""
        if n < 0:
            raise LocalProtocolError(f"cannot discard a negative count ({n})")
        self._advance(min(self._start + n, len(self._data)))

    def peek_struct(self, fmt: struct.Struct) -> tuple[Any, ...] | None:
        """Unpack one ``fmt`` from the front without consuming it; ``None`` if too short.

        For a header that must be judged before its payload arrives: look, decide,
        and ``discard`` it once the whole frame is in.
        """
        if len(self._data) - self._start < fmt.size:
            return None
        return fmt.unpack_from(self._data, self._start)

    def read_exactly(self, n: int) -> bytes | None:
        """The next ``n`` bytes, or ``None`` (nothing consumed) if fewer are held."""
        if n < 0:
            raise LocalProtocolError(f"cannot read a negative count ({n})")
        if len(self) < n:
            return None
        return self.consume(n)

    def read_line(
        self, separator: bytes = b"\r\n", *, limit: int = DEFAULT_MAX_LINE
    ) -> bytes | None:
        """The next line, separator included, or ``None`` if it is not complete.

        ``limit`` bounds the line's length including the separator. It raises
        :class:`LimitExceeded` as soon as the line is known to be longer: when a
        separator is found too far in, or when ``limit`` bytes are held and none
        of them ends a line (the line must then be at least ``limit + 1`` long).

        Repeated calls with the same separator resume the search where the last
        one stopped, so the cost of finding a line is linear in its length
        whatever the sizes of the chunks it arrived in.
        """
        if not separator:
            raise LocalProtocolError("read_line needs a non-empty separator")
        data = self._data
        if separator != self._scan_separator:
            self._scan_separator = separator
            self._scanned = self._start
        # An occurrence may straddle the old end of the data: back up by
        # len(separator) - 1 bytes, never before the start.
        search_from = max(self._start, self._scanned - len(separator) + 1)
        index = data.find(separator, search_from)
        if index == -1:
            self._scanned = len(data)
            if len(self) >= limit:
                raise LimitExceeded("max_line", len(self), limit, "line without end")
            return None
        end = index + len(separator)
        if end - self._start > limit:
            raise LimitExceeded("max_line", end - self._start, limit, "line")
        return self.consume(end - self._start)

    def read_struct(self, fmt: struct.Struct) -> tuple[Any, ...] | None:
        """Unpack and consume one ``fmt``, or ``None`` if too few bytes are held."""
        if len(self) < fmt.size:
            return None
        values = fmt.unpack_from(self._data, self._start)
        self._advance(self._start + fmt.size)
        return values

    def read_length_prefixed(
        self, prefix: struct.Struct, *, limit: int = DEFAULT_MAX_PAYLOAD
    ) -> bytes | None:
        """A payload preceded by its length (``prefix`` holds one integer).

        Returns the payload without its prefix, or ``None`` (nothing consumed)
        until all of it is held. A declared length over ``limit`` raises
        :class:`LimitExceeded` as soon as the prefix is in, before the payload.
        """
        frame = self.read_frame(prefix, size_index=0, limit=limit)
        return None if frame is None else frame[1]

    def read_frame(
        self, header: struct.Struct, *, size_index: int, limit: int = DEFAULT_MAX_PAYLOAD
    ) -> tuple[tuple[Any, ...], bytes] | None:
        """A fixed header whose field ``size_index`` is the payload's length, and the payload.

        Returns ``(header_fields, payload)`` once the whole frame is held,
        consuming both; ``None`` (nothing consumed) before that. A declared size
        over ``limit`` raises :class:`LimitExceeded` as soon as the header is in.
        """
        if len(self) < header.size:
            return None
        fields = header.unpack_from(self._data, self._start)
        size = fields[size_index]
        if not isinstance(size, int) or isinstance(size, bool):
            # The format is ours: a size field that is no integer is our bug.
            raise LocalProtocolError(
                f"header field {size_index} of {header.format!r} is not an integer length"
            )
        if size < 0:
            # A signed format ("!i") read from the peer: the peer sent a bad length.
            raise RemoteProtocolError(f"the peer declared a negative payload size ({size})")
        if size > limit:
            raise LimitExceeded("max_payload", size, limit, "declared payload size")
        if len(self) < header.size + size:
            return None
        payload_start = self._start + header.size
        payload = bytes(self._data[payload_start : payload_start + size])
        self._advance(payload_start + size)
        return fields, payload

    # -- internals -----------------------------------------------------------

    def _advance(self, new_start: int) -> None:
        self._start = new_start
        if self._scanned < new_start:
            self._scanned = new_start
        if self._start == len(self._data):
            # Everything consumed: clearing is free and keeps the array small.
            self._data.clear()
            self._start = self._scanned = 0
        elif self._start >= _COMPACT_MIN and self._start * 2 >= len(self._data):
            # The dead prefix is at least half: moving the live half costs no
            # more than the bytes consumed since the last compaction.
            del self._data[: self._start]
            self._scanned -= self._start
            self._start = 0
