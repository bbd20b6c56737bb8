"""``ambidex port --to async``: the command line over the sync -> async converter."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambidex import cli

CONNECTS_IN_INIT = """\
import socket


class Client:
    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))

    def ping(self) -> bytes:
        self.sock.sendall(b"PING\\r\\n")
        return self.sock.recv(7)
"""

PORTABLE = """\
import socket


class Client:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    def connect(cls, host: str, port: int) -> "Client":
        return cls(socket.create_connection((host, port)))

    def ping(self) -> bytes:
        self.sock.sendall(b"PING\\r\\n")
        return self._read()

    def _read(self) -> bytes:
        return self.sock.recv(7)
"""


def test_an_init_that_connects_fails_the_port_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "client.py"
    source.write_text(CONNECTS_IN_INIT)
    out = tmp_path / "out"
    assert cli.main(["port", "--to", "async", str(source), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{source.as_posix()}:5:5: Client.__init__() would have to await " in err
    assert f"socket.create_connection ({source.as_posix()}:6:21)" in err
    assert not out.exists()


def test_a_portable_client_is_written_and_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "client.py"
    source.write_text(PORTABLE)
    out = tmp_path / "client_async.py"
    assert cli.main(["port", "--to", "async", "--explain", str(source), "-o", str(out)]) == 0
    written = out.read_text()
    assert "    async def ping(self) -> bytes:" in written
    assert "        return await self._read()" in written
    explained = capsys.readouterr().out.splitlines()
    path = source.as_posix()
    # One line per function that changed colour, with the first reason found.
    assert f"{path}:12 Client.ping -> socket.socket.sendall ({path}:13)" in explained
    assert f"{path}:16 Client._read -> socket.socket.recv ({path}:17)" in explained
    assert f"{path}:9 Client.connect -> socket.create_connection ({path}:10)" in explained


def test_a_package_folder_is_ported_as_a_whole_and_the_result_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.codegen.test_to_async import ASYNC_CLIENT, ASYNC_CONNECTION, SAMPLE

    source = tmp_path / "blocking"
    source.mkdir()
    for path, text in SAMPLE.items():
        (source / Path(path).name).write_text(text)
    out = tmp_path / "out"
    assert cli.main(["port", "--to", "async", str(source), "-o", str(out)]) == 0
    assert capsys.readouterr().err == ""
    assert (out / "connection.py").read_text() == ASYNC_CONNECTION
    assert (out / "client.py").read_text() == ASYNC_CLIENT
