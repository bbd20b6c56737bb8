"""An in-memory transport with a server behind it: no socket, both colours.

The "server" answers ``ECHO <text>`` with ``<text>``, ``COUNT <n>`` with n
lines ``0..n-1`` then ``END``, and anything else with ``ERR unknown``.
"""

from __future__ import annotations

import asyncio
from collections import deque


class MemoryServer:
    """Counts connections, so tests can see what the pool reused."""

    def __init__(self) -> None:
        self.connections = 0
        self.closed = 0

    def answer(self, line: bytes) -> list[bytes]:
        command, _, argument = line.strip().partition(b" ")
        if command == b"ECHO":
            return [argument + b"\n"]
        if command == b"COUNT":
            return [b"%d\n" % i for i in range(int(argument))] + [b"END\n"]
        return [b"ERR unknown\n"]


class AsyncMemoryStream:
    """A stream whose peer is a :class:`MemoryServer`; reads yield to the loop."""

    def __init__(self, server: MemoryServer) -> None:
        self._server = server
        self._incoming: deque[bytes] = deque()
        self.closed = False
        server.connections += 1

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionError("write on a closed stream")
        for line in data.splitlines(keepends=True):
            self._incoming.extend(self._server.answer(line))
        await asyncio.sleep(0)

    async def read_line(self) -> bytes:
        await asyncio.sleep(0)  # a real peer makes us wait
        if not self._incoming:
            return b""
        return self._incoming.popleft()

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            self._server.closed += 1
