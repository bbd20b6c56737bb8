"""sync -> async: a blocking client ported across two modules, run against a server.

The sample is what people port by hand: a raw-socket connection
(``socket.create_connection``, ``recv``, ``sendall``), a ``threading.Lock``
around each request, a ``time.sleep`` back-off, a generator of replies and
context-manager classes, split over two modules that import each other. The
port is compared with a golden output, then imported and run against a real
(threaded, slow) TCP server on 127.0.0.1: it works, and while a slow reply is
awaited a ticker task keeps ticking -- the loop is not blocked, where the
sync original run inside a coroutine freezes it.
"""

from __future__ import annotations

import asyncio
import importlib
import socketserver
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType

import pytest

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._source import Conversion
from ambidex.codegen._to_async import to_async

SYNC_CONNECTION = '''\
"""A line-protocol connection over a raw socket."""

from __future__ import annotations

import socket
import threading


class Connection:
    """One TCP connection; requests are serialised by a lock."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lock = threading.Lock()
        self.buffer = b""

    @classmethod
    def open(cls, host: str, port: int, timeout: float = 5.0) -> Connection:
        sock = socket.create_connection((host, port), timeout=timeout)
        return cls(sock)

    def send_line(self, line: bytes) -> None:
        self.sock.sendall(line + b"\\n")

    def read_line(self) -> bytes:
        while b"\\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\\n")
        return line

    def request(self, line: bytes) -> bytes:
        with self.lock:  # one request in flight at a time
            self.send_line(line)
            return self.read_line()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
'''

SYNC_CLIENT = '''\
"""A key-value client: GET, PING and a stream of values."""

from __future__ import annotations

import time
from collections.abc import Iterator

from .connection import Connection


class Client:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @classmethod
    def connect(cls, host: str, port: int) -> Client:
        return cls(Connection.open(host, port))

    def ping(self) -> bytes:
        return self.connection.request(b"PING")

    def get(self, key: str) -> str:
        return self.connection.request(b"GET " + key.encode()).decode()

    def get_with_retry(self, key: str, attempts: int = 3) -> str:
        for attempt in range(attempts):
            try:
                return self.get(key)
            except ConnectionError:
                time.sleep(0.01 * 2**attempt)  # back off before the next try
        raise ConnectionError(f"no reply for {key!r} after {attempts} attempts")

    def stream(self, keys: list[str]) -> Iterator[str]:
        for key in keys:
            yield self.get(key)

    def get_many(self, keys: list[str]) -> list[str]:
        return [value.upper() for value in self.stream(keys)]

    def describe(self) -> str:
        return f"Client({self.connection!r})"  # no I/O: stays a plain method

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
'''

ASYNC_CONNECTION = '''\
"""A line-protocol connection over a raw socket."""

from __future__ import annotations

import asyncio

from ambidex.io import AsyncSocket


class Connection:
    """One TCP connection; requests are serialised by a lock."""

    def __init__(self, sock: AsyncSocket) -> None:
        self.sock = sock
        self.lock = asyncio.Lock()
        self.buffer = b""

    @classmethod
    async def open(cls, host: str, port: int, timeout: float = 5.0) -> Connection:
        sock = await AsyncSocket.create_connection((host, port), timeout=timeout)
        return cls(sock)

    async def send_line(self, line: bytes) -> None:
        await self.sock.sendall(line + b"\\n")

    async def read_line(self) -> bytes:
        while b"\\n" not in self.buffer:
            chunk = await self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\\n")
        return line

    async def request(self, line: bytes) -> bytes:
        async with self.lock:  # one request in flight at a time
            await self.send_line(line)
            return await self.read_line()

    async def close(self) -> None:
        await self.sock.close()

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
'''

ASYNC_CLIENT = '''\
"""A key-value client: GET, PING and a stream of values."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from .connection import Connection


class Client:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @classmethod
    async def connect(cls, host: str, port: int) -> Client:
        return cls(await Connection.open(host, port))

    async def ping(self) -> bytes:
        return await self.connection.request(b"PING")

    async def get(self, key: str) -> str:
        return (await self.connection.request(b"GET " + key.encode())).decode()

    async def get_with_retry(self, key: str, attempts: int = 3) -> str:
        for attempt in range(attempts):
            try:
                return await self.get(key)
            except ConnectionError:
                await asyncio.sleep(0.01 * 2**attempt)  # back off before the next try
        raise ConnectionError(f"no reply for {key!r} after {attempts} attempts")

    async def stream(self, keys: list[str]) -> AsyncIterator[str]:
        for key in keys:
            yield await self.get(key)

    async def get_many(self, keys: list[str]) -> list[str]:
        return [value.upper() async for value in self.stream(keys)]

    def describe(self) -> str:
        return f"Client({self.connection!r})"  # no I/O: stays a plain method

    async def close(self) -> None:
        await self.connection.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
'''

SAMPLE = {"blocking/connection.py": SYNC_CONNECTION, "blocking/client.py": SYNC_CLIENT}
SLOW = 0.3  # seconds the server takes to answer GET slow


def port(modules: Mapping[str, str], renames: Mapping[str, str] | None = None) -> Conversion:
    return to_async(modules, table=DEFAULT_TABLE, renames=renames or {})


def test_a_blocking_client_across_two_modules_ports_to_the_golden_output() -> None:
    conversion = port(SAMPLE)
    assert conversion.diagnostics == []
    assert conversion.outputs["blocking/connection.py"] == ASYNC_CONNECTION
    assert conversion.outputs["blocking/client.py"] == ASYNC_CLIENT


def test_functions_that_do_no_io_stay_plain() -> None:
    output = port(SAMPLE).outputs["blocking/client.py"]
    assert "    def describe(self) -> str:" in output
    assert "    def __init__(self, connection: Connection) -> None:" in output


def test_only_what_must_change_changes_comments_spacing_and_quotes_stay() -> None:
    source = (
        "import time\n"
        "\n"
        "def  wait( seconds ):   # odd spacing stays\n"
        "    # a comment line\n"
        "    time.sleep( seconds )  # trailing comment\n"
        "    return   'done'  # quoting stays\n"
    )
    expected = (
        "import asyncio\n"
        "\n"
        "async def  wait( seconds ):   # odd spacing stays\n"
        "    # a comment line\n"
        "    await asyncio.sleep( seconds )  # trailing comment\n"
        "    return   'done'  # quoting stays\n"
    )
    assert port({"m.py": source}).outputs["m.py"] == expected


def test_the_ported_modules_pass_ruffs_import_and_unused_import_rules(tmp_path: Path) -> None:
    # The port places new imports where isort would and drops the ones it made
    # unused, so generated code can be committed under the same lint as its source.
    package = tmp_path / "blocking"
    package.mkdir()
    for path, text in port(SAMPLE).outputs.items():
        (package / Path(path).name).write_text(text)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--select",
            "I,F401,E,W",
            "--line-length",
            "100",
            str(package),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- the ported client, imported and run -------------------------------------


class _SlowLineServer(socketserver.StreamRequestHandler):
    """PING -> PONG; GET k -> value-of-k (GET slow answers after SLOW seconds)."""

    def handle(self) -> None:
        for raw in self.rfile:
            line = raw.rstrip(b"\n")
            if line == b"PING":
                reply = b"PONG"
            elif line.startswith(b"GET "):
                key = line[4:]
                if key == b"slow":
                    time.sleep(SLOW)  # the server is slow; the client must not be
                reply = b"value-of-" + key
            else:
                reply = b"ERR " + line
            self.wfile.write(reply + b"\n")


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SlowLineServer)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    host, port_ = srv.server_address[:2]
    yield str(host), int(port_)
    srv.shutdown()
    srv.server_close()


def _install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outputs: Mapping[str, str]) -> str:
    """Write the modules as a fresh package and return its name."""
    name = f"ported_{uuid.uuid4().hex}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    for path, text in outputs.items():
        (package / Path(path).name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


@pytest.fixture
def ported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    conversion = port(SAMPLE)
    assert not conversion.failed
    return importlib.import_module(f"{_install(tmp_path, monkeypatch, conversion.outputs)}.client")


@pytest.fixture
def original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return importlib.import_module(f"{_install(tmp_path, monkeypatch, SAMPLE)}.client")


async def test_the_ported_client_works_against_a_real_server(
    server: tuple[str, int], ported: ModuleType
) -> None:
    async with await ported.Client.connect(*server) as client:
        assert await client.ping() == b"PONG"
        assert await client.get("a") == "value-of-a"
        assert await client.get_with_retry("b") == "value-of-b"
        assert [value async for value in client.stream(["x", "y"])] == [
            "value-of-x",
            "value-of-y",
        ]
        assert await client.get_many(["z"]) == ["VALUE-OF-Z"]


class _Ticker:
    """Counts how often the loop ran it: a blocked loop does not tick."""

    def __init__(self) -> None:
        self.ticks = 0
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.005)
            self.ticks += 1

    async def __aenter__(self) -> _Ticker:
        self.task = asyncio.create_task(self._run())
        await asyncio.sleep(0.02)  # let it start ticking
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.task is not None
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task


async def test_the_loop_keeps_ticking_while_the_port_awaits_a_slow_reply(
    server: tuple[str, int], ported: ModuleType
) -> None:
    async with _Ticker() as ticker, await ported.Client.connect(*server) as client:
        before = ticker.ticks
        assert await client.get("slow") == "value-of-slow"
        ticks_while_waiting = ticker.ticks - before
    # About SLOW / 0.005 = 60 ticks on an idle machine; a handful proves the point.
    assert ticks_while_waiting >= 5


@pytest.mark.allow_blocking  # the point of the test: the unported code blocks the loop
async def test_the_sync_original_run_in_a_coroutine_freezes_the_loop(
    server: tuple[str, int], original: ModuleType
) -> None:
    # The control for the test above: the same measurement sees a blocked loop.
    async with _Ticker() as ticker:
        with original.Client.connect(*server) as client:
            before = ticker.ticks
            assert client.get("slow") == "value-of-slow"
            ticks_while_waiting = ticker.ticks - before
    assert ticks_while_waiting == 0


async def test_a_timeout_cancels_a_ported_call_and_releases_its_lock(
    server: tuple[str, int], ported: ModuleType
) -> None:
    async with await ported.Client.connect(*server) as client:
        with pytest.raises(asyncio.TimeoutError):  # wait_for's is not the builtin on 3.10
            await asyncio.wait_for(client.get("slow"), timeout=0.05)
        assert not client.connection.lock.locked()


async def test_cancelling_a_ported_call_releases_its_lock(
    server: tuple[str, int], ported: ModuleType
) -> None:
    async with await ported.Client.connect(*server) as client:
        task = asyncio.create_task(client.get("slow"))
        await asyncio.sleep(0.05)
        assert client.connection.lock.locked()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not client.connection.lock.locked()


async def test_connect_to_a_closed_port_raises_the_same_error_as_the_original() -> None:
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as srv:
        closed = srv.server_address[:2]
    conversion = port(SAMPLE)
    assert not conversion.failed
    namespace: dict[str, object] = {}
    # Only the connection module: it imports nothing relative.
    exec(compile(conversion.outputs["blocking/connection.py"], "connection.py", "exec"), namespace)
    connection_class = namespace["Connection"]
    with pytest.raises(ConnectionRefusedError):
        await connection_class.open(*closed)  # type: ignore[attr-defined]


def test_a_module_whose_only_import_goes_does_not_start_with_a_blank_line() -> None:
    # The dropped `import socket` left the blank line that separated it from
    # the added `from ambidex.io import ...` at the top of the module.
    source = (
        "import socket\n\n\ndef fetch(sock: socket.socket) -> bytes:\n    return sock.recv(4)\n"
    )
    result = to_async({"m.py": source}, table=DEFAULT_TABLE, renames={})
    assert not result.failed, result.diagnostics
    output = result.outputs["m.py"]
    assert output.startswith("from ambidex.io import AsyncSocket\n"), output
