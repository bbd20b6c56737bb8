"""``isinstance(sock, ssl.SSLSocket)`` on a ported socket becomes ``speaks_tls(sock)``.

The port's socket is an ``ambidex.io.AsyncSocket`` that starts TLS in place
(``ambidex.io.wrap_socket`` returns the same object), so it is never an
``ssl.SSLSocket``: a test of that type, kept as written, is False in the
port where the sync code found True. ftplib's ``FTP_TLS`` asks it in
``auth()``, ``ccc()`` and ``login(secure=True)``, and each data transfer asks
it before shutting TLS down with ``conn.unwrap()``. The port writes
``ambidex.io.speaks_tls(sock)`` for the test (it answers for both colours) and
awaits ``unwrap()`` (``AsyncSocket.unwrap``, TLS's closing handshake). What
it cannot rewrite faithfully is a located warning (an error with ``--strict``).

A tuple of types holding ``ssl.SSLSocket`` asks the same question and more:
``isinstance(sock, (ssl.SSLSocket, T))`` becomes ``(ambidex.io.speaks_tls(sock)
or isinstance(sock, T))`` (before session 8 it was only said). The tested value
is then read twice, so a value that is not a plain name or attribute (a call)
keeps the warning, and so does a tuple with a starred part.
"""

from __future__ import annotations

import asyncio
import socket
import warnings
from typing import Any

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

    def kinds(self):
        return not isinstance(self.sock, (socket.socket, _SSLSocket, bytes,))

    def made(self):
        return isinstance(self._made(), (ssl.SSLSocket, bytes))

    def _made(self):
        return socket.create_connection(("h", 20))

    def starred(self, others):
        return isinstance(self.sock, (ssl.SSLSocket, *others))
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


def test_an_isinstance_test_with_sslsocket_in_a_tuple_of_types_asks_speaks_tls_or_the_rest(
) -> None:
    result = to_async({"client.py": CLIENT}, table=DEFAULT_TABLE, renames={})
    output = result.outputs["client.py"]
    assert "        return (ambidex.io.speaks_tls(self.sock) or isinstance(self.sock, bytes))\n" \
        in output
    assert ("        return not (ambidex.io.speaks_tls(self.sock) "
            "or isinstance(self.sock, (AsyncSocket, bytes,)))\n") in output
    with warnings.catch_warnings():  # the ported module imports
        warnings.simplefilter("error", RuntimeWarning)
        exec(compile(output, "client.py", "exec"), {})


def test_a_tuple_test_that_would_read_a_call_twice_or_has_a_starred_part_is_a_located_warning(
) -> None:
    result = to_async({"client.py": CLIENT}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.col, d.error, d.message) for d in result.diagnostics
             if "SSLSocket" in d.message]
    assert [(line, col, error) for line, col, error, _ in found] == [
        (49, 16, False), (55, 16, False)]
    assert "is never an ssl.SSLSocket" in found[0][3]
    output = result.outputs["client.py"]
    assert "        return isinstance(await self._made(), (ssl.SSLSocket, bytes))\n" in output
    strict = to_async({"client.py": CLIENT}, table=DEFAULT_TABLE, renames={}, strict=True)
    assert [(d.line, d.error) for d in strict.diagnostics if "SSLSocket" in d.message] == [
        (49, True), (55, True)]


KINDS = '''\
import socket
import ssl


def kinds(port):
    sock = socket.create_connection(("127.0.0.1", port))
    try:
        return (isinstance(sock, (ssl.SSLSocket, bytes)),
                isinstance(sock, (ssl.SSLSocket, socket.socket)),
                not isinstance(sock, (str, ssl.SSLSocket)))
    finally:
        sock.close()
'''


def test_the_ported_tuple_test_answers_as_the_sync_one_on_a_real_connection() -> None:
    result = to_async({"kinds.py": KINDS}, table=DEFAULT_TABLE, renames={})
    assert result.diagnostics == [], result.diagnostics
    namespace: dict[str, Any] = {}
    exec(compile(KINDS, "kinds.py", "exec"), namespace)
    ported: dict[str, Any] = {}
    exec(compile(result.outputs["kinds.py"], "kinds.py", "exec"), ported)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        expected = namespace["kinds"](port)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            got = asyncio.run(asyncio.wait_for(ported["kinds"](port), 10))
    assert expected == (False, True, True)
    assert got == expected
