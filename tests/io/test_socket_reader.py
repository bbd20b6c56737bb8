"""Stream's socket reader: C-speed reads that lose nothing when a receive fails.

The blocking stream reads through a C ``BufferedReader`` (one ``readline``
call per line). A ``BufferedReader`` drops the bytes it collected when the
raw read under it raises; the socket reader's raw layer reports a failure as
"no data for now" instead, and the reader puts the collected bytes back and
then raises. These tests feed it from a fake socket that delivers chosen
chunks and fails (times out) between any two of them.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambidex.io import IncompleteReadError, ReadLimitError, Stream

TIMEOUT = object()


class ChunkSocket:
    """Enough of a socket for Stream: ``recv_into`` gives the next chunk (or
    raises TimeoutError at a TIMEOUT marker), then end of file."""

    def __init__(self, chunks: list[object]) -> None:
        self.chunks = list(chunks)
        self.timeouts = 0

    def recv_into(self, buffer: memoryview) -> int:
        if not self.chunks:
            return 0
        chunk = self.chunks.pop(0)
        if chunk is TIMEOUT:
            self.timeouts += 1
            raise TimeoutError("timed out")
        assert isinstance(chunk, bytes)
        n = min(len(chunk), len(buffer))
        buffer[:n] = chunk[:n]
        if n < len(chunk):
            self.chunks.insert(0, chunk[n:])
        return n

    def gettimeout(self) -> float | None:
        return None

    def settimeout(self, timeout: float | None) -> None:
        pass

    def close(self) -> None:
        pass


def split(data: bytes, cuts: list[int], stalls: list[int]) -> list[object]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    chunks: list[object] = [data[a:b] for a, b in itertools.pairwise(edges) if b > a]
    for stall in sorted(stalls, reverse=True):
        chunks.insert(stall % (len(chunks) + 1), TIMEOUT)
    return chunks


def naive_lines(stream: bytes, separator: bytes, limit: int) -> tuple[list[bytes], bool]:
    """Split on the separator, line by line, stopping at the first over-long line."""
    lines, rest = [], stream
    while (i := rest.find(separator)) >= 0 and i + len(separator) <= limit:
        lines.append(rest[: i + len(separator)])
        rest = rest[i + len(separator) :]
    return lines, rest.find(separator) >= 0 or len(rest) >= limit


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=200).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    pieces=st.lists(st.sampled_from([b"x", b"ab", b"\r", b"\n", b"\r\n", b"\r\r\n"]), max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=20),
    stalls=st.lists(st.integers(min_value=0, max_value=40), max_size=5),
    limit=st.integers(min_value=2, max_value=64),
    separator=st.sampled_from([b"\r\n", b"\n", b"x"]),
)
def test_read_until_agrees_with_a_naive_split_under_any_chunking_and_timeouts(
    data, pieces, cuts, stalls, limit, separator
):
    stream = data + b"".join(pieces)
    expected, overflow_expected = naive_lines(stream, separator, limit)
    sock = ChunkSocket(split(stream, cuts, stalls))
    s = Stream(sock)  # type: ignore[arg-type]
    got: list[bytes] = []
    overflow = False
    while True:
        try:
            got.append(s.read_until(separator, limit=limit))
        except TimeoutError:
            continue  # nothing was consumed: simply retry
        except ReadLimitError:
            overflow = True
            break
        except IncompleteReadError as exc:
            # End of file: what is left is the tail after the last line.
            assert b"".join(got) + exc.partial == stream
            break
    assert got == expected
    assert overflow == overflow_expected
    if overflow:
        # The over-long line stays buffered: read() returns the rest, in order.
        rest = b""
        while True:
            try:
                chunk = s.read(7)
            except TimeoutError:
                continue
            if not chunk:
                break
            rest += chunk
        assert b"".join(got) + rest == stream


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=10),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=20),
    stalls=st.lists(st.integers(min_value=0, max_value=40), max_size=5),
)
def test_read_exactly_loses_nothing_to_a_timeout(sizes, cuts, stalls):
    stream = bytes(i % 251 for i in range(sum(sizes)))
    s = Stream(ChunkSocket(split(stream, cuts, stalls)))  # type: ignore[arg-type]
    got = []
    for size in sizes:
        while True:
            try:
                got.append(s.read_exactly(size))
                break
            except TimeoutError:
                continue
    assert [len(g) for g in got] == sizes
    assert b"".join(got) == stream
    with pytest.raises(IncompleteReadError):
        while True:
            try:
                s.read_exactly(1)
            except TimeoutError:
                continue


def test_a_timeout_mid_line_keeps_the_first_half_for_the_retry():
    sock = ChunkSocket([b"hello ", TIMEOUT, b"world\r\nnext\r\n"])
    s = Stream(sock)  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        s.read_until(b"\r\n")
    assert s.read_until(b"\r\n") == b"hello world\r\n"
    assert s.read_until(b"\r\n") == b"next\r\n"
    assert sock.timeouts == 1
