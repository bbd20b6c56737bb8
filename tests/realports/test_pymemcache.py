"""A PyPI client, ported unattended and unedited: pymemcache against memcached.

The port needs what a third-party client needs: the dunders Python never
awaits (``Client.__getitem__``...) are left out by qualified name on the
command line, not by editing the package; the socket comes from a
``socket_module: ModuleType = socket`` parameter default; the reader is
chosen between ``partial(_readsegment, ...)`` and ``_readline``.
memcached runs as a real server (Debian's package; .ci/run installs it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pymemcache
import pytest

from ambidex import cli
from tests.realports._harness import Ticker, ported_package, strict_asyncio

DUNDERS = [
    f"{cls}.{name}"
    for cls in ("Client", "PooledClient")
    for name in ("__getitem__", "__setitem__", "__delitem__")
]


@pytest.fixture
def memcached() -> Iterator[int]:
    binary = shutil.which("memcached") or "/usr/bin/memcached"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    as_root = ["-u", "root"] if os.geteuid() == 0 else []  # memcached asks, as root
    server = subprocess.Popen(
        [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "64", *as_root],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, "memcached exited"
                assert time.monotonic() < deadline, "memcached did not start"
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(5)


def test_ported_pymemcache_sets_and_gets_through_memcached(
    tmp_path: Path, memcached: int
) -> None:
    package = Path(pymemcache.__file__).parent
    source = tmp_path / "src" / "pymemcache"
    shutil.copytree(package, source, ignore=shutil.ignore_patterns("test", "__pycache__"))
    out = tmp_path / "ported" / "pymemcache"
    directives = [arg for name in DUNDERS for arg in ("--sync-only", name)]
    directives += ["--sync-only", "RetryingClient.__getattr__"]
    argv = ["port", "--to", "async", *directives, str(source), "-o", str(out)]
    assert cli.main(argv) == 0

    async def main() -> None:
        client = base.Client(("127.0.0.1", memcached), connect_timeout=5, timeout=5)
        try:
            assert await client.set("k", b"v" * 10) is True
            assert await client.get("k") == b"v" * 10
            await client.set("big", b"x" * 900_000)
            async with Ticker() as ticker:
                assert await client.get("big") == b"x" * 900_000
            assert ticker.ticks > 1
            assert sorted(await client.get_many(["k", "big", "missing"])) == ["big", "k"]
            assert await client.add("n", b"1") is True
            assert await client.incr("n", 5) == 6
            assert await client.delete("k") is True
            assert await client.get("k") is None
        finally:
            await client.close()

    with ported_package(out.parent, "pymemcache.client.base") as base:
        strict_asyncio(main())
