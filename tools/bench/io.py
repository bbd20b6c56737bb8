"""Benchmark ambidex.io against the stdlib readers people use today.

    python tools/bench/io.py [--lines N] [--repeat R]

Each row reads the same bytes from a local server over loopback, until EOF,
and reports the best of R runs (wall clock):

* lines: N lines of 40 bytes, read line by line.
    sync:  Stream.read_until(b"\\n")      vs  socket.makefile("rb").readline()
    async: AsyncStream.read_until(b"\\n") vs  StreamReader.readuntil(b"\\n")
* frames: N length-prefixed frames (4-byte header + 60-byte body).
    sync:  Stream.read_exactly            vs  makefile("rb").read(n)
    async: AsyncStream.read_exactly       vs  StreamReader.readexactly
* offload: N/20 calls of a no-op function hopping to a worker thread, 8 at
  a time: ambidex.offload.run_in_thread (bounded slots) vs asyncio.to_thread.
* dribble: one 64 KiB line arriving 1 byte per receive, searched after each
  byte -- the buffer alone, no sockets: ambidex's resumable search against
  rescanning from the start (what a naive `while sep not in buf` loop does).

Numbers are noisy: the machine has 2 cores and other work runs on it. Compare
rows within one run, not across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from ambidex.io import AsyncStream, IncompleteReadError, Stream
from ambidex.io._buffer import ReceiveBuffer
from ambidex.offload import run_in_thread


def blob_server(blob: bytes) -> tuple[tuple[str, int], Callable[[], None]]:
    """A thread that sends ``blob`` to every connection, then closes it."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(blob)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def close() -> None:
        stop.set()
        thread.join()
        listener.close()

    return listener.getsockname()[:2], close


def best(repeat: int, run: Callable[[], int]) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        count = run()
        times.append(time.perf_counter() - started)
    return min(times), count


# --- lines -------------------------------------------------------------------------


def sync_lines_ambidex(address: tuple[str, int]) -> int:
    n = 0
    with Stream.connect(*address) as s:
        try:
            while True:
                s.read_until(b"\n")
                n += 1
        except IncompleteReadError:
            return n


def sync_lines_makefile(address: tuple[str, int]) -> int:
    n = 0
    with socket.create_connection(address) as sock, sock.makefile("rb") as f:
        while f.readline():
            n += 1
    return n


async def async_lines_ambidex(address: tuple[str, int]) -> int:
    n = 0
    s = await AsyncStream.connect(*address)
    try:
        while True:
            await s.read_until(b"\n")
            n += 1
    except IncompleteReadError:
        return n
    finally:
        await s.close()


async def async_lines_asyncio(address: tuple[str, int]) -> int:
    n = 0
    reader, writer = await asyncio.open_connection(*address)
    try:
        while True:
            await reader.readuntil(b"\n")
            n += 1
    except asyncio.IncompleteReadError:
        return n
    finally:
        writer.close()
        await writer.wait_closed()


# --- frames ------------------------------------------------------------------------

HEADER = struct.Struct("!I")


def sync_frames_ambidex(address: tuple[str, int]) -> int:
    n = 0
    with Stream.connect(*address) as s:
        try:
            while True:
                (size,) = HEADER.unpack(s.read_exactly(4))
                s.read_exactly(size)
                n += 1
        except IncompleteReadError:
            return n


def sync_frames_makefile(address: tuple[str, int]) -> int:
    n = 0
    with socket.create_connection(address) as sock, sock.makefile("rb") as f:
        while header := f.read(4):
            (size,) = HEADER.unpack(header)
            f.read(size)
            n += 1
    return n


async def async_frames_ambidex(address: tuple[str, int]) -> int:
    n = 0
    s = await AsyncStream.connect(*address)
    try:
        while True:
            (size,) = HEADER.unpack(await s.read_exactly(4))
            await s.read_exactly(size)
            n += 1
    except IncompleteReadError:
        return n
    finally:
        await s.close()


async def async_frames_asyncio(address: tuple[str, int]) -> int:
    n = 0
    reader, writer = await asyncio.open_connection(*address)
    try:
        while True:
            (size,) = HEADER.unpack(await reader.readexactly(4))
            await reader.readexactly(size)
            n += 1
    except asyncio.IncompleteReadError:
        return n
    finally:
        writer.close()
        await writer.wait_closed()


# --- dribble -----------------------------------------------------------------------


def dribble_ambidex(size: int) -> int:
    buffer = ReceiveBuffer()
    for _ in range(size - 1):
        buffer.append(b"x")
        buffer.find_separator(b"\r\n", size + 2)
    buffer.append(b"\r\n")
    end = buffer.find_separator(b"\r\n", size + 2)
    assert end == size + 1
    return 1


def dribble_rescan(size: int) -> int:
    buffer = bytearray()
    for _ in range(size - 1):
        buffer += b"x"
        buffer.find(b"\r\n")  # from the start, every time
    buffer += b"\r\n"
    assert buffer.find(b"\r\n") == size - 1
    return 1


SOCKET_CASES: list[tuple[str, str, str, Callable[..., object]]] = [
    # (case, colour, reader, client)
    ("lines", "sync", "ambidex Stream.read_until", sync_lines_ambidex),
    ("lines", "sync", "socket.makefile readline", sync_lines_makefile),
    ("lines", "async", "ambidex AsyncStream.read_until", async_lines_ambidex),
    ("lines", "async", "asyncio StreamReader.readuntil", async_lines_asyncio),
    ("frames", "sync", "ambidex Stream.read_exactly", sync_frames_ambidex),
    ("frames", "sync", "socket.makefile read(n)", sync_frames_makefile),
    ("frames", "async", "ambidex AsyncStream.read_exactly", async_frames_ambidex),
    ("frames", "async", "asyncio StreamReader.readexactly", async_frames_asyncio),
]


async def hop_many(hop: Callable[..., Any], calls: int) -> int:
    async def worker(count: int) -> None:
        for _ in range(count):
            await hop(int)

    await asyncio.gather(*(worker(calls // 8) for _ in range(8)))
    return calls // 8 * 8


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, repeat = args.lines, args.repeat

    blobs = {
        "lines": b"".join(b"%039d\n" % i for i in range(n)),
        "frames": b"".join(HEADER.pack(60) + b"%060d" % i for i in range(n)),
    }
    rows: list[tuple[str, str, float, int]] = []
    for case, blob in blobs.items():
        address, close = blob_server(blob)
        try:
            for name, colour, label, client in SOCKET_CASES:
                if name != case:
                    continue

                def run(
                    client: Callable[..., object] = client,
                    colour: str = colour,
                    address: tuple[str, int] = address,
                ) -> int:
                    result = client(address)
                    if colour == "async":
                        result = asyncio.run(result)  # type: ignore[arg-type]
                    assert isinstance(result, int)
                    return result

                seconds, count = best(repeat, run)
                assert count == n, (label, count)
                rows.append((f"{case} ({colour})", label, seconds, count))
        finally:
            close()

    calls = max(8, n // 20)
    for label, hop in (
        ("ambidex run_in_thread", run_in_thread),
        ("asyncio.to_thread", asyncio.to_thread),
    ):
        seconds, count = best(repeat, lambda hop=hop: asyncio.run(hop_many(hop, calls)))
        rows.append(("offload", label, seconds, count))

    size = 64 * 1024
    for label, fn in (
        ("ambidex ReceiveBuffer (resumes)", dribble_ambidex),
        ("bytearray.find from 0 (rescans)", dribble_rescan),
    ):
        seconds, _ = best(repeat, lambda fn=fn: fn(size))
        rows.append(("dribble 64 KiB", label, seconds, size))

    print(f"python {sys.version.split()[0]}, best of {repeat}, loopback; noisy 2-core machine")
    print(f"{'case':<18} {'reader':<34} {'seconds':>9} {'items/s':>12}")
    for case, label, seconds, count in rows:
        print(f"{case:<18} {label:<34} {seconds:>9.4f} {count / seconds:>12,.0f}")


if __name__ == "__main__":
    main()
