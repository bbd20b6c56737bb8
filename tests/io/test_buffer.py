"""The receive buffer both streams share: separator search over any chunking."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambidex.io import ReadLimitError
from ambidex.io._buffer import ReceiveBuffer


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=200).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    lines=st.lists(st.sampled_from([b"x", b"ab", b"\r", b"\n", b"\r\n", b"\r\r\n"]), max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=20),
    limit=st.integers(min_value=2, max_value=64),
)
def test_find_separator_agrees_with_a_naive_search_under_any_chunking(data, lines, cuts, limit):
    stream = data + b"".join(lines)
    buffer = ReceiveBuffer()
    got: list[bytes] = []
    expected: list[bytes] = []
    # The naive answer: split the whole stream on b"\r\n", line by line.
    rest = stream
    while (i := rest.find(b"\r\n")) >= 0 and i + 2 <= limit:
        expected.append(rest[: i + 2])
        rest = rest[i + 2 :]
    naive_overflow = rest.find(b"\r\n") >= 0 or len(rest) >= limit
    overflow = False
    for chunk in split(stream, cuts):
        buffer.append(chunk)
        try:
            while (end := buffer.find_separator(b"\r\n", limit)) is not None:
                got.append(buffer.take(end))
        except ReadLimitError:
            overflow = True
            break
    assert got == expected
    assert overflow == naive_overflow


def test_the_search_does_not_rescan_what_it_already_searched():
    """One byte at a time, a long line costs linear work: the search resumes
    where it stopped (timed in tools/bench/io.py; here, the resume point)."""
    buffer = ReceiveBuffer()
    for _ in range(1000):
        buffer.append(b"x")
        assert buffer.find_separator(b"\r\n", 10_000) is None
    assert buffer._scanned == 1000
    buffer.append(b"\r")
    assert buffer.find_separator(b"\r\n", 10_000) is None
    buffer.append(b"\n")
    assert buffer.find_separator(b"\r\n", 10_000) == 1002


def test_a_different_separator_searches_from_the_start():
    buffer = ReceiveBuffer()
    buffer.append(b"a\nb")
    assert buffer.find_separator(b"\r\n", 100) is None
    assert buffer.find_separator(b"\n", 100) == 2


def test_the_limit_counts_the_separator():
    buffer = ReceiveBuffer()
    buffer.append(b"abc\r\n")
    with pytest.raises(ReadLimitError):
        buffer.find_separator(b"\r\n", 4)
    assert buffer.find_separator(b"\r\n", 5) == 5
