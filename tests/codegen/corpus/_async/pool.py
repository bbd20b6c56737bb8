"""A bounded connection pool: take a connection, give it back, never exceed the limit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PoolTimeout(Exception):
    """No connection became free in time."""


class AsyncConnectionPool(Generic[T]):
    """Hands out at most ``max_size`` connections made by ``connect``.

    Idle connections are kept (up to ``max_size``) and handed out again, most
    recently used first, so a burst does not open a connection per request.
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[T]],
        close: Callable[[T], Awaitable[None]],
        *,
        max_size: int = 4,
    ) -> None:
        self._connect = connect
        self._close = close
        self._idle: list[T] = []
        self._in_use = 0
        self._max_size = max_size
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def in_use(self) -> int:
        return self._in_use

    async def acquire(self) -> T:
        async with self._lock:
            if self._closed:
                raise RuntimeError("the pool is closed")
            if self._in_use >= self._max_size:
                raise PoolTimeout(f"all {self._max_size} connections are in use")
            self._in_use += 1
            if self._idle:
                return self._idle.pop()
        try:
            return await self._connect()
        except BaseException:
            async with self._lock:
                self._in_use -= 1
            raise

    async def release(self, connection: T, *, broken: bool = False) -> None:
        async with self._lock:
            self._in_use -= 1
            if not broken and not self._closed and len(self._idle) < self._max_size:
                self._idle.append(connection)
                return
        await self._close(connection)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[T]:
        """``async with pool.connection() as conn:`` -- released even on error."""
        connection = await self.acquire()
        try:
            yield connection
        except BaseException:
            await self.release(connection, broken=True)
            raise
        else:
            await self.release(connection)

    async def aclose(self) -> None:
        async with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            await self._close(connection)

    async def __aenter__(self) -> AsyncConnectionPool[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
