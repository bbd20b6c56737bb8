"""A tiny lines server: blocking, one thread per connection, counters in memory.

It exists so the clients have something real to talk to. In a test or a script::

    with ServerThread() as server:       # a free loopback port, until the block ends
        print(server.port)

or from a shell: ``python -m examples.lines --port 7000`` (0 picks a free port).
``SLEEP seconds`` waits that long before it answers, so tests can make a call
time out; ``QUIT`` answers, then closes the connection.
"""

from __future__ import annotations

import socketserver
import threading
import time
from types import TracebackType

from examples.lines.protocol import MAX_LINE, answer


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        while line := self.rfile.readline(MAX_LINE):
            command = line.rstrip(b"\r\n").decode("utf-8", "replace")
            if command.startswith("SLEEP "):
                time.sleep(float(command[6:]))
            with self.server.lock:
                reply = answer(command, self.server.counters)
            self.wfile.write(reply.encode("utf-8") + b"\r\n")
            if command == "QUIT":
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.counters: dict[str, int] = {}
        self.lock = threading.Lock()


class ServerThread:
    """A lines server in a daemon thread; ``with`` starts and stops it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name="lines-server")

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> ServerThread:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
