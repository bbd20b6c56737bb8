"""``isinstance(sock, ssl.SSLSocket)`` on a ported socket becomes ``speaks_tls(sock)``.

The port's socket is an ``ambidex.io.AsyncSocket`` that starts TLS in place
(``ambidex.io.wrap_socket`` returns the same object), so it is never an
``ssl.SSLSocket``: a test of that type, kept as written, is False in the
port where the sync code found True. ftplib's ``FTP_TLS`` asks it in
``auth()``, ``ccc()`` and ``login(secure=True)``, and each data transfer asks
it before shutting TLS down with ``conn.unwrap()``. The port writes
``ambidex.io.speaks_tls(sock)`` for the test (it answers for both colours) and
awaits ``unwrap()`` (``AsyncSocket.unwrap``, TLS's closing handshake). What
it cannot rewrite faithfully, a tuple of types holding ``ssl.SSLSocket``, is
a located warning (an error with ``--strict``).
"""

from __future__ import annotations

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_async import to_async

CLIENT = '''\
import socket
import ssl

try:
    import ssl as _ssl
except ImportError:
    _SSLSocket = None
else:
    _SSLSocket = _ssl.SSLSocket


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

    def clear(self):
        if not isinstance(self.sock, ssl.SSLSocket):
            raise ValueError("not using TLS")
        self.sock = self.sock.unwrap()

    def transfer(self):
        conn = socket.create_connection(("h", 20))
        conn = self.context.wrap_socket(conn, server_hostname="h")
        data = conn.recv(10)
        if _SSLSocket is not None and isinstance(conn, _SSLSocket):
            conn.unwrap()
        conn.close()
        return data

    def plain(self, other):
        return isinstance(other, ssl.SSLSocket)

    def either(self):
        return isinstance(self.sock, (ssl.SSLSocket, bytes))
'''


def test_an_isinstance_test_of_a_ported_socket_against_sslsocket_asks_speaks_tls() -> None:
    result = to_async({"client.py": CLIENT}, table=DEFAULT_TABLE, renames={})
    assert not [d for d in result.diagnostics if d.error], result.diagnostics
    output = result.outputs["client.py"]
    assert "        if ambidex.io.speaks_tls(self.sock):\n" in output
    assert "        if not ambidex.io.speaks_tls(self.sock):\n" in output
    assert "        self.sock = await self.sock.unwrap()\n" in output
    assert (
        "        if _SSLSocket is not None and ambidex.io.speaks_tls(conn):\n"
        "            await conn.unwrap()\n"
    ) in output
    assert "import ambidex.io\n" in output
    # An object the analysis does not know is not touched.
    assert "        return isinstance(other, ssl.SSLSocket)\n" in output


def test_an_isinstance_test_with_sslsocket_in_a_tuple_of_types_is_a_located_warning() -> None:
    result = to_async({"client.py": CLIENT}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.col, d.error, d.message) for d in result.diagnostics
             if "SSLSocket" in d.message]
    assert [(line, col, error) for line, col, error, _ in found] == [(43, 16, False)]
    assert "is never an ssl.SSLSocket" in found[0][3]
    strict = to_async({"client.py": CLIENT}, table=DEFAULT_TABLE, renames={}, strict=True)
    assert [(d.line, d.error) for d in strict.diagnostics if "SSLSocket" in d.message] == [
        (43, True)]
