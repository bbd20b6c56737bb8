"""``isinstance(sock, ssl.SSLSocket)`` is said towards async: the port's socket never is one.

The port's socket is an ``ambidex.io.AsyncSocket`` that starts TLS in place
(``ambidex.io.wrap_socket`` returns the same object), so a test that asks
whether a socket is an ``ssl.SSLSocket`` is False in the port where the sync
code found True. ftplib's ``FTP_TLS`` asks it three times: ported, ``ccc()``
always raised "not using TLS", ``auth()`` no longer saw that TLS was on, and
``login(secure=True)`` sent ``AUTH TLS`` again; exit 0, no word. Each such
test is now a located warning (an error with ``--strict``).
"""

from __future__ import annotations

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_async import to_async

CLIENT = '''\
import socket
import ssl


class Client:
    def __init__(self):
        self.sock = None
        self.context = ssl.create_default_context()

    def connect(self, host):
        self.sock = socket.create_connection((host, 21))

    def starttls(self):
        if isinstance(self.sock, ssl.SSLSocket):
            raise ValueError("already using TLS")
        self.sock = self.context.wrap_socket(self.sock, server_hostname="h")

    def plain(self, other):
        return isinstance(other, ssl.SSLSocket)
'''


def test_an_isinstance_test_of_a_ported_socket_against_sslsocket_is_a_located_warning() -> None:
    result = to_async({"client.py": CLIENT}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.col, d.error, d.message) for d in result.diagnostics
             if "SSLSocket" in d.message]
    assert [(line, col, error) for line, col, error, _ in found] == [(14, 12, False)]
    assert "is never an ssl.SSLSocket" in found[0][3]
    strict = to_async({"client.py": CLIENT}, table=DEFAULT_TABLE, renames={}, strict=True)
    assert [(d.line, d.error) for d in strict.diagnostics if "SSLSocket" in d.message] == [
        (14, True)]
