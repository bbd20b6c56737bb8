"""The lines client, written once, here, in the asyncio colour.

``examples/lines/_sync/client.py`` is generated from this file by
``ambidex generate`` (the ``[[tool.ambidex.generate]]`` row for ``examples/lines``
in pyproject.toml): ``async`` and ``await`` go, ``AsyncStream`` becomes
``Stream``, ``AsyncClient`` becomes ``Client``, ``__aenter__`` becomes
``__enter__``. Nothing here is specific to one colour, so the file needs no
markers: the protocol is in ``examples.lines.protocol``, and all that is left is
moving bytes.
"""

from __future__ import annotations

from types import TracebackType

from ambidex.io import AsyncStream
from ambidex.sansio import NEED_DATA
from examples.lines.protocol import (
    ClientConnection,
    ConnectionBrokenError,
    ConnectionClosed,
    ErrorReply,
    Reply,
    ServerError,
)


class AsyncClient:
    """A lines client on one connection, one command at a time.

    ``timeout`` (seconds, ``None`` for none) bounds each read and write and
    raises :class:`TimeoutError`. A call that times out or is cancelled between
    sending its command and reading the reply leaves that reply on its way: the
    next caller would read it as its own. So the client refuses further calls
    (:class:`ConnectionBrokenError`); open a new one.
    """

    def __init__(self, stream: AsyncStream) -> None:
        self._stream = stream
        self._conn = ClientConnection()
        self._broken = ""

    @classmethod
    async def connect(cls, host: str, port: int, *, timeout: float | None = 10.0) -> AsyncClient:
        return cls(await AsyncStream.connect(host, port, timeout=timeout))

    async def command(self, line: str) -> str:
        """Send one command and return the text of its ``+`` reply.

        Raises :class:`ServerError` for a ``-`` reply (the client stays usable).
        """
        if self._broken:
            raise ConnectionBrokenError(self._broken)
        self._broken = f"an earlier call ({line.split(' ')[0]}) did not finish"
        await self._stream.write(self._conn.send(line))
        while True:
            event = self._conn.next_event()
            if event is NEED_DATA:
                self._conn.receive_data(await self._stream.read())
                continue
            if isinstance(event, ConnectionClosed):
                self._broken = "the server closed the connection"
                raise ConnectionBrokenError(self._broken)
            self._broken = ""
            if isinstance(event, ErrorReply):
                raise ServerError(event.message)
            assert isinstance(event, Reply)
            return event.text

    async def ping(self) -> str:
        return await self.command("PING")

    async def echo(self, text: str) -> str:
        return await self.command(f"ECHO {text}")

    async def incr(self, name: str) -> int:
        return int(await self.command(f"INCR {name}"))

    async def close(self) -> None:
        await self._stream.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
