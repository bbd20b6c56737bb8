"""The pure-Python parser against hiredis and redis-py's parser, on generated streams.

hypothesis builds reply trees, encodes them, cuts the bytes at random points,
and feeds the pieces to each parser; all must produce the same replies. Where
the peers cannot say something (hiredis: blob errors, attributes; redis-py:
attributes, pushes), those replies are left out of the stream given to that
peer. Random bytes must give our parser nothing but replies, NEED_DATA or a
RemoteProtocolError.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import hiredis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis._parsers.encoders import Encoder
from redis._parsers.resp2 import _RESP2Parser
from redis._parsers.resp3 import _RESP3Parser
from redis._parsers.socket import SocketBuffer
from redis.exceptions import ResponseError as RedisPyResponseError

from ambidex.sansio import NEED_DATA, RemoteProtocolError
from ambidex.sansio._counted import _PureSplitter
from examples.resp.errors import ResponseError
from examples.resp.protocol import RespParser

Node = tuple[str, Any]

# hypothesis describes these recursive strategies at length; that is all it says.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

_line_text = st.binary(max_size=20).filter(lambda b: b"\r" not in b and b"\n" not in b)
_error_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"),
    min_size=1, max_size=20,
).map(lambda s: "ERR " + s)
_doubles = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(
    [math.inf, -math.inf, math.nan, 0.0, -0.0, 1e300, 5e-324]))

_resp2_scalars = st.one_of(
    st.tuples(st.just("bulk"), st.binary(max_size=100)),
    st.tuples(st.just("simple"), _line_text),
    st.tuples(st.just("int"), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just("null2"), st.none()),
    st.tuples(st.just("error"), _error_text),
)
_resp3_scalars = st.one_of(
    _resp2_scalars,
    st.tuples(st.just("null3"), st.none()),
    st.tuples(st.just("double"), _doubles),
    st.tuples(st.just("bool"), st.booleans()),
    st.tuples(st.just("bignum"), st.integers(-(10**40), 10**40)),
    st.tuples(st.just("verbatim"), _line_text),
    st.tuples(st.just("bloberror"), _error_text),
)
_keys = st.one_of(st.tuples(st.just("bulk"), st.binary(max_size=8)),
                  st.tuples(st.just("int"), st.integers(-100, 100)))


def _resp2_trees() -> st.SearchStrategy[Node]:
    return st.recursive(_resp2_scalars, lambda inner: st.tuples(
        st.just("array"), st.lists(inner, max_size=5)), max_leaves=10)


def _resp3_trees() -> st.SearchStrategy[Node]:
    def extend(inner: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        return st.one_of(
            st.tuples(st.sampled_from(["array", "set", "push"]), st.lists(inner, max_size=5)),
            st.tuples(st.just("map"), st.lists(st.tuples(_keys, inner), max_size=4,
                                                unique_by=lambda kv: kv[0])),
            st.tuples(st.just("attribute"), st.tuples(
                st.lists(st.tuples(_keys, inner), max_size=2, unique_by=lambda kv: kv[0]), inner)),
        )
    return st.recursive(_resp3_scalars, extend, max_leaves=10)


def encode(node: Node) -> bytes:
    kind, value = node
    if kind == "bulk":
        return b"$%d\r\n%b\r\n" % (len(value), value)
    if kind == "simple":
        return b"+%b\r\n" % value
    if kind == "int":
        return b":%d\r\n" % value
    if kind == "null2":
        return b"$-1\r\n"
    if kind == "null3":
        return b"_\r\n"
    if kind == "error":
        return b"-%b\r\n" % value.encode()
    if kind == "bloberror":
        data = value.encode()
        return b"!%d\r\n%b\r\n" % (len(data), data)
    if kind == "double":
        return b",%b\r\n" % repr(value).encode()
    if kind == "bool":
        return b"#t\r\n" if value else b"#f\r\n"
    if kind == "bignum":
        return b"(%d\r\n" % value
    if kind == "verbatim":
        return b"=%d\r\ntxt:%b\r\n" % (len(value) + 4, value)
    if kind in ("array", "set", "push"):
        mark = {"array": b"*", "set": b"~", "push": b">"}[kind]
        return mark + b"%d\r\n" % len(value) + b"".join(encode(n) for n in value)
    if kind == "map":
        return b"%%%d\r\n" % len(value) + b"".join(encode(k) + encode(v) for k, v in value)
    if kind == "attribute":
        pairs, inner = value
        return (b"|%d\r\n" % len(pairs) + b"".join(encode(k) + encode(v) for k, v in pairs)
                + encode(inner))
    raise AssertionError(kind)


def kinds(node: Node) -> Iterator[str]:
    kind, value = node
    yield kind
    if kind in ("array", "set", "push"):
        for child in value:
            yield from kinds(child)
    elif kind == "map":
        for k, v in value:
            yield from kinds(k)
            yield from kinds(v)
    elif kind == "attribute":
        for k, v in value[0]:
            yield from kinds(k)
            yield from kinds(v)
        yield from kinds(value[1])


def normalise(value: Any) -> Any:
    """One comparable form for what the three parsers return."""
    if isinstance(value, (ResponseError, RedisPyResponseError)):
        # redis-py strips the error class word from the message; compare the rest.
        text = str(value)
        return ("error", text[4:] if text.startswith("ERR ") else text)
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, dict):
        return ("map", sorted(((normalise(k), normalise(v)) for k, v in value.items()),
                              key=repr))
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    return value


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


def with_pure_split(parser: RespParser) -> RespParser:
    """``parser``, its bulk-string fast path (CountedFraming.split, in C when the
    optional module is built) replaced by the pure-Python twin."""
    bulks = parser._bulks
    parser._bulks = _PureSplitter(  # type: ignore[assignment]
        bulks.marker, bulks.separator, bulks.trailer, bulks.max_payload)
    return parser


def ours(chunks: list[bytes]) -> list[Any]:
    parser = RespParser(stream_threshold=64)  # small, so streaming is exercised too
    out: list[Any] = []
    for chunk in chunks:
        parser.receive_data(chunk)
        out += parser.next_events()
    assert len(parser) == 0
    # The asyncio client's call: receive_data and next_events in one.
    in_one_call = RespParser(stream_threshold=64)
    again: list[Any] = []
    for chunk in chunks:
        again += in_one_call.receive_events(chunk)
    assert len(in_one_call) == 0
    assert repr(again) == repr(out)  # the same types too (PushReply, VerbatimString)
    # The same with the pure twin of the fast path.
    pure = with_pure_split(RespParser(stream_threshold=64))
    again = []
    for chunk in chunks:
        again += pure.receive_events(chunk)
    assert repr(again) == repr(out)
    return out


def with_hiredis(chunks: list[bytes]) -> list[Any]:
    # The default "not enough data" marker is False, which is also a RESP3 reply.
    reader = hiredis.Reader(replyError=ResponseError, notEnoughData=NEED_DATA)
    out: list[Any] = []
    for chunk in chunks:
        reader.feed(chunk)
        while (reply := reader.gets()) is not NEED_DATA:
            out.append(reply)
    return out


class _ChunkSocket:
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = iter(chunks)

    def recv(self, size: int) -> bytes:
        return next(self._chunks, b"")

    def settimeout(self, timeout: float | None) -> None:
        pass


def with_redis_py(chunks: list[bytes], count: int, resp3: bool) -> list[Any]:
    parser: Any = _RESP3Parser(65536) if resp3 else _RESP2Parser(65536)
    sock = _ChunkSocket(chunks)
    parser._sock = sock
    parser._buffer = SocketBuffer(sock, 65536, None)  # type: ignore[arg-type]
    parser.encoder = Encoder("utf-8", "strict", False)
    return [parser.read_response() for _ in range(count)]


def _hiredis_view(reply: Any, node: Node) -> Any:
    """Our reply, reshaped the way hiredis spells big numbers."""
    kind, value = node
    if kind == "bignum":
        return str(reply).encode()
    if kind in ("array", "set", "push"):
        return [_hiredis_view(r, n) for r, n in zip(reply, value, strict=True)]
    if kind == "map":  # keys are bulk strings or small ints: the same in both
        return {k: _hiredis_view(v, vn)
                for (_, vn), (k, v) in zip(value, reply.items(), strict=True)}
    return reply


settings_ = settings(max_examples=60, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow])


@given(st.lists(_resp2_trees(), min_size=1, max_size=8), st.lists(st.integers(0, 10**6)))
@settings_
def test_resp2_streams_parse_the_same_as_hiredis_and_redis_py(
        trees: list[Node], cuts: list[int]) -> None:
    wire = b"".join(encode(t) for t in trees)
    chunks = split(wire, cuts)
    mine = ours(chunks)
    assert len(mine) == len(trees)
    assert normalise(mine) == normalise(with_hiredis(chunks))
    assert normalise(mine) == normalise(with_redis_py(chunks, len(trees), resp3=False))


@given(st.lists(_resp3_trees(), min_size=1, max_size=8), st.lists(st.integers(0, 10**6)))
@settings_
def test_resp3_streams_parse_the_same_as_hiredis_and_redis_py(
        trees: list[Node], cuts: list[int]) -> None:
    wire = b"".join(encode(t) for t in trees)
    chunks = split(wire, cuts)
    mine = ours(chunks)
    # Attributes are never replies: one reply per tree, whatever it holds.
    assert len(mine) == len(trees)

    # hiredis knows neither attributes nor blob errors; compare the trees it can read.
    for_hiredis = [t for t in trees if not {"attribute", "bloberror"} & set(kinds(t))]
    if for_hiredis:
        hwire = b"".join(encode(t) for t in for_hiredis)
        theirs = with_hiredis(split(hwire, cuts))
        mine_h = ours(split(hwire, cuts))
        reshaped = [_hiredis_view(r, t) for r, t in zip(mine_h, for_hiredis, strict=True)]
        assert normalise(reshaped) == normalise(theirs)

    # redis-py's RESP3 parser knows no attributes, hands pushes to a handler and
    # reads a RESP2 null ($-1) as a bulk of length -1.
    for_redis_py = [t for t in trees if not {"attribute", "push", "null2"} & set(kinds(t))]
    if for_redis_py:
        rwire = b"".join(encode(t) for t in for_redis_py)
        theirs = with_redis_py(split(rwire, cuts), len(for_redis_py), resp3=True)
        assert normalise(ours(split(rwire, cuts))) == normalise(theirs)


@given(st.lists(_resp3_trees(), min_size=1, max_size=4))
@settings(max_examples=30, deadline=None, database=None)
def test_attributes_never_shift_the_replies_that_follow(trees: list[Node]) -> None:
    wrapped = [("attribute", ([(("bulk", b"k"), ("int", 1))], t)) for t in trees]
    plain = ours([b"".join(encode(t) for t in trees)])
    assert normalise(ours([b"".join(encode(t) for t in wrapped)])) == normalise(plain)


@given(st.binary(max_size=200), st.lists(st.integers(0, 10**6), max_size=5))
@settings(max_examples=300, deadline=None, database=None)
def test_random_bytes_give_replies_need_data_or_a_protocol_error_only(
        data: bytes, cuts: list[int]) -> None:
    parser = RespParser(max_bulk_length=1000, max_aggregate_length=1000, max_depth=8,
                        max_line_length=100, stream_threshold=16)
    replies: list[Any] = []
    error: str | None = None
    try:
        for chunk in split(data, cuts):
            parser.receive_data(chunk)
            while (reply := parser.next_event()) is not NEED_DATA:
                replies.append(reply)
    except RemoteProtocolError as exc:
        error = str(exc)
    # receive_events gives the same replies, then the same error.
    in_one_call = RespParser(max_bulk_length=1000, max_aggregate_length=1000, max_depth=8,
                             max_line_length=100, stream_threshold=16)
    again: list[Any] = []
    again_error: str | None = None
    try:
        for chunk in split(data, cuts):
            again += in_one_call.receive_events(chunk)
            if in_one_call.error is not None:
                raise in_one_call.error
    except RemoteProtocolError as exc:
        again_error = str(exc)
    assert repr(again) == repr(replies)
    assert again_error == error
    # And with the pure twin of receive_events' fast path: the same again.
    pure = with_pure_split(RespParser(max_bulk_length=1000, max_aggregate_length=1000,
                                      max_depth=8, max_line_length=100, stream_threshold=16))
    again = []
    again_error = None
    try:
        for chunk in split(data, cuts):
            again += pure.receive_events(chunk)
            if pure.error is not None:
                raise pure.error
    except RemoteProtocolError as exc:
        again_error = str(exc)
    assert repr(again) == repr(replies)
    assert again_error == error
