"""PipelineQueue: pairing pipelined requests with their replies.

A pipelining client writes requests without waiting for replies, and the server
answers in the order it received them. The only thing that pairs a reply with
its caller is that order, so the pairing must be first in, first out.

The bug this exists to prevent (seen in the wild, and in the talk this project
started from): keeping the waiters in a list and taking ``waiters.pop()`` -- the
*newest* -- when a reply arrives. With one request in flight it works; with
three, the first caller receives the third caller's reply. Nothing crashes; the
wrong data goes to the wrong place.

The second trap is cancellation. A caller who gives up (a timeout, a cancelled
task) must *keep its place*: the server will still send its reply, and if the
waiter were removed, that reply would be handed to the next caller in line and
every later pairing would be off by one. So the queue never removes a token
early; the driver pops every token in its turn, and drops the reply of a token
whose caller has gone.

The queue holds opaque tokens the driver owns (an ``asyncio.Future``, a
sequence number, a request kind), so it has no opinion on I/O or concurrency.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from itertools import repeat
from typing import Generic, TypeVar

from ambidex.sansio._errors import LocalProtocolError, RemoteProtocolError

T = TypeVar("T")


class PipelineQueue(Generic[T]):
    """First in, first out: ``push`` when a request is written, ``pop`` when a reply arrives.

    * ``pop()`` with nothing pending raises :class:`RemoteProtocolError`: the peer
      sent a reply to a request that was never made.
    * ``push()`` past ``max_pending`` raises :class:`LocalProtocolError`: the
      driver should have waited (check :attr:`full` before writing).
      ``push_many(token, n)`` is ``n`` pushes of one token (a batch's waiter).
    * ``fail_all()`` empties the queue and returns every pending token, oldest
      first, for the driver to fail (the connection was lost).
    """

    __slots__ = ("_tokens", "max_pending")

    def __init__(self, *, max_pending: int | None = None) -> None:
        if max_pending is not None and max_pending < 1:
            raise ValueError(f"max_pending must be positive or None, not {max_pending}")
        self.max_pending = max_pending
        self._tokens: deque[T] = deque()

    def push(self, token: T) -> None:
        """Record a request just written; its reply comes after all earlier ones."""
        # `full` spelled out: this runs once per request of every pipelining driver.
        if self.max_pending is not None and len(self._tokens) >= self.max_pending:
            raise LocalProtocolError(
                f"{len(self._tokens)} requests already pending (max_pending={self.max_pending})"
            )
        self._tokens.append(token)

    def push_many(self, token: T, count: int) -> None:
        """Record ``count`` requests written together whose replies all go to
        ``token`` (one waiter for a batch): the same as ``count`` pushes, in
        one step. Refused whole, nothing recorded, if it would pass
        ``max_pending``."""
        if count < 0:
            raise LocalProtocolError(f"cannot push a negative count ({count})")
        if self.max_pending is not None and len(self._tokens) + count > self.max_pending:
            raise LocalProtocolError(
                f"{len(self._tokens)} requests already pending, {count} more would pass "
                f"max_pending={self.max_pending}"
            )
        self._tokens.extend(repeat(token, count))

    def pop(self) -> T:
        """The oldest pending token: the one the reply that just arrived belongs to."""
        try:
            return self._tokens.popleft()  # the OLDEST, never the newest
        except IndexError:
            raise RemoteProtocolError("the peer sent a reply with no request pending") from None

    def peek(self) -> T:
        """The oldest pending token, left in place."""
        if not self._tokens:
            raise LocalProtocolError("no request is pending")
        return self._tokens[0]

    def fail_all(self) -> list[T]:
        """Remove and return every pending token, oldest first."""
        tokens = list(self._tokens)
        self._tokens.clear()
        return tokens

    @property
    def full(self) -> bool:
        return self.max_pending is not None and len(self._tokens) >= self.max_pending

    def __len__(self) -> int:
        return len(self._tokens)

    def __bool__(self) -> bool:
        return bool(self._tokens)

    def __iter__(self) -> Iterator[T]:
        """The pending tokens, oldest first (a snapshot is safer if you mutate)."""
        return iter(self._tokens)

    def __repr__(self) -> str:
        bound = "" if self.max_pending is None else f"/{self.max_pending}"
        return f"<PipelineQueue {len(self._tokens)}{bound} pending>"
