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
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RedisServer:
    """One redis-server process on 127.0.0.1:port."""

    port: int
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, timeout: float = 10.0) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not on PATH: install it (apt-get install redis-server); "
                        "the RESP tests need a real server and do not skip without one")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", self.host, "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no",
             "--loglevel", "warning", "--dir", "/tmp"],
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
            with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-whatever, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()


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
