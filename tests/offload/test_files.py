"""open_file: an async file whose calls run on the bounded thread pool."""

from __future__ import annotations

import asyncio
import io
import os
import threading
from typing import Any

import pytest

from ambidex.offload import (
    AsyncFile,
    ThreadPool,
    _files,
    default_thread_pool,
    open_file,
    run_in_thread,
)

# Test set-up touches files through run_in_thread too, so the suite stays clean
# under the blocking-call detector (--ambidex-blocking-intercept).


@pytest.fixture(autouse=True, params=["generator", "iterator", "c"])
def lines_way(request, monkeypatch):
    """``async for`` hands lines out through an async generator up to Python
    3.11 and an ``__anext__`` object from 3.12 on, and through the C
    accelerator's ``AsyncLines`` up to 3.11 when it was built: every test runs
    every way, on every version."""
    if request.param == "c" and _files._compiled() is None:
        if os.environ.get("AMBIDEX_EXPECT_EXTENSIONS"):
            pytest.fail("the test session was to build ambidex.io._speedups")
        pytest.skip("the C accelerator is not built here")
    monkeypatch.setattr(_files, "_LINES_BY_GENERATOR", request.param == "generator")
    monkeypatch.setattr(_files, "_C_LINES", request.param == "c")
    return request.param


async def compiled() -> Any:
    """What open_file gives an AsyncFile it makes: the C accelerator when the test's
    way is "c" (looked up off the loop, as open_file does), else None."""
    return await run_in_thread(lambda: _files._compiled() if _files._C_LINES else None)


async def fd_count() -> int:
    return len(await run_in_thread(os.listdir, "/proc/self/fd"))


async def test_write_then_read_back_text(tmp_path):
    path = tmp_path / "notes.txt"
    async with open_file(path, "w", encoding="utf-8") as f:
        assert await f.write("first line\n") == 11
        await f.write("zweite Zeile\n")
        await f.flush()
    assert f.closed
    async with open_file(path, "r", encoding="utf-8") as f:
        assert await f.readline() == "first line\n"
        assert await f.read() == "zweite Zeile\n"
        assert await f.read() == ""


async def test_the_default_mode_is_binary(tmp_path):
    path = tmp_path / "blob"
    await run_in_thread(path.write_bytes, b"\x00\x01\x02")
    async with open_file(path) as f:
        assert f.mode == "rb"
        assert await f.read(2) == b"\x00\x01"
        assert await f.tell() == 2
        await f.seek(0)
        assert await f.read() == b"\x00\x01\x02"


async def test_async_for_yields_each_line(tmp_path):
    path = tmp_path / "lines.txt"
    await run_in_thread(path.write_text, "a\nb\n\nc")
    async with open_file(path, "r") as f:
        lines = [line async for line in f]
    assert lines == ["a\n", "b\n", "\n", "c"]


async def test_readlines_reads_a_batch_in_one_hop(tmp_path):
    path = tmp_path / "many.txt"
    await run_in_thread(path.write_text, "".join(f"{i}\n" for i in range(100)))
    async with open_file(path, "r") as f:
        batch = await f.readlines(10)
        assert batch[0] == "0\n" and len(batch) < 100
        rest = await f.readlines()
    assert len(batch) + len(rest) == 100


async def test_awaiting_open_file_gives_a_file_to_close_yourself(tmp_path):
    path = tmp_path / "log"
    f = await open_file(path, "ab")
    assert isinstance(f, AsyncFile)
    await f.write(b"one")
    await f.close()
    await f.close()  # idempotent
    assert await run_in_thread(path.read_bytes) == b"one"


async def test_open_errors_propagate(tmp_path):
    with pytest.raises(FileNotFoundError):
        await open_file(tmp_path / "missing")


async def test_file_calls_run_on_the_given_pool(tmp_path):
    path = tmp_path / "x"
    await run_in_thread(path.write_bytes, b"abc")
    pool = ThreadPool(1)
    async with open_file(path, pool=pool) as f:
        reads = await asyncio.gather(f.read(1), f.read(1), f.read(1))
    assert sorted(reads) == [b"a", b"b", b"c"]
    await pool.close()


async def test_a_cancelled_open_closes_the_file_once_its_thread_opens_it(tmp_path):
    fifo = tmp_path / "fifo"
    await run_in_thread(os.mkfifo, fifo)
    pool = ThreadPool(1)
    before = await fd_count()

    async def open_it() -> AsyncFile[bytes]:
        return await open_file(fifo, "rb", pool=pool)

    task = asyncio.create_task(open_it())
    # Until the worker has taken the open (a fixed sleep was too short on a
    # loaded machine: the open was still waiting, so it never ran at all).
    for _ in range(1000):
        if pool.busy == 1:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # the worker is now blocked in open(): no writer yet
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pool.busy == 1  # the open is still running in its thread
    writer = await run_in_thread(os.open, fifo, os.O_WRONLY)  # lets the open complete
    try:
        for _ in range(1000):
            if pool.busy == 0 and await fd_count() == before + 1:
                break
            await asyncio.sleep(0.01)
        assert pool.busy == 0
        # Only the writer is still open: the reader was closed for us.
        assert await fd_count() == before + 1
    finally:
        os.close(writer)
    await pool.close()


# Lines of every kind a text file may hold: the file's newline rule, not
# str.splitlines, decides where they end (a form feed or U+2028 ends none).
MIXED_TEXT = "plain\nwindows\r\nold mac\rform\x0cfeed\nsep\u2028arator\n\nlast"


@pytest.mark.parametrize("newline", [None, "", "\n", "\r\n", "\r"])
async def test_async_for_splits_text_lines_as_the_file_does(tmp_path, newline):
    path = tmp_path / "mixed.txt"
    await run_in_thread(path.write_bytes, MIXED_TEXT.encode() * 3)

    def sync_lines() -> list[str]:
        with open(path, encoding="utf-8", newline=newline) as f:
            return list(f)

    async with open_file(path, "r", encoding="utf-8", newline=newline) as f:
        lines = [line async for line in f]
    assert lines == await run_in_thread(sync_lines)


@pytest.mark.parametrize("mode", ["r", "rb"])
async def test_async_for_over_a_large_file_yields_every_line_in_order(tmp_path, mode):
    # 40,000 lines: several batches, each read while the last is handed out.
    path = tmp_path / "big.txt"
    await run_in_thread(path.write_text, "".join(f"{i:07d} é\n" for i in range(40_000)))
    async with open_file(path, mode) as f:
        lines = [line async for line in f]
    assert len(lines) == 40_000
    expected = "0039999 é\n"
    assert lines[-1] == (expected if mode == "r" else expected.encode())
    assert lines[12_345][:7] in ("0012345", b"0012345")


@pytest.mark.parametrize("mode", ["r", "rb"])
async def test_other_calls_during_async_for_see_the_position_after_the_lines_seen(
    tmp_path, mode
):
    # Lines are read ahead in batches; a read, tell or seek in the middle of
    # the loop must behave as if they had been read one at a time.
    path = tmp_path / "lines.txt"
    text = "".join(f"line {i} - ü\n" for i in range(20_000))
    await run_in_thread(path.write_text, text, "utf-8")

    def sync_story() -> list[object]:
        with open(path, mode, **({"encoding": "utf-8"} if mode == "r" else {})) as f:  # type: ignore[call-overload]
            story: list[object] = []
            for i, _line in enumerate(iter(f.readline, "" if mode == "r" else b"")):
                if i == 2:
                    break
            story.append(f.readline())
            story.append(f.read(5))
            where = f.tell()
            story.append(f.readline())
            f.seek(where)
            story.append(f.readline())
            story.append(len(f.readlines()))
            return story

    async with open_file(path, mode, **({"encoding": "utf-8"} if mode == "r" else {})) as f:  # type: ignore[call-overload]
        story: list[object] = []
        async for i, _ in _enumerate(f):
            if i == 2:
                break
        story.append(await f.readline())
        story.append(await f.read(5))
        where = await f.tell()
        story.append(await f.readline())
        await f.seek(where)
        story.append(await f.readline())
        story.append(len(await f.readlines()))
    assert story == await run_in_thread(sync_story)


async def _enumerate(lines):
    i = 0
    async for line in lines:
        yield i, line
        i += 1


async def test_async_for_resumes_where_a_readline_left_off(tmp_path):
    path = tmp_path / "abc.txt"
    await run_in_thread(path.write_bytes, b"a\nb\nc\nd\n")
    async with open_file(path) as f:
        assert await f.readline() == b"a\n"
        async for line in f:
            assert line == b"b\n"
            break
        assert await f.readline() == b"c\n"
        assert [line async for line in f] == [b"d\n"]


class RecordingText(io.TextIOWrapper):
    """A text file that records the size of each read asked of it."""

    sizes: list[int]

    def read(self, size: int | None = -1) -> str:
        self.sizes.append(-1 if size is None else size)
        return super().read(size)


async def test_text_lines_are_read_in_small_blocks_however_big_the_batch(tmp_path):
    # Issue 13 §1: a batch was one read of up to 512 KiB characters. Strings
    # and buffers that big are mapped fresh from the system for each read and
    # unmapped when freed: 6,500 page faults per 10 MB, text lines costing
    # twice the CPU of binary ones. Each read stays small; batches stay big.
    path = tmp_path / "lines.txt"
    text = "".join(f"{i:099d}\n" for i in range(20_000))  # 2 MB
    await run_in_thread(path.write_text, text, "utf-8")
    raw = await run_in_thread(lambda: open(path, "rb"))
    wrapped = RecordingText(raw, encoding="utf-8")
    wrapped.sizes = []
    f = AsyncFile(wrapped, default_thread_pool(), newline=None, compiled=await compiled())
    try:
        lines = [line async for line in f]
    finally:
        await f.close()
    assert lines == text.splitlines(True)
    assert wrapped.sizes and max(wrapped.sizes) < 64 * 1024


class GatedText(io.TextIOWrapper):
    """A text file whose reads wait at a gate once it is closed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.gate.set()
        self.blocked = threading.Event()

    def read(self, size: int | None = -1) -> str:
        if not self.gate.is_set():
            self.blocked.set()
            self.gate.wait(10)
        return super().read(size)


async def gated_file(tmp_path) -> tuple[AsyncFile[str], GatedText, list[str]]:
    path = tmp_path / "lines.txt"
    lines = [f"{i:099d}\n" for i in range(20_000)]  # 2 MB: many batches
    await run_in_thread(path.write_text, "".join(lines), "utf-8")
    raw = await run_in_thread(lambda: open(path, "rb"))
    wrapped = GatedText(raw, encoding="utf-8")
    f = AsyncFile(wrapped, default_thread_pool(), newline=None, compiled=await compiled())
    return f, wrapped, lines


async def test_cancelling_async_for_while_it_waits_for_a_batch_loses_and_repeats_no_line(
    tmp_path,
):
    f, wrapped, expected = await gated_file(tmp_path)
    seen: list[str] = []

    async def consume() -> None:
        async for line in f:
            if not seen:
                wrapped.gate.clear()  # a batch read from now on waits
            seen.append(line)

    task = asyncio.create_task(consume())
    for _ in range(2000):
        if wrapped.blocked.is_set():
            break
        await asyncio.sleep(0.005)
    assert wrapped.blocked.is_set()
    # The consumer awaits only between batches: it waits for one now.
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 0 < len(seen) < len(expected)
    wrapped.gate.set()
    seen += [line async for line in f]
    await f.close()
    assert seen == expected


async def test_a_timed_out_async_for_leaves_the_file_after_the_last_line_seen(tmp_path):
    f, wrapped, expected = await gated_file(tmp_path)
    seen: list[str] = []

    async def consume() -> None:
        async for line in f:
            if not seen:
                wrapped.gate.clear()
            seen.append(line)

    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(consume(), timeout=0.2)
    assert 0 < len(seen) < len(expected)
    wrapped.gate.set()
    # A readline after the timeout reads the line after the last one seen.
    assert await f.readline() == expected[len(seen)]
    seen.append(expected[len(seen)])
    seen += [line async for line in f]
    await f.close()
    assert seen == expected


class CountingPool(ThreadPool):
    """A thread pool that counts the calls a file makes on it."""

    hops = 0

    async def run(self, fn, /, *args, **kwargs):
        self.hops += 1
        return await super().run(fn, *args, **kwargs)


def page_cache_reads_work_here(path) -> bool:
    """Whether this kernel and file system read from the page cache without
    blocking (``RWF_NOWAIT``); if not, every read must take the thread."""
    if not hasattr(os, "RWF_NOWAIT"):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        os.preadv(fd, [bytearray(1)], 0, os.RWF_NOWAIT)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


async def written(tmp_path, size: int = 1 << 20) -> tuple[os.PathLike[str], bytes]:
    path = tmp_path / "data.bin"
    data = bytes(range(251)) * (size // 251)
    await run_in_thread(path.write_bytes, data)
    return path, data


async def test_binary_reads_of_a_cached_regular_file_take_no_thread_hop(tmp_path):
    # Issue 13 §1: 64 KiB reads were a thread hop each (two cross-thread
    # wake-ups, as for aiofiles). Data the page cache holds is read on the
    # loop with RWF_NOWAIT, which never waits for the disk.
    path, data = await written(tmp_path)
    direct = await run_in_thread(page_cache_reads_work_here, path)
    pool = CountingPool(2)
    async with open_file(path, "rb", pool=pool) as f:
        before = pool.hops
        chunks = []
        while chunk := await f.read(65536):
            chunks.append(chunk)
        reads = pool.hops - before
        assert await f.tell() == len(data)
    await pool.close()
    assert b"".join(chunks) == data
    assert [len(c) for c in chunks[:-1]] == [65536] * (len(chunks) - 1)
    assert reads == (0 if direct else len(chunks) + 1)


async def test_reads_on_the_loop_and_on_the_thread_share_one_position(tmp_path):
    path = tmp_path / "lines.bin"
    data = b"".join(b"line %d\n" % i for i in range(50_000))
    await run_in_thread(path.write_bytes, data)

    def sync_story() -> list[object]:
        with open(path, "rb") as f:
            story: list[object] = [f.read(100), f.readline(), f.read(70_000)]
            story += [f.tell(), f.readline()]
            f.seek(10)
            story += [f.read(5), f.readlines()[-1], f.read(10)]
            return story

    async with open_file(path, "rb") as f:
        story: list[object] = [await f.read(100), await f.readline(), await f.read(70_000)]
        story += [await f.tell(), await f.readline()]
        await f.seek(10)
        story += [await f.read(5), (await f.readlines())[-1], await f.read(10)]
    assert story == await run_in_thread(sync_story)


async def test_a_read_the_page_cache_serves_only_in_part_is_finished_on_the_thread(
    tmp_path, monkeypatch
):
    path, data = await written(tmp_path)
    real = os.preadv
    calls = []

    def partly_cached(fd, buffers, offset, flags=0):
        calls.append(flags)
        if flags and len(calls) % 2 == 0:
            raise BlockingIOError  # the rest is not in the page cache
        view = memoryview(buffers[0])[:1000] if flags else buffers[0]
        return real(fd, [view], offset, flags)

    monkeypatch.setattr(os, "preadv", partly_cached)
    async with open_file(path, "rb") as f:
        first = await f.read(65536)
        second = await f.read(65536)
        where = await f.tell()
    assert first + second == data[: 2 * 65536]
    assert where == 2 * 65536


async def test_a_file_system_without_page_cache_reads_falls_back_to_the_thread(
    tmp_path, monkeypatch
):
    path, data = await written(tmp_path)
    calls = []

    def unsupported(fd, buffers, offset, flags=0):
        calls.append(flags)
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr(os, "preadv", unsupported)
    pool = CountingPool(1)
    async with open_file(path, "rb", pool=pool) as f:
        before = pool.hops
        assert await f.read(65536) == data[:65536]
        assert await f.read(65536) == data[65536 : 2 * 65536]
        reads = pool.hops - before
    await pool.close()
    assert len(calls) <= 1  # tried once, then never again for this file
    assert reads == 2


async def test_each_anext_takes_its_line_when_awaited_and_one_closed_unawaited_takes_none(
    tmp_path, lines_way
):
    path = tmp_path / "lines.txt"
    path.write_text("".join(f"{i}\n" for i in range(6)))
    async with open_file(path, "r", encoding="utf-8") as f:
        it: Any = aiter(f)  # its __anext__ gives a coroutine-like awaitable (close, send)
        assert (type(it).__name__ == "AsyncLines") == (lines_way == "c")
        first = await anext(it)  # reads the batch
        second, third = it.__anext__(), it.__anext__()  # two before either is awaited
        assert (first, await third, await second) == ("0\n", "1\n", "2\n")
        # A step closed or cancelled before it ran takes no line. (Not so for an
        # async generator: a step thrown into ends it, and from 3.13 a closed one.)
        if lines_way != "generator":
            it.__anext__().close()
        # Driven by hand, as a coroutine runner would: the value in StopIteration.
        with pytest.raises(StopIteration) as stop:
            it.__anext__().__await__().send(None)
        assert stop.value.value == "3\n"
        if lines_way != "generator":
            cancelled = asyncio.ensure_future(anext(it))
            cancelled.cancel()
            with pytest.raises(asyncio.CancelledError):
                await cancelled
        pending = it.__anext__()
        assert await pending == "4\n"
        with pytest.raises(RuntimeError, match=r"already awaited|cannot reuse"):
            await pending
        assert [line async for line in f] == ["5\n"]
        with pytest.raises(StopAsyncIteration):
            await anext(it)
