"""The stdlib's ftplib, ported unattended, works against pyftpdlib.

Login, LIST through retrlines, RETR through retrlines (text mode: ftplib
reads its control connection with ``makefile("r", encoding=...)``) and
retrbinary, STOR through storbinary; passive data connections. pyftpdlib
serves from a thread, so the ticker is what shows the loop was never blocked.
"""

from __future__ import annotations

import ftplib
import io
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import ThreadedFTPServer

from tests.realports._harness import Ticker, port_stdlib, strict_asyncio

BLOB = bytes(range(256)) * 16384  # 4 MB


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "blob.bin").write_bytes(BLOB)
    (home / "notes.txt").write_text("first line\nsecond line\n")
    authorizer = DummyAuthorizer()
    authorizer.add_user("ann", "secret", str(home), perm="elradfmw")
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer})
    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
    server = ThreadedFTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.05})
    thread.start()
    try:
        yield server.address[1], home
    finally:
        server.close_all()
        thread.join(5)


def test_ported_ftplib_logs_in_lists_retrieves_and_stores(
    tmp_path: Path, ftp_server: tuple[int, Path]
) -> None:
    port, home = ftp_server
    ported, messages = port_stdlib(ftplib, tmp_path, "--defer-init-io")
    assert any("moved into FTP.__aenter__" in m for m in messages), messages

    async def main() -> None:
        async with ported.FTP() as client:  # no host: connect and login by hand
            welcome = await client.connect("127.0.0.1", port, timeout=10)
            assert welcome.startswith("220")
            assert (await client.login("ann", "secret")).startswith("230")
            listing: list[str] = []
            await client.retrlines("LIST", listing.append)
            assert any(line.endswith("blob.bin") for line in listing)
            assert sorted(await client.nlst()) == ["blob.bin", "notes.txt"]
            lines: list[str] = []
            await client.retrlines("RETR notes.txt", lines.append)
            assert lines == ["first line", "second line"]
            received = bytearray()
            async with Ticker() as ticker:
                await client.retrbinary("RETR blob.bin", received.extend)
            assert ticker.ticks > 1
            assert bytes(received) == BLOB
            await client.storbinary("STOR upload.bin", io.BytesIO(b"u" * 300_000))
            assert await client.size("upload.bin") == 300_000
            await client.quit()
        assert (home / "upload.bin").read_bytes() == b"u" * 300_000

    strict_asyncio(main())


def test_ported_ftplib_connects_and_logs_in_on_entry_with_defer_init_io(
    tmp_path: Path, ftp_server: tuple[int, Path]
) -> None:
    port, _home = ftp_server
    ported, _ = port_stdlib(ftplib, tmp_path, "--defer-init-io")
    ported.FTP.port = port  # FTP(host) connects to the class's port, as in ftplib

    async def main() -> None:
        async with ported.FTP("127.0.0.1", "ann", "secret", timeout=10) as client:
            assert await client.pwd() == "/"
            assert "notes.txt" in await client.nlst()

    strict_asyncio(main())
