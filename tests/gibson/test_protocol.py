"""The gibson machines, in memory: no sockets, no event loop."""

from __future__ import annotations

import dataclasses
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambidex.sansio import (
    NEED_DATA,
    PAUSED,
    LimitExceeded,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)
from examples.gibson.protocol import (
    DEFAULT_MAX_PAYLOAD,
    HEADER,
    MAX_KEY,
    BadRequest,
    ClientConnection,
    Code,
    ConnectionClosed,
    Delete,
    Encoding,
    Error,
    ErrorCode,
    Get,
    NotFound,
    Ok,
    Reply,
    Request,
    ServerConnection,
    Set,
    Value,
    as_key,
    encode_reply,
    encode_request,
    error_for,
)


def events(machine: ClientConnection | ServerConnection) -> list[object]:
    out: list[object] = []
    while (event := machine.next_event()) is not NEED_DATA and event is not PAUSED:
        out.append(event)
        if isinstance(event, ConnectionClosed):
            break
    return out


def test_the_header_is_seven_little_endian_bytes_code_encoding_size() -> None:
    wire = encode_request(Get(b"k"))
    assert wire == b"\x01\x00" + b"\x00" + b"\x01\x00\x00\x00" + b"k"
    assert HEADER.size == 7


def test_set_payload_is_key_length_key_then_value_with_the_value_encoding() -> None:
    wire = encode_request(Set(b"key", "é".encode(), Encoding.UTF8))
    assert HEADER.unpack_from(wire) == (Code.SET, Encoding.UTF8, 2 + 3 + 2)
    assert wire[HEADER.size :] == b"\x03\x00key" + "é".encode()


def test_error_reply_payload_is_a_code_then_a_utf8_message() -> None:
    wire = encode_reply(Error(ErrorCode.BAD_KEY, "no"))
    assert wire[HEADER.size :] == b"\x04\x00no"


def test_a_client_and_a_server_machine_talk_in_memory() -> None:
    client, server = ClientConnection(), ServerConnection()
    requests: list[Request] = [Set(b"a", b"1"), Get(b"a"), Delete(b"a"), Get(b"a")]
    server.receive_data(client.send_many(requests))
    assert events(server) == requests
    replies: list[Reply] = [Ok(), Value(b"1"), Ok(), NotFound()]
    client.receive_data(b"".join(server.send(r) for r in replies))
    assert events(client) == replies
    assert client.outstanding == 0


def test_replies_come_back_in_request_order_and_are_checked_against_them() -> None:
    client = ClientConnection()
    client.send(Set(b"k", b"v"))
    client.receive_data(encode_reply(Value(b"v")))
    with pytest.raises(RemoteProtocolError, match="VALUE is not a reply to SET"):
        client.next_event()


def test_a_reply_for_a_request_never_sent_is_a_remote_error() -> None:
    client = ClientConnection()
    client.receive_data(encode_reply(Ok()))
    with pytest.raises(RemoteProtocolError, match="7 bytes with no request pending"):
        client.next_event()


def test_even_a_partial_reply_with_nothing_pending_is_a_remote_error() -> None:
    client = ClientConnection()
    client.receive_data(b"\x80")
    with pytest.raises(RemoteProtocolError, match="1 bytes with no request pending"):
        client.next_event()


def test_a_declared_size_over_the_limit_fails_on_the_header_alone() -> None:
    client = ClientConnection(max_payload=100)
    client.send(Get(b"k"))
    client.receive_data(HEADER.pack(Code.VALUE, 0, 101))
    with pytest.raises(LimitExceeded) as info:
        client.next_event()
    assert (info.value.limit_name, info.value.size, info.value.limit) == ("max_payload", 101, 100)


def test_after_a_peer_error_the_client_machine_stays_broken_and_says_why() -> None:
    client = ClientConnection()
    client.send(Get(b"k"))
    client.receive_data(b"\xff\xff\x00\x00\x00\x00\x00")
    with pytest.raises(RemoteProtocolError, match="unknown reply code 0xffff"):
        client.next_event()
    with pytest.raises(RemoteProtocolError, match=r"ERROR state .*0xffff"):
        client.next_event()
    with pytest.raises(RemoteProtocolError, match="ERROR state"):
        client.send(Get(b"k"))


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (HEADER.pack(Code.NOT_FOUND, 0, 1) + b"x", "NOT_FOUND carries 1 unexpected bytes"),
        (HEADER.pack(Code.NOT_FOUND, 1, 0), "NOT_FOUND with encoding 1"),
        (HEADER.pack(Code.VALUE, 9, 0), "unknown encoding 9"),
        (HEADER.pack(Code.ERROR, 0, 1) + b"x", "has no code"),
        (HEADER.pack(Code.GET, 0, 1) + b"k", "sent a request code"),
    ],
)
def test_malformed_replies_are_remote_errors_naming_the_problem(wire: bytes, message: str) -> None:
    client = ClientConnection()
    client.send(Get(b"k"))
    client.receive_data(wire)
    with pytest.raises(RemoteProtocolError, match=message):
        client.next_event()


def test_an_error_reply_with_an_unknown_code_keeps_the_number() -> None:
    client = ClientConnection()
    client.send(Get(b"k"))
    client.receive_data(HEADER.pack(Code.ERROR, 0, 4) + struct.pack("<H", 999) + b"hm")
    assert client.next_event() == Error(999, "hm")


def test_end_of_file_between_replies_is_a_clean_close() -> None:
    client = ClientConnection()
    client.receive_data(b"")
    assert client.next_event() == ConnectionClosed()
    with pytest.raises(LocalProtocolError):
        client.send(Get(b"k"))
    with pytest.raises(LocalProtocolError):
        client.receive_data(b"more")


def test_end_of_file_mid_reply_or_with_requests_unanswered_is_a_remote_error() -> None:
    client = ClientConnection()
    client.send(Get(b"k"))
    client.receive_data(encode_reply(Value(b"abc"))[:-1])
    client.receive_data(b"")
    with pytest.raises(RemoteProtocolError, match=r"middle of a reply \(9 bytes"):
        client.next_event()
    other = ClientConnection()
    other.send_many([Get(b"a"), Get(b"b")])
    other.receive_data(b"")
    with pytest.raises(RemoteProtocolError, match="2 requests unanswered"):
        other.next_event()


def test_invalid_requests_are_refused_before_anything_is_recorded() -> None:
    client = ClientConnection(max_payload=50)
    with pytest.raises(LocalProtocolError, match="1 to 1024 bytes"):
        client.send_many([Get(b"ok"), Get(b"x" * (MAX_KEY + 1))])
    with pytest.raises(LocalProtocolError, match="over max_payload=50"):
        client.send(Set(b"k", b"v" * 100))
    with pytest.raises(LocalProtocolError):
        client.send(Get(b""))
    assert client.outstanding == 0


def test_the_server_answers_a_well_framed_bad_request_and_carries_on() -> None:
    server = ServerConnection()
    server.receive_data(
        HEADER.pack(0x42, 0, 0)  # unknown command
        + HEADER.pack(Code.SET, 0, 1)
        + b"\x05"  # too short for its key length field
        + HEADER.pack(Code.SET, 0, 3)
        + b"\x05\x00k"  # key length overruns the payload
        + HEADER.pack(Code.GET, 7, 1)
        + b"k"  # unknown encoding
        + HEADER.pack(Code.DEL, 0, 0)  # empty key
        + encode_request(Get(b"fine"))
    )
    got = events(server)
    assert [type(e) for e in got] == [BadRequest] * 5 + [Get]
    assert [e.code for e in got[:5] if isinstance(e, BadRequest)] == [
        ErrorCode.UNKNOWN_COMMAND,
        ErrorCode.BAD_REQUEST,
        ErrorCode.BAD_REQUEST,
        ErrorCode.BAD_REQUEST,
        ErrorCode.BAD_KEY,
    ]
    for event in got[:5]:
        assert isinstance(event, BadRequest)
        server.send(error_for(event))
    assert server.unanswered == 1


def test_the_server_refuses_a_reply_with_nothing_to_answer() -> None:
    with pytest.raises(LocalProtocolError, match="no request to answer"):
        ServerConnection().send(Ok())


def test_the_server_pauses_when_too_many_requests_await_replies() -> None:
    server = ServerConnection(max_unanswered=2)
    server.receive_data(encode_request(Get(b"a")) * 3)
    assert events(server) == [Get(b"a"), Get(b"a")]
    assert server.next_event() is PAUSED
    server.send(NotFound())
    assert server.next_event() == Get(b"a")


def test_error_for_a_limit_says_too_large() -> None:
    assert error_for(LimitExceeded("max_payload", 10, 5)).code is ErrorCode.TOO_LARGE
    assert error_for(RemoteProtocolError("x")).code is ErrorCode.BAD_REQUEST


def test_client_close_mid_request_is_a_remote_error_for_the_server() -> None:
    server = ServerConnection()
    server.receive_data(encode_request(Get(b"abc"))[:5])
    server.receive_data(b"")
    with pytest.raises(RemoteProtocolError, match="middle of a request"):
        server.next_event()


# -- properties ----------------------------------------------------------------------

keys = st.binary(min_size=1, max_size=20)
requests_st = st.lists(
    st.one_of(
        st.builds(Get, keys),
        st.builds(Delete, keys),
        st.builds(Set, keys, st.binary(max_size=40), st.sampled_from(list(Encoding))),
    ),
    min_size=1,
    max_size=12,
)


def reply_for(request: Request, data: st.DataObject) -> Reply:
    errors = st.builds(Error, st.sampled_from(list(ErrorCode)), st.text(max_size=10))
    if isinstance(request, Get):
        options = st.one_of(st.builds(Value, st.binary(max_size=40)), st.just(NotFound()), errors)
    elif isinstance(request, Set):
        options = st.one_of(st.just(Ok()), errors)
    else:
        options = st.one_of(st.just(Ok()), st.just(NotFound()), errors)
    return data.draw(options)


def chunks(wire: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(wire) + 1) for c in cuts})
    return [wire[a:b] for a, b in zip([0, *points], [*points, len(wire)], strict=True)]


@settings(max_examples=100, deadline=None)
@given(requests=requests_st, data=st.data(), cuts=st.lists(st.integers(0), max_size=15))
def test_any_split_of_a_valid_stream_gives_the_same_events_on_both_sides(
    requests: list[Request], data: st.DataObject, cuts: list[int]
) -> None:
    client, server = ClientConnection(), ServerConnection()
    request_wire = client.send_many(requests)
    for piece in chunks(request_wire, cuts):
        if piece:
            server.receive_data(piece)
    assert events(server) == requests
    replies = [reply_for(r, data) for r in requests]
    reply_wire = b"".join(server.send(r) for r in replies)
    got: list[object] = []
    for piece in chunks(reply_wire, cuts):
        if piece:
            client.receive_data(piece)
        got.extend(events(client))
    assert got == replies


@settings(max_examples=200, deadline=None)
@given(noise=st.binary(max_size=300), pending=st.integers(0, 5))
def test_random_bytes_give_the_client_only_protocol_errors(noise: bytes, pending: int) -> None:
    client = ClientConnection(max_payload=64)
    client.send_many([Get(b"k")] * pending)
    try:
        if noise:
            client.receive_data(noise)
        events(client)
        client.receive_data(b"")
        events(client)
    except ProtocolError:
        pass


@settings(max_examples=200, deadline=None)
@given(noise=st.binary(max_size=300))
def test_random_bytes_give_the_server_only_requests_bad_requests_or_protocol_errors(
    noise: bytes,
) -> None:
    server = ServerConnection(max_payload=64)
    try:
        if noise:  # b"" would mean end of file
            server.receive_data(noise)
        for event in events(server):
            assert isinstance(event, Get | Set | Delete | BadRequest)
            server.send(error_for(event) if isinstance(event, BadRequest) else Ok())
    except ProtocolError:
        pass


# -- receive_replies: what the callback driver calls -----------------------------------


def any_frame(data: st.DataObject) -> bytes:
    """A well-framed reply of any code, encoding and size: valid or not."""
    code = data.draw(st.sampled_from([0x80, 0x81, 0x82, 0x83, 0x01, 0x99]))
    encoding = data.draw(st.sampled_from([0, 0, 1, 7]))
    payload = data.draw(st.binary(max_size=24))
    return HEADER.pack(code, encoding, len(payload)) + payload


def one_by_one(client: ClientConnection, pieces: list[bytes]) -> list[object]:
    """The reference: receive_data, then next_event until NEED_DATA, per piece."""
    got: list[object] = []
    try:
        for piece in pieces:
            client.receive_data(piece)
            while (event := client.next_event()) is not NEED_DATA:
                got.append(event)
    except ProtocolError:
        pass
    return got


def in_lists(client: ClientConnection, pieces: list[bytes]) -> list[object]:
    got: list[object] = []
    try:
        for piece in pieces:
            got.extend(client.receive_replies(piece))
            if client.error is not None:
                # Good replies came before the error: the next call raises.
                with pytest.raises(ProtocolError):
                    client.receive_replies(b"more")
                break
    except ProtocolError:
        pass
    return got


@settings(max_examples=300, deadline=None)
@given(
    requests=requests_st,
    data=st.data(),
    cuts=st.lists(st.integers(0), max_size=15),
    limits=st.sampled_from([(DEFAULT_MAX_PAYLOAD, None), (16, None), (1024, 40)]),
)
def test_receive_replies_gives_what_receive_data_and_next_event_give_for_any_split(
    requests: list[Request],
    data: st.DataObject,
    cuts: list[int],
    limits: tuple[int, int | None],
) -> None:
    # Mostly the right replies; sometimes a frame of any code, encoding and
    # size instead (a reply that does not fit its request, a payload where
    # none belongs, an unknown encoding, one over max_payload); sometimes
    # more replies than requests.
    frames = [
        any_frame(data) if data.draw(st.integers(0, 9)) == 0 else encode_reply(reply_for(r, data))
        for r in requests
    ]
    frames += [any_frame(data) for _ in range(data.draw(st.integers(0, 2)))]
    pieces = [p for p in chunks(b"".join(frames), cuts) if p]
    max_payload, max_buffer = limits
    reference = ClientConnection(max_buffer=max_buffer)
    client = ClientConnection(max_buffer=max_buffer)
    for machine in (reference, client):
        machine.send_many(requests)
        machine.max_payload = max_payload  # the limit on replies (requests may be larger)
    assert in_lists(client, pieces) == one_by_one(reference, pieces)
    assert repr(client.error) == repr(reference.error)
    assert client.outstanding == reference.outstanding


def test_receive_replies_takes_a_read_holding_many_whole_replies_in_one_call() -> None:
    client = ClientConnection()
    client.send_many([Get(b"a"), Set(b"b", b"x"), Delete(b"c"), Get(b"d")])
    wire = b"".join(
        encode_reply(r) for r in (Value("é".encode(), Encoding.UTF8), Ok(), NotFound(), NotFound())
    )
    assert client.receive_replies(wire) == [
        Value("é".encode(), Encoding.UTF8), Ok(), NotFound(), NotFound()
    ]
    assert client.outstanding == 0 and client.next_event() is NEED_DATA


def test_a_value_from_receive_replies_is_a_whole_frozen_value() -> None:
    client = ClientConnection()
    client.send(Get(b"k"))
    (value,) = client.receive_replies(encode_reply(Value("é".encode(), Encoding.UTF8)))
    made = Value("é".encode(), Encoding.UTF8)
    assert type(value) is Value and value == made and hash(value) == hash(made)
    assert repr(value) == repr(made) and value.decoded() == "é"
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.value = b"changed"  # type: ignore[misc]


def test_receive_replies_returns_the_good_replies_before_an_error_the_next_call_raises() -> None:
    client = ClientConnection()
    client.send_many([Get(b"a"), Set(b"b", b"x")])
    wire = encode_reply(Value(b"one")) + encode_reply(Value(b"not for a SET"))
    assert client.receive_replies(wire) == [Value(b"one")]
    assert isinstance(client.error, RemoteProtocolError)
    assert "VALUE is not a reply to SET" in str(client.error)
    with pytest.raises(RemoteProtocolError, match="ERROR state"):
        client.receive_replies(encode_reply(Ok()))


def test_receive_replies_refuses_a_read_larger_than_max_buffer_as_receive_data_does() -> None:
    client = ClientConnection(max_buffer=50)
    client.send_many([Get(b"k")] * 3)
    with pytest.raises(LimitExceeded):
        client.receive_replies(encode_reply(Value(b"v" * 20)) * 3)  # 81 bytes, all whole


@pytest.mark.parametrize(
    ("request_", "wire", "message"),
    [
        (Get(b"k"), HEADER.pack(0x81, 0, 17) + b"v" * 17, "declared payload size"),
        (Set(b"k", b"v"), encode_reply(Value(b"v")), "VALUE is not a reply to SET"),
        (Set(b"k", b"v"), encode_reply(NotFound()), "NOT_FOUND is not a reply to SET"),
        (Get(b"k"), encode_reply(Ok()), "OK is not a reply to GET"),
        (Get(b"k"), HEADER.pack(0x81, 7, 1) + b"v", "unknown encoding 7"),
        (Delete(b"k"), HEADER.pack(0x80, 1, 0), "OK with encoding 1"),
        (Delete(b"k"), HEADER.pack(0x82, 0, 1) + b"x", "NOT_FOUND carries 1 unexpected bytes"),
    ],
)
def test_receive_replies_refuses_a_whole_reply_that_next_event_refuses(
    request_: Request, wire: bytes, message: str
) -> None:
    client = ClientConnection(max_payload=16)
    client.send(request_)
    with pytest.raises(RemoteProtocolError, match=message):
        client.receive_replies(wire)
    assert client.broken


def test_receive_replies_gives_bytes_payloads_whatever_buffer_type_it_is_given() -> None:
    client = ClientConnection()
    client.send_many([Get(b"a"), Get(b"b")])
    wire = encode_reply(Value(b"one")) + encode_reply(Value(b"two"))
    replies = client.receive_replies(memoryview(bytearray(wire)))  # type: ignore[arg-type]
    assert replies == [Value(b"one"), Value(b"two")]
    assert all(type(reply.value) is bytes for reply in replies if isinstance(reply, Value))


def test_receive_replies_reads_what_receive_data_left_in_the_buffer_first() -> None:
    client = ClientConnection()
    client.send_many([Get(b"a"), Get(b"b")])
    wire = encode_reply(Value(b"one")) + encode_reply(Value(b"two"))
    client.receive_data(wire[:5])  # part of a header, held by the buffer
    assert client.next_event() is NEED_DATA
    assert client.receive_replies(wire[5:12]) == [Value(b"one")]  # and 2 bytes of "two"
    assert client.receive_replies(wire[12:]) == [Value(b"two")]
    # A held header whose payload, arriving alone, looks like a reply itself.
    inner = encode_reply(Value(b"x"))
    client.send(Get(b"nested"))
    client.receive_data(encode_reply(Value(inner))[:7])
    assert client.receive_replies(inner) == [Value(inner)]
    client.send(Get(b"c"))
    client.receive_data(encode_reply(NotFound()))
    assert client.next_event() == NotFound()  # the buffer emptied by next_event
    client.send(Get(b"d"))
    assert client.receive_replies(encode_reply(Value(b"four"))) == [Value(b"four")]


def test_receive_replies_with_nothing_pending_is_a_remote_error() -> None:
    with pytest.raises(RemoteProtocolError, match="no request pending"):
        ClientConnection().receive_replies(encode_reply(Ok()))


# -- send: the GET fast path -----------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    key=st.one_of(st.binary(max_size=MAX_KEY + 2), st.binary(max_size=8).map(bytearray)),
    max_payload=st.sampled_from([4, 1024, DEFAULT_MAX_PAYLOAD]),
)
def test_send_of_a_get_gives_the_bytes_of_encode_request_and_refuses_what_it_refuses(
    key: bytes, max_payload: int
) -> None:
    client = ClientConnection(max_payload=max_payload)
    try:
        expected = encode_request(Get(key), max_payload=max_payload)
    except LocalProtocolError as refusal:
        with pytest.raises(LocalProtocolError) as raised:
            client.send(Get(key))
        assert str(raised.value) == str(refusal)
        assert client.outstanding == 0  # nothing recorded
    else:
        assert client.send(Get(key)) == expected
        assert client.outstanding == 1
        assert client.receive_replies(encode_reply(NotFound())) == [NotFound()]


def _machine_in(state: str, max_payload: int) -> ClientConnection:
    client = ClientConnection(max_payload=max_payload)
    if state == "closed by the server":
        client.receive_data(b"")
    elif state == "broken":
        with pytest.raises(RemoteProtocolError):
            client.receive_replies(encode_reply(Ok()))  # a reply nobody asked for
    return client


@settings(max_examples=300, deadline=None)
@given(
    key=st.one_of(
        st.binary(max_size=MAX_KEY + 2),
        st.text(max_size=MAX_KEY // 2 + 2),
        st.binary(max_size=8).map(bytearray),
    ),
    max_payload=st.sampled_from([4, 1024, DEFAULT_MAX_PAYLOAD]),
    state=st.sampled_from(["fresh", "closed by the server", "broken"]),
)
def test_send_get_of_a_key_is_send_of_a_get_of_that_key(
    key: str | bytes, max_payload: int, state: str
) -> None:
    # send_get is the asyncio client's GET without making a Get: the same
    # bytes, the same record, the same refusals in the same order.
    by_hand, direct = _machine_in(state, max_payload), _machine_in(state, max_payload)
    try:
        expected = by_hand.send(Get(as_key(key)))
    except ProtocolError as refusal:
        with pytest.raises(type(refusal)) as raised:
            direct.send_get(key)
        assert str(raised.value) == str(refusal)
    else:
        assert direct.send_get(key) == expected
    assert direct.outstanding == by_hand.outstanding
    if direct.outstanding:
        assert direct.receive_replies(encode_reply(NotFound())) == [NotFound()]
