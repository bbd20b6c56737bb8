"""Realistic code converted to sync, then imported and run: the output is code that works."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync
from tests.codegen.corpus._async import AsyncClient, MemoryServer

CORPUS = Path(__file__).parent / "corpus" / "_async"
RENAMES = {
    "AsyncClient": "Client",
    "AsyncConnectionPool": "ConnectionPool",
    "AsyncMemoryStream": "MemoryStream",
}


@pytest.fixture(scope="module")
def sync_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    modules = {f"corpus_sync/{p.name}": p.read_text() for p in sorted(CORPUS.glob("*.py"))}
    result = to_sync(modules, table=DEFAULT_TABLE, renames=RENAMES)
    assert result.diagnostics == []
    root = tmp_path_factory.mktemp("generated")
    for path, text in result.outputs.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("corpus_sync")
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n.startswith("corpus_sync")]:
            del sys.modules[name]


def test_the_sync_output_has_no_async_code_left(sync_package: ModuleType) -> None:
    # Docstrings may still say "async with" (prose is not renamed); the code may not.
    async_nodes = (ast.AsyncFunctionDef, ast.Await, ast.AsyncWith, ast.AsyncFor)
    for path in Path(sync_package.__file__).parent.glob("*.py"):  # type: ignore[arg-type]
        for node in ast.walk(ast.parse(path.read_text())):
            assert not isinstance(node, async_nodes), (path, node.lineno)
            if isinstance(node, ast.Name):
                assert node.id != "asyncio" and not node.id.startswith("Async"), (path, node.id)


def test_the_sync_client_talks_through_its_pool(sync_package: ModuleType) -> None:
    server = sync_package.MemoryServer()
    with sync_package.Client(server, max_connections=2) as client:
        assert client.echo(b"hello") == b"hello"
        assert client.echo(b"again") == b"again"
        assert list(client.count(3)) == [0, 1, 2]
        assert client.total(5) == 10
        assert client.flavour() == "sync"
    # One connection was enough, reused each time, and closed with the client.
    assert (server.connections, server.closed) == (1, 1)


def test_the_sync_pool_enforces_its_limit_and_releases_on_error(
    sync_package: ModuleType,
) -> None:
    server = sync_package.MemoryServer()
    pool = sync_package.ConnectionPool(
        lambda: sync_package.MemoryStream(server), lambda s: s.close(), max_size=1
    )
    with pool.connection():
        with pytest.raises(sync_package.PoolTimeout):
            pool.acquire()
    with pytest.raises(ValueError), pool.connection():
        raise ValueError("boom")
    # The broken connection was closed, not put back.
    assert pool.in_use == 0 and server.closed == 1
    pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        pool.acquire()


def test_a_generator_left_early_gives_its_connection_back(sync_package: ModuleType) -> None:
    server = sync_package.MemoryServer()
    client = sync_package.Client(server, max_connections=1)
    numbers = client.count(10)
    assert next(numbers) == 0
    numbers.close()
    assert client.echo(b"free") == b"free"


async def test_the_async_source_behaves_the_same() -> None:
    server = MemoryServer()
    async with AsyncClient(server, max_connections=2) as client:
        assert await client.echo(b"hello") == b"hello"
        assert [x async for x in client.count(3)] == [0, 1, 2]
        assert await client.total(5) == 10
        assert client.flavour() == "async"
    assert (server.connections, server.closed) == (1, 1)


def test_the_sync_output_is_as_lint_clean_as_its_source(sync_package: ModuleType) -> None:
    # Imports sorted as isort sorts them, none left unused: the rewrite's own
    # imports (threading, time) and renames (Iterator, Generator) included.
    folder = Path(sync_package.__file__).parent  # type: ignore[arg-type]
    for checked in (CORPUS, folder):
        completed = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "I,F401,F811,F821",
             str(checked)], capture_output=True, text=True)
        assert completed.returncode == 0, completed.stdout


async def test_cancelling_an_async_acquire_gives_its_slot_back() -> None:
    import asyncio

    from tests.codegen.corpus._async import AsyncConnectionPool

    started = asyncio.Event()

    async def slow_connect() -> object:
        started.set()
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def close(connection: object) -> None:
        pass

    pool: AsyncConnectionPool[object] = AsyncConnectionPool(slow_connect, close, max_size=1)
    task = asyncio.ensure_future(pool.acquire())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pool.in_use == 0
    # A timeout at the same await is the same path.
    with pytest.raises(asyncio.TimeoutError):  # not the builtin on 3.10
        await asyncio.wait_for(pool.acquire(), 0.01)
    assert pool.in_use == 0


def test_a_failing_sync_connect_gives_its_slot_back(sync_package: ModuleType) -> None:
    def connect() -> object:
        raise ConnectionRefusedError("nobody home")

    pool = sync_package.ConnectionPool(connect, lambda c: None, max_size=1)
    with pytest.raises(ConnectionRefusedError):
        pool.acquire()
    assert pool.in_use == 0
