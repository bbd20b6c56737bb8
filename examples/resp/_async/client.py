"""The Redis client: commands over a pool of connections, pipelines and
transactions. Written once as asyncio code; the blocking twin is generated.

::

    async with AsyncClient("127.0.0.1", 6379) as r:
        await r.set("k", "v", ex=60)
        assert await r.get("k") == b"v"
        async with r.pipeline(transaction=True) as pipe:
            pipe.incr("n").incr("n")
            assert await pipe.execute() == [1, 2]

Every command method comes from :class:`~examples.resp.commands.Commands`,
which is colourless; the client supplies ``_call``, which runs the command.
"""

from __future__ import annotations

import asyncio
import ssl as _ssl
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any

from ..commands import _SHAREABLE, Commands, Transform, holds_the_connection
from ..errors import RedisError, ResponseError
from ..protocol import Arg
from .connection import DEFAULT_MAX_PENDING, AsyncConnection
from .pool import AsyncConnectionPool

__all__ = ["AsyncClient", "AsyncPipeline", "WatchError"]

IS_ASYNC = True


class WatchError(RedisError):
    """A transaction was not run: a WATCHed key changed (EXEC answered nil)."""


class AsyncClient(Commands):
    """A Redis client. Each command borrows a connection from the pool.

    ``protocol`` (2 or 3) selects RESP2 or RESP3 (HELLO 3); ``username`` /
    ``password`` authenticate; ``db`` is SELECTed; ``timeout`` bounds each
    command; ``ssl`` (an :class:`ssl.SSLContext`) turns on TLS;
    ``max_connections`` / ``pool_timeout`` bound the pool; ``parser`` is
    ``"python"`` (default), ``"hiredis"`` or ``"auto"`` (hiredis if installed).

    **Auto-pipelining** is the asyncio client's default (as in ioredis and
    Lettuce): every command goes through one shared connection; commands
    from concurrent tasks are written back to back, in one write per loop
    iteration, and their replies are paired with their callers in order.
    Throughput with many concurrent tasks goes up several times over a pool.
    The commands that hold a connection -- blocking pops and moves (BLPOP,
    BRPOP, BLMOVE, BZPOPMIN, ...), XREAD/XREADGROUP with BLOCK, WAIT,
    SUBSCRIBE and friends, MONITOR, MULTI/EXEC/WATCH and transaction
    pipelines -- are routed to a pooled connection of their own, so one
    BLPOP never holds up everybody queued behind it. ``auto_pipeline=False``
    sends every command through the pool instead (the blocking client always
    does). ``max_pending`` bounds the replies one connection waits for at
    once; past it, callers wait their turn, within their ``timeout`` (so a
    slow server cannot make the client buffer without bound).

    A caller that times out or is cancelled never leaves its reply for the
    next caller: see :mod:`examples.resp._async.connection`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 6379,
        *,
        protocol: int = 2,
        username: str | None = None,
        password: str | None = None,
        db: int = 0,
        client_name: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        ssl: _ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        max_connections: int = 10,
        pool_timeout: float | None = None,
        parser: str = "python",
        auto_pipeline: bool | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        if auto_pipeline is None:  # the colour's default
            auto_pipeline = IS_ASYNC
        if not IS_ASYNC and auto_pipeline:
            raise ValueError("auto_pipeline needs concurrent callers on one connection: "
                             "it is for the asyncio client")
        self.host = host
        self.port = port
        self._options: dict[str, Any] = dict(
            protocol=protocol, username=username, password=password, db=db,
            client_name=client_name, timeout=timeout, connect_timeout=connect_timeout,
            ssl=ssl, server_hostname=server_hostname, parser=parser, max_pending=max_pending)
        self.pool = AsyncConnectionPool(self._new_connection, max_connections=max_connections,
                                        timeout=pool_timeout)
        self.auto_pipeline = auto_pipeline
        if IS_ASYNC:
            self._shared: AsyncConnection | None = None
            self._shared_lock = asyncio.Lock()

    async def _new_connection(self) -> AsyncConnection:
        return await AsyncConnection.connect(self.host, self.port, **self._options)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every connection; the client can not be used afterwards."""
        if IS_ASYNC:
            if self._shared is not None:
                await self._shared.close()
                self._shared = None
        await self.pool.close()

    # -- running commands ----------------------------------------------------

    async def execute_command(self, *args: Arg) -> Any:
        """Run any command (``execute_command("OBJECT", "ENCODING", "k")``);
        return its raw reply, raising the server's error as :class:`ResponseError`."""
        if IS_ASYNC:
            if self.auto_pipeline and not holds_the_connection(args):
                conn = self._shared
                if conn is None or conn.broken is not None:
                    conn = await self._shared_connection()
                reply = await conn.execute(args)
                if isinstance(reply, ResponseError):
                    raise reply
                return reply
        conn = await self.pool.acquire()
        try:
            reply = await conn.execute(args)
        finally:
            await self.pool.release(conn)
        if isinstance(reply, ResponseError):
            raise reply
        return reply

    async def _call(self, args: tuple[Arg, ...], transform: Transform | None = None) -> Any:
        if IS_ASYNC:
            # The hot path of every command method (r.get, r.set, ...) on the
            # shared connection: what execute_command and the connection's
            # execute do, without their two coroutine frames.
            conn = self._shared
            # (_SHAREABLE: the names holds_the_connection said False for,
            # asked first here: no call for a name seen before)
            if conn is not None and self.auto_pipeline and (
                    args[0] in _SHAREABLE or not holds_the_connection(args)):
                future = conn._start(args)
                if future is not None:
                    reply = await future
                    if isinstance(reply, ResponseError):
                        raise reply
                    return reply if transform is None else transform(reply)
        reply = await self.execute_command(*args)
        return reply if transform is None else transform(reply)

    async def _execute_many(self, commands: Sequence[Sequence[Arg]]) -> list[Any]:
        if IS_ASYNC:
            if self.auto_pipeline and not any(map(holds_the_connection, commands)):
                conn = self._shared
                if conn is None or conn.broken is not None:
                    conn = await self._shared_connection()
                return await conn.execute_many(commands)
        conn = await self.pool.acquire()
        try:
            return await conn.execute_many(commands)
        finally:
            await self.pool.release(conn)

    async def _shared_connection(self) -> AsyncConnection:  # ambidex: async-only
        # One task opens it; the others wait for that one instead of opening more.
        async with self._shared_lock:
            conn = self._shared
            if conn is None or conn.broken is not None:
                conn = self._shared = await self._new_connection()
            return conn

    def pipeline(self, transaction: bool = False) -> AsyncPipeline:
        """Commands queued here and sent together by ``execute()``;
        ``transaction=True`` wraps them in MULTI/EXEC."""
        return AsyncPipeline(self, transaction)

    async def scan_iter(self, match: Arg | None = None,
                        count: int | None = None) -> AsyncIterator[bytes]:
        """Every key (matching ``match``), walking SCAN's cursor to the end.

        A key may be yielded more than once if the keyspace changes meanwhile
        (SCAN's own guarantee); no key that exists throughout is missed.
        """
        cursor = 0
        while True:
            cursor, keys = await self.scan(cursor, match=match, count=count)
            for key in keys:  # noqa: UP028, RUF100 (no `yield from` in async code)
                yield key
            if cursor == 0:
                return


class AsyncPipeline(Commands):
    """Queue commands (they chain: ``pipe.set(k, v).get(k)``), then
    ``await pipe.execute()`` sends them in one write and returns every reply,
    transformed as the command methods say.

    With ``transaction=True`` they run as one MULTI/EXEC transaction: if any
    is refused while queueing, none runs and the first error is raised; if a
    WATCHed key changed, :class:`WatchError` is raised. Without it, the first
    error reply is raised after all replies have been read (``raise_on_error=
    False`` returns the errors in place instead).
    """

    def __init__(self, client: AsyncClient, transaction: bool = False) -> None:
        self._client = client
        self.transaction = transaction
        self._commands: list[tuple[tuple[Arg, ...], Transform | None]] = []

    def __len__(self) -> int:
        return len(self._commands)

    def _call(self, args: tuple[Arg, ...], transform: Transform | None = None) -> AsyncPipeline:
        self._commands.append((args, transform))
        return self

    def execute_command(self, *args: Arg) -> AsyncPipeline:
        return self._call(args)

    async def __aenter__(self) -> AsyncPipeline:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self._commands.clear()

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Send the queued commands; return their replies in order."""
        queued = self._commands
        self._commands = []
        if not queued:
            return []
        wire: list[tuple[Arg, ...]] = [args for args, _ in queued]
        if self.transaction:
            wire = [("MULTI",), *wire, ("EXEC",)]
        replies = await self._client._execute_many(wire)
        if self.transaction:
            for reply in replies[:-1]:
                if isinstance(reply, ResponseError):
                    raise reply  # MULTI refused, or a command refused while queueing
            result = replies[-1]
            if result is None:
                raise WatchError("a watched key changed: the transaction was not run")
            if isinstance(result, ResponseError):
                raise result
            replies = result
        out = []
        first_error: ResponseError | None = None
        for reply, (_, transform) in zip(replies, queued, strict=True):
            if isinstance(reply, ResponseError):
                first_error = first_error or reply
                out.append(reply)
            else:
                out.append(reply if transform is None else transform(reply))
        if first_error is not None and raise_on_error:
            raise first_error
        return out
