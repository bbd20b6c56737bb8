"""A client that reads through ``sock.makefile`` ports, and the port runs.

The stdlib's clients never call ``recv`` themselves: they wrap the socket
in a file once and read lines and counts from it. The port must follow the
socket into its file and await the file's reads, and the socket's plain
methods (``setsockopt``, ``getpeername``) must exist on the twin.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import textwrap
import warnings
from pathlib import Path

from ambidex import cli

LINE_CLIENT = textwrap.dedent('''\
    import socket


    class LineClient:
        """A blocking line client written the stdlib's way: a socket and its file."""

        def __init__(self, timeout: float = 5.0) -> None:
            self.timeout = timeout
            self.sock = None
            self.file = None

        def connect(self, host: str, port: int) -> str:
            self.sock = socket.create_connection((host, port), self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.peer = self.sock.getpeername()
            self.file = self.sock.makefile("rb")
            return self.getline()

        def getline(self) -> str:
            line = self.file.readline(8192)
            if not line:
                raise EOFError("server closed")
            return line.decode().rstrip("\\r\\n")

        def command(self, text: str) -> str:
            self.sock.sendall(text.encode() + b"\\r\\n")
            return self.getline()

        def fetch(self, size: int) -> bytes:
            return self.file.read(size)

        def close(self) -> None:
            if self.file is not None:
                self.file.close()
            if self.sock is not None:
                self.sock.close()
''')

BLOB = bytes(range(256)) * 1024  # 256 kB: several receives


async def line_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"+OK hello\r\n")
    while line := await reader.readline():
        if line.strip().upper() == b"BLOB":
            writer.write(b"+OK blob\r\n" + BLOB)
        else:
            writer.write(b"+OK " + line.strip().upper() + b"\r\n")
        await writer.drain()
    writer.close()


def load(path: Path, name: str) -> object:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_a_client_reading_through_makefile_ports_and_runs_without_blocking(
    tmp_path: Path,
) -> None:
    source = tmp_path / "lineclient.py"
    source.write_text(LINE_CLIENT)
    out = tmp_path / "lineclient_async.py"
    assert cli.main(["port", "--to", "async", str(source), "-o", str(out)]) == 0
    written = out.read_text()
    assert 'self.file = self.sock.makefile("rb")' in written  # making the file does no I/O
    assert "line = await self.file.readline(8192)" in written
    assert "return await self.file.read(size)" in written
    assert "self.sock.setsockopt(" in written and "await self.sock.setsockopt" not in written
    module = load(out, "lineclient_async_port")

    async def main() -> None:
        server = await asyncio.start_server(line_server, "127.0.0.1", 0)
        host, port = server.sockets[0].getsockname()[:2]
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0)
                ticks += 1

        tick = asyncio.create_task(ticker())
        client = module.LineClient()  # type: ignore[attr-defined]
        try:
            assert await client.connect(host, port) == "+OK hello"
            assert client.peer == (host, port)
            assert await client.command("ping") == "+OK PING"
            assert await client.command("blob") == "+OK blob"
            before = ticks
            assert await client.fetch(len(BLOB)) == BLOB
            assert ticks > before  # the loop ran while the transfer did
        finally:
            await client.close()
            tick.cancel()
            server.close()
            await server.wait_closed()

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        asyncio.run(main())
