"""Benchmark the RESP client (examples/resp) against redis-py, in one run.

    python tools/bench/resp.py [--requests N] [--runs R] [--placement same-cpu|spread|both]

Run from the repo root. It starts its own redis-server (no persistence) on a
free loopback port and measures, as operations per second, the MEDIAN of R
runs, the contenders of a row taking turns run by run (so a burst of load from
elsewhere on the machine hits them alike). The async one-at-a-time rows, whose
goal is judged on the ratio itself, go finer: 15*R short rounds (N/40 GETs per
contender and round, every contender connected in one event loop and measured
in every round, the order rotated), the ratio the MEDIAN of the rounds' ratios,
printed with its quartiles and beside the raw Protocol floor's ratio from the
same rounds (one long run per contender saw the floor itself move 1.13-1.85x
redis-py+hiredis within 20 minutes: a wake-up's cost drifts):

* sync GET one at a time (100-byte value);
* async GET one at a time (``AsyncClient(host, port)``: the default client),
  with a hand-written raw asyncio ``BufferedProtocol`` client in the same runs:
  one write, one future, no checks -- the floor any asyncio client can reach
  (two loop turns, four system calls per GET). Its line below the table gives
  wall time, client CPU and sleeps (voluntary context switches) per GET for
  each contender: on a quiet machine most of a one-at-a-time GET is waiting
  (the server, and waking the client's CPU), which no client can shorten;
* the same two ways more, deadlines alike: redis-py's default is a 5 s
  ``socket_timeout`` (an ``asyncio.timeout`` around every read: a loop timer
  always scheduled) where ``AsyncClient``'s is none; so ambidex with
  ``timeout=5`` against redis-py's default, and ambidex's default against
  redis-py with ``socket_timeout=None`` (information rows: the goal is the
  defaults' row);
* async GET from 50 concurrent tasks: redis-py with its pool of 50; ambidex's
  default client (auto-pipelined: ONE connection), and its pool of 50
  (``auto_pipeline=False``);
* a pipeline of 1000 GETs, sync and async;
* parsing only: 100k bulk replies fed from memory in 64 KiB chunks;
* loop iterations per async GET one at a time, and the CPU time of a 10 MB
  GET in each colour.

Placement (tools/bench/_placement.py): the one-at-a-time rows (sync and
async GET, with the raw Protocol floor) run with the client and the server
pinned to one CPU (``same-cpu``) and to two (``spread``), by default both,
each row saying which; the rows with many GETs in flight, the 10 MB GET and
the loop-turn count run ``spread``. A one-at-a-time GET is mostly waiting for
the server, and on the 2-vCPU VM a wake-up from the other CPU costs every
client tens of us per round trip, so unpinned runs were bimodal. A goal is
met only when it is met in every placement reported.

Client rows compare ambidex (pure-Python parser, the default; and with the
hiredis machine) with redis-py with hiredis (its default when hiredis is
installed) and with its pure-Python parser; the ratio column is ambidex
(pure-Python parser) / redis-py+hiredis. Then ``redis-benchmark -t get`` with
and without ``-P 16``: the C client's ceiling on this machine.

The machine has 2 cores shared by the client, the server and whatever else is
running: numbers are noisy. Compare rows within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import hiredis  # noqa: E402
import redis  # noqa: E402
import redis.asyncio  # noqa: E402
from redis._parsers import (  # noqa: E402
    _AsyncHiredisParser,
    _AsyncRESP2Parser,
    _HiredisParser,
    _RESP2Parser,
)
from redis._parsers.encoders import Encoder  # noqa: E402
from redis._parsers.socket import SocketBuffer  # noqa: E402

from ambidex.sansio import NEED_DATA  # noqa: E402
from examples.resp import AsyncClient, Client, RespParser  # noqa: E402
from examples.resp._hiredis import HiredisParser  # noqa: E402
from tools.bench import _placement, _rounds, _servers  # noqa: E402
from tools.bench._rounds import spread_of  # noqa: E402

KEY = "bench:key"
VALUE = b"v" * 100
TASKS = 50
PIPELINE = 1000


@contextmanager
def redis_server() -> Iterator[tuple[int, int]]:
    """A redis-server on a free port: yields (port, its pid)."""
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not on PATH")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--loglevel", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def interleaved(runs: int, measures: dict[str, Callable[[], float]]) -> dict[str, float]:
    """The median of ``runs`` results of each measure, the measures taking turns."""
    results: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(runs):
        for name, measure in measures.items():
            results[name].append(measure())
    return {name: statistics.median(values) for name, values in results.items()}


# -- sync ------------------------------------------------------------------------------


def sync_get_one_at_a_time(client: Any, n: int) -> float:
    get = client.get
    start = time.perf_counter()
    for _ in range(n):
        get(KEY)
    return n / (time.perf_counter() - start)


def sync_pipeline(client: Any, n: int) -> float:
    rounds = max(1, n // PIPELINE)
    start = time.perf_counter()
    for _ in range(rounds):
        pipe = client.pipeline(transaction=False)
        for _ in range(PIPELINE):
            pipe.get(KEY)
        replies = pipe.execute()
        assert len(replies) == PIPELINE and replies[-1] == VALUE
    return rounds * PIPELINE / (time.perf_counter() - start)


# -- async -----------------------------------------------------------------------------


async def async_get_one_at_a_time(client: Any, n: int) -> float:
    get = client.get
    start = time.perf_counter()
    for _ in range(n):
        await get(KEY)
    return n / (time.perf_counter() - start)


class RawProtocolClient(asyncio.BufferedProtocol):
    """The floor of an asyncio client, for GET of the bench's key only: the
    command prebuilt, each reply a fixed number of bytes; one future per GET,
    resolved in ``buffer_updated``. No parser, no FIFO, no checks."""

    COMMAND = b"*2\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (3, b"GET", len(KEY), KEY.encode())
    REPLY = len(b"$%d\r\n" % len(VALUE)) + len(VALUE) + 2

    def __init__(self) -> None:
        self._view = memoryview(bytearray(65536))
        self._have = 0
        self._waiter: asyncio.Future[bytes] | None = None
        self._transport: asyncio.Transport | None = None

    @classmethod
    async def connect(cls, port: int) -> RawProtocolClient:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(cls, "127.0.0.1", port)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view[self._have:]

    def buffer_updated(self, nbytes: int) -> None:
        self._have += nbytes
        if self._have >= self.REPLY and self._waiter is not None:
            reply = self._view[6:self.REPLY - 2].tobytes()
            self._have = 0
            self._waiter.set_result(reply)

    async def get(self, key: str) -> bytes:
        assert self._transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(self.COMMAND)
        return await self._waiter

    async def aclose(self) -> None:
        if self._transport is not None:
            self._transport.close()
            await asyncio.sleep(0)  # the socket closes on the next turn


@dataclass
class Rounds:
    """What :func:`one_at_a_time_rounds` measured: per contender, one entry per
    round (GETs per second, and per GET: wall us, client CPU us, sleeps)."""

    rate: dict[str, list[float]]
    wall: dict[str, list[float]]
    cpu: dict[str, list[float]]
    sleeps: dict[str, list[float]]

    def ratios(self, key: str, base: str = "rp_hi") -> list[float]:
        """``key``'s rate over ``base``'s, round by round (the two measured
        within the same round, a few tens of ms apart)."""
        return [a / b for a, b in zip(self.rate[key], self.rate[base], strict=True)]


def one_at_a_time_rounds(makers: dict[str, Callable[[], Any]], rounds: int,
                         per_round: int) -> Rounds:
    """Every contender connected at once in ONE event loop, then ``rounds``
    rounds of ``per_round`` GETs one at a time each, the contenders taking
    turns inside every round (the order rotated round by round, so none
    always follows the same other).

    Why rounds this short: a one-at-a-time GET is mostly waiting for a
    wake-up, and what a wake-up costs drifts from second to second with
    whatever else the machine runs (session 8 saw the raw Protocol floor move
    1.13-1.85x redis-py+hiredis within 20 minutes). Two long runs taken a few
    seconds apart see different machines; two rounds taken tens of ms apart
    see nearly the same one, so the ratio of each round is fair even when the
    rates are not, and the median of many such ratios (with its quartiles)
    says how sure the number is."""
    keys = list(makers)
    def empty() -> dict[str, list[float]]:
        return {key: [] for key in keys}

    result = Rounds(empty(), empty(), empty(), empty())
    usage = resource.getrusage
    self_ = resource.RUSAGE_SELF

    async def run() -> None:
        clients: dict[str, Any] = {}
        try:
            for key in keys:
                client = makers[key]()
                if asyncio.iscoroutine(client):
                    client = await client
                clients[key] = client
                await async_get_one_at_a_time(client, per_round)  # warm up
            for r in range(rounds):
                for key in _rounds.rotated(keys, r):
                    cpu, sleeps = time.process_time(), usage(self_).ru_nvcsw
                    rate = await async_get_one_at_a_time(clients[key], per_round)
                    cpu = (time.process_time() - cpu) / per_round * 1e6
                    result.rate[key].append(rate)
                    result.wall[key].append(1e6 / rate)
                    result.cpu[key].append(cpu)
                    result.sleeps[key].append((usage(self_).ru_nvcsw - sleeps) / per_round)
        finally:
            for client in clients.values():
                if isinstance(client, AsyncClient):
                    await client.close()
                else:
                    await client.aclose()

    asyncio.run(run())
    return result


async def async_get_concurrent(client: Any, n: int) -> float:
    per_task = n // TASKS

    async def worker() -> None:
        get = client.get
        for _ in range(per_task):
            await get(KEY)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(TASKS)))
    return per_task * TASKS / (time.perf_counter() - start)


async def async_pipeline(client: Any, n: int) -> float:
    rounds = max(1, n // PIPELINE)
    start = time.perf_counter()
    for _ in range(rounds):
        pipe = client.pipeline(transaction=False)
        for _ in range(PIPELINE):
            pipe.get(KEY)
        replies = await pipe.execute()
        assert len(replies) == PIPELINE and replies[-1] == VALUE
    return rounds * PIPELINE / (time.perf_counter() - start)


# -- parsing only ------------------------------------------------------------------------

PARSE_N = 100_000
CHUNK = 65536


def _parse_chunks() -> list[bytes]:
    data = (b"$%d\r\n" % len(VALUE) + VALUE + b"\r\n") * PARSE_N
    return [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]


def parse_ambidex(machine: Callable[[], Any]) -> Callable[[], float]:
    chunks = _parse_chunks()

    def run() -> float:
        parser = machine()
        next_event = parser.next_event
        count = 0
        start = time.perf_counter()
        for chunk in chunks:
            parser.receive_data(chunk)
            while next_event() is not NEED_DATA:
                count += 1
        elapsed = time.perf_counter() - start
        assert count == PARSE_N
        return PARSE_N / elapsed
    return run


class _ChunkSocket:
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = iter(chunks)

    def recv(self, size: int) -> bytes:
        return next(self._chunks)

    def settimeout(self, timeout: float | None) -> None:
        pass


def parse_redis_py() -> float:
    sock = _ChunkSocket(_parse_chunks())
    parser: Any = cast(Any, _RESP2Parser)(CHUNK)  # redis-py is untyped
    parser._sock = sock
    parser._buffer = SocketBuffer(sock, CHUNK, None)  # type: ignore[arg-type]
    parser.encoder = cast(Any, Encoder)("utf-8", "strict", False)
    read = parser.read_response
    start = time.perf_counter()
    for _ in range(PARSE_N):
        read()
    return PARSE_N / (time.perf_counter() - start)


def parse_hiredis_raw() -> float:
    chunks = _parse_chunks()
    reader = hiredis.Reader()
    gets = reader.gets
    count = 0
    start = time.perf_counter()
    for chunk in chunks:
        reader.feed(chunk)
        while gets() is not False:
            count += 1
    elapsed = time.perf_counter() - start
    assert count == PARSE_N
    return PARSE_N / elapsed


# -- loop iterations and CPU ------------------------------------------------------------


async def _count_iterations(get: Callable[[str], Awaitable[Any]], n: int) -> float:
    """Event-loop iterations per awaited ``get``, one at a time."""
    loop = asyncio.get_running_loop()
    count = 0
    run_once = loop._run_once  # type: ignore[attr-defined]

    def counting() -> None:
        nonlocal count
        count += 1
        run_once()

    loop._run_once = counting  # type: ignore[attr-defined]
    try:
        for _ in range(n):
            await get(KEY)
    finally:
        del loop._run_once  # type: ignore[attr-defined]
    return count / n


def loop_iterations(port: int, runs: int, where: str) -> float:
    n = 2000

    async def ours(parser: str) -> float:
        async with AsyncClient(port=port, parser=parser) as client:
            await client.get(KEY)
            return await _count_iterations(client.get, n)

    async def theirs(parser_class: Any) -> float:
        client = redis.asyncio.Redis(connection_pool=redis.asyncio.ConnectionPool(
            port=port, parser_class=parser_class))
        try:
            await client.get(KEY)
            return await _count_iterations(client.get, n)
        finally:
            await client.aclose()

    async def raw_streams() -> float:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        command = b"*2\r\n$3\r\nGET\r\n$%d\r\n%b\r\n" % (len(KEY), KEY.encode())
        reply_size = len(b"$%d\r\n" % len(VALUE)) + len(VALUE) + 2

        async def get(key: str) -> bytes:
            writer.write(command)
            return await reader.readexactly(reply_size)

        try:
            return await _count_iterations(get, n)
        finally:
            writer.close()
            await writer.wait_closed()

    out = interleaved(runs, {
        "ours": lambda: asyncio.run(ours("python")),
        "ours_hi": lambda: asyncio.run(ours("hiredis")),
        "rp_hi": lambda: asyncio.run(theirs(_AsyncHiredisParser)),
        "rp_py": lambda: asyncio.run(theirs(_AsyncRESP2Parser)),
        "raw": lambda: asyncio.run(raw_streams()),
    })
    print(f"\nloop iterations per async GET, one at a time [{where}] (fewer is better): ambidex "
          f"{out['ours']:.2f}, ambidex+hi {out['ours_hi']:.2f}, redis-py+hi {out['rp_hi']:.2f}, "
          f"redis-py py {out['rp_py']:.2f}; raw asyncio streams {out['raw']:.2f}")
    return out["ours"]


def big_get_cpu(port: int, runs: int, where: str) -> float:
    """CPU time (process_time: this process only, not the server) of a 10 MB GET."""
    key, size, n = "bench:big", 10 * 1024 * 1024, 10
    with Client(port=port) as setup:
        setup.set(key, b"x" * size)

    def sync_cpu() -> float:
        with Client(port=port) as client:
            client.get(key)
            start = time.process_time()
            for _ in range(n):
                assert len(client.get(key)) == size
            return (time.process_time() - start) / n

    async def async_cpu() -> float:
        async with AsyncClient(port=port) as client:
            await client.get(key)
            start = time.process_time()
            for _ in range(n):
                assert len(await client.get(key)) == size
            return (time.process_time() - start) / n

    out = interleaved(runs, {"sync": sync_cpu, "async": lambda: asyncio.run(async_cpu())})
    print(f"10 MB GET [{where}], CPU per call: sync {out['sync'] * 1000:.1f} ms, async "
          f"{out['async'] * 1000:.1f} ms (async/sync {out['async'] / out['sync']:.2f}x)")
    return out["async"] / out["sync"]


# -- table -------------------------------------------------------------------------------


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


RATIOS: dict[str, float] = {}
"""Each row's ratio (ambidex / redis-py+hiredis), for the goals at the end."""

FLOOR: dict[str, dict[str, Any]] = {}
"""By placement: the one-at-a-time row's raw-Protocol ratio and per-GET wall/CPU/sleeps."""

ASYNC_ONE = "async GET, one at a time"


NAME = 52
"""Width of the row-name column."""


def row(name: str, ours: float, ours_hiredis: float | None, rp_hiredis: float | None,
        rp_python: float | None) -> None:
    ratio = f"{ours / rp_hiredis:.2f}x" if rp_hiredis else "-"
    if rp_hiredis:
        RATIOS[name] = ours / rp_hiredis
    print(f"| {name:<{NAME}} | {fmt(ours):>12} | {fmt(ours_hiredis):>12} | {fmt(rp_hiredis):>12} "
          f"| {fmt(rp_python):>12} | {ratio:>6} |", flush=True)


def redis_benchmark(port: int, pipeline: int, n: int) -> str:
    binary = shutil.which("redis-benchmark")
    if binary is None:
        return "redis-benchmark not found"
    args = [binary, "-p", str(port), "-t", "get", "-q", "-n", str(n), "-d", str(len(VALUE))]
    if pipeline > 1:
        args += ["-P", str(pipeline)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120).stdout
    return out.strip().splitlines()[-1].split("\r")[-1].strip() if out.strip() else "(no output)"


def _framing_build() -> str:
    """Whether RespParser's fast paths run compiled here (ambidex.sansio._speedups)."""
    from ambidex.sansio import _counted

    if _counted.accelerated():
        return "compiled (ambidex.sansio._speedups)"
    return "pure Python (no compiled module, or AMBIDEX_NO_EXTENSIONS=1)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=20_000, help="GETs per measured run")
    ap.add_argument("--runs", type=int, default=3,
                    help="runs per row, interleaved; the median is kept (the async "
                    "one-at-a-time rows: 15 rounds of requests/40 GETs per run)")
    _placement.add_option(ap)
    args = ap.parse_args()
    n, runs = args.requests, args.runs
    # One-at-a-time async rows: 15 rounds per run of n/40 GETs per contender
    # (--runs 3, 20000: 45 rounds of 500, ~0.05 s per contender and round spread).
    rounds, per_round = 15 * runs, max(100, n // 40)
    load_before = _load()

    with redis_server() as (port, server_pid):
        with Client(port=port) as setup:
            setup.set(KEY, VALUE)
        one_at_a_time = _placement.chosen(args.placement)
        busy = _placement.busy(args.placement)

        print(f"redis-server on 127.0.0.1:{port}; {n} GETs of a {len(VALUE)}-byte value per "
              f"run, median of {runs} interleaved runs (async one at a time: {rounds} rounds "
              f"of {per_round}, see below); ops/s (higher is better); placement "
              f"{args.placement} (one-at-a-time rows in "
              f"{', '.join(p.name for p in one_at_a_time)}; the rest {busy.name})")
        print(f"'ambidex' is RespParser, its bulk replies and commands framed by "
              f"ambidex.sansio.CountedFraming: {_framing_build()}\n")
        print(f"| {'':<{NAME}} | {'ambidex':>12} | {'ambidex+hi':>12} | {'redis-py+hi':>12} "
              f"| {'redis-py py':>12} | {'ratio':>6} |")
        print(f"|{'-' * (NAME + 2)}|{'-' * 14}|{'-' * 14}|{'-' * 14}|{'-' * 14}|{'-' * 8}|")

        def sync_clients(max_connections: int = 1) -> dict[str, Any]:
            return {
                "ours": Client(port=port, max_connections=max_connections),
                "ours_hi": Client(port=port, parser="hiredis", max_connections=max_connections),
                "rp_hi": redis.Redis(connection_pool=redis.ConnectionPool(
                    port=port, parser_class=_HiredisParser)),
                "rp_py": redis.Redis(connection_pool=redis.ConnectionPool(
                    port=port, parser_class=_RESP2Parser)),
            }

        # Sync rows.
        clients = sync_clients()
        for wanted in one_at_a_time:
            with _placement.pinned(wanted, server_pid) as placed:
                results = interleaved(runs, {name: partial(sync_get_one_at_a_time, c, n)
                                             for name, c in clients.items()})
            row(_placement.label("sync GET, one at a time", placed), results["ours"],
                results["ours_hi"], results["rp_hi"], results["rp_py"])
        with _placement.pinned(busy, server_pid) as placed:
            results = interleaved(runs, {name: partial(sync_pipeline, c, n * 5)
                                         for name, c in clients.items()})
        row(_placement.label(f"sync pipeline of {PIPELINE} GETs", placed), results["ours"],
            results["ours_hi"], results["rp_hi"], results["rp_py"])
        for c in clients.values():
            c.close()

        def async_makers(ours_options: dict[str, Any],
                         rp_options: dict[str, Any]) -> dict[str, Callable[[], Any]]:
            return {
                "ours": lambda: AsyncClient(port=port, **ours_options),
                "ours_hi": lambda: AsyncClient(port=port, parser="hiredis", **ours_options),
                "rp_hi": lambda: redis.asyncio.Redis(connection_pool=redis.asyncio.ConnectionPool(
                    port=port, parser_class=_AsyncHiredisParser, **rp_options)),
                "rp_py": lambda: redis.asyncio.Redis(connection_pool=redis.asyncio.ConnectionPool(
                    port=port, parser_class=_AsyncRESP2Parser, **rp_options)),
            }

        # Async rows with many GETs in flight: each client made and closed
        # inside its own loop, runs interleaved, the median kept.
        def async_row(name: str, bench: Callable[[Any, int], Awaitable[float]], count: int,
                      ours_options: dict[str, Any], rp_options: dict[str, Any]) -> None:
            def measure(make: Callable[[], Any]) -> Callable[[], float]:
                async def one() -> float:
                    client = make()
                    try:
                        await bench(client, count // 10)  # warm up: connections, caches
                        return await bench(client, count)
                    finally:
                        if isinstance(client, AsyncClient):
                            await client.close()
                        else:
                            await client.aclose()
                return lambda: asyncio.run(one())
            out = interleaved(runs, {key: measure(make) for key, make
                                     in async_makers(ours_options, rp_options).items()})
            row(name, out["ours"], out["ours_hi"], out["rp_hi"], out["rp_py"])

        # Async rows one at a time: short rounds, every contender in each
        # (see one_at_a_time_rounds); the ratio is the median of the rounds'.
        def rounds_row(name: str, ours_options: dict[str, Any], rp_options: dict[str, Any],
                       floor: str | None = None) -> None:
            """One row; ``floor``: the placement's name, to run the raw
            Protocol client in the same rounds and keep its ratio and the
            per-GET wall, CPU and sleeps for the goal lines."""
            makers = async_makers(ours_options, rp_options)
            if floor is not None:
                makers["raw"] = lambda: RawProtocolClient.connect(port)
            got = one_at_a_time_rounds(makers, rounds, per_round)
            med = {key: statistics.median(rates) for key, rates in got.rate.items()}
            print(f"| {name:<{NAME}} | {fmt(med['ours']):>12} | {fmt(med['ours_hi']):>12} "
                  f"| {fmt(med['rp_hi']):>12} | {fmt(med['rp_py']):>12} "
                  f"| {spread_of(got.ratios('ours'))[0]:5.2f}x |", flush=True)
            RATIOS[name] = spread_of(got.ratios("ours"))[0]
            if floor is not None:
                FLOOR[floor] = {
                    "ours": spread_of(got.ratios("ours")),
                    "raw": spread_of(got.ratios("raw")),
                    "of_floor": spread_of(got.ratios("ours", "raw")),
                    "per_op": {key: {"wall": statistics.median(got.wall[key]),
                                     "cpu": statistics.median(got.cpu[key]),
                                     "sleeps": statistics.median(got.sleeps[key])}
                               for key in makers}}
                label = "  raw asyncio Protocol (the asyncio floor)"
                print(f"| {label:<{NAME}} | {fmt(med['raw']):>12} | {'':>12} "
                      f"| {fmt(med['rp_hi']):>12} | {'':>12} "
                      f"| {FLOOR[floor]['raw'][0]:5.2f}x |", flush=True)

        for wanted in one_at_a_time:
            with _placement.pinned(wanted, server_pid) as placed:
                rounds_row(_placement.label(ASYNC_ONE, placed), {}, {}, floor=placed.name)
                rounds_row(_placement.label("  both with a 5 s timeout", placed),
                           {"timeout": 5}, {})
                rounds_row(_placement.label("  neither with a timeout", placed),
                           {}, {"socket_timeout": None})
        with _placement.pinned(busy, server_pid) as placed:
            async_row(_placement.label(f"async GET x{TASKS} tasks: default AsyncClient", placed),
                      async_get_concurrent, n * 2, {}, {"max_connections": TASKS})
            async_row(_placement.label(f"async GET x{TASKS} tasks: ambidex pool of {TASKS}",
                                       placed), async_get_concurrent,
                      n * 2, {"max_connections": TASKS, "auto_pipeline": False},
                      {"max_connections": TASKS})
            async_row(_placement.label(f"async pipeline of {PIPELINE} GETs", placed),
                      async_pipeline, n * 5, {}, {})
            busy_name = placed.name

            # Parsing only: the contenders take turns, so a burst of load from
            # elsewhere on the machine hits them alike; best of 2*runs each.
            parsers = {"ours": parse_ambidex(RespParser),
                       "ours_hi": parse_ambidex(HiredisParser),
                       "rp_py": parse_redis_py, "raw_hi": parse_hiredis_raw}
            parsed = dict.fromkeys(parsers, 0.0)
            for _ in range(2 * runs):
                for name, measure in parsers.items():
                    parsed[name] = max(parsed[name], measure())
            ours, ours_hi, rp_py, raw_hi = (parsed[k]
                                            for k in ("ours", "ours_hi", "rp_py", "raw_hi"))
            print(f"| {'parse 100k bulk replies (no I/O)':<{NAME}} | {fmt(ours):>12} "
                  f"| {fmt(ours_hi):>12} | {fmt(raw_hi):>12} | {fmt(rp_py):>12} "
                  f"| {ours / rp_py:>5.2f}x |")
            print("\n(parse row: 'redis-py+hi' is hiredis.Reader itself; the ratio is ambidex "
                  "(RespParser, see above) / redis-py pure-Python)")

            labels = {"ours": "ambidex", "ours_hi": "ambidex+hi", "raw": "raw Protocol",
                      "rp_hi": "redis-py+hi", "rp_py": "redis-py py"}
            for where, floor in FLOOR.items():
                print(f"\nasync GET one at a time [{where}], per GET, medians of the rounds "
                      "(wall us / client CPU us / sleeps):")
                for key, label in labels.items():
                    stats = floor["per_op"][key]
                    print(f"  {label:<13} {stats['wall']:7.1f} / {stats['cpu']:6.1f} / "
                          f"{stats['sleeps']:.2f}   (waiting: "
                          f"{stats['wall'] - stats['cpu']:6.1f} us)")

            iterations = loop_iterations(port, runs, busy_name)
            big_cpu = big_get_cpu(port, runs, busy_name)

            print("\nredis-benchmark (the C client's ceiling on this machine; it runs where "
                  f"this process runs: {busy_name}):")
            print(f"  -t get -q:        {redis_benchmark(port, 1, 100_000)}")
            print(f"  -t get -q -P 16:  {redis_benchmark(port, 16, 1_000_000)}")

    # The goals of issue 13 section 3, judged on this run. Under each
    # one-at-a-time goal, the floor's own ratio against the same goal.
    goals: list[tuple[str, str, float, Callable[[float], bool], str]] = []
    for where, floor in FLOOR.items():
        goals.append(
            (f"async GET one at a time vs redis-py+hiredis [{where}]",
             f">= {ONE_AT_A_TIME_GOAL}x", floor["ours"][0], lambda x: x >= ONE_AT_A_TIME_GOAL,
             f"  (IQR {floor['ours'][1]:.2f}-{floor['ours'][2]:.2f}; ambidex/floor "
             f"{floor['of_floor'][0]:.2f})"))
        goals.append(floor_goal(where, floor["raw"]))
    goals += [
        (f"default AsyncClient, {TASKS} tasks vs redis-py+hiredis", ">= 5x",
         RATIOS[f"async GET x{TASKS} tasks: default AsyncClient [{busy_name}]"],
         lambda x: x >= 5, ""),
        (f"async pipeline of {PIPELINE} vs redis-py+hiredis", ">= 5x",
         RATIOS[f"async pipeline of {PIPELINE} GETs [{busy_name}]"], lambda x: x >= 5, ""),
        ("10 MB GET CPU, async / sync", "<= 1.5x", big_cpu, lambda x: x <= 1.5, ""),
        ("loop iterations per async GET", "2.0", iterations, lambda x: x <= 2.05, ""),
    ]
    print(f"\ngoals (issue 13, section 3); load before the run: {load_before}")
    for name, goal, value, met, note in goals:
        print(f"  {name:<60} {value:6.2f}  goal {goal:<8} "
              f"{'met' if met(value) else 'NOT met'}{note}")
    print(f"  (one at a time, in each placement: the median of {rounds} rounds' ratios, "
          f"{per_round} GETs per contender and round, the contenders taking turns in every "
          f"round; IQR: its quartiles; floor: the raw asyncio Protocol client's ratio in the "
          f"same rounds, the best any asyncio client can do; ambidex/floor: the median of "
          f"the rounds' ambidex over floor, which load moves least)")
    print(_placement.RULE)
    print(f"load after the run: {_load()}")


ONE_AT_A_TIME_GOAL = 1.3
"""Issue 13's goal for an async GET one at a time: ambidex / redis-py+hiredis."""


def floor_goal(
    where: str, raw: tuple[float, float, float], goal: float = ONE_AT_A_TIME_GOAL
) -> tuple[str, str, float, Callable[[float], bool], str]:
    """The goals row for the raw asyncio Protocol floor in placement ``where``:
    its own ratio to redis-py+hiredis (median, quartiles) held against the
    one-at-a-time goal, and what that says about the goal.

    The floor is one write, one future and no checks per GET: the least any
    client that awaits each reply on asyncio's loop can do (two loop turns per
    GET: the reply's callback resolves the future, and the task resumes on the
    next turn). ambidex reads 1.00-1.01x the floor, so where the floor itself is
    under the goal, the goal is out of any such client's reach in that run."""
    median, q1, q3 = raw
    if median >= goal:
        verdict = "the floor reaches it: a client at the floor meets the goal here"
    elif q3 >= goal:
        verdict = (f"the goal sits at the floor's edge (within its IQR {q1:.2f}-{q3:.2f}): "
                   "a client at the floor meets it in some rounds, not in most")
    else:
        verdict = (f"the goal is above the floor (IQR {q1:.2f}-{q3:.2f}): no client that "
                   "awaits each reply on asyncio's loop reached it in this run")
    return (f"  the floor: raw asyncio Protocol vs redis-py+hi [{where}]", f">= {goal}x",
            median, lambda x: x >= goal, f"  ({verdict})")


def _load() -> str:
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


if __name__ == "__main__":
    _servers.stop_servers_on_sigterm()
    main()
