"""Building blocks for protocols written as pure state machines ("sans-IO").

A sans-IO protocol implementation never touches a socket: bytes go in with
``receive_data``, events come out of ``next_event``, and ``send`` turns a
request into bytes. Whoever owns the connection -- a blocking socket loop, an
asyncio task, a test feeding bytes by hand -- moves the bytes. The same machine
therefore serves both colours of driver, and most of its tests need no network.

The pieces here are the ones every such machine needs:

* :class:`ReceiveBuffer` -- received bytes with O(1) amortised consumption, a
  separator search that never rescans, and a ``max_buffer`` limit.
* :class:`LineFraming`, :class:`LengthPrefixFraming`, :class:`StructFraming` --
  the common ways a stream is cut into frames, each with limits.
* :class:`CountedFraming` -- a length in decimal digits before the payload
  (netstrings, RESP bulk strings), with ``split``: every whole frame at the
  front of a read in one call (in C when the optional module is built).
* :data:`NEED_DATA`, :data:`PAUSED` -- what ``next_event()`` returns when it has
  no event to give.
* :class:`LocalProtocolError`, :class:`RemoteProtocolError`,
  :class:`LimitExceeded` -- errors that say which side broke the rules.
* :class:`ProtocolMachine` -- a base that enters an ERROR state after the peer's
  first error and refuses further use, naming it.
* :class:`PipelineQueue` -- the FIFO that pairs pipelined requests with replies.

Nothing in this package imports ``socket``, ``asyncio``, ``selectors`` or
``threading``; a test keeps it that way.
"""

from ambidex.sansio._counted import CountedFraming
from ambidex.sansio._errors import (
    LimitExceeded,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)
from ambidex.sansio._framing import Frame, LengthPrefixFraming, LineFraming, StructFraming
from ambidex.sansio._machine import ProtocolMachine
from ambidex.sansio._pipeline import PipelineQueue
from ambidex.sansio._receivebuffer import (
    DEFAULT_MAX_BUFFER,
    DEFAULT_MAX_LINE,
    DEFAULT_MAX_PAYLOAD,
    ReceiveBuffer,
)
from ambidex.sansio._sentinels import NEED_DATA, PAUSED, NeedData, Paused, Sentinel

__all__ = [
    "DEFAULT_MAX_BUFFER",
    "DEFAULT_MAX_LINE",
    "DEFAULT_MAX_PAYLOAD",
    "NEED_DATA",
    "PAUSED",
    "CountedFraming",
    "Frame",
    "LengthPrefixFraming",
    "LimitExceeded",
    "LineFraming",
    "LocalProtocolError",
    "NeedData",
    "Paused",
    "PipelineQueue",
    "ProtocolError",
    "ProtocolMachine",
    "ReceiveBuffer",
    "RemoteProtocolError",
    "Sentinel",
    "StructFraming",
]
