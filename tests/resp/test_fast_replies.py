"""The asyncio connection's own fast path reads exactly what the parser reads.

``_Replies.buffer_updated`` takes a read's whole bulk strings (a GET's reply)
itself when the parser holds nothing, and hands everything else to the
parser (``RespParser.receive_events``), its one fallback. These tests feed
the same bytes, cut the same way, to a connection (through the buffer the
transport fills) and to a bare ``RespParser``, and ask for the same replies
in the same order, the same protocol error after the same good replies, and
the same bytes left in the parser after every read -- for generated reply
streams, for random bytes, with the parser's limits small enough to be hit,
and with the compiled and the pure-Python splitter.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ambidex.sansio import RemoteProtocolError
from examples.resp import AsyncConnection
from examples.resp._async.connection import _Replies
from examples.resp.protocol import PushReply, RespParser

from .test_differential import _resp3_trees, encode, split, with_pure_split

# hypothesis describes the recursive strategies at length; that is all it says.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

LIMITS: dict[str, dict[str, int]] = {
    "defaults, small stream threshold": {"stream_threshold": 64},
    "every limit small": {"max_bulk_length": 1000, "max_aggregate_length": 1000,
                          "max_depth": 8, "max_line_length": 100, "stream_threshold": 16},
    "bulk strings of 5 bytes at most": {"max_bulk_length": 5, "stream_threshold": 16},
}


class _Stream:
    """What AsyncConnection asks of its stream once the transport is taken."""

    close_timeout = 1.0
    timeout: float | None = None

    async def close(self) -> None:
        pass


def through_the_parser(chunks: list[bytes], limits: dict[str, int]) -> dict[str, Any]:
    """What the general parser makes of ``chunks``, read by read, as the
    connection would deliver it: replies, pushes, the error, bytes left."""
    parser = RespParser(**limits)
    replies: list[Any] = []
    pushes: list[Any] = []
    left: list[tuple[int, str]] = []
    error: BaseException | None = None
    for chunk in chunks:
        try:
            got = parser.receive_events(chunk)
        except RemoteProtocolError as exc:
            got, error = [], exc
        for reply in got:
            (pushes if type(reply) is PushReply else replies).append(reply)
        left.append((len(parser), repr(parser.attributes)))
        error = error or parser.error
        if error is not None:
            break
    return {"replies": repr(replies), "pushes": repr(pushes), "left": left,
            "error": None if error is None else (type(error), str(error))}


def through_the_connection(chunks: list[bytes], limits: dict[str, int],
                           pure: bool) -> dict[str, Any]:
    """The same, through an AsyncConnection's ``_Replies`` (no socket: each
    chunk is copied into the protocol's buffer, as the transport does)."""

    async def run() -> dict[str, Any]:
        parser = RespParser(**limits)
        if pure:
            with_pure_split(parser)
        conn = AsyncConnection(_Stream(), parser)  # type: ignore[arg-type]
        pushes: list[Any] = []
        conn.push_handler = pushes.append
        loop = asyncio.get_running_loop()
        waiters = [loop.create_future() for _ in range(300)]
        conn._waiters.extend(waiters)
        protocol = _Replies(conn)
        conn._protocol = protocol
        left: list[tuple[int, str]] = []
        for chunk in chunks:
            buffer = protocol.get_buffer(-1)
            assert len(chunk) <= len(buffer)
            buffer[:len(chunk)] = chunk
            protocol.buffer_updated(len(chunk))
            left.append((len(parser), repr(parser.attributes)))
            if conn._closing is not None:  # the connection failed: no more reads
                await conn._closing
                break
        replies: list[Any] = []
        error: tuple[type[BaseException], str] | None = None
        for waiter in waiters:
            if not waiter.done():
                break
            failure = waiter.exception()
            if failure is not None:
                cause = failure.__cause__
                assert cause is not None
                error = (type(cause), str(cause))
                break
            replies.append(waiter.result())
        for waiter in waiters:
            waiter.cancel()
        await conn.close()
        return {"replies": repr(replies), "pushes": repr(pushes), "left": left,
                "error": error}

    return asyncio.run(run())


def assert_read_alike(chunks: list[bytes], limits: dict[str, int]) -> None:
    expected = through_the_parser(chunks, limits)
    for pure in (False, True):
        assert through_the_connection(chunks, limits, pure) == expected


_settings = settings(max_examples=80, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow])
# Mostly the shapes the fast path takes (bulk strings, long ones streamed
# past the threshold), with everything else RESP3 has mixed in.
_fast_shapes = st.one_of(
    st.tuples(st.just("bulk"), st.binary(max_size=100)),
    st.tuples(st.just("bulk"), st.binary(min_size=60, max_size=300)),
    st.tuples(st.just("simple"), st.binary(max_size=8).filter(
        lambda b: b"\r" not in b and b"\n" not in b)),
    st.tuples(st.just("int"), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just("null2"), st.none()),
)
_streams = st.lists(st.one_of(_fast_shapes, _resp3_trees()), min_size=1, max_size=10)
_cuts = st.lists(st.integers(0, 10**6), max_size=8)
_limits = st.sampled_from(sorted(LIMITS))


@given(_streams, _cuts, _limits)
@_settings
def test_the_connection_reads_reply_streams_as_the_parser_does_however_they_are_cut(
        trees: list[Any], cuts: list[int], limits: str) -> None:
    assert_read_alike(split(b"".join(encode(t) for t in trees), cuts), LIMITS[limits])


@given(_streams, st.binary(min_size=1, max_size=20), _cuts, _limits)
@_settings
def test_the_connection_stops_at_garbage_after_good_replies_as_the_parser_does(
        trees: list[Any], garbage: bytes, cuts: list[int], limits: str) -> None:
    wire = b"".join(encode(t) for t in trees) + garbage
    assert_read_alike(split(wire, cuts), LIMITS[limits])


@given(st.binary(max_size=200), _cuts, _limits)
@settings(max_examples=150, deadline=None, database=None)
def test_the_connection_reads_random_bytes_as_the_parser_does(
        data: bytes, cuts: list[int], limits: str) -> None:
    assert_read_alike(split(data, cuts), LIMITS[limits])


@pytest.mark.parametrize("wire", [
    b"$3\r\nabc\r\n$3\r\nab",                     # a whole bulk, then half of one
    b"$3\r\nabc\r\n|1\r\n+k\r\n:1\r\n$1\r\nx\r\n",  # attributes after a fast reply
    b"$3\r\nabc\r\n$9\r\nabc\r\n",                # a bulk cut short by the next reply
    b"$3\r\nabc\r\n$99999999\r\n",                # over max_bulk_length after a good one
    b"$3\r\nabc\r\n$3\r\nabcXY",                  # no CRLF after the payload
    b"|1\r\n+k\r\n:1\r\n+OK\r\n$1\r\nx\r\n",        # a reply with attributes, then one without
    b"$9\r\n$3\r\nabc\r\n\r\n",                   # a payload that looks like a bulk string
    b"*2\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",      # bulk strings inside an array, then one
])
def test_each_way_a_read_leaves_the_fast_path_reads_as_the_parser_does(wire: bytes) -> None:
    for cut in range(len(wire) + 1):
        for limits in LIMITS.values():
            assert_read_alike(split(wire, [cut]), limits)
