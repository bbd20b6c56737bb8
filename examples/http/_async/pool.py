"""The connections to one origin: kept alive, bounded, expired when idle.

Written once with ``asyncio.Condition``; the generator turns it into
``threading.Condition`` for the blocking twin (the wait with a deadline is
the one line spelled differently, side by side under ``IS_ASYNC``).

The rules, the same in both colours:

* at most ``max_connections`` connections exist at once (idle, in use, or
  being opened); ``acquire()`` takes the most recently used idle one, else
  opens one, else waits up to ``timeout.pool`` seconds for one to come back,
  then raises :class:`~examples.http.errors.PoolTimeout`;
* an idle connection older than ``keepalive_expiry`` seconds is closed
  instead of used (servers close idle connections too: nginx after 75 s),
  and so is one that received bytes nobody asked for, or the server's close,
  while it was idle (:meth:`AsyncConnection.quiet_while_idle`, which asks
  the stream without waiting);
* ``release()`` keeps a connection only when h11 says the exchange is over
  on both sides (:meth:`AsyncConnection.reusable`); then it resets the
  machine (``start_next_cycle``). Any other connection -- a response not
  read to its end, a task cancelled or timed out mid-body, an error, a
  ``Connection: close`` -- is closed and its slot freed. Nothing is drained:
  a connection whose state we do not know is never handed to someone else;
* a failed or cancelled open frees its slot too.
"""

from __future__ import annotations

import asyncio
import ssl as _ssl
import time
from collections import deque

from .._models import Origin, Timeout
from ..errors import PoolTimeout, TransportError
from .connection import DEFAULT_MAX_HEADER_SIZE, AsyncConnection, RequestEvents

__all__ = ["AsyncConnectionPool"]

IS_ASYNC = True


class AsyncConnectionPool:
    """Keep-alive connections to ``origin``, at most ``max_connections`` of them."""

    def __init__(self, origin: Origin, *, max_connections: int = 10,
                 keepalive_expiry: float | None = 5.0,
                 ssl_context: _ssl.SSLContext | None = None,
                 max_header_size: int = DEFAULT_MAX_HEADER_SIZE) -> None:
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {max_connections}")
        self.origin = origin
        self.max_connections = max_connections
        self.keepalive_expiry = keepalive_expiry
        self._ssl_context = ssl_context
        self._max_header_size = max_header_size
        self._idle: deque[AsyncConnection] = deque()
        self._size = 0
        self._closed = False
        # The condition's lock is taken on its own (``with self._lock``), not
        # through the condition: a blocking Condition's __enter__/__exit__ are
        # Python calls, a Lock's are C; and a release wakes the condition only
        # when someone waits (``_waiting``, counted under the lock).
        self._lock = asyncio.Lock()
        self._condition = asyncio.Condition(self._lock)
        self._waiting = 0  # callers waiting on the condition for a connection
        # The h11 Request events of this origin's requests, built once each
        # and shared by its connections (see RequestEvents).
        self._events = RequestEvents()

    @property
    def size(self) -> int:
        """Connections that exist now: idle, in use, or being opened."""
        return self._size

    @property
    def idle(self) -> list[AsyncConnection]:
        """The idle connections, oldest first (for tests and curious callers)."""
        return list(self._idle)

    async def acquire(self, timeout: Timeout) -> AsyncConnection:
        """A connection for the caller's exclusive use; give it back with
        :meth:`release` (in a ``finally``)."""
        if IS_ASYNC:
            conn = self.take_idle()
            if conn is not None:
                return conn
        deadline = None if timeout.pool is None else time.monotonic() + timeout.pool
        expired: list[AsyncConnection] = []
        try:
            async with self._lock:
                while True:
                    if self._closed:
                        raise TransportError("the client is closed")
                    while self._idle:
                        conn = self._idle.pop()
                        if self._fresh(conn) and conn.quiet_while_idle():
                            return conn
                        expired.append(conn)
                        self._size -= 1
                    if self._size < self.max_connections:
                        self._size += 1  # reserve the slot; open it outside the lock
                        break
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise PoolTimeout(f"no connection to {self.origin[1]}:{self.origin[2]} "
                                          f"came free within {timeout.pool} s "
                                          f"({self.max_connections} in use)")
                    self._waiting += 1
                    try:
                        if IS_ASYNC:
                            try:
                                await asyncio.wait_for(self._condition.wait(), remaining)
                            except asyncio.TimeoutError:
                                pass  # checked at the top of the loop
                        else:
                            await self._condition.wait(remaining)  # type: ignore[call-arg, unused-ignore]
                    finally:
                        self._waiting -= 1
        finally:
            for conn in expired:
                await conn.close()
        try:
            return await AsyncConnection.connect(self.origin, timeout=timeout,
                                                 ssl_context=self._ssl_context,
                                                 max_header_size=self._max_header_size,
                                                 events=self._events)
        except BaseException:
            async with self._lock:
                self._size -= 1
                self._condition.notify()
            raise

    def take_idle(self) -> AsyncConnection | None:  # ambidex: async-only
        """(asyncio) :meth:`acquire` when it need not wait: the most recently
        used idle connection, if it is fresh and quiet; else None, and the
        caller goes through :meth:`acquire`.

        One thread runs the loop, and nothing here awaits: nobody can come
        between the look and the pop, so it needs no lock (and the request's
        path no coroutine for it).
        """
        idle = self._idle
        if idle and not self._closed:
            conn = idle[-1]
            if self._fresh(conn) and conn.quiet_while_idle():
                idle.pop()
                return conn
        return None

    def put_back(self, conn: AsyncConnection) -> bool:  # ambidex: async-only
        """(asyncio) :meth:`release` when it need not wait: ``conn`` is kept
        (True) if h11 says it can be reused and nobody waits for a connection
        (nobody to wake, so no lock). False: nothing was done, call
        :meth:`release`."""
        if self._waiting or self._closed or not conn.reusable():
            return False
        conn.start_next_cycle()
        self._idle.append(conn)
        return True

    async def release(self, conn: AsyncConnection) -> None:
        """Give ``conn`` back: kept if h11 says it can be reused, else closed."""
        if IS_ASYNC:
            if self.put_back(conn):
                return
        keep = conn.reusable() and not self._closed
        if keep:
            conn.start_next_cycle()
        async with self._lock:
            if keep:
                self._idle.append(conn)
            else:
                self._size -= 1
            if self._waiting:
                self._condition.notify()
        if not keep:
            await conn.close()

    async def discard(self, conn: AsyncConnection) -> None:
        """Close ``conn`` (it failed, or its state is unknown) and free its slot."""
        async with self._lock:
            self._size -= 1
            self._condition.notify()
        await conn.close()

    async def close(self) -> None:
        """Close the idle connections; the ones in use are closed when released."""
        async with self._lock:
            self._closed = True
            idle = list(self._idle)
            self._idle.clear()
            self._size -= len(idle)
            self._condition.notify_all()
        for conn in idle:
            await conn.close()

    def _fresh(self, conn: AsyncConnection) -> bool:
        expiry = self.keepalive_expiry
        return expiry is None or time.monotonic() - conn.idle_since < expiry

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.origin[0]}://{self.origin[1]}:{self.origin[2]} "
                f"size={self._size} idle={len(self._idle)}>")
