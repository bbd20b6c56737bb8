"""CountedFraming: decimal-length frames (netstrings, RESP bulk strings).

``split`` (in C when the optional module is built) and its pure twin must
agree on every input, and ``split`` must take exactly the frames that the
careful path, ``read``, returns before it first needs data or raises.
"""

from __future__ import annotations

import copy
import os
import pickle
import re
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambidex.sansio import (
    NEED_DATA,
    CountedFraming,
    LimitExceeded,
    LocalProtocolError,
    ReceiveBuffer,
    RemoteProtocolError,
    _counted,
)
from ambidex.sansio._counted import _PureSplitter

SPECS = [
    dict(marker=b"", separator=b":", trailer=b","),          # netstrings
    dict(marker=b"$", separator=b"\r\n", trailer=b"\r\n"),   # RESP bulk strings
    dict(marker=b"LEN ", separator=b"\n", trailer=b""),      # a line, then raw bytes
    dict(marker=b"<<", separator=b">", trailer=b"END"),      # longer marker and trailer
]


def twins(spec: dict[str, bytes], max_payload: int) -> tuple[Any, Any]:
    """The framing as this process has it, and the pure splitter of the same spec."""
    return (CountedFraming(**spec, max_payload=max_payload),
            _PureSplitter(spec["marker"], spec["separator"], spec["trailer"], max_payload))


def frames(spec: dict[str, bytes], payloads: list[bytes]) -> bytes:
    return b"".join(b"%b%d%b%b%b" % (spec["marker"], len(p), spec["separator"], p, spec["trailer"])
                    for p in payloads)


def read_all(framing: CountedFraming, data: bytes) -> tuple[list[bytes], int, str | None]:
    """``read`` until NEED_DATA or an error: the frames, the bytes they took, the error."""
    buf = ReceiveBuffer(data, max_buffer=None)
    out: list[bytes] = []
    error = None
    while True:
        taken = len(data) - len(buf)
        try:
            frame = framing.read(buf)
        except RemoteProtocolError as exc:
            error = f"{type(exc).__name__}: {exc}"
            break
        if frame is NEED_DATA:
            break
        assert isinstance(frame, bytes)
        out.append(frame)
    return out, taken, error


def test_the_compiled_split_is_in_use_where_the_test_session_built_it() -> None:
    if os.environ.get("AMBIDEX_EXPECT_EXTENSIONS"):
        assert _counted.accelerated(), "the test session was to build ambidex.sansio._speedups"
    assert _counted.accelerated() == (_counted._Splitter is not _PureSplitter)


def test_a_module_built_from_another_source_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        from ambidex.sansio import _speedups  # type: ignore[attr-defined]
    except ImportError:
        pytest.skip("no compiled module in this install: nothing stale to refuse")
    monkeypatch.setattr(_speedups, "SOURCE_HASH", "0" * 16)
    assert _counted._compiled() is None
    monkeypatch.undo()
    monkeypatch.setenv("AMBIDEX_NO_EXTENSIONS", "1")
    assert _counted._compiled() is None


def test_netstrings_and_resp_bulks_round_trip() -> None:
    net = CountedFraming()
    assert net.encode(b"hello") == b"5:hello,"
    bulk = CountedFraming(marker=b"$", separator=b"\r\n", trailer=b"\r\n")
    assert bulk.encode(b"") == b"$0\r\n\r\n"
    buf = ReceiveBuffer(net.encode(b"hello") + net.encode(b""))
    assert net.read(buf) == b"hello"
    assert net.read(buf) == b""
    assert net.read(buf) is NEED_DATA
    out: list[bytes] = []
    data = bulk.encode(b"a\r\nb") + bulk.encode(b"xyz") + b"-ERR no\r\n"
    assert bulk.split(data, 0, out) == len(data) - len(b"-ERR no\r\n")
    assert out == [b"a\r\nb", b"xyz"]


def test_split_stops_at_anything_but_a_whole_valid_frame_and_raises_about_none_of_it() -> None:
    for bulk in twins(SPECS[1], 10):
        for stop_here in [b"$-1\r\n", b"$11\r\n" + b"x" * 11 + b"\r\n", b"$3\r\nabcX\r\n",
                          b"$3\r\nab", b"$\r\n", b"$3x\r\nabc\r\n", b"+OK\r\n",
                          b"$0000000000003\r\nabc\r\n", b"$" + b"9" * 10_000,
                          b"$3\r\nabc\rX", b"$3\r\nabc\nX", b"$3\r\nabc\r"]:
            out: list[bytes] = []
            head = b"$1\r\na\r\n"
            assert bulk.split(head + stop_here, 0, out) == len(head), stop_here
            assert out == [b"a"]
    # Markers and trailers longer than two bytes are tested whole.
    for framing in twins(SPECS[3], 10):
        for stop_here in [b"<X3>abcEND", b"X<3>abcEND", b"<<3>abcENX", b"<<3>abcXND", b"<<3>abcEN",
                          b"<<3>abc"]:
            out = []
            head = b"<<1>aEND"
            assert framing.split(head + stop_here, 0, out) == len(head), stop_here
            assert out == [b"a"]


def test_max_payload_may_change_after_the_framing_is_made() -> None:
    for framing in twins(SPECS[1], 100):
        out: list[bytes] = []
        data = b"$5\r\nhello\r\n"
        framing.max_payload = 4
        assert framing.split(data, 0, out) == 0
        framing.max_payload = 5
        assert framing.split(data, 0, out) == len(data) and out == [b"hello"]


def test_both_twins_refuse_the_same_arguments_with_the_same_errors() -> None:
    for framing in twins(SPECS[0], 100):
        args: tuple[Any, ...]
        for args, error in [((bytearray(b"1:a,"), 0, []), TypeError),
                            ((memoryview(b"1:a,"), 0, []), TypeError),
                            ((b"1:a,", 0, ()), TypeError),
                            ((b"1:a,", -1, []), ValueError),
                            ((b"1:a,", 5, []), ValueError),
                            ((b"1:a,", "0", []), TypeError)]:
            with pytest.raises(error):
                framing.split(*args)
    for make in (lambda: CountedFraming(separator=b""), lambda: CountedFraming(separator=b"1:"),
                 lambda: _PureSplitter(b"", b"", b",", 1)):
        with pytest.raises(ValueError):
            make()
    with pytest.raises(ValueError):
        CountedFraming(max_payload=-1)


def test_an_announced_length_over_the_limit_is_refused_at_the_header() -> None:
    framing = CountedFraming(marker=b"$", separator=b"\r\n", trailer=b"\r\n", max_payload=1000)
    buf = ReceiveBuffer(b"$4000000000\r\n")
    with pytest.raises(LimitExceeded) as caught:
        framing.read(buf)
    # (size: what the header window held, a lower bound, as LimitExceeded allows)
    assert caught.value.limit_name == "max_payload" and caught.value.size > 1000
    # Known before the separator: the digits so far are already too many.
    with pytest.raises(LimitExceeded):
        framing.read(ReceiveBuffer(b"$1001"))


def test_an_endless_length_line_is_refused_after_a_bounded_number_of_bytes() -> None:
    framing = CountedFraming(max_payload=1000)
    buf = ReceiveBuffer()
    fed = 0
    with pytest.raises(RemoteProtocolError):
        while True:
            buf.feed(b"0")
            fed += 1
            assert framing.read(buf) is NEED_DATA
    assert fed <= len("1000") + 1
    out: list[bytes] = []
    assert framing.split(b"0" * 100_000, 0, out) == 0 and out == []


@pytest.mark.parametrize(("data", "message"), [
    (b"+OK\r\n", "expected a frame starting with b'$'"),
    (b"$x\r\n", "bad length b'x'"),
    (b"$12x\r\n", "bad length b'12x'"),
    (b"$\r\n", "a frame header with no length"),
    (b"$-1\r\n", "bad length b'-'"),
    (b"$3\r\nabcd\r\n", "followed by b'd\\r'"),
])
def test_a_bad_frame_is_a_remote_protocol_error_that_says_what_was_wrong(
        data: bytes, message: str) -> None:
    framing = CountedFraming(marker=b"$", separator=b"\r\n", trailer=b"\r\n")
    with pytest.raises(RemoteProtocolError, match=re.escape(message)) as caught:
        framing.read(ReceiveBuffer(data))
    assert not isinstance(caught.value, LimitExceeded)


def test_encode_refuses_a_payload_over_the_limit_as_a_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        CountedFraming(max_payload=3).encode(b"four")


# Bytes that look like frames often: digits, the separators' bytes, markers.
_noise = st.lists(st.one_of(
    st.sampled_from([b"$", b"\r\n", b"\r", b"\n", b":", b",", b"LEN ", b"0", b"1", b"9", b"12",
                     b"x", b"-1", b"<<", b">", b"END", b"EN"]),
    st.binary(max_size=4)), max_size=30).map(b"".join)


@given(st.sampled_from(SPECS), st.integers(0, 40), st.lists(st.binary(max_size=50), max_size=6),
       _noise, st.integers(0, 10**6))
@settings(max_examples=400, deadline=None, database=None)
def test_split_agrees_with_its_pure_twin_and_takes_exactly_what_read_returns(
        spec: dict[str, bytes], limit: int, payloads: list[bytes], noise: bytes,
        start_at: int) -> None:
    data = frames(spec, payloads) + noise
    framing, pure = twins(spec, limit)
    start = start_at % (len(data) + 1)
    got: list[bytes] = []
    expected: list[bytes] = []
    assert framing.split(data, start, got) == pure.split(data, start, expected)
    assert got == expected
    # split_checked is split for arguments known good, in both twins.
    for twin in (framing, pure):
        again: list[bytes] = []
        assert twin.split_checked(data, start, again) == pure.split(data, start, [])
        assert again == expected
    # The careful path reads the same frames from the same place, then stops
    # (needs data, or raises) exactly where split stopped.
    got = []
    stopped = framing.split(data, 0, got)
    read, taken, _error = read_all(framing, data)
    assert (read, taken) == (got, stopped)


@given(st.sampled_from(SPECS), st.integers(0, 40), st.lists(st.binary(max_size=50), max_size=4),
       _noise)
@settings(max_examples=200, deadline=None, database=None)
def test_read_gives_the_same_frames_and_error_whatever_the_split_of_the_bytes(
        spec: dict[str, bytes], limit: int, payloads: list[bytes], noise: bytes) -> None:
    framing = CountedFraming(**spec, max_payload=limit)
    data = frames(spec, payloads) + noise
    whole = read_all(framing, data)
    for cut in range(len(data) + 1):  # every byte boundary
        buf = ReceiveBuffer(max_buffer=None)
        out: list[bytes] = []
        error = None
        try:
            for piece in (data[:cut], data[cut:]):
                buf.feed(piece)
                while (frame := framing.read(buf)) is not NEED_DATA:
                    assert isinstance(frame, bytes)
                    out.append(frame)
        except RemoteProtocolError as exc:
            error = f"{type(exc).__name__}: {exc}"
        assert out == whole[0], cut
        if whole[2] is None:
            assert error is None, cut
        else:  # judged on fewer bytes, a length may be refused sooner: the same kind of error
            assert error is not None and error.split(":")[0] == whole[2].split(":")[0], cut


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("limit", [0, 9, 10, 99])
def test_a_length_with_more_digits_than_the_limit_is_the_same_error_whatever_the_split(
        spec: dict[str, bytes], limit: int) -> None:
    # Found by the test above (session 13): with max_payload=0, b"$001" read whole
    # was LimitExceeded, and b"$00" then b"1" a RemoteProtocolError: the verdict
    # hung on how many digits the peek window happened to hold.
    framing = CountedFraming(**spec, max_payload=limit)
    for digits in (b"0" * 6, b"0" * 5 + b"1", b"00" + b"9" * 4, b"9" * 6):
        data = spec["marker"] + digits + spec["separator"]
        kinds = set()
        for cut in range(len(data) + 1):
            buf = ReceiveBuffer(max_buffer=None)
            try:
                for piece in (data[:cut], data[cut:]):
                    buf.feed(piece)
                    assert framing.read(buf) is NEED_DATA
            except RemoteProtocolError as exc:
                kinds.add(type(exc).__name__)
            else:
                kinds.add("no error")
        assert len(kinds) == 1, (digits, kinds)


_items = st.lists(st.one_of(st.binary(max_size=40), st.text(max_size=20), st.integers(),
                            st.integers(min_value=2**62, max_value=2**70),
                            st.integers(max_value=-(2**62), min_value=-(2**70))), max_size=20)


@given(st.sampled_from(SPECS), _items, st.binary(max_size=6))
@settings(max_examples=300, deadline=None, database=None)
def test_join_agrees_with_its_pure_twin_and_split_takes_its_frames_back(
        spec: dict[str, bytes], items: list[Any], head: bytes) -> None:
    framing, pure = twins(spec, 10**6)
    joined = framing.join(items, head)
    assert joined == pure.join(items, head) == head + b"".join(
        framing.encode(item if isinstance(item, bytes) else str(item).encode()) for item in items)
    out: list[bytes] = []
    assert framing.split(joined, len(head), out) == len(joined)
    assert out == [i if isinstance(i, bytes) else str(i).encode() for i in items]


@pytest.mark.parametrize("items", [[True], [1.5], [bytearray(b"x")], [None], ["ok", "\ud800"],
                                   [b"four"]])
def test_join_refuses_what_it_cannot_frame_the_same_way_in_both_twins(items: list[Any]) -> None:
    errors = []
    for framing in twins(SPECS[1], 3):
        with pytest.raises((TypeError, UnicodeEncodeError, LocalProtocolError)) as caught:
            framing.join(items, b"*1\r\n")
        errors.append(type(caught.value))
    assert errors[0] is errors[1]
    for framing in twins(SPECS[1], 3):
        with pytest.raises(TypeError):
            framing.join([b"a"], None)


def test_a_framing_made_without_init_refuses_to_frame_instead_of_crashing() -> None:
    bare = CountedFraming.__new__(CountedFraming)
    with pytest.raises((TypeError, AttributeError)):
        bare.split(b"1:a,", 0, [])
    with pytest.raises((TypeError, AttributeError)):
        bare.join([b"a"], b"")


def test_a_huge_announced_length_under_a_huge_limit_is_just_incomplete() -> None:
    # n near sys.maxsize: the end of the payload must not be computed past the data.
    import sys

    for framing in twins(SPECS[1], sys.maxsize):
        out: list[bytes] = []
        assert framing.split(b"$9223372036854775806\r\nab\r\n", 0, out) == 0 and out == []


def _pickled_elsewhere(pure: bool) -> tuple[bytes, bool]:
    """A RESP framing (max_payload changed after it was made) pickled by a
    fresh process, with the compiled module (if built) or the pure twin."""
    code = ("import pickle, sys; from ambidex.sansio import CountedFraming, _counted; "
            "f = CountedFraming(marker=b'$', separator=b'\\r\\n', trailer=b'\\r\\n', "
            "max_payload=1000); f.max_payload = 77; "
            "print(pickle.dumps(f).hex(), _counted.accelerated())")
    env = dict(os.environ)
    env.pop("AMBIDEX_NO_EXTENSIONS", None)
    if pure:
        env["AMBIDEX_NO_EXTENSIONS"] = "1"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout.split()
    return bytes.fromhex(out[0]), out[1] == "True"


def test_a_framing_pickles_and_copies_the_same_compiled_or_pure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compiled_dump, compiled = _pickled_elsewhere(pure=False)
    pure_dump, accelerated = _pickled_elsewhere(pure=True)
    # The "compiled" process runs without the switch: it has the C splitter
    # exactly when one is built here, whether or not this process (a whole run
    # under AMBIDEX_NO_EXTENSIONS=1) is switched to the pure paths itself.
    monkeypatch.delenv("AMBIDEX_NO_EXTENSIONS", raising=False)
    built = _counted._compiled() is not None
    assert (compiled, accelerated) == (built, False)
    assert compiled_dump == pure_dump  # one format: either kind reads the other's
    original = CountedFraming(marker=b"$", separator=b"\r\n", trailer=b"\r\n", max_payload=1000)
    original.max_payload = 77
    data = frames(SPECS[1], [b"a" * 77, b"b" * 78])
    for made in (pickle.loads(compiled_dump), pickle.loads(pure_dump), copy.copy(original),
                 copy.deepcopy(original), pickle.loads(pickle.dumps(original))):
        assert type(made) is CountedFraming
        assert repr(made) == repr(original)
        got: list[bytes] = []
        assert made.split(data, 0, got) == 84 and got == [b"a" * 77]
        with pytest.raises(LimitExceeded):
            made.read(ReceiveBuffer(data[84:]))
        assert made.join([b"xy", 5], b"*2\r\n") == b"*2\r\n$2\r\nxy\r\n$1\r\n5\r\n"
        made.max_payload = 5  # a copy is its own: the original keeps its limit
        assert original.max_payload == 77
