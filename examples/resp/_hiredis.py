"""hiredis's C reader behind the same machine interface as :class:`RespParser`.

The pure-Python :class:`~examples.resp.protocol.RespParser` is the default and
the fallback; pass ``parser="hiredis"`` to the clients to use this one when the
``hiredis`` package is installed. Differences a caller can see, all hiredis's:

* RESP3 attributes (``|``) are *not* understood: hiredis returns the attribute
  map as if it were the reply and the real reply after it, which would pair
  every later reply with the wrong caller. Redis 7 sends no attributes unless a
  module asks it to; if yours may, use the pure-Python parser.
* A RESP3 blob error (``!``) is a protocol error to hiredis.
* A big number (``(``) arrives as its digits (``bytes``), a verbatim string
  without its format; a push is hiredis's own list subclass, converted here to
  :class:`~examples.resp.protocol.PushReply` so the client can route it.
* The limits are hiredis's own, whatever its C reader enforces; the
  ``max_*`` settings of the pure-Python machine do not apply.
"""

from __future__ import annotations

from typing import Any

from ambidex.sansio import NEED_DATA, NeedData, RemoteProtocolError

from .errors import ResponseError
from .protocol import PushReply

try:
    import hiredis
except ImportError:  # pragma: no cover - hiredis is optional
    hiredis = None  # type: ignore[assignment]

__all__ = ["HIREDIS_AVAILABLE", "HiredisParser"]

HIREDIS_AVAILABLE = hiredis is not None


class HiredisParser:
    """``feed`` / ``next_reply`` / ``replies`` over ``hiredis.Reader``."""

    __slots__ = ("_error", "_push_type", "_reader", "attributes")

    def __init__(self) -> None:
        if hiredis is None:
            raise RuntimeError("the hiredis package is not installed")
        self._reader = hiredis.Reader(
            protocolError=RemoteProtocolError,
            replyError=ResponseError,
            notEnoughData=NEED_DATA,
        )
        self._push_type: type = hiredis.PushNotification
        self._error: RemoteProtocolError | None = None
        self.attributes: list[dict[Any, Any]] | None = None

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._reader.feed(bytes(data) if isinstance(data, memoryview) else data)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return int(self._reader.len())

    @property
    def error(self) -> RemoteProtocolError | None:
        """The protocol error that stopped the machine, or ``None`` while it is usable."""
        return self._error

    def next_reply(self) -> Any | NeedData:
        if self._error is not None:
            raise RemoteProtocolError(f"the reply stream broke earlier: {self._error}")
        try:
            reply = self._reader.gets()
        except RemoteProtocolError as exc:
            self._error = exc
            raise
        except (MemoryError, TypeError, ValueError, OverflowError) as exc:
            # What hiredis cannot build is the server's doing: an aggregate
            # length it cannot allocate (``*4294967295``: MemoryError), a map
            # key that is an aggregate (TypeError: unhashable). Either way the
            # reply stream is lost, like after any protocol error.
            self._error = RemoteProtocolError(
                f"hiredis cannot build this reply ({type(exc).__name__}: {exc})")
            raise self._error from exc
        if type(reply) is self._push_type:
            return PushReply(reply)  # type: ignore[call-overload]
        return reply

    def replies(self) -> list[Any]:
        out = []
        gets = self.next_reply
        while (reply := gets()) is not NEED_DATA:
            out.append(reply)
        return out
