"""``ambidex demo``: the toolkit end to end, in a few seconds, on the gibson example.

It shows the four steps a reader of the README should come away with:

1. the generator turns the asyncio driver (``examples/gibson/_async``) into
   its blocking twin, in memory, and the twin matches the committed file;
2. the example server starts on a free loopback port;
3. the blocking client and the asyncio client, one source between them, talk
   to it;
4. pipelining: the same requests sent one at a time and pipelined, as a table.

The example lives in the repository, not in the installed package, so the
demo runs from the root of a checkout; anywhere else it says so and exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import importlib
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

SOURCE = Path("examples/gibson/_async/client.py")
TWIN = Path("examples/gibson/_sync/client.py")
RENAMES = {"AsyncClient": "Client"}

# Source lines worth showing next to their twin, in this order.
_SHOWCASE = (
    "class AsyncClient",
    "async def connect(",
    "await AsyncStream.connect(",
    "async def get(",
    "await self._stream.read(",
    "async def __aenter__",
    "IS_ASYNC = True",
)


def run_demo(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    requests = max(10, int(getattr(args, "requests", 2000)))
    root = Path.cwd()
    if not (root / SOURCE).is_file():
        print(
            f"ambidex demo: {SOURCE} not found under {root}.\n"
            "The demo runs the gibson example that ships in the ambidex repository: "
            "run it from the root of a checkout (cd ambidex && ambidex demo).",
            file=sys.stderr,
        )
        return 2
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        gibson: Any = importlib.import_module("examples.gibson")
        server_module: Any = importlib.import_module("examples.gibson.server")
    except ImportError as exc:
        print(f"ambidex demo: cannot import the gibson example: {exc}", file=sys.stderr)
        return 2

    print("ambidex demo: one client written once, run blocking and on asyncio\n")
    if not _show_generation(root):
        return 1

    with server_module.ServerThread() as server:
        print(f"2. Server: gibson on 127.0.0.1:{server.port} (asyncio, in-memory, own thread)\n")
        _show_both_clients(gibson, server.port)
        _show_throughput(gibson, server.port, requests)
    print(f"5. Server stopped. Whole demo: {time.perf_counter() - started:.1f} s.")
    print(
        "\nNext: examples/gibson/README.md walks through each step; "
        "python tools/bench/gibson.py measures them properly."
    )
    return 0


# -- 1. the generator ----------------------------------------------------------------


def _show_generation(root: Path) -> bool:
    from ambidex._config import load_config
    from ambidex.codegen import to_sync

    source = (root / SOURCE).read_text(encoding="utf-8")
    table = load_config(root).table
    result = to_sync({str(SOURCE): source}, table=table, renames=RENAMES)
    print(f"1. Generate: {SOURCE} (asyncio, the source) -> blocking twin, in memory")
    if result.failed:
        print("   the generator refused the source:")
        for diagnostic in result.diagnostics:
            print(f"     {diagnostic}")
        return False
    output = result.outputs[str(SOURCE)]
    before, after = source.splitlines(), output.splitlines()
    rewritten = dropped = added = 0
    pairs: dict[str, tuple[str, str]] = {}
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace":
            common = min(i2 - i1, j2 - j1)
            rewritten += common
            dropped += (i2 - i1) - common
            added += (j2 - j1) - common
            for old, new in zip(before[i1 : i1 + common], after[j1 : j1 + common], strict=True):
                for marker in _SHOWCASE:
                    if marker in old and marker not in pairs:
                        pairs[marker] = (old.strip(), new.strip())
        elif tag == "delete":
            dropped += i2 - i1
        elif tag == "insert":
            added += j2 - j1
    print(
        f"   {len(before)} lines in, {len(after)} out: {rewritten} rewritten, "
        f"{dropped} dropped (asyncio-only: tasks, futures, the FIFO of waiters), "
        f"{added} added; the rest kept byte for byte"
    )
    for marker in _SHOWCASE:
        if marker in pairs:
            old, new = pairs[marker]
            print(f"     - {old}\n     + {new}")
    print(f"   committed twin {TWIN}: {_twin_state(root)}")
    print()
    return True


def _twin_state(root: Path) -> str:
    """What ``ambidex generate --check`` says of the gibson pair alone."""
    from ambidex._config import load_config
    from ambidex.codegen._generate import passes_check, read_pairs

    config = load_config(root)
    for pair in read_pairs(config):
        if pair.source.resolve() == (root / SOURCE).parent.resolve():
            if passes_check(config, pair):
                return "current (`ambidex generate --check` keeps it so in CI)"
            return "STALE: run `ambidex generate`"
    return "not configured in [[tool.ambidex.generate]] of pyproject.toml"


# -- 3. both clients -------------------------------------------------------------------


def _show_both_clients(gibson: Any, port: int) -> None:
    print("3. Both colours, one server:")
    with gibson.Client.connect("127.0.0.1", port, timeout=5) as client:
        _say("sync ", 'client.set("greeting", "hello")', client.set("greeting", "hello"))
        _say("sync ", 'client.get("greeting")', client.get("greeting"))

    async def async_part() -> None:
        async with await gibson.AsyncClient.connect("127.0.0.1", port, timeout=5) as client:
            _say("async", 'await client.get("greeting")', await client.get("greeting"))
            _say(
                "async",
                'await client.set(b"raw", b"\\x00\\x01")',
                await client.set(b"raw", b"\0\1"),
            )
            _say("async", 'await client.delete("greeting")', await client.delete("greeting"))

    asyncio.run(async_part())
    with gibson.Client.connect("127.0.0.1", port, timeout=5) as client:
        _say("sync ", 'client.get("greeting")', client.get("greeting"))
        _say("sync ", 'client.get_many(["raw", "nope"])', client.get_many(["raw", "nope"]))
    print()


def _say(colour: str, call: str, result: object) -> None:
    print(f"   {colour} {call:<42} -> {result!r}")


# -- 4. throughput ---------------------------------------------------------------------


def _show_throughput(gibson: Any, port: int, requests: int) -> None:
    rows: list[tuple[str, float]] = []
    with gibson.Client.connect("127.0.0.1", port, timeout=10) as client:
        client.set("k", b"v" * 32)
        rows.append(("sync, one at a time", _rate(requests, lambda: _serial(client, requests))))
        keys = ["k"] * requests
        rows.append(("sync, batched get_many", _rate(requests, lambda: client.get_many(keys))))

    async def async_part() -> None:
        async with await gibson.AsyncClient.connect("127.0.0.1", port, timeout=10) as client:
            rows.append(
                ("async, one at a time", await _arate(requests, _aserial(client, requests)))
            )
            for tasks in (10, 100):
                label = f"async, {tasks} tasks, one connection"
                rows.append((label, await _arate(requests, _atasks(client, requests, tasks))))

    asyncio.run(async_part())
    base = rows[0][1]
    print(f"4. Throughput: {requests} GETs per row, each on one connection")
    print(f"   {'client':<36}{'requests/s':>12}{'vs first row':>14}")
    for label, rate in rows:
        print(f"   {label:<36}{rate:>12,.0f}{rate / base:>13.1f}x")
    print("   Measured just now, server in a thread of this process: noisy, but the shape holds.")
    print("   Pipelining pays in both colours: a batch shares one round trip, and tasks")
    print("   sharing a connection overlap their waits. One at a time, each colour waits a")
    print("   round trip per request (the async client turns the event loop twice: it writes,")
    print("   then wakes for the reply); with the server in this process those rows mostly")
    print("   measure thread hand-offs. tools/bench/gibson.py runs the server on its own.\n")


def _serial(client: Any, n: int) -> None:
    for _ in range(n):
        client.get("k")


def _rate(n: int, work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return n / max(time.perf_counter() - start, 1e-9)


async def _arate(n: int, work: Awaitable[object]) -> float:
    start = time.perf_counter()
    await work
    return n / max(time.perf_counter() - start, 1e-9)


async def _aserial(client: Any, n: int) -> None:
    for _ in range(n):
        await client.get("k")


async def _atasks(client: Any, n: int, tasks: int) -> None:
    async def worker(count: int) -> None:
        for _ in range(count):
            await client.get("k")

    share, extra = divmod(n, tasks)
    await asyncio.gather(*(worker(share + (i < extra)) for i in range(tasks)))
