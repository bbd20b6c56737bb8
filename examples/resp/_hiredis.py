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

from collections.abc import Iterable
from typing import Any

from ambidex.sansio import NEED_DATA, LocalProtocolError, NeedData, RemoteProtocolError

from .errors import ResponseError
from .protocol import Arg, ConnectionClosed, PushReply, encode_command

try:
    import hiredis
except ImportError:  # pragma: no cover - hiredis is optional
    hiredis = None  # type: ignore[assignment]

__all__ = ["HIREDIS_AVAILABLE", "HiredisParser"]

HIREDIS_AVAILABLE = hiredis is not None


class HiredisParser:
    """``send`` / ``receive_data`` / ``next_event`` (and ``next_events``) over
    ``hiredis.Reader``: the interface of :class:`~examples.resp.protocol.RespParser`."""

    __slots__ = ("_eof", "_push_type", "_reader", "_unparsed", "attributes", "error")

    def __init__(self) -> None:
        if hiredis is None:
            raise RuntimeError("the hiredis package is not installed")
        self._reader = hiredis.Reader(
            protocolError=RemoteProtocolError,
            replyError=ResponseError,
            notEnoughData=NEED_DATA,
        )
        self._push_type: type = hiredis.PushNotification
        self.error: RemoteProtocolError | None = None
        """The protocol error that stopped the machine, or ``None`` while it is usable."""
        self._eof = False
        # Bytes fed since the last complete reply (hiredis does not say whether
        # it holds half a reply: its len() never shrinks).
        self._unparsed = False
        self.attributes: list[dict[Any, Any]] | None = None

    def send(self, command: Iterable[Arg]) -> bytes:
        return encode_command(command)

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            self._eof = True
            return
        if self._eof:
            raise LocalProtocolError("receive_data after end of file (b'') was already fed")
        self._unparsed = True
        self._reader.feed(bytes(data) if isinstance(data, memoryview) else data)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return int(self._reader.len())

    def next_event(self) -> Any | ConnectionClosed | NeedData:
        if self.error is not None:
            raise RemoteProtocolError(f"the reply stream broke earlier: {self.error}")
        try:
            reply = self._reader.gets()
        except RemoteProtocolError as exc:
            self.error = exc
            raise
        except (MemoryError, TypeError, ValueError, OverflowError) as exc:
            # What hiredis cannot build is the server's doing: an aggregate
            # length it cannot allocate (``*4294967295``: MemoryError), a map
            # key that is an aggregate (TypeError: unhashable). Either way the
            # reply stream is lost, like after any protocol error.
            self.error = RemoteProtocolError(
                f"hiredis cannot build this reply ({type(exc).__name__}: {exc})")
            raise self.error from exc
        if reply is not NEED_DATA:
            self._unparsed = self._reader.has_data()
            if type(reply) is self._push_type:
                return PushReply(reply)  # type: ignore[call-overload]
        elif self._eof:
            if self._unparsed:
                self.error = RemoteProtocolError(
                    "the server closed the connection in the middle of a reply")
                raise self.error
            return ConnectionClosed()
        return reply

    def receive_events(self, data: bytes) -> list[Any]:
        """:meth:`receive_data` then :meth:`next_events`, in one call (see
        :meth:`~examples.resp.protocol.RespParser.receive_events`)."""
        self.receive_data(data)
        return self.next_events()

    def next_events(self) -> list[Any]:
        out = []
        gets = self.next_event
        try:
            while (reply := gets()) is not NEED_DATA:
                out.append(reply)
                if type(reply) is ConnectionClosed:
                    break
        except RemoteProtocolError:
            if out:  # deliver what was good; the next call raises again
                return out
            raise
        return out
