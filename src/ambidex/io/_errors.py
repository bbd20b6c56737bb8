"""The exceptions both streams raise, so one ``except`` clause fits both colours.

Timeouts are not here on purpose: an expired ``timeout`` raises the builtin
:class:`TimeoutError` in both colours (on Python 3.10 too, where
``asyncio.TimeoutError`` is a different class), so code that already catches
``TimeoutError`` around a socket keeps working around a stream.

Errors of the connection itself (``ConnectionResetError``, ``BrokenPipeError``,
``ssl.SSLError``, ...) are not wrapped either: they come from the operating
system or the TLS library and say more than a wrapper would.
"""

from __future__ import annotations

__all__ = ["IncompleteReadError", "ReadLimitError", "StreamClosedError", "StreamError"]


class StreamError(Exception):
    """Base class of the errors a :class:`~ambidex.io.Stream` or
    :class:`~ambidex.io.AsyncStream` raises on its own account."""


class IncompleteReadError(StreamError, EOFError):
    """The peer closed its side before the read could complete.

    ``partial`` holds the bytes that did arrive (they are consumed: the stream
    is at end of file afterwards); ``expected`` is the number of bytes
    ``read_exactly`` wanted, or ``None`` for ``read_until`` (it wanted a
    separator, not a count). It is an :class:`EOFError` too, so code written
    against ``asyncio.IncompleteReadError`` or a file's short read catches it.
    """

    def __init__(self, partial: bytes, expected: int | None) -> None:
        self.partial = partial
        self.expected = expected
        wanted = "the separator" if expected is None else f"{expected} bytes"
        super().__init__(
            f"connection closed by the peer after {len(partial)} bytes, before {wanted} arrived"
        )

    def __reduce__(self) -> tuple[type[IncompleteReadError], tuple[bytes, int | None]]:
        return type(self), (self.partial, self.expected)


class ReadLimitError(StreamError):
    """``read_until`` saw ``limit`` bytes without the separator among them.

    A peer that never sends the separator must not make us buffer without
    bound, so the search stops at ``limit``. Nothing is consumed: the bytes
    stay buffered, and a later ``read`` or ``read_exactly`` returns them (to
    skip an over-long line, or to report it). Most protocols should treat this
    as the peer breaking the rules and close the stream.
    """

    def __init__(self, separator: bytes, limit: int, buffered: int) -> None:
        self.separator = separator
        self.limit = limit
        self.buffered = buffered
        super().__init__(
            f"no {separator!r} within the first {limit} bytes "
            f"({buffered} bytes buffered); the line is longer than the limit"
        )

    def __reduce__(self) -> tuple[type[ReadLimitError], tuple[bytes, int, int]]:
        return type(self), (self.separator, self.limit, self.buffered)


class StreamClosedError(StreamError):
    """The stream was used after ``close()`` (or after an error that closed it,
    such as a failed ``start_tls``). Closing again is allowed and does nothing."""


def timed_out(what: str, timeout: float | None) -> TimeoutError:
    """The builtin TimeoutError both colours raise, naming the operation."""
    if timeout is None:
        return TimeoutError(f"{what} timed out")
    return TimeoutError(f"{what} timed out after {timeout:g} s")
