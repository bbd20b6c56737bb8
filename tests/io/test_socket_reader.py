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
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambidex.io import IncompleteReadError, ReadLimitError, Stream
from tests.io.conftest import PureStream

TIMEOUT = object()

# The property tests run on Stream (its C reads when the accelerator was built)
# and on PureStream (the pure ones), so the C fast path is held to the same
# answers as the pure one.
BOTH_PATHS = pytest.mark.parametrize("stream_class", [Stream, PureStream], ids=["stream", "pure"])


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


def read_lines(
    s: Stream, stream: bytes, separator: bytes, limit: int,
    before_each: Callable[[int], None] | None = None,
) -> tuple[list[bytes], bool]:
    """Read lines until end of file or an over-long line, retrying after each
    timeout (a timed-out read consumes nothing); say whether the limit stopped it."""
    got: list[bytes] = []
    for turn in itertools.count():
        if before_each is not None:
            before_each(turn)
        try:
            got.append(s.read_until(separator, limit=limit))
        except TimeoutError:
            continue  # nothing was consumed: simply retry
        except ReadLimitError:
            return got, True
        except IncompleteReadError as exc:
            # End of file: what is left is the tail after the last line.
            assert b"".join(got) + exc.partial == stream
            return got, False
    raise AssertionError("unreachable")


@BOTH_PATHS
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
    stream_class, data, pieces, cuts, stalls, limit, separator
):
    stream = data + b"".join(pieces)
    expected, overflow_expected = naive_lines(stream, separator, limit)
    sock = ChunkSocket(split(stream, cuts, stalls))
    s = stream_class(sock)
    got, overflow = read_lines(s, stream, separator, limit)
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


@BOTH_PATHS
@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=10),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=20),
    stalls=st.lists(st.integers(min_value=0, max_value=40), max_size=5),
)
def test_read_exactly_loses_nothing_to_a_timeout(stream_class, sizes, cuts, stalls):
    stream = bytes(i % 251 for i in range(sum(sizes)))
    s = stream_class(ChunkSocket(split(stream, cuts, stalls)))
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


@BOTH_PATHS
@settings(max_examples=300, deadline=None)
@given(
    bodies=st.lists(st.text(alphabet="a\r\nbx", max_size=12), min_size=1, max_size=12),
    tail=st.integers(min_value=0, max_value=12),
    limit=st.integers(min_value=1, max_value=10),
    separator=st.sampled_from([b"\n", b"\r\n", b"ab\n", b"x"]),
    timed=st.lists(st.booleans(), min_size=1, max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
    stalls=st.lists(st.integers(min_value=0, max_value=30), max_size=4),
)
def test_the_c_path_and_the_careful_path_agree_on_lines_around_the_limit(
    stream_class,
    bodies, tail, limit, separator, timed, cuts, stalls
):
    # Without a timeout the socket stream reads a line with one C readline;
    # with one it goes through the deadline and, after any miss, the given-
    # back buffer. Switching between the two at every read (the timeout may
    # change between calls), over any chunking, with receives that fail in
    # between, must give exactly the lines a naive split gives: lines as long
    # as the limit or one byte longer, "\n" inside "\r\n", an over-long line
    # that stays buffered, a tail cut by end of file.
    limit += len(separator) - 1  # a shorter limit is refused (another test)
    stream = b"".join(body.encode() + separator for body in bodies) + b"y" * tail
    expected, overflow_expected = naive_lines(stream, separator, limit)
    s = stream_class(ChunkSocket(split(stream, cuts, stalls)))

    def switch_the_timeout(turn: int) -> None:
        s.timeout = 30.0 if timed[turn % len(timed)] else None

    got, overflow = read_lines(s, stream, separator, limit, before_each=switch_the_timeout)
    assert got == expected
    assert overflow == overflow_expected
    if overflow:
        # Nothing of the over-long line was lost: read_exactly and read see it, in order.
        rest = b""
        while True:
            s.timeout = 30.0 if timed[len(rest) % len(timed)] else None
            try:
                rest += s.read_exactly(1)
            except TimeoutError:
                continue
            except IncompleteReadError as exc:
                assert exc.partial == b""
                break
        assert b"".join(got) + rest == stream


@BOTH_PATHS
@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=10),
    timed=st.lists(st.booleans(), min_size=1, max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=20),
    stalls=st.lists(st.integers(min_value=0, max_value=40), max_size=5),
)
def test_read_exactly_agrees_with_and_without_a_timeout(stream_class, sizes, timed, cuts, stalls):
    stream = bytes(i % 251 for i in range(sum(sizes) + 5))
    s = stream_class(ChunkSocket(split(stream, cuts, stalls)))
    got = []
    turn = 0
    for size in [*sizes, 10]:  # the last one is cut by end of file
        while True:
            s.timeout = 30.0 if timed[turn % len(timed)] else None
            turn += 1
            try:
                got.append(s.read_exactly(size))
                break
            except TimeoutError:
                continue
            except IncompleteReadError as exc:
                assert exc.partial == stream[sum(sizes) :]
                assert exc.expected == 10
                got.append(exc.partial)
                break
    assert got[:-1] == [stream[sum(sizes[:i]) : sum(sizes[: i + 1])] for i in range(len(sizes))]
    assert b"".join(got) == stream


def test_setting_a_timeout_shuts_the_c_path_and_clearing_it_opens_it_again():
    s = Stream(ChunkSocket([b"one\ntwo\nthree\n"]))  # type: ignore[arg-type]
    reader = s._reader

    def door() -> tuple[object, object]:
        # The stream keeps its own copy of the reader's door (one attribute
        # load on the hot path): it must follow the reader's at every step.
        assert (s._lines, s._exact) == (reader.lines, reader.exact)
        return reader.lines, reader.exact

    assert None not in door()
    s.timeout = 5
    assert door() == (None, None)  # reads need a deadline
    assert s.read_until(b"\n") == b"one\n"
    s.timeout = None
    assert door()[0] is not None
    with pytest.raises(ReadLimitError):
        s.read_until(b"\n", limit=3)  # "two\n" is 4: given back, so the door shuts
    assert door()[0] is None
    assert s.read_until(b"\n") == b"two\n"  # "three\n" came with it: still given back
    assert door()[0] is None
    assert s.read_until(b"\n") == b"three\n"  # the given-back bytes are used up...
    assert door()[0] is not None  # ...and the door opens again
    s.close()
    assert door() == (None, None)


def test_the_reader_does_not_keep_its_stream_alive():
    import weakref

    s = Stream(ChunkSocket([b"one\n"]))  # type: ignore[arg-type]
    reader, gone = s._reader, weakref.ref(s)
    del s  # no cycle through the reader: freed at once, no garbage collection
    assert gone() is None
    reader.shut()  # a reader whose stream is gone updates nobody
    assert reader.lines is None
