"""The stdlib's http.client, ported unattended, talks HTTP/1.1 to http.server.

Keep-alive: several 200 kB GETs and a POST go over one connection (the
server counts connections). The server runs in a thread, so a port that
blocked the loop would still finish: the ticker is what shows it did not.
"""

from __future__ import annotations

import http.client
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realports._harness import Ticker, port_stdlib, strict_asyncio

BODY = bytes(range(256)) * 800  # 200 kB
LARGE = bytes(range(256)) * 32768  # 8 MB: more than the buffers hold, so reads wait


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    connections: set[int] = set()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        Handler.connections.add(id(self.connection))
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(BODY), 65536):
                chunk = BODY[start : start + 65536]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
            return
        body = LARGE if self.path == "/large" else BODY
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        Handler.connections.add(id(self.connection))
        data = self.rfile.read(int(self.headers["Content-Length"]))
        reply = b"got %d bytes" % len(data)
        self.send_response(201)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


@pytest.fixture
def http_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_ported_http_client_keeps_the_connection_alive_for_gets_and_a_post(
    tmp_path: Path, http_server: int
) -> None:
    ported, _messages = port_stdlib(http.client, tmp_path)
    Handler.connections.clear()

    async def main() -> None:
        conn = ported.HTTPConnection("127.0.0.1", http_server, timeout=10)
        try:
            for _ in range(3):
                await conn.request("GET", "/blob")
                response = await conn.getresponse()
                assert response.status == 200
                assert await response.read() == BODY
            await conn.request("GET", "/large")
            response = await conn.getresponse()
            async with Ticker() as ticker:
                assert await response.read() == LARGE
            assert ticker.ticks > 1
            await conn.request("GET", "/chunked")
            response = await conn.getresponse()
            assert response.chunked
            assert await response.read() == BODY
            await conn.request("POST", "/upload", body=b"p" * 100_000)
            response = await conn.getresponse()
            assert response.status == 201
            assert await response.read() == b"got 100000 bytes"
        finally:
            await conn.close()
        assert len(Handler.connections) == 1  # one connection, kept alive

    strict_asyncio(main())
