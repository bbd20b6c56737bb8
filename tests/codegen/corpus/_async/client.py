"""A client of the line protocol, over a pool of streams."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from types import TracebackType

from .memory import AsyncMemoryStream, MemoryServer
from .pool import AsyncConnectionPool

IS_ASYNC = True


class ProtocolError(Exception):
    """The server said something this client does not understand."""


class AsyncClient:
    """``ECHO`` and ``COUNT`` over pooled connections.

    ``async with AsyncClient(server) as client: await client.echo(b"hi")``
    """

    def __init__(self, server: MemoryServer, *, max_connections: int = 2) -> None:
        self._server = server
        self._pool: AsyncConnectionPool[AsyncMemoryStream] = AsyncConnectionPool(
            self._open, self._shut, max_size=max_connections
        )

    async def _open(self) -> AsyncMemoryStream:
        return AsyncMemoryStream(self._server)

    async def _shut(self, stream: AsyncMemoryStream) -> None:
        await stream.aclose()

    async def echo(self, text: bytes) -> bytes:
        async with self._pool.connection() as stream:
            await stream.write(b"ECHO " + text + b"\n")
            reply = await stream.read_line()
        if reply.startswith(b"ERR"):
            raise ProtocolError(reply.decode().strip())
        return reply.rstrip(b"\n")

    async def count(self, n: int) -> AsyncGenerator[int, None]:
        """Stream the numbers 0..n-1 as the server sends them."""
        async with self._pool.connection() as stream:
            await stream.write(b"COUNT %d\n" % n)
            while True:
                line = await stream.read_line()
                if line == b"END\n":
                    return
                if not line:
                    raise ProtocolError("connection closed in the middle of COUNT")
                yield int(line)

    async def total(self, n: int) -> int:
        return sum([value async for value in self.count(n)])

    def flavour(self) -> str:
        if IS_ASYNC:
            return "async"
        else:
            return "sync"

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._pool.aclose()
