"""The RESP machine, with no server: replies, limits, streaming, encoding."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambidex.sansio import NEED_DATA, LimitExceeded, LocalProtocolError, RemoteProtocolError
from examples.resp._hiredis import HiredisParser
from examples.resp.errors import ResponseError
from examples.resp.protocol import (
    ConnectionClosed,
    PushReply,
    RespParser,
    VerbatimString,
    encode_command,
    encode_commands,
)


def parse_all(data: bytes, **limits: int) -> list[Any]:
    parser = RespParser(**limits)
    parser.receive_data(data)
    return parser.next_events()


def parse_bytewise(data: bytes, **limits: int) -> list[Any]:
    """One byte per receive_data, drained with next_event (parse_all drains with next_events)."""
    parser = RespParser(**limits)
    out = []
    for i in range(len(data)):
        parser.receive_data(data[i:i + 1])
        while (reply := parser.next_event()) is not NEED_DATA:
            out.append(reply)
    return out


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (b"+OK\r\n", b"OK"),
        (b"+\r\n", b""),
        (b"$5\r\nhello\r\n", b"hello"),
        (b"$0\r\n\r\n", b""),
        (b"$4\r\na\r\nb\r\n", b"a\r\nb"),  # a bulk's payload may hold CRLF
        (b"$-1\r\n", None),
        (b"*-1\r\n", None),
        (b"_\r\n", None),
        (b":42\r\n", 42),
        (b":-7\r\n", -7),
        (b"(3492890328409238509324850943850943825024385\r\n",
         3492890328409238509324850943850943825024385),
        (b",1.5\r\n", 1.5),
        (b",-2.5e-3\r\n", -2.5e-3),
        (b",inf\r\n", math.inf),
        (b",-inf\r\n", -math.inf),
        (b"#t\r\n", True),
        (b"#f\r\n", False),
        (b"*0\r\n", []),
        (b"*3\r\n:1\r\n$1\r\na\r\n*1\r\n_\r\n", [1, b"a", [None]]),
        (b"%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n:2\r\n", {b"a": 1, b"b": [2]}),
        (b"%1\r\n*2\r\n:1\r\n:2\r\n+v\r\n", {(1, 2): b"v"}),  # aggregate key -> tuple
        (b"~2\r\n:1\r\n*0\r\n", [1, []]),  # a set may hold unhashable elements
        (b"=15\r\ntxt:Some string\r\n", b"Some string"),
    ],
)
def test_each_reply_type_parses_to_its_python_value(wire: bytes, expected: Any) -> None:
    assert parse_all(wire) == [expected]
    assert parse_bytewise(wire) == [expected]


def test_nan_double_is_a_nan_float() -> None:
    (value,) = parse_all(b",nan\r\n")
    assert math.isnan(value)


def test_verbatim_string_keeps_its_format() -> None:
    (value,) = parse_all(b"=8\r\nmkd:# hi\r\n")
    assert isinstance(value, VerbatimString)
    assert value == b"# hi" and value.format == "mkd"


def test_error_replies_are_returned_as_response_error_values_not_raised() -> None:
    replies = parse_all(b"-WRONGTYPE Operation against a key\r\n!11\r\nSYNTAX oops\r\n"
                        b"*2\r\n+OK\r\n-ERR nope\r\n")
    assert replies == [ResponseError("WRONGTYPE Operation against a key"),
                       ResponseError("SYNTAX oops"), [b"OK", ResponseError("ERR nope")]]
    assert replies[0].code == "WRONGTYPE"


def test_push_is_marked_so_a_client_never_pairs_it_with_a_caller() -> None:
    replies = parse_all(b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n:1\r\n")
    assert isinstance(replies[0], PushReply) and replies[0] == [b"message", b"ch", b"hi"]
    assert not isinstance(replies[1], PushReply) and replies[1] == 1


def test_attribute_is_attached_to_the_following_reply_never_returned_as_one() -> None:
    parser = RespParser()
    parser.receive_data(b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n"
                b":7\r\n")
    assert parser.next_event() == [2039123, 9543892]
    assert parser.attributes == [{b"key-popularity": {b"a": 0.19}}]
    assert parser.next_event() == 7
    assert parser.attributes is None


def test_attribute_inside_an_aggregate_does_not_count_as_an_element() -> None:
    parser = RespParser()
    parser.receive_data(b"*2\r\n:1\r\n|1\r\n+ttl\r\n:3\r\n:2\r\n")
    assert parser.next_event() == [1, 2]
    assert parser.attributes == [{b"ttl": 3}]


def test_attribute_split_across_reads_is_still_not_a_reply() -> None:
    wire = b"|1\r\n+k\r\n+v\r\n$3\r\nabc\r\n"
    assert parse_bytewise(wire) == [b"abc"]


def test_long_line_fed_one_byte_at_a_time_is_found_once_complete() -> None:
    line = b"+" + b"x" * 20_000 + b"\r\n"
    parser = RespParser()
    out: list[Any] = []
    for i in range(len(line)):
        parser.receive_data(line[i:i + 1])
        out += parser.next_events()
    assert out == [b"x" * 20_000]


def test_crlf_split_across_reads_after_a_long_partial_line_is_found() -> None:
    parser = RespParser()
    parser.receive_data(b"*2\r\n+ab")
    assert parser.next_event() is NEED_DATA
    parser.receive_data(b"c\r")
    assert parser.next_event() is NEED_DATA
    parser.receive_data(b"\n:1\r\n")
    assert parser.next_event() == [b"abc", 1]


def test_many_replies_in_one_read_come_out_in_order() -> None:
    wire = b"".join(b"$%d\r\n%d\r\n" % (len(str(i)), i) for i in range(1000))
    wire += b":1\r\n$1\r\nx\r\n"  # the fast path hands over to the general one and back
    expected = [str(i).encode() for i in range(1000)] + [1, b"x"]
    assert parse_all(wire) == expected
    parser = RespParser()
    parser.receive_data(wire)
    one_by_one = []
    while (reply := parser.next_event()) is not NEED_DATA:
        one_by_one.append(reply)
    assert one_by_one == expected


def test_incomplete_reply_is_need_data_and_completes_later() -> None:
    parser = RespParser()
    parser.receive_data(b"*2\r\n$5\r\nhel")
    assert parser.next_event() is NEED_DATA
    parser.receive_data(b"lo\r\n:")
    assert parser.next_event() is NEED_DATA
    parser.receive_data(b"3\r\n")
    assert parser.next_event() == [b"hello", 3]
    assert parser.next_event() is NEED_DATA
    assert len(parser) == 0


def test_big_bulk_is_collected_in_chunks_and_joined_once() -> None:
    payload = bytes(range(256)) * 2000  # 512000 bytes, over the streaming threshold
    wire = b"*2\r\n$%d\r\n" % len(payload) + payload + b"\r\n+after\r\n"
    parser = RespParser(stream_threshold=1024)
    step = 7919
    out: list[Any] = []
    for i in range(0, len(wire), step):
        parser.receive_data(wire[i:i + step])
        out += parser.next_events()
    assert out == [[payload, b"after"]]


def test_lines_after_a_chunked_bulk_are_found_after_an_earlier_partial_line() -> None:
    parser = RespParser(stream_threshold=16)
    parser.receive_data(b"*3\r\n+" + b"a" * 40)  # a partial line: its scan position is remembered
    assert parser.next_event() is NEED_DATA
    parser.receive_data(b"\r\n$100\r\n" + b"b" * 10)  # the line ends; a big bulk starts
    assert parser.next_event() is NEED_DATA
    parser.receive_data(b"b" * 90 + b"\r\n:7\r\n")
    assert parser.next_event() == [b"a" * 40, b"b" * 100, 7]


def test_big_bulk_payload_bypasses_the_buffer_while_it_arrives() -> None:
    # White-box on purpose: the promise is about copies, which no reply shows.
    payload = b"p" * 1_000_000
    wire = b"$%d\r\n" % len(payload) + payload + b"\r\n"
    parser = RespParser()
    for i in range(0, len(wire), 65536):
        parser.receive_data(wire[i:i + 65536])
        assert len(parser._buf) <= 65536  # not accumulating there
        reply = parser.next_event()
    assert reply == payload
    assert len(parser) == 0


def test_big_bulk_with_bad_terminator_is_a_protocol_error() -> None:
    parser = RespParser(stream_threshold=16)
    parser.receive_data(b"$32\r\n" + b"x" * 10)
    assert parser.next_event() is NEED_DATA
    parser.receive_data(b"x" * 22 + b"XX")
    with pytest.raises(RemoteProtocolError, match="not followed by CRLF"):
        parser.next_event()


def test_bulk_longer_than_its_declared_length_is_a_protocol_error() -> None:
    with pytest.raises(RemoteProtocolError, match="not followed by CRLF"):
        parse_all(b"$3\r\nabcd\r\n")


@pytest.mark.parametrize(
    ("wire", "limits", "limit_name"),
    [
        (b"$1000\r\n", {"max_bulk_length": 999}, "max_bulk_length"),
        (b"=1000\r\n", {"max_bulk_length": 999}, "max_bulk_length"),
        (b"$99999999999999999999999\r\n", {}, "max_bulk_length"),
        (b"*1000\r\n", {"max_aggregate_length": 999}, "max_aggregate_length"),
        (b"%600\r\n", {"max_aggregate_length": 599}, "max_aggregate_length"),
        (b"*1\r\n*1\r\n*1\r\n:1\r\n", {"max_depth": 2}, "max_depth"),
        (b"+" + b"a" * 100, {"max_line_length": 64}, "max_line_length"),
        (b"+" + b"a" * 100 + b"\r\n", {"max_line_length": 64}, "max_line_length"),
    ],
)
def test_each_server_controlled_size_has_a_limit_that_names_itself(
        wire: bytes, limits: dict[str, int], limit_name: str) -> None:
    parser = RespParser(**limits)
    parser.receive_data(wire)
    with pytest.raises(LimitExceeded) as info:
        parser.next_event()
    assert info.value.limit_name == limit_name
    assert limit_name in str(info.value)


def test_limit_is_raised_from_the_header_before_the_payload_is_buffered() -> None:
    parser = RespParser(max_bulk_length=10)
    parser.receive_data(b"$11\r\n")  # not one payload byte yet
    with pytest.raises(LimitExceeded):
        parser.next_event()


@pytest.mark.parametrize(
    "wire",
    [b"?\r\n", b"\r\n", b"$abc\r\n", b"$-2\r\n", b"*-2\r\n", b"%-1\r\n", b":1.5\r\n", b":\r\n",
     b",abc\r\n", b"#x\r\n", b"_x\r\n", b"=3\r\nabc\r\n", b"$+5\r\nhello\r\n", b"$ 5\r\nhello\r\n",
     b":1_000\r\n", b":" + b"9" * 5000 + b"\r\n"],
)
def test_malformed_input_is_a_remote_protocol_error(wire: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_all(wire)


def test_replies_delivers_the_good_replies_before_a_protocol_error_then_raises() -> None:
    parser = RespParser()
    parser.receive_data(b"$2\r\nok\r\n:1\r\n?bad\r\n")
    assert parser.next_events() == [b"ok", 1]
    with pytest.raises(RemoteProtocolError):
        parser.next_events()


def test_parser_refuses_to_go_on_after_a_protocol_error() -> None:
    parser = RespParser()
    parser.receive_data(b"?\r\n+OK\r\n")
    with pytest.raises(RemoteProtocolError):
        parser.next_event()
    with pytest.raises(RemoteProtocolError, match="broke earlier"):
        parser.next_event()


def test_hiredis_machine_has_the_same_interface_and_replies() -> None:
    wire = b"$5\r\nhello\r\n*2\r\n:1\r\n%1\r\n+a\r\n#t\r\n>1\r\n+p\r\n-ERR x\r\n"
    hiredis_parser = HiredisParser()
    hiredis_parser.receive_data(wire)
    replies = hiredis_parser.next_events()
    assert replies == parse_all(wire)
    assert isinstance(replies[2], PushReply)
    hiredis_parser.receive_data(b"?\r\n")
    with pytest.raises(RemoteProtocolError):
        hiredis_parser.next_event()


# -- encoding ---------------------------------------------------------------------


def test_command_is_encoded_as_an_array_of_bulk_strings() -> None:
    assert encode_command(["SET", b"k\r\n", 10, 1.5, bytearray(b"ba"), memoryview(b"mv")]) == (
        b"*6\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$2\r\n10\r\n$3\r\n1.5\r\n$2\r\nba\r\n$2\r\nmv\r\n")


def test_command_encoding_round_trips_through_the_parser() -> None:
    big = b"z" * 100_000
    wire = encode_command(["SET", "ключ", big, -3, float("inf")])
    (request,) = parse_all(wire)
    assert request == [b"SET", "ключ".encode(), big, b"-3", b"inf"]


@pytest.mark.parametrize("bad", [True, None, object(), [b"x"]])
def test_an_argument_redis_cannot_take_is_refused_before_any_byte(bad: object) -> None:
    with pytest.raises(TypeError):
        encode_command(["SET", "k", bad])  # type: ignore[list-item]


def test_empty_command_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_command([])


# -- limits do not depend on how the bytes are cut (issue 12 item 14) -----------------


def test_a_line_of_exactly_max_line_length_is_accepted_when_cr_and_lf_arrive_apart() -> None:
    line = b"+" + b"a" * 63  # 64 bytes before its CRLF: exactly the limit
    whole = RespParser(max_line_length=64)
    whole.receive_data(line + b"\r\n")
    assert whole.next_event() == b"a" * 63
    split = RespParser(max_line_length=64)
    split.receive_data(line + b"\r")
    assert split.next_event() is NEED_DATA
    split.receive_data(b"\n")
    assert split.next_event() == b"a" * 63


def _wire_for(limit_name: str, size: int) -> bytes:
    """A reply whose size, as the limit ``limit_name`` counts it, is ``size``."""
    if limit_name == "max_line_length":
        return b"+" + b"a" * (size - 1) + b"\r\n"
    if limit_name == "max_bulk_length":
        return b"$%d\r\n%b\r\n" % (size, b"x" * size)
    if limit_name == "max_aggregate_length":
        return b"*%d\r\n%b" % (size, b":1\r\n" * size)
    assert limit_name == "max_depth"
    return b"*1\r\n" * size + b":1\r\n"


def _outcome(chunks: list[bytes], **limits: int) -> tuple[str, Any]:
    parser = RespParser(**limits)
    replies: list[Any] = []
    try:
        for chunk in chunks:
            parser.receive_data(chunk)
            while (reply := parser.next_event()) is not NEED_DATA:
                replies.append(reply)
    except LimitExceeded as exc:
        return "refused", exc.limit_name
    return "accepted", replies


@given(
    limit_name=st.sampled_from(
        ["max_line_length", "max_bulk_length", "max_aggregate_length", "max_depth"]),
    limit=st.integers(min_value=2, max_value=40),
    over=st.integers(min_value=-1, max_value=1),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
    stream_threshold=st.sampled_from([1, 8, 64 * 1024]),
)
@settings(max_examples=300, deadline=None)
def test_every_limit_gives_the_same_answer_however_the_bytes_are_cut(
        limit_name: str, limit: int, over: int, cuts: list[int], stream_threshold: int) -> None:
    size = limit + over
    wire = _wire_for(limit_name, size) + b":7\r\n"  # then a reply within every limit
    points = sorted({min(c, len(wire)) for c in cuts})
    chunks = [wire[a:b] for a, b in zip([0, *points], [*points, len(wire)], strict=True) if b > a]
    limits = {limit_name: limit, "stream_threshold": stream_threshold}
    whole = _outcome([wire], **limits)
    assert _outcome(chunks, **limits) == whole
    assert _outcome([wire[i:i + 1] for i in range(len(wire))], **limits) == whole
    assert whole[0] == ("accepted" if size <= limit else "refused")


@pytest.mark.parametrize(
    ("wire", "what"),
    [(b"*4294967295\r\n", "MemoryError in hiredis"),
     (b"%1\r\n*1\r\n:1\r\n:2\r\n", "a map key that is an array"),
     (b"%1\r\n%1\r\n:1\r\n:1\r\n:2\r\n", "a map key that is a map")],
)
def test_hiredis_machine_turns_what_hiredis_cannot_build_into_a_protocol_error(
        wire: bytes, what: str) -> None:
    parser = HiredisParser()
    parser.receive_data(wire)
    with pytest.raises(RemoteProtocolError):
        parser.next_event()
    with pytest.raises(RemoteProtocolError, match="broke earlier"):
        parser.next_event()


# -- h11's three calls, like every machine in the guide (issue 11) ----------------------

MACHINES = [RespParser, HiredisParser]


@pytest.mark.parametrize("machine", MACHINES)
def test_send_gives_the_bytes_of_a_command(machine: Any) -> None:
    assert machine().send(["GET", "k"]) == b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"


@pytest.mark.parametrize("machine", MACHINES)
def test_a_close_between_replies_is_a_connection_closed_event_after_the_replies(
        machine: Any) -> None:
    parser = machine()
    parser.receive_data(b"+OK\r\n:1\r\n")
    parser.receive_data(b"")
    assert parser.next_event() == b"OK"
    assert parser.next_event() == 1
    assert isinstance(parser.next_event(), ConnectionClosed)
    again = machine()
    again.receive_data(b"$2\r\nok\r\n")
    again.receive_data(b"")
    assert again.next_events() == [b"ok", ConnectionClosed()]


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("cut", [b"$5\r\nhel", b"*2\r\n:1\r\n", b"+OK"])
def test_a_close_in_the_middle_of_a_reply_is_a_remote_protocol_error(
        machine: Any, cut: bytes) -> None:
    parser = machine()
    parser.receive_data(cut)
    assert parser.next_event() is NEED_DATA
    parser.receive_data(b"")
    with pytest.raises(RemoteProtocolError, match="middle of a reply"):
        parser.next_event()


def test_bytes_after_the_close_are_the_drivers_mistake() -> None:
    parser = RespParser()
    parser.receive_data(b"")
    with pytest.raises(LocalProtocolError):
        parser.receive_data(b"+OK\r\n")


@given(st.lists(st.one_of(st.binary(max_size=1100), st.text(max_size=400),
                          st.integers(), st.floats(allow_nan=False),
                          st.binary(max_size=40).map(bytearray)), min_size=1, max_size=6),
       st.booleans())
@settings(max_examples=200, deadline=None)
def test_the_fast_encoder_gives_the_same_bytes_as_the_general_one(
        args: list[Any], as_tuple: bool) -> None:
    from examples.resp.protocol import _encode_any

    command = tuple(args) if as_tuple else args
    assert encode_command(command) == _encode_any(command)
    assert encode_command(iter(args)) == _encode_any(args)


@pytest.mark.parametrize("count", [1, 2, 63, 64, 200])
def test_commands_of_any_length_encode_the_same_on_the_fast_path(count: int) -> None:
    from examples.resp.protocol import _encode_any

    # One format per argument count up to 63; longer commands take the general path.
    command = ["RPUSH", *(f"v{i}" for i in range(count - 1))]
    assert encode_command(command) == _encode_any(command)
    assert encode_command(tuple(command)) == _encode_any(command)


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 5000])
def test_a_name_and_a_key_of_any_size_encode_the_same_on_the_fast_path(size: int) -> None:
    from examples.resp.protocol import _encode_any

    for command in (("GET", "k" * size), ("X" * size, "k"), ("GET", "é" * size)):
        assert encode_command(command) == _encode_any(command)
        assert encode_command(list(command)) == _encode_any(command)


_ARG = st.one_of(st.binary(max_size=300), st.text(max_size=100), st.integers(),
                 st.floats(allow_nan=False), st.binary(max_size=20).map(bytearray))


@given(st.lists(st.lists(_ARG, min_size=1, max_size=5).map(tuple) | st.lists(
    st.one_of(st.binary(max_size=50), st.text(max_size=20), st.integers()),
    min_size=1, max_size=70), max_size=8))
@settings(max_examples=200, deadline=None)
def test_a_pipeline_encodes_as_its_commands_one_after_the_other(
        commands: list[Any]) -> None:
    # encode_commands formats the block at once when every command is on the
    # fast path (str, bytes, int; 1-63 arguments) and falls back otherwise.
    assert encode_commands(commands) == b"".join(encode_command(c) for c in commands)


def test_a_pipeline_with_a_bad_argument_raises_before_any_byte_is_made() -> None:
    with pytest.raises(TypeError):
        encode_commands([("GET", "a"), ("SET", "k", True)])
    with pytest.raises(ValueError):
        encode_commands([("GET", "a"), ()])


def test_replies_that_end_exactly_at_the_end_of_the_buffer_leave_the_parser_ready() -> None:
    parser = RespParser()
    parser.receive_data(b"$3\r\nabc\r\n$1\r\nx\r\n")
    assert parser.next_events() == [b"abc", b"x"]  # all taken: it returns before asking for more
    parser.receive_data(b"+OK\r\n:5\r\n$2\r\nhi")
    assert parser.next_events() == [b"OK", 5]
    parser.receive_data(b"\r\n")
    assert parser.next_events() == [b"hi"]
    parser.receive_data(b"")
    assert parser.next_events() == [ConnectionClosed()]


def _drain_in_two_calls(parser: RespParser | HiredisParser,
                        chunks: list[bytes]) -> tuple[str, str | None]:
    out: list[Any] = []
    try:
        for chunk in chunks:
            parser.receive_data(chunk)
            out += parser.next_events()
            if parser.error is not None:
                raise parser.error
    except (RemoteProtocolError, LocalProtocolError) as exc:
        return repr(out), repr(exc)
    return repr(out), None


def _drain_in_one_call(parser: RespParser | HiredisParser,
                       chunks: list[bytes]) -> tuple[str, str | None]:
    out: list[Any] = []
    try:
        for chunk in chunks:
            out += parser.receive_events(chunk)
            if parser.error is not None:
                raise parser.error
    except (RemoteProtocolError, LocalProtocolError) as exc:
        return repr(out), repr(exc)
    return repr(out), None


_BULK_A = b"$1\r\nA\r\n"


_ONE_CALL_CASES = [
    [_BULK_A],                                      # one whole reply: the fast path
    [_BULK_A * 3],                                  # several
    [b"$0\r\n\r\n"],                                # empty bulk
    [_BULK_A + b"$3\r\nab", b"c\r\n" + _BULK_A],    # a reply cut across reads
    [b"$3\r\nab", b"c\r\n"],                        # nothing whole in the first read
    [_BULK_A + b"+OK\r\n:5\r\n$-1\r\n*1\r\n$1\r\nx\r\n"],  # other types after a bulk
    [b"+OK\r\n" + _BULK_A],                         # a bulk after another type
    [_BULK_A + b"?garbage\r\n", _BULK_A],           # an error after a good reply
    [b"?garbage\r\n"],                              # an error alone
    [_BULK_A + b"$4\r\nabcdX\r\n"],                 # a bulk not followed by CRLF
    [_BULK_A + b"$2000\r\n"],                       # over max_bulk_length, announced
    [b"$1001\r\n" + b"x" * 1001 + b"\r\n"],          # over max_bulk_length, and all there
    [_BULK_A + b"$40\r\n" + b"x" * 20, b"x" * 20 + b"\r\n"],  # collected as chunks
    [_BULK_A + b"$1", b"0\r\n0123456789\r\n"],      # the header itself cut
    [_BULK_A, b""],                                 # the server closed between replies
    [_BULK_A + b"$3\r\nab", b""],                   # ... and in the middle of one
    [b">2\r\n+p\r\n+q\r\n" + _BULK_A],              # a push, then a reply
    [b"|1\r\n+a\r\n:1\r\n" + _BULK_A, _BULK_A],     # an attribute, then replies
]
# hiredis does not understand RESP3 attributes (documented in _hiredis.py)
_ONE_CALL_PARAMS = [(RespParser, chunks) for chunks in _ONE_CALL_CASES] + [
    (HiredisParser, chunks) for chunks in _ONE_CALL_CASES if not chunks[0].startswith(b"|")]


@pytest.mark.parametrize(("machine", "chunks"), _ONE_CALL_PARAMS)
def test_receive_events_gives_what_receive_data_then_next_events_give(
        machine: type[RespParser] | type[HiredisParser], chunks: list[bytes]) -> None:
    limits = {"max_bulk_length": 1000, "stream_threshold": 32} if machine is RespParser else {}
    two, one = machine(**limits), machine(**limits)
    assert _drain_in_one_call(one, chunks) == _drain_in_two_calls(two, chunks)
    assert len(one) == len(two)
    assert one.attributes == two.attributes
    # and the machines are in the same state: the same answer to what comes next
    assert _drain_in_one_call(one, [_BULK_A]) == _drain_in_two_calls(two, [_BULK_A])
