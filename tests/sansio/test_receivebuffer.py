"""ReceiveBuffer: framing calls, limits, and the cost of slow peers."""

from __future__ import annotations

import pickle
import struct
from typing import Any, SupportsIndex

import pytest

from ambidex.sansio import LimitExceeded, LocalProtocolError, ReceiveBuffer, RemoteProtocolError


def test_feed_and_iadd_append_and_len_counts_unconsumed_bytes() -> None:
    buf = ReceiveBuffer()
    buf += b"hello "
    buf.feed(b"world")
    assert len(buf) == 11
    assert buf.consume(6) == b"hello "
    assert len(buf) == 5
    assert bytes(buf) == b"world"


def test_read_line_includes_the_separator_and_consumes_only_that_line() -> None:
    buf = ReceiveBuffer(b"one\r\ntwo\r\nthr")
    assert buf.read_line() == b"one\r\n"
    assert buf.read_line() == b"two\r\n"
    assert buf.read_line() is None
    assert bytes(buf) == b"thr"


def test_read_line_finds_a_separator_split_across_feeds() -> None:
    buf = ReceiveBuffer(b"abc\r")
    assert buf.read_line() is None
    buf += b"\ndef"
    assert buf.read_line() == b"abc\r\n"


def test_read_line_with_a_new_separator_searches_from_the_start_again() -> None:
    buf = ReceiveBuffer(b"a\nb\r\n")
    assert buf.read_line(b"\r\n") == b"a\nb\r\n"
    buf += b"x\ny\r\n"
    assert buf.read_line(b"\r\n") == b"x\ny\r\n"
    buf += b"p\r\nq\n"
    assert buf.read_line(b"\r\n") == b"p\r\n"
    assert buf.read_line(b"\n") == b"q\n"


def test_read_line_limit_counts_the_separator() -> None:
    buf = ReceiveBuffer(b"12345\r\n")
    assert buf.read_line(limit=7) == b"12345\r\n"
    buf += b"123456\r\n"
    with pytest.raises(LimitExceeded) as info:
        buf.read_line(limit=7)
    assert info.value.limit_name == "max_line"
    assert info.value.size == 8
    assert info.value.limit == 7


def test_read_line_without_an_end_fails_once_the_limit_is_held() -> None:
    buf = ReceiveBuffer(b"x" * 9)
    assert buf.read_line(limit=10) is None  # 9 bytes: a 10-byte line may still come
    buf += b"x"
    with pytest.raises(LimitExceeded, match="max_line=10"):
        buf.read_line(limit=10)


def test_read_exactly_returns_none_and_consumes_nothing_when_short() -> None:
    buf = ReceiveBuffer(b"abc")
    assert buf.read_exactly(4) is None
    assert len(buf) == 3
    assert buf.read_exactly(3) == b"abc"
    assert not buf


def test_read_struct_is_one_call_and_all_or_nothing() -> None:
    header = struct.Struct("<HBI")
    data = header.pack(7, 1, 3)
    buf = ReceiveBuffer(data[:6])
    assert buf.read_struct(header) is None
    assert len(buf) == 6
    buf += data[6:]
    assert buf.read_struct(header) == (7, 1, 3)
    assert not buf


def test_read_length_prefixed_returns_the_payload_only_when_complete() -> None:
    prefix = struct.Struct("!I")
    buf = ReceiveBuffer(prefix.pack(5) + b"hel")
    assert buf.read_length_prefixed(prefix) is None
    assert len(buf) == 7
    buf += b"lo" + prefix.pack(0)
    assert buf.read_length_prefixed(prefix) == b"hello"
    assert buf.read_length_prefixed(prefix) == b""


def test_read_frame_rejects_an_oversized_declared_size_from_the_header_alone() -> None:
    header = struct.Struct("<HBI")
    buf = ReceiveBuffer(header.pack(1, 0, 2**32 - 1))  # no payload bytes at all
    with pytest.raises(LimitExceeded) as info:
        buf.read_frame(header, size_index=2, limit=1024)
    assert isinstance(info.value, RemoteProtocolError)
    assert (info.value.limit_name, info.value.size, info.value.limit) == (
        "max_payload",
        2**32 - 1,
        1024,
    )
    assert "4294967295 bytes is over max_payload=1024" in str(info.value)


def test_read_frame_blames_the_peer_for_a_negative_length_and_us_for_a_float_field() -> None:
    with pytest.raises(RemoteProtocolError, match="negative payload size"):
        ReceiveBuffer(struct.pack("<hB", -1, 0)).read_frame(struct.Struct("<hB"), size_index=0)
    with pytest.raises(LocalProtocolError, match="not an integer length"):
        ReceiveBuffer(struct.pack("<fB", 1.0, 0)).read_frame(struct.Struct("<fB"), size_index=0)


def test_peek_struct_looks_without_consuming_and_discard_drops_without_copying() -> None:
    header = struct.Struct("<HI")
    buf = ReceiveBuffer(header.pack(1, 3)[:5])
    assert buf.peek_struct(header) is None
    buf += header.pack(1, 3)[5:] + b"abc"
    assert buf.peek_struct(header) == (1, 3)
    assert len(buf) == 9
    buf.discard(header.size)
    assert bytes(buf) == b"abc"
    buf.discard(100)
    assert not buf
    with pytest.raises(LocalProtocolError):
        buf.discard(-1)


def test_peek_does_not_consume() -> None:
    buf = ReceiveBuffer(b"abcdef")
    assert buf.peek(3) == b"abc"
    assert buf.peek(100) == b"abcdef"
    assert len(buf) == 6


def test_feed_past_max_buffer_raises_and_appends_nothing() -> None:
    buf = ReceiveBuffer(max_buffer=10)
    buf += b"x" * 8
    with pytest.raises(LimitExceeded) as info:
        buf += b"yyy"
    assert (info.value.limit_name, info.value.size, info.value.limit) == ("max_buffer", 11, 10)
    assert bytes(buf) == b"x" * 8
    buf.consume(8)
    buf += b"y" * 10  # consumed bytes free their room


def test_max_buffer_none_means_unbounded_and_zero_is_refused() -> None:
    ReceiveBuffer(max_buffer=None).feed(b"x" * (17 * 1024 * 1024))
    with pytest.raises(ValueError):
        ReceiveBuffer(max_buffer=0)


def test_negative_counts_are_local_errors() -> None:
    with pytest.raises(LocalProtocolError):
        ReceiveBuffer(b"x").read_exactly(-1)
    with pytest.raises(LocalProtocolError):
        ReceiveBuffer(b"x").consume(-1)
    with pytest.raises(LocalProtocolError):
        ReceiveBuffer(b"x").read_line(b"")


def test_limit_exceeded_survives_pickling_with_its_fields() -> None:
    error = LimitExceeded("max_line", 70000, 65536, "line")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.limit_name, copy.size, copy.limit, str(copy)) == (
        "max_line",
        70000,
        65536,
        str(error),
    )


def test_repr_shows_size_and_head() -> None:
    assert repr(ReceiveBuffer(b"GET")) == "<ReceiveBuffer 3 bytes: b'GET'>"


# -- cost: counted, not timed ---------------------------------------------------


class CountingBytearray(bytearray):
    """A bytearray that adds up how many bytes each find() had to look at."""

    scanned = 0

    def find(
        self, sub: Any, start: SupportsIndex | None = None, end: SupportsIndex | None = None
    ) -> int:
        begin = 0 if start is None else int(start)
        stop = len(self) if end is None else int(end)
        CountingBytearray.scanned += max(0, stop - begin)
        return super().find(sub, start, end)


def counting_buffer() -> ReceiveBuffer:
    buf = ReceiveBuffer(max_buffer=None)
    buf._data = CountingBytearray()
    CountingBytearray.scanned = 0
    return buf


def test_a_line_dribbled_one_byte_at_a_time_is_scanned_in_linear_work() -> None:
    size = 20_000
    buf = counting_buffer()
    for _ in range(size):
        buf += b"x"
        assert buf.read_line(limit=size + 2) is None
    buf += b"\r\n"
    assert buf.read_line(limit=size + 2) == b"x" * size + b"\r\n"
    # A rescanning buffer would look at about size**2 / 2 = 2e8 bytes.
    assert CountingBytearray.scanned <= 3 * size


def test_consuming_compacts_the_dead_prefix_so_memory_follows_live_bytes() -> None:
    buf = ReceiveBuffer(max_buffer=None)
    chunk = b"z" * 1000
    for _ in range(1000):
        buf += chunk
        buf.consume(999)
    assert len(buf) == 1000
    # The array holds the live bytes plus at most as many dead ones.
    assert len(buf._data) <= 2 * max(len(buf), 4096)
