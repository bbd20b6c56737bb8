"""Benchmark the gibson clients: one at a time vs pipelined, both colours, and the parser.

    python tools/bench/gibson.py [--requests N] [--runs R] [--server process|thread]
                                 [--placement same-cpu|spread|both]

Run from the repo root (it imports ``examples.gibson``). One run measures, each
against the example server with N GETs of a 32-byte value on ONE connection,
the median of R runs taken round robin:

* raw socket, one at a time -- a hand-written blocking loop (struct + recv),
  no sans-IO, no ambidex.io: the floor of per-request overhead, the baseline;
* sync Client (the generated one), one at a time, and batched (``get_many``);
* async AsyncClient (the source), one at a time; 1, 10 and 100 tasks sharing
  the connection; and batched (``get_many``);
* raw asyncio, one at a time -- a hand-written BufferedProtocol, one future
  per GET: the floor of an asyncio client (two turns of the loop per request).

Then client CPU per GET in each colour, the CPU of one turn of asyncio's loop,
and the goal of issue 13 section 3 (async one at a time >= 1.0x sync) judged
on this run, with the load average before and after.

Then the parser alone, no sockets: 100k VALUE replies fed to the client
machine in 64 KiB chunks (what a driver does), against a hand-rolled
``struct.unpack_from`` loop over the same bytes.

Placement (tools/bench/_placement.py): the one-at-a-time rows run with the
client and the server pinned to one CPU (``same-cpu``) and to two (``spread``),
by default both, each row saying which; the rows with many GETs in flight run
``spread``. A wake-up from the other CPU costs a process ~45 us of CPU on the
2-vCPU VM, so unpinned runs were bimodal. The goal counts as met only when it
is met in every placement reported.

The server runs in a separate process by default, so it does not share the
client's GIL (``--server thread`` cannot be placed: its rows say ``unpinned``).
The machine has 2 cores and other work runs on it: the numbers are noisy;
compare rows within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ambidex.sansio import NEED_DATA  # noqa: E402
from examples.gibson import AsyncClient, Client  # noqa: E402
from examples.gibson.protocol import (  # noqa: E402
    HEADER,
    ClientConnection,
    Code,
    Get,
    Value,
    encode_reply,
    encode_request,
)
from examples.gibson.server import ServerThread  # noqa: E402
from tools.bench import _placement  # noqa: E402

VALUE = b"v" * 32
KEY = "bench-key"


@contextmanager
def server(kind: str) -> Iterator[tuple[int, int | None]]:
    """(port, the server's pid); the pid is None for a server in a thread."""
    if kind == "thread":
        with ServerThread() as running:
            yield running.port, None
        return
    process = subprocess.Popen(
        [sys.executable, "-m", "examples.gibson", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "gibson server on HOST:PORT"
        yield int(line.rsplit(":", 1)[1]), process.pid
    finally:
        process.terminate()
        process.wait(10)


def best(runs: int, n: int, work: Callable[[], object]) -> float:
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        rates.append(n / (time.perf_counter() - start))
    return max(rates)


def raw_socket_loop(port: int, n: int) -> None:
    """What a person writes by hand: send a GET, read 7 bytes, read the payload."""
    request = encode_request(Get(KEY.encode()))
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(n):
            sock.sendall(request)
            header = _recv_exactly(sock, HEADER.size)
            code, _encoding, size = HEADER.unpack(header)
            payload = _recv_exactly(sock, size)
            assert code == Code.VALUE and payload == VALUE


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


# Each row returns (wall seconds, client CPU seconds) for its n GETs, the
# clock started after one untimed GET on the open connection.


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    return time.perf_counter() - start[0], time.process_time() - start[1]


def _sync_row(port: int, n: int, batched: bool) -> tuple[float, float]:
    with Client.connect("127.0.0.1", port, timeout=30) as client:
        client.get(KEY)
        start = _clock()
        if batched:
            client.get_many([KEY] * n)
        else:
            for _ in range(n):
                client.get(KEY)
        return _since(start)


async def _async_row(port: int, n: int, tasks: int | None, batched: bool) -> tuple[float, float]:
    """``tasks=None``: one await after the other in the calling task."""
    async with await AsyncClient.connect("127.0.0.1", port, timeout=30) as client:

        async def worker(count: int) -> None:
            for _ in range(count):
                await client.get(KEY)

        await client.get(KEY)
        start = _clock()
        if batched:
            await client.get_many([KEY] * n)
        elif tasks is None:
            await worker(n)
        else:
            share, extra = divmod(n, tasks)
            await asyncio.gather(*(worker(share + (i < extra)) for i in range(tasks)))
        return _since(start)


def _raw_row(port: int, n: int) -> tuple[float, float]:
    start = _clock()
    raw_socket_loop(port, n)
    return _since(start)


async def _raw_asyncio_row(port: int, n: int) -> tuple[float, float]:
    """The asyncio floor: a hand-written BufferedProtocol, one future per GET,
    no sans-IO, no checks (it assumes each reply arrives in one read)."""
    loop = asyncio.get_running_loop()
    request = encode_request(Get(KEY.encode()))

    class Floor(asyncio.BufferedProtocol):
        future: asyncio.Future[bytes]
        view = memoryview(bytearray(65536))

        def get_buffer(self, sizehint: int) -> memoryview:
            return self.view

        def buffer_updated(self, nbytes: int) -> None:
            self.future.set_result(self.view[:nbytes].tobytes())

    transport, floor = await loop.create_connection(Floor, "127.0.0.1", port)
    try:
        start = _clock()
        for _ in range(n):
            floor.future = loop.create_future()
            transport.write(request)
            reply = await floor.future
            assert len(reply) == HEADER.size + len(VALUE)
        return _since(start)
    finally:
        transport.close()


def loop_iteration_cost(n: int = 200_000) -> float:
    """CPU per turn of asyncio's own loop (one ``await asyncio.sleep(0)``: a
    select with timeout 0, one callback), in microseconds."""

    async def turns() -> float:
        start = time.process_time()
        for _ in range(n):
            await asyncio.sleep(0)
        return (time.process_time() - start) / n * 1e6

    return min(asyncio.run(turns()) for _ in range(3))


SYNC_ONE = "sync Client, one at a time"
ASYNC_ONE = "async AsyncClient, one at a time"


def one_at_a_time_rows(port: int, n: int) -> list[tuple[str, Callable[[], tuple[float, float]]]]:
    """The rows that wait on every reply: run in each placement asked for."""
    return [
        ("raw socket loop, one at a time", lambda: _raw_row(port, n)),
        (SYNC_ONE, lambda: _sync_row(port, n, batched=False)),
        (ASYNC_ONE, lambda: asyncio.run(_async_row(port, n, None, batched=False))),
        (
            "raw asyncio BufferedProtocol, one at a time",
            lambda: asyncio.run(_raw_asyncio_row(port, n)),
        ),
    ]


def _tasks(port: int, n: int, tasks: int) -> tuple[float, float]:
    return asyncio.run(_async_row(port, n, tasks, batched=False))


def busy_rows(port: int, n: int) -> list[tuple[str, Callable[[], tuple[float, float]]]]:
    """The rows with many GETs in flight (and the one-task row, the same path as
    one at a time through ``gather``, to compare with the ten and the hundred):
    run in one placement."""
    rows: list[tuple[str, Callable[[], tuple[float, float]]]] = [
        ("sync Client, batched get_many", lambda: _sync_row(port, n, batched=True)),
    ]
    for count in (1, 10, 100):
        name = f"async AsyncClient, {count} task{'s' * (count > 1)}, one conn"
        rows.append((name, partial(_tasks, port, n, count)))
    rows.append(
        (
            "async AsyncClient, batched get_many",
            lambda: asyncio.run(_async_row(port, n, None, batched=True)),
        )
    )
    return rows


# One result row: (row name, placement name, requests/s, client CPU us per GET).
Result = tuple[str, str, float, float]


def measure_clients(
    port: int, server_pid: int | None, n: int, runs: int, placement: str
) -> list[Result]:
    """Every row ``runs`` times, round robin (a burst of load from elsewhere on
    the machine then costs every row one run, not one row all of its runs);
    within a round each placement in turn. The median per row and placement."""
    with Client.connect("127.0.0.1", port, timeout=30) as client:
        client.set(KEY, VALUE)
    groups = [(p, one_at_a_time_rows(port, n)) for p in _placement.chosen(placement)]
    groups.append((_placement.busy(placement), busy_rows(port, n)))
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(runs):
        for wanted, rows in groups:
            with _placement.pinned(wanted, server_pid) as placed:
                for label, row in rows:
                    samples.setdefault((label, placed.name), []).append(row())
    results = []
    for (label, where), times in samples.items():
        wall = statistics.median(t[0] for t in times)
        cpu = statistics.median(t[1] for t in times)
        results.append((label, where, n / wall, cpu / n * 1e6))
    return results


def measure_parser(replies: int, runs: int) -> list[tuple[str, float, float]]:
    wire = encode_reply(Value(VALUE)) * replies
    chunks = [wire[i : i + 65536] for i in range(0, len(wire), 65536)]
    requests = [Get(b"k")] * replies

    def sansio_machine() -> None:
        conn = ClientConnection()
        conn.send_many(requests)
        count = 0
        for chunk in chunks:
            conn.receive_data(chunk)
            while conn.next_event() is not NEED_DATA:
                count += 1
        assert count == replies

    def hand_rolled() -> None:
        # No limits, no validation, no pairing, no state across chunks: the floor.
        offset, count, unpack = 0, 0, HEADER.unpack_from
        while offset < len(wire):
            _code, _encoding, size = unpack(wire, offset)
            offset += HEADER.size
            _payload = wire[offset : offset + size]
            offset += size
            count += 1
        assert count == replies

    rows = []
    for label, work in (
        ("sans-IO ClientConnection (64 KiB chunks)", sansio_machine),
        ("hand-rolled unpack_from loop (one buffer)", hand_rolled),
    ):
        rate = best(runs, replies, work)
        rows.append((label, rate, rate * len(wire) / replies / 1e6))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--replies", type=int, default=100_000)
    parser.add_argument("--server", choices=("process", "thread"), default="process")
    _placement.add_option(parser)
    args = parser.parse_args()
    load_before = _load()

    print(
        f"gibson: {args.requests} GETs (32-byte value) per row on one connection, "
        f"median of {args.runs}; server in a {args.server}; placement {args.placement}; "
        f"Python {sys.version.split()[0]}"
    )
    with server(args.server) as (port, server_pid):
        results = measure_clients(port, server_pid, args.requests, args.runs, args.placement)
    places = list(dict.fromkeys(where for _label, where, _rate, _cpu in results))

    def rate_of(label: str, where: str) -> float:
        return next(r for lb, w, r, _c in results if lb == label and w == where)

    def cpu_of(label: str, where: str) -> float:
        return next(c for lb, w, _r, c in results if lb == label and w == where)

    # Ratios within a placement: against the sync client and the raw loop of the
    # same placement (the busy rows' placement is always one of the chosen).
    print(
        f"\n{'client':<44}{'placement':>10}{'requests/s':>12}{'vs sync 1-by-1':>16}"
        f"{'vs raw loop':>13}{'CPU us/GET':>12}"
    )
    for label, where, rate, cpu in results:
        base = rate_of(SYNC_ONE, where)
        raw = rate_of("raw socket loop, one at a time", where)
        print(
            f"{label:<44}{where:>10}{rate:>12,.0f}{rate / base:>15.2f}x{rate / raw:>12.2f}x"
            f"{cpu:>12.1f}"
        )

    for where in places:
        sync_cpu, async_cpu = cpu_of(SYNC_ONE, where), cpu_of(ASYNC_ONE, where)
        print(
            f"\nclient CPU per GET, one at a time, {where} (median of {args.runs}): "
            f"sync {sync_cpu:.1f} us, async {async_cpu:.1f} us "
            f"(async/sync {async_cpu / sync_cpu:.2f}x)"
        )
    turn = loop_iteration_cost()
    print(
        f"one turn of asyncio's loop (await asyncio.sleep(0)): {turn:.2f} us of CPU; an async "
        f"request one at a time takes two turns, a blocking one none"
    )
    print(
        f"\nparser alone: {args.replies:,} VALUE replies of {len(VALUE)} bytes, best of {args.runs}"
    )
    print(f"\n{'parser':<44}{'replies/s':>12}{'MB/s':>10}")
    for label, rate, mbps in measure_parser(args.replies, args.runs):
        print(f"{label:<44}{rate:>12,.0f}{mbps:>10.1f}")
    ratios = [(where, rate_of(ASYNC_ONE, where) / rate_of(SYNC_ONE, where)) for where in places]
    met = all(ratio >= 1.0 for _where, ratio in ratios)
    shown = ", ".join(f"{where} {ratio:.2f}x" for where, ratio in ratios)
    print(
        f"\ngoal (issue 13, section 3): async one at a time >= 1.0x the sync client: "
        f"{shown}: {'met' if met else 'NOT met'}; "
        f"load before the run: {load_before}, after: {_load()}"
    )
    print(_placement.RULE)
    print("\nNoisy numbers: a shared 2-core machine; compare rows within this run.")



def _load() -> str:
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
