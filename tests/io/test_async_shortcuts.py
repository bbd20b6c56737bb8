"""AsyncStream's shortcut: a line or frame already in the StreamReader's
buffer is taken without awaiting ``readuntil``/``readexactly``.

The shortcut runs before any other step of the read, so these tests pin that
it decides exactly as the careful path does, over any arrival pattern, with
reads that had to wait cancelled part way (a cancelled read consumes nothing).
The StreamReader is fed in memory, chunk by chunk, by a task: no socket, so
hypothesis can try many arrival patterns quickly.
"""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from ambidex.io import AsyncStream, IncompleteReadError, ReadLimitError
from tests.io.test_socket_reader import TIMEOUT, naive_lines, split


class QuietWriter:
    """Enough of a StreamWriter for reads and close()."""

    transport = None

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    async def wait_closed(self) -> None:
        pass


async def read_all(chunks: list[object], read_one) -> tuple[list[bytes], BaseException, int]:
    """Feed ``chunks`` to a StreamReader (a TIMEOUT marker stalls the feed
    until the reader gives up waiting) while ``read_one(stream)`` is called
    until it raises; a read still waiting when the feed stalls is cancelled,
    then retried. Returns the results, the exception, and the cancels."""
    reader = asyncio.StreamReader(limit=2**16)
    stream = AsyncStream(reader, QuietWriter())  # type: ignore[arg-type]
    stalled, resume = asyncio.Event(), asyncio.Event()

    async def feed() -> None:
        for chunk in chunks:
            if chunk is TIMEOUT:
                resume.clear()
                stalled.set()
                await resume.wait()  # the reader clears ``stalled`` and sets this
                continue
            assert isinstance(chunk, bytes)
            reader.feed_data(chunk)
            await asyncio.sleep(0)
        reader.feed_eof()

    feeder = asyncio.create_task(feed())
    got: list[bytes] = []
    cancels = 0
    try:
        while True:
            read = asyncio.create_task(read_one(stream))
            stall = asyncio.create_task(stalled.wait())
            await asyncio.wait({read, stall}, return_when=asyncio.FIRST_COMPLETED)
            stall.cancel()
            if not read.done():
                # The feed stalls and the read waits: give up on it, then resume.
                read.cancel()
                try:
                    got.append(await read)  # it may have finished meanwhile
                except asyncio.CancelledError:
                    cancels += 1
                stalled.clear()
                resume.set()
                continue
            try:
                got.append(read.result())
            except (IncompleteReadError, ReadLimitError) as exc:
                return got, exc, cancels
    finally:
        feeder.cancel()
        await asyncio.gather(feeder, return_exceptions=True)
        await stream.close()


@settings(max_examples=200, deadline=None)
@given(
    bodies=st.lists(st.text(alphabet="a\r\nbx", max_size=12), min_size=1, max_size=12),
    tail=st.integers(min_value=0, max_value=12),
    limit=st.integers(min_value=1, max_value=10),
    separator=st.sampled_from([b"\n", b"\r\n", b"ab\n", b"x"]),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
    stalls=st.lists(st.integers(min_value=0, max_value=30), max_size=4),
)
def test_read_until_agrees_with_a_naive_split_over_any_arrival_with_cancelled_reads(
    bodies, tail, limit, separator, cuts, stalls
):
    limit += len(separator) - 1
    stream = b"".join(body.encode() + separator for body in bodies) + b"y" * tail
    expected, overflow_expected = naive_lines(stream, separator, limit)

    async def read_one(s: AsyncStream) -> bytes:
        return await s.read_until(separator, limit=limit)

    chunks = split(stream, cuts, stalls)
    got, exc, cancels = asyncio.run(read_all(chunks, read_one))
    assert got == expected
    assert isinstance(exc, ReadLimitError) == overflow_expected
    if isinstance(exc, IncompleteReadError):
        assert b"".join(got) + exc.partial == stream
        assert cancels == chunks.count(TIMEOUT)  # every stall cancelled a waiting read


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=10),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=20),
    stalls=st.lists(st.integers(min_value=0, max_value=40), max_size=5),
)
def test_read_exactly_loses_nothing_to_cancelled_reads_over_any_arrival(sizes, cuts, stalls):
    stream = bytes(i % 251 for i in range(sum(sizes) + 5))
    asked = [*sizes, 10]  # the last one is cut by end of file
    done = 0

    async def read_one(s: AsyncStream) -> bytes:
        nonlocal done
        data = await s.read_exactly(asked[done])  # a cancelled read asks again
        done += 1
        return data

    chunks = split(stream, cuts, stalls)
    got, exc, cancels = asyncio.run(read_all(chunks, read_one))
    assert cancels == chunks.count(TIMEOUT)  # every stall cancelled a waiting read
    assert isinstance(exc, IncompleteReadError)
    assert (exc.partial, exc.expected) == (stream[sum(sizes) :], 10)
    assert got == [stream[sum(sizes[:i]) : sum(sizes[: i + 1])] for i in range(len(sizes))]
