"""A real redis-server for the RESP tests: started here, on a free loopback port.

The session fixture ``redis_server`` starts one ``redis-server`` from PATH with
no persistence, waits until it answers PING, and stops it at the end. A test
that needs a server it cannot have FAILS: a missing redis-server is a broken
machine, not a reason to skip. ``start_redis`` starts throwaway servers for
tests that kill them.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

# A reply that takes ARGV[2] microseconds to come (the script blocks the whole
# server meanwhile) and says whose it is (ARGV[1]). DEBUG SLEEP would do, but
# Redis 7 disables DEBUG by default.
SLOW_SCRIPT = """
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat
  local n = redis.call('TIME')
until (n[1] * 1000000 + n[2]) - start > tonumber(ARGV[2])
return ARGV[1]
"""


def slow_command(text: str, seconds: float) -> tuple[str, str, int, str, int]:
    """The arguments of a command whose reply is ``text`` after ``seconds``."""
    return ("EVAL", SLOW_SCRIPT, 0, text, int(seconds * 1_000_000))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RedisServer:
    """One redis-server process on 127.0.0.1:port."""

    port: int
    host: str = "127.0.0.1"
    extra_args: tuple[str, ...] = ()
    port_option: str = "--port"
    """``--tls-port`` for a TLS-only server (give ``--port 0`` in ``extra_args``)."""
    tls: ssl.SSLContext | None = None
    """For a TLS-only server (``--port 0 --tls-port N``): how to check it answers."""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, timeout: float = 10.0) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not on PATH: install it (apt-get install redis-server); "
                        "the RESP tests need a real server and do not skip without one")
        self.process = subprocess.Popen(
            [binary, self.port_option, str(self.port), "--bind", self.host, "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no",
             "--loglevel", "warning", "--dir", "/tmp", *self.extra_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                pytest.fail(f"redis-server exited at start (code {self.process.returncode}): {err}")
            if self.answers():
                return self
            time.sleep(0.02)
        self.stop()
        pytest.fail(f"redis-server on port {self.port} did not answer within {timeout}s")

    def answers(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as raw:
                if self.tls is None:
                    return self._pings(raw)
                with self.tls.wrap_socket(raw, server_hostname=self.host) as sock:
                    return self._pings(sock)
        except OSError:
            return False

    @staticmethod
    def _pings(sock: socket.socket) -> bool:
        sock.sendall(b"PING\r\n")
        # With --requirepass the answer is NOAUTH: still an answer.
        return sock.recv(64)[:1] in (b"+", b"-")

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-whatever, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._close_pipe()

    def _close_pipe(self) -> None:
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._close_pipe()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(free_port()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_redis() -> Iterator[type[RedisServer]]:
    """Throwaway servers for one test; every one started is stopped after it."""
    started: list[RedisServer] = []

    class _Tracked(RedisServer):
        def start(self, timeout: float = 10.0) -> RedisServer:
            started.append(self)
            return super().start(timeout)

    try:
        yield _Tracked
    finally:
        for server in started:
            server.stop()
