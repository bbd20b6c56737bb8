"""``--explain``: for every function that changed colour, the calls that forced it."""

from __future__ import annotations

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_async import to_async

TRANSPORT = """\
import socket


class Transport:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def read_reply(self) -> bytes:
        return self.sock.recv(1024)
"""

CLIENT = """\
from .transport import Transport


class Client:
    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def get(self, key: str) -> bytes:
        return self._read_reply()

    def _read_reply(self) -> bytes:
        return self.transport.read_reply()

    def name(self) -> str:
        return "client"
"""


def test_each_function_that_changed_colour_is_explained_down_to_the_primitive() -> None:
    result = to_async(
        {"pkg/transport.py": TRANSPORT, "pkg/client.py": CLIENT},
        table=DEFAULT_TABLE,
        renames={},
    )
    assert result.diagnostics == []
    assert result.explanations == [
        "pkg/client.py:8 Client.get -> Client._read_reply -> Transport.read_reply"
        " -> socket.socket.recv (pkg/transport.py:9)",
        "pkg/client.py:11 Client._read_reply -> Transport.read_reply"
        " -> socket.socket.recv (pkg/transport.py:9)",
        "pkg/transport.py:8 Transport.read_reply -> socket.socket.recv (pkg/transport.py:9)",
    ]


def test_functions_that_kept_their_colour_are_not_explained() -> None:
    result = to_async({"pkg/client.py": CLIENT}, table=DEFAULT_TABLE, renames={})
    assert result.explanations == []
    assert result.outputs["pkg/client.py"] == CLIENT
