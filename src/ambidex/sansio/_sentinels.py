"""Sentinel values a machine returns instead of an event.

They are members of an :class:`enum.Enum`, so they survive ``copy`` and
``pickle`` as themselves, compare with ``is``, and type-check: a method that
returns ``Reply | NeedData`` lets mypy narrow on ``if event is NEED_DATA``.
Their repr is their bare name, because that is what a person reads in a
traceback or a test failure.
"""

from __future__ import annotations

import enum
from typing import Final, Literal


class Sentinel(enum.Enum):
    """The sentinels of :mod:`ambidex.sansio`; use the module constants."""

    NEED_DATA = "NEED_DATA"
    PAUSED = "PAUSED"

    def __repr__(self) -> str:
        return self.value

    __str__ = __repr__


NEED_DATA: Final = Sentinel.NEED_DATA
"""``next_event()`` has no complete event yet: feed more bytes with ``receive_data``."""

PAUSED: Final = Sentinel.PAUSED
"""``next_event()`` will not parse further until the caller does something first
(for example, sends the reply the peer is waiting for). Feeding bytes is still
allowed; they wait in the buffer."""

NeedData = Literal[Sentinel.NEED_DATA]
Paused = Literal[Sentinel.PAUSED]
