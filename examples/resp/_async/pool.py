"""A bounded pool of connections: task-safe (asyncio) / thread-safe (blocking).

Written once with ``asyncio.Condition``; the generator turns it into
``threading.Condition`` for the blocking twin. The two differ only in how a
wait with a deadline is spelled, which ``IS_ASYNC`` keeps side by side.

The rules, the same in both colours:

* at most ``max_connections`` connections exist at once (idle, in use, or
  being opened);
* ``acquire()`` takes an idle connection, else opens one if below the bound,
  else waits up to ``timeout`` seconds for one to come back, then raises
  :class:`~examples.resp.errors.PoolTimeout`;
* ``release()`` puts a connection back -- unless it is broken (lost, timed
  out mid-reply, closed), in which case it is dropped and its slot freed, so
  the next ``acquire()`` opens a fresh one;
* a failed or cancelled open frees its slot too.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

from ..errors import PoolTimeout, RedisConnectionError
from .connection import AsyncConnection

__all__ = ["AsyncConnectionPool"]

IS_ASYNC = True


class AsyncConnectionPool:
    """Connections made by ``connect`` (an async callable), at most
    ``max_connections`` of them; ``timeout`` bounds the wait for a free one."""

    def __init__(self, connect: Callable[[], Awaitable[AsyncConnection]], *,
                 max_connections: int = 10, timeout: float | None = None) -> None:
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {max_connections}")
        self._connect = connect
        self.max_connections = max_connections
        self.timeout = timeout
        self._idle: deque[AsyncConnection] = deque()
        self._size = 0
        self._closed = False
        self._condition = asyncio.Condition()

    @property
    def size(self) -> int:
        """Connections that exist now: idle, in use, or being opened."""
        return self._size

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def acquire(self) -> AsyncConnection:
        """A connection for the caller's exclusive use; give it back with
        :meth:`release` (in a ``finally``)."""
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        async with self._condition:
            while True:
                if self._closed:
                    raise RedisConnectionError("the pool is closed")
                while self._idle:
                    conn = self._idle.pop()  # the most recently used: likely still alive
                    if conn.broken is None:
                        return conn
                    self._size -= 1
                if self._size < self.max_connections:
                    self._size += 1  # reserve the slot before opening, outside the lock
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise PoolTimeout(f"no connection free within {self.timeout} s "
                                      f"({self.max_connections} in use)")
                if IS_ASYNC:
                    try:
                        await asyncio.wait_for(self._condition.wait(), remaining)
                    except asyncio.TimeoutError:
                        pass  # checked at the top of the loop
                else:
                    await self._condition.wait(remaining)  # type: ignore[call-arg, unused-ignore]
        try:
            return await self._connect()
        except BaseException:
            await self._settle(self._free_slot)
            raise

    async def release(self, conn: AsyncConnection) -> None:
        """Give ``conn`` back; a broken one is dropped and its slot freed.

        Cancellation-proof: a caller cancelled while this waits for the pool's
        lock still gives the connection back (else, with ``max_connections=1``,
        every later ``acquire()`` would wait for a connection that never comes).
        """
        await self._settle(self._put_back, conn)

    async def _put_back(self, conn: AsyncConnection | None) -> None:
        assert conn is not None
        async with self._condition:
            if conn.broken is None and not self._closed:
                self._idle.append(conn)
            else:
                self._size -= 1
            self._condition.notify()
        if conn.broken is not None or self._closed:
            await conn.close()

    async def _free_slot(self, conn: AsyncConnection | None = None) -> None:
        async with self._condition:
            self._size -= 1
            self._condition.notify()

    async def _settle(
        self,
        bookkeeping: Callable[[AsyncConnection | None], Awaitable[None]],
        conn: AsyncConnection | None = None,
    ) -> None:
        """Run ``bookkeeping(conn)`` (which takes the pool's lock) to the end,
        even if the caller is cancelled meanwhile.

        In asyncio a free lock is taken without suspending, so the usual case
        runs in place; only when the lock is busy does the bookkeeping go to a
        task of its own, shielded from the caller's cancellation. (A blocking
        thread cannot be cancelled while it waits for a lock.)
        """
        if IS_ASYNC:
            if self._condition.locked():
                await asyncio.shield(asyncio.ensure_future(bookkeeping(conn)))
                return
        await bookkeeping(conn)

    async def close(self) -> None:
        """Close the idle connections; the ones in use are closed when released."""
        async with self._condition:
            self._closed = True
            idle = list(self._idle)
            self._idle.clear()
            self._size -= len(idle)
            self._condition.notify_all()
        for conn in idle:
            await conn.close()
