"""The stdlib's ftplib, ported unattended, works against pyftpdlib.

Login, LIST through retrlines, RETR through retrlines (text mode: ftplib
reads its control connection with ``makefile("r", encoding=...)``) and
retrbinary, STOR through storbinary; passive data connections. pyftpdlib
serves from a thread, so the ticker is what shows the loop was never blocked.
"""

from __future__ import annotations

import contextlib
import ftplib
import io
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import ThreadedFTPServer

from ambidex.io import AsyncSocket, speaks_tls
from tests.realports._harness import Ticker, port_stdlib, strict_asyncio

BLOB = bytes(range(256)) * 16384  # 4 MB


@contextlib.contextmanager
def serving(server: ThreadedFTPServer, poll: float = 0.05) -> Iterator[None]:
    """pyftpdlib's ``server`` served by a thread of its own while the block runs.

    The thread's loop stops, and the thread is joined, before the server's
    sockets close: ``close_all()`` from this thread while the server's thread
    was between epoll's check of its descriptor and the wait made that wait
    fail with EBADF (seen on 3.10). So the thread polls one round at a time
    (``blocking=False``, at most ``poll`` seconds) and asks between rounds
    whether to stop; ``close_all()`` then runs with no one polling.
    """
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            server.serve_forever(timeout=poll, blocking=False, handle_exit=False)

    thread = threading.Thread(target=serve, name="pyftpdlib")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
        server.close_all()
        assert not thread.is_alive(), "pyftpdlib's loop did not stop"


def test_the_ftp_servers_thread_stops_before_its_sockets_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On 3.10 the server's thread raised `OSError: [Errno 9] Bad file
    # descriptor` from epoll: the fixture closed the server's sockets and its
    # epoll while that thread was about to wait on them. A loop that never
    # waits (poll=0) widens the window the race needs.
    raised: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: raised.append(args.exc_value))
    authorizer = DummyAuthorizer()
    authorizer.add_user("ann", "secret", str(tmp_path), perm="elradfmw")
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer})
    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
    for _ in range(60):
        server = ThreadedFTPServer(("127.0.0.1", 0), handler)
        with serving(server, poll=0):
            pass
    assert raised == []


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
    with serving(server):
        yield server.address[1], home


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


@pytest.fixture
def ftps_server(tmp_path: Path) -> Iterator[tuple[int, Path, ssl.SSLContext]]:
    """pyftpdlib's TLS handler (RFC 4217: AUTH TLS, PBSZ, PROT P) with a
    certificate from trustme; the client context trusts its CA."""
    from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    pem = tmp_path / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
    home = tmp_path / "home"
    home.mkdir()
    (home / "blob.bin").write_bytes(BLOB[:1_000_000])
    (home / "notes.txt").write_text("first line\nsecond line\n")
    authorizer = DummyAuthorizer()
    authorizer.add_user("ann", "secret", str(home), perm="elradfmw")
    dtp = type("DTP", (TLS_DTPHandler,), {})
    handler = type("Handler", (TLS_FTPHandler,), {
        "authorizer": authorizer, "certfile": str(pem), "dtp_handler": dtp,
        "tls_control_required": True, "tls_data_required": True, "ssl_context": None,
    })
    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
    server = ThreadedFTPServer(("127.0.0.1", 0), handler)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    with serving(server):
        yield server.address[1], home, client


def test_ported_ftp_tls_secures_control_and_data_and_shuts_tls_down_after_each_transfer(
    tmp_path: Path, ftps_server: tuple[int, Path, ssl.SSLContext],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # FTP_TLS asks isinstance(sock, ssl.SSLSocket) in login/auth/ccc and before
    # each data connection's unwrap(): the port asks ambidex.io.speaks_tls
    # instead and awaits AsyncSocket.unwrap(). The server requires TLS on both
    # connections, so a port that lost it would be refused at login or LIST.
    port, home, context = ftps_server
    ported, messages = port_stdlib(ftplib, tmp_path, "--defer-init-io")
    assert not any("SSLSocket" in m for m in messages), messages
    unwraps: list[bool] = []
    real_unwrap = AsyncSocket.unwrap

    async def unwrap(sock: AsyncSocket) -> AsyncSocket:
        unwraps.append(speaks_tls(sock))
        return await real_unwrap(sock)

    async def main() -> None:
        async with ported.FTP_TLS(context=context) as client:
            await client.connect("127.0.0.1", port, timeout=10)
            assert not speaks_tls(client.sock)
            assert (await client.login("ann", "secret")).startswith("230")  # AUTH TLS first
            assert speaks_tls(client.sock)
            with pytest.raises(ValueError, match="Already using TLS"):
                await client.auth()
            await client.prot_p()
            listing: list[str] = []
            await client.retrlines("LIST", listing.append)
            assert any(line.endswith("blob.bin") for line in listing)
            received = bytearray()
            async with Ticker() as ticker:
                await client.retrbinary("RETR blob.bin", received.extend)
            assert ticker.ticks > 1
            assert bytes(received) == BLOB[:1_000_000]
            await client.storbinary("STOR upload.bin", io.BytesIO(b"u" * 100_000))
            assert await client.size("upload.bin") == 100_000
            await client.storlines("STOR lines.txt", io.BytesIO(b"a\r\nb\r\n"))
            await client.quit()
        assert (home / "upload.bin").read_bytes() == b"u" * 100_000
        assert (home / "lines.txt").read_bytes() == b"a\nb\n"  # ASCII mode: the server's newlines

    monkeypatch.setattr(AsyncSocket, "unwrap", unwrap)
    strict_asyncio(main())
    assert unwraps == [True] * 4  # LIST, RETR, STOR, STOR: each data connection's TLS shut down


def test_ported_ftp_tls_ccc_goes_back_to_clear_text_on_the_same_control_connection(
    tmp_path: Path,
) -> None:
    # pyftpdlib has no CCC: a small blocking server in a thread does AUTH TLS,
    # USER/PASS over TLS, CCC (TLS's closing handshake, SSLSocket.unwrap on its
    # side) and PWD in clear text. The port asks speaks_tls and awaits
    # AsyncSocket.unwrap(); ported as before, ccc() raised "not using TLS".
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    seen: list[str] = []
    errors: list[BaseException] = []

    def serve(listener: socket.socket) -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(10)
            sock: socket.socket = conn
            sock.sendall(b"220 hello\r\n")
            while True:
                line = b""
                while not line.endswith(b"\r\n"):
                    byte = sock.recv(1)
                    if not byte:
                        return
                    line += byte
                command = line.decode().strip()
                seen.append(f"{command} tls={speaks_tls(sock)}")
                verb = command.split(" ")[0]
                if verb == "AUTH":
                    sock.sendall(b"234 go\r\n")
                    sock = server_context.wrap_socket(sock, server_side=True)
                elif verb == "USER":
                    sock.sendall(b"331 password\r\n")
                elif verb == "PASS":
                    sock.sendall(b"230 in\r\n")
                elif verb == "CCC":
                    sock.sendall(b"200 clear\r\n")
                    assert isinstance(sock, ssl.SSLSocket)
                    sock = sock.unwrap()
                    seen[-1] += " unwrapped"
                elif verb == "PWD":
                    sock.sendall(b'257 "/" is the directory\r\n')
                elif verb == "QUIT":
                    sock.sendall(b"221 bye\r\n")
                    sock.close()
                    return
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    ported, _ = port_stdlib(ftplib, tmp_path, "--defer-init-io")
    listener = socket.create_server(("127.0.0.1", 0))
    thread = threading.Thread(target=serve, args=(listener,))
    thread.start()

    async def main() -> None:
        async with ported.FTP_TLS(context=client_context) as client:
            await client.connect("127.0.0.1", listener.getsockname()[1], timeout=10)
            assert (await client.login("ann", "secret")).startswith("230")
            assert speaks_tls(client.sock)
            assert (await client.ccc()).startswith("200")
            assert not speaks_tls(client.sock)
            assert await client.pwd() == "/"
            await client.quit()

    try:
        strict_asyncio(main())
    finally:
        thread.join(10)
        listener.close()
    assert errors == []
    assert seen == ["AUTH TLS tls=False", "USER ann tls=True", "PASS secret tls=True",
                    "CCC tls=True unwrapped", "PWD tls=False", "QUIT tls=False"]
