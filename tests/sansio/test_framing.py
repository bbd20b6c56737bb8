"""Framing readers: the three common shapes, their limits, and chunking invariance."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambidex.sansio import (
    NEED_DATA,
    Frame,
    LengthPrefixFraming,
    LimitExceeded,
    LineFraming,
    LocalProtocolError,
    ReceiveBuffer,
    RemoteProtocolError,
    StructFraming,
)


def drain(
    framing: LineFraming | LengthPrefixFraming | StructFraming, buf: ReceiveBuffer
) -> list[Any]:
    frames: list[Any] = []
    while (frame := framing.read(buf)) is not NEED_DATA:
        frames.append(frame)
    return frames


def test_line_framing_accepts_lf_and_crlf_and_strips_both() -> None:
    buf = ReceiveBuffer(b"one\ntwo\r\nthree\r")
    assert drain(LineFraming(), buf) == [b"one", b"two"]
    buf += b"\n"
    assert drain(LineFraming(), buf) == [b"three"]


def test_strict_crlf_framing_keeps_a_bare_lf_inside_the_line() -> None:
    buf = ReceiveBuffer(b"a\nb\r\n")
    assert drain(LineFraming(b"\r\n"), buf) == [b"a\nb"]


def test_line_framing_refuses_other_separators_and_lines_with_lf() -> None:
    with pytest.raises(LocalProtocolError):
        LineFraming(b";")
    with pytest.raises(LocalProtocolError):
        LineFraming().encode(b"two\nlines")


def test_line_framing_limit_applies_to_reading_and_writing() -> None:
    framing = LineFraming(max_line=4)
    assert framing.encode(b"abc") == b"abc\n"
    with pytest.raises(LocalProtocolError, match="line to send: 5 bytes is over max_line=4"):
        framing.encode(b"abcd")
    with pytest.raises(LimitExceeded) as info:
        framing.read(ReceiveBuffer(b"abcd"))
    assert info.value.limit_name == "max_line"


def test_length_prefix_framing_round_trips_and_defaults_to_network_order() -> None:
    framing = LengthPrefixFraming()
    assert framing.encode(b"hi") == b"\x00\x00\x00\x02hi"
    assert drain(framing, ReceiveBuffer(framing.encode(b"hi") + framing.encode(b""))) == [
        b"hi",
        b"",
    ]


def test_length_prefix_framing_rejects_a_declared_length_over_the_limit_early() -> None:
    framing = LengthPrefixFraming("<H", max_payload=10)
    with pytest.raises(LimitExceeded) as info:
        framing.read(ReceiveBuffer(struct.pack("<H", 11)))
    assert (info.value.size, info.value.limit) == (11, 10)
    with pytest.raises(LocalProtocolError, match="over max_payload=10"):
        framing.encode(b"x" * 11)


def test_length_prefix_framing_needs_a_one_field_prefix() -> None:
    with pytest.raises(LocalProtocolError):
        LengthPrefixFraming("<HH")


def test_length_prefix_too_long_for_its_prefix_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        LengthPrefixFraming("<B", max_payload=1000).encode(b"x" * 300)


def test_struct_framing_fills_in_the_size_field_and_reads_frames() -> None:
    framing = StructFraming("<HBI", size_field=2)
    wire = framing.encode((1, 0), b"key")
    assert wire == struct.pack("<HBI", 1, 0, 3) + b"key"
    assert framing.read(ReceiveBuffer(wire)) == Frame((1, 0, 3), b"key")


def test_struct_framing_accepts_a_negative_size_field_index() -> None:
    framing = StructFraming("<HI", size_field=-1)
    assert framing.size_field == 1
    with pytest.raises(LocalProtocolError):
        StructFraming("<HI", size_field=2)


def test_struct_framing_rejects_an_oversized_frame_on_its_header() -> None:
    framing = StructFraming("<HBI", size_field=2, max_payload=100)
    with pytest.raises(LimitExceeded):
        framing.read(ReceiveBuffer(struct.pack("<HBI", 1, 0, 101)))


def test_a_negative_length_from_the_peer_is_a_remote_error_with_any_signed_format() -> None:
    with pytest.raises(RemoteProtocolError, match="negative"):
        LengthPrefixFraming("!i").read(ReceiveBuffer(struct.pack("!i", -1) + b"x"))
    with pytest.raises(RemoteProtocolError, match="negative"):
        StructFraming("<Hq", size_field=1).read(ReceiveBuffer(struct.pack("<Hq", 1, -5)))


def test_a_size_field_that_is_not_an_integer_is_refused_when_the_framing_is_made() -> None:
    for bad in ("!f", "!?", "!4s"):
        with pytest.raises(LocalProtocolError, match="integer"):
            LengthPrefixFraming(bad)
    with pytest.raises(LocalProtocolError, match="integer"):
        StructFraming("<Hd", size_field=1)


def test_struct_framing_bad_field_values_are_local_errors() -> None:
    with pytest.raises(LocalProtocolError):
        StructFraming("<HBI", size_field=2).encode((70000, 0), b"")


# -- properties ------------------------------------------------------------------


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for point in [*points, len(data)]:
        pieces.append(data[last:point])
        last = point
    return pieces


# Any: the three framings differ in their encode() signature; encode_all() tells them apart.
FRAMINGS: dict[str, Any] = {
    "lf": LineFraming(max_line=200),
    "crlf": LineFraming(b"\r\n", max_line=200),
    "prefix": LengthPrefixFraming("!H", max_payload=200),
    "struct": StructFraming("<HBI", size_field=2, max_payload=200),
    "signed-prefix": LengthPrefixFraming("!i", max_payload=200),
    "signed-struct": StructFraming("<Hbq", size_field=2, max_payload=200),
}


def encode_all(name: str, payloads: list[bytes]) -> bytes:
    framing = FRAMINGS[name]
    if isinstance(framing, LineFraming):
        return b"".join(framing.encode(p.replace(b"\n", b"").replace(b"\r", b"")) for p in payloads)
    if isinstance(framing, StructFraming):
        return b"".join(framing.encode((i, 7), p) for i, p in enumerate(payloads))
    return b"".join(framing.encode(p) for p in payloads)


@settings(max_examples=150)
@given(
    name=st.sampled_from(sorted(FRAMINGS)),
    payloads=st.lists(st.binary(max_size=60), max_size=8),
    cuts=st.lists(st.integers(min_value=0), max_size=12),
)
def test_any_split_of_a_stream_gives_the_same_frames(
    name: str, payloads: list[bytes], cuts: list[int]
) -> None:
    framing = FRAMINGS[name]
    wire = encode_all(name, payloads)
    whole = drain(framing, ReceiveBuffer(wire))
    buf = ReceiveBuffer()
    pieced = []
    for piece in split(wire, cuts):
        buf += piece
        pieced.extend(drain(framing, buf))
    assert pieced == whole
    assert len(whole) == len(payloads)
    assert not buf


@settings(max_examples=200)
@given(name=st.sampled_from(sorted(FRAMINGS)), noise=st.binary(max_size=600))
def test_random_bytes_give_frames_need_data_or_a_remote_error_only(name: str, noise: bytes) -> None:
    # Whatever the peer sends, the error blames the peer: a LocalProtocolError
    # (our bug) from the peer's bytes would send the reader looking in the wrong place.
    framing = FRAMINGS[name]
    buf = ReceiveBuffer(max_buffer=1000)
    try:
        buf += noise
        drain(framing, buf)
    except RemoteProtocolError:
        pass


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=200),
    chunk=st.integers(min_value=1, max_value=5000),
    separator=st.sampled_from([b"\n", b"\r\n"]),
)
def test_lines_survive_compaction_of_the_buffer_under_any_chunk_size(
    lengths: list[int], chunk: int, separator: bytes
) -> None:
    # Enough bytes that the consumed prefix is compacted away many times while
    # a search position is remembered across feeds.
    framing = LineFraming(separator, max_line=400)
    lines = [bytes([65 + i % 26]) * n for i, n in enumerate(lengths)]
    wire = b"".join(framing.encode(line) for line in lines)
    buf = ReceiveBuffer()
    got: list[bytes] = []
    for start in range(0, len(wire), chunk):
        buf += wire[start : start + chunk]
        got.extend(drain(framing, buf))
    assert got == lines
    assert not buf


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=40),
    chunk=st.integers(min_value=1, max_value=9000),
)
def test_struct_frames_survive_compaction_under_any_chunk_size(
    sizes: list[int], chunk: int
) -> None:
    framing = StructFraming("<HBI", size_field=2, max_payload=4000)
    payloads = [bytes([i % 251]) * n for i, n in enumerate(sizes)]
    wire = b"".join(framing.encode((i, 0), p) for i, p in enumerate(payloads))
    buf = ReceiveBuffer()
    got: list[Frame] = []
    for start in range(0, len(wire), chunk):
        buf += wire[start : start + chunk]
        got.extend(drain(framing, buf))
    assert [f.payload for f in got] == payloads
    assert [f.header[0] for f in got] == list(range(len(payloads)))
