"""CountedFraming: payloads preceded by their length, spelled in decimal digits.

The text protocols' length prefix: netstrings (``5:hello,``), RESP's bulk
strings (``$5\\r\\nhello\\r\\n``), and their relatives -- a marker, the length
in ASCII digits, a separator, the payload, a trailer. Like the other framings
(:mod:`ambidex.sansio._framing`) it reads frames from a
:class:`~ambidex.sansio.ReceiveBuffer` and encodes them, with limits, and it
adds one thing the others do not need: :meth:`CountedFraming.split`, the fast
path for a protocol whose frames usually arrive whole.

Two paths, one verdict:

* :meth:`~CountedFraming.read` is the judge: one frame from a buffer, or
  ``NEED_DATA``; :class:`~ambidex.sansio.LimitExceeded` as soon as the length
  is over ``max_payload`` or too many digits arrived without a separator (an
  endless line is refused after ``len(marker) + digits + len(separator)``
  bytes, not buffered); :class:`~ambidex.sansio.RemoteProtocolError` for a
  wrong marker, a length that is not digits or a missing trailer.
* :meth:`~CountedFraming.split` takes every whole, valid frame at the front of
  a ``bytes`` object in one call and stops, returning its position, at the
  first thing that is not one -- never raising about the bytes, never holding
  any. The caller then hands the rest to its careful path (``read``, or its
  own parser when frames of other kinds are mixed in, as in RESP). So every
  error a peer can cause is raised by one piece of code.

To send, :meth:`~CountedFraming.join` frames many items at once behind a
header (a RESP command is ``*2\r\n`` and two bulk strings: one call).

``split`` and ``join`` are compiled when the optional C module ``ambidex.sansio._speedups``
is there (built with ``ambidex.io``'s accelerator, see
``tools/hatch_speedups.py``): ~7,600 machine instructions for one RESP reply
in Python, a few hundred in C. Without it (no compiler, PyPy,
``AMBIDEX_NO_EXTENSIONS=1``, a module built from another version of its
source) :class:`_PureSplitter` gives the same results; :func:`accelerated`
says which this process got.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

from ambidex._compiled import load
from ambidex.sansio._errors import LimitExceeded, LocalProtocolError, RemoteProtocolError
from ambidex.sansio._receivebuffer import DEFAULT_MAX_PAYLOAD, ReceiveBuffer
from ambidex.sansio._sentinels import NEED_DATA, NeedData

__all__ = ["CountedFraming", "accelerated"]


# Lengths as a peer spells them (b"100") -> their value: a dict lookup instead
# of isdigit() and int(), the slowest step of the pure split of a small frame.
# Only digit strings go in, and only so many (a peer cannot grow it without bound).
_LENGTHS: dict[bytes, int] = {}
_LENGTHS_KEPT = 4096


class _PureSplitter:
    """``split`` and ``join`` in Python: the twin of ``_speedups.CountedSplitter``
    (same constructor, attributes and results; ``tests/sansio`` compares them)."""

    __slots__ = ("_format", "_short", "_spec", "_window", "_window_for", "marker",
                 "max_payload", "separator", "trailer")

    def __init__(self, marker: bytes, separator: bytes, trailer: bytes, max_payload: int) -> None:
        for value in (marker, separator, trailer):
            if not isinstance(value, bytes):
                raise TypeError(
                    f"marker, separator and trailer are bytes, not {type(value).__name__}")
        if not separator or separator[:1].isdigit():
            raise ValueError("the separator must be non-empty and not start with a digit")
        self.marker = marker
        self.separator = separator
        self.trailer = trailer
        self.max_payload = operator.index(max_payload)
        self._fit_window(self.max_payload)
        # For split: the pieces and their lengths; the marker's byte when it
        # is one byte, the trailer's when it is one or two (else -1).
        tail = len(trailer)
        self._spec = (marker, len(marker), marker[0] if len(marker) == 1 else -1,
                      separator, len(separator), trailer, tail,
                      trailer[0] if 0 < tail <= 2 else -1, trailer[1] if tail == 2 else -1)
        # A one-byte marker and a two-byte trailer (RESP's bulk strings) get
        # a loop of their own, with only the tests that shape needs.
        self._short = ((marker[0], separator, len(separator), trailer[0], trailer[1])
                       if len(marker) == 1 and tail == 2 else None)
        # One frame as a %-format (join): marker%dseparator%btrailer.
        self._format = (marker.replace(b"%", b"%%") + b"%d" + separator.replace(b"%", b"%%")
                        + b"%b" + trailer.replace(b"%", b"%%"))

    def _fit_window(self, limit: int) -> None:
        # The separator cannot start with a digit: its first occurrence after
        # the digits is the end of the length. More digits than the limit has
        # is over the limit: the search stops there (an endless line costs
        # nothing more).
        self._window = len(str(max(limit, 0))) + len(self.separator)
        self._window_for = limit

    def split(self, data: bytes, start: int, out: list[bytes]) -> int:
        """Append the payload of each whole, valid frame from ``start`` on to
        ``out``; return the position of the first thing that is not one
        (``len(data)`` when everything was taken). Raises only about its
        arguments (``data`` must be ``bytes``, ``out`` a list)."""
        if type(data) is not bytes and not isinstance(data, bytes):
            raise TypeError(f"split() needs bytes, not {type(data).__name__}")
        if type(out) is not list and not isinstance(out, list):
            raise TypeError(f"split() appends to a list, not {type(out).__name__}")
        pos = start if type(start) is int else operator.index(start)
        if not 0 <= pos <= len(data):
            raise ValueError(f"start={pos} is outside the data (0 to {len(data)})")
        return self.split_checked(data, pos, out)

    def split_checked(self, data: bytes, start: int, out: list[bytes]) -> int:
        """:meth:`split` for a caller that has checked its arguments: ``data``
        is ``bytes``, ``out`` a ``list``, ``start`` an ``int`` from 0 to
        ``len(data)``. Anything else is undefined (compiled: the same
        checks as ``split``, they cost nothing there; pure: they cost a
        tenth of a small frame's split, which a parser that knows its
        arguments need not pay)."""
        pos = start
        size = len(data)
        limit = self.max_payload
        if limit != self._window_for:
            self._fit_window(limit)
        window = self._window
        lengths = _LENGTHS
        # The bytes are tested one at a time by their value where the marker
        # and trailer are that short (RESP's are): a slice is a new object
        # (~700 machine instructions), data[i] a small int (~100).
        short = self._short
        if short is not None:
            # The loop below for that shape, its branches on the spec's
            # lengths decided (one RESP reply: 140 -> ~100 opcodes).
            lead, separator, gap, end1, end2 = short
            while pos < size and data[pos] == lead:
                head = pos + 1
                end = data.find(separator, head, head + window)
                if end < 0:
                    break
                digits = data[head:end]
                n = lengths.get(digits)
                if n is None:
                    if not digits.isdigit():  # empty, or not ASCII digits
                        break
                    n = int(digits)
                    if len(lengths) < _LENGTHS_KEPT:
                        lengths[digits] = n
                begin = end + gap
                stop = begin + n
                if n > limit or stop + 2 > size or data[stop] != end1 or data[stop + 1] != end2:
                    break
                out.append(data[begin:stop])
                pos = stop + 2
            return pos
        marker, skip, lead, separator, gap, trailer, tail, end1, end2 = self._spec
        while pos < size:
            head = pos + skip
            if lead >= 0:
                if data[pos] != lead:
                    break
            elif skip and data[pos:head] != marker:
                break
            end = data.find(separator, head, head + window)
            if end < 0:
                break
            digits = data[head:end]
            n = lengths.get(digits)
            if n is None:
                if not digits.isdigit():  # empty, or not ASCII digits
                    break
                n = int(digits)
                if len(lengths) < _LENGTHS_KEPT:
                    lengths[digits] = n
            if n > limit:
                break
            begin = end + gap
            stop = begin + n
            if stop + tail > size:
                break
            if end1 >= 0:
                if data[stop] != end1 or (end2 >= 0 and data[stop + 1] != end2):
                    break
            elif tail and data[stop:stop + tail] != trailer:
                break
            out.append(data[begin:stop])
            pos = stop + tail
        return pos

    def join(self, items: Iterable[bytes | str | int], head: bytes) -> bytes:
        """``head``, then a frame around each item: ``bytes`` as they are,
        ``str`` as UTF-8, an ``int`` (not a ``bool``) in decimal; anything else
        is a ``TypeError``, an item over ``max_payload`` a
        :class:`~ambidex.sansio.LocalProtocolError` (ours to send: our fault)."""
        if type(head) is not bytes and not isinstance(head, bytes):
            raise TypeError(f"join()'s head is bytes, not {type(head).__name__}")
        limit = self.max_payload
        # One C-level formatting of head + (marker%dseparator%btrailer) * N over
        # [len0, item0, len1, item1, ...]: no intermediate bytes per item.
        fields: list[int | bytes] = []
        append = fields.append
        for item in items:
            kind = type(item)
            data: bytes
            if kind is str:
                data = item.encode()  # type: ignore[union-attr]
            elif kind is bytes:
                data = item  # type: ignore[assignment]
            elif isinstance(item, bytes):
                data = item
            elif isinstance(item, str):
                data = item.encode()
            elif kind is int:
                data = b"%d" % item
            else:
                raise TypeError(f"join() frames bytes, str and int, not {kind.__name__}")
            if len(data) > limit:
                raise LocalProtocolError(
                    f"payload to send: {len(data)} bytes is over max_payload={limit}")
            append(len(data))
            append(data)
        return head + self._format * (len(fields) >> 1) % tuple(fields)


def _compiled() -> Any:
    """``_speedups.CountedSplitter``, or None (not built, switched off, stale)."""
    speedups = load("ambidex.sansio._speedups")
    return None if speedups is None else speedups.CountedSplitter


_Splitter: Any = _compiled() or _PureSplitter


def accelerated() -> bool:
    """Whether :meth:`CountedFraming.split` runs in C in this process."""
    return _Splitter is not _PureSplitter


class CountedFraming(_Splitter):  # type: ignore[misc]
    """Payloads preceded by ``marker``, their length in ASCII digits and
    ``separator``, and followed by ``trailer``.

    ``CountedFraming()`` is a netstring (``b"5:hello,"``);
    ``CountedFraming(marker=b"$", separator=b"\\r\\n", trailer=b"\\r\\n")`` is a
    RESP bulk string. ``max_payload`` bounds the announced length (and with
    it how many digits a length may have); it may be changed later.
    """

    # (marker, separator, trailer: bytes, read-only; max_payload: int: the base's)
    __slots__ = ()

    if _Splitter is not _PureSplitter:
        split_checked = _Splitter.split

    def __init__(self, *, marker: bytes = b"", separator: bytes = b":", trailer: bytes = b",",
                 max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        if max_payload < 0:
            raise ValueError(f"max_payload must not be negative, not {max_payload}")
        super().__init__(marker, separator, trailer, max_payload)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (and copied) as its four settings, whichever base it has: the
        # compiled one has no __dict__ or slots pickle could read, the pure
        # one's slots hold caches. So a framing pickled with the compiled
        # module loads where it is not built, and the other way round.
        return (_framing, (type(self), self.marker, self.separator, self.trailer,
                           self.max_payload))

    def __repr__(self) -> str:
        return (f"CountedFraming(marker={self.marker!r}, separator={self.separator!r}, "
                f"trailer={self.trailer!r}, max_payload={self.max_payload})")

    def read(self, buf: ReceiveBuffer) -> bytes | NeedData:
        """The next frame's payload, consumed; ``NEED_DATA`` (nothing consumed)
        until all of it is held. Raises as the module docstring says, as soon
        as the bytes held show the frame is bad -- before its payload arrives."""
        marker, separator, trailer = self.marker, self.separator, self.trailer
        limit = self.max_payload
        digits_max = len(str(max(limit, 0)))
        # The header is judged on at most the bytes a valid one may take.
        held = buf.peek(len(marker) + digits_max + len(separator))
        if not marker.startswith(held[:len(marker)]):
            raise RemoteProtocolError(
                f"expected a frame starting with {marker!r}, got {held[:len(marker)]!r}")
        if len(held) < len(marker):
            return NEED_DATA
        rest = held[len(marker):]
        count = len(rest) - len(rest.lstrip(b"0123456789"))
        digits, after = rest[:count], rest[count:]
        # Judged on at most one digit more than the limit has: how many the
        # window holds depends on how the bytes arrived, and the verdict must not.
        judged = digits[:digits_max + 1]
        if judged and int(judged) > limit:
            raise LimitExceeded("max_payload", int(judged), limit, "announced payload length")
        if count > digits_max:
            raise RemoteProtocolError(
                f"a length of more than {digits_max} digits ({judged!r}...), "
                f"more than max_payload={limit} has")
        if not separator.startswith(after[:len(separator)]):
            raise RemoteProtocolError(f"bad length {rest[:count + 1]!r} in a frame header")
        if len(after) < len(separator):
            return NEED_DATA  # the separator may still come
        if not digits:
            raise RemoteProtocolError(f"a frame header with no length: {held!r}")
        n = int(digits)
        begin = len(marker) + count + len(separator)
        if len(buf) < begin + n + len(trailer):
            return NEED_DATA
        frame = buf.consume(begin + n + len(trailer))
        if not frame.endswith(trailer):
            raise RemoteProtocolError(
                f"a payload of {n} bytes is followed by {frame[begin + n:]!r}, not {trailer!r}")
        return frame[begin:begin + n]

    def encode(self, payload: bytes) -> bytes:
        """One frame around ``payload``; refuses one over ``max_payload``
        (:class:`~ambidex.sansio.LocalProtocolError`). Several: :meth:`join`."""
        return self.join((payload,), b"")  # type: ignore[no-any-return]


def _framing(cls: type[CountedFraming], marker: bytes, separator: bytes, trailer: bytes,
             max_payload: int) -> CountedFraming:
    """A pickled :class:`CountedFraming` made again (see its ``__reduce__``)."""
    return cls(marker=marker, separator=separator, trailer=trailer, max_payload=max_payload)
