"""The fast path's parser against h11, its reference.

examples/http/_fastpath.py reads the common response without h11 and
declines everything else (h11 then replays the exchange). Its one promise:
whatever it does not decline, it reads exactly as h11 would, and it never
waits for more where h11 would already have raised. hypothesis checks that
for arbitrary bytes and for responses built to be nearly valid and then
mutated, fed in pieces cut at arbitrary points, with h11 fed the same
pieces. The named tests below pin what must NOT be declined (or the
differential test would pass for a parser that declines everything) and
what must be.
"""

from __future__ import annotations

import itertools
from typing import Any

import h11
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from examples.http._fastpath import DECLINE, ResponseParser, request_bytes

NGINX = (b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 30 Nov 2026 19:53:09 GMT\r\n"
         b"Content-Type: text/plain\r\nContent-Length: 100\r\n"
         b"Last-Modified: Mon, 30 Nov 2026 19:40:51 GMT\r\nConnection: keep-alive\r\n"
         b"ETag: \"6b0dd143-64\"\r\nAccept-Ranges: bytes\r\n\r\n" + b"0123456789" * 10)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    edges = sorted({0, len(data), *(p % (len(data) + 1) for p in points)})
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]


class Reference:
    """h11's client machine after a request, fed the same pieces."""

    def __init__(self, method: bytes, max_head: int) -> None:
        self.h = h11.Connection(h11.CLIENT, max_incomplete_event_size=max_head)
        self.h.send(h11.Request(method=method, target="/", headers=[("host", "x")]))
        self.h.send(h11.EndOfMessage())
        self.raised = False
        self.head: Any = None
        self.body = b""
        self.ended = False

    def feed(self, piece: bytes) -> None:
        if self.raised:
            return
        self.h.receive_data(piece)
        while True:
            try:
                event = self.h.next_event()
            except h11.RemoteProtocolError:
                self.raised = True
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                self.head = event
            elif isinstance(event, h11.Data):
                self.body += event.data
            elif isinstance(event, h11.EndOfMessage):
                self.ended = True


def differential(pieces: list[bytes], method: bytes, max_head: int) -> str:
    """Feed both; check the promise at every piece. What the fast path did."""
    parser = ResponseParser(max_head)
    buffer = parser.start(method == b"HEAD")
    reference = Reference(method, max_head)
    for i, piece in enumerate(pieces):
        buffer += piece
        reference.feed(piece)
        result = parser.parse()
        if result is DECLINE:
            return "declined"
        if result is None:
            # "Wait for more" only where h11 waits too.
            assert not reference.raised
            assert not reference.ended
            continue
        # Complete: exactly what h11 read, and a connection h11 would reuse.
        assert not reference.raised
        assert reference.ended
        head, event = parser.head, reference.head
        assert head is not None
        assert head.status_code == event.status_code
        assert head.reason == event.reason
        assert head.http_version == event.http_version
        assert head.headers == list(event.headers._full_items)
        assert bytes(result) == reference.body
        h = reference.h
        assert (h.our_state, h.their_state) == (h11.DONE, h11.DONE)
        assert h.trailing_data == (b"", False)
        # Bytes after it: h11 would not reuse the connection (nor do we:
        # they arrive in an idle connection's buffer).
        for later in pieces[i + 1:]:
            reference.feed(later)
        if any(pieces[i + 1:]):
            assert reference.raised or h.trailing_data[0]
        return "read"
    return "waiting"


# --- responses built nearly valid, then mutated ------------------------------------

# Each part of a response from a pool of valid choices or from one that adds
# what h11 treats differently, refuses or reads in a way the fast path leaves
# to it. A response is "clean" (valid parts only, the fast path should read
# most of them) or "rough" (any part).
_GOOD_NAMES = [b"Content-Type", b"content-type", b"X-Thing", b"Server", b"Set-Cookie", b"a",
               b"!#$%&'*+-.^_`|~", b"Connection"]
_NAMES = [*_GOOD_NAMES, b"Content-Length", b"content-length", b"CONTENT-LENGTH",
                        b"Transfer-Encoding", b"Bad Name", b"", b"X:Y"]
_GOOD_VALUES = [b"keep-alive", b"0", b"5", b"007", b"", b"a b", b"a\tb", b"a  b", b"\x80\xff",
                b"caf\xc3\xa9", b"text/plain; charset=utf-8"]
_VALUES = [*_GOOD_VALUES, b"close", b"Keep-Alive, Close", b"chunked", b"5, 5", b"5,6", b"-1",
                          b" ", b"x\x7fy", b"x\x01y", b"99999999999999999999999", b"a\rb",
                          b"a\nb"]
_GOOD_OWS = [b"", b" ", b"\t", b"  \t"]
_GOOD_EOL = [b"\r\n"]
_EOLS = [*_GOOD_EOL, b"\n", b"\r", b"\r\r\n"]
_GOOD_VERSIONS = [b"HTTP/1.1"]
_VERSIONS = [*_GOOD_VERSIONS, b"HTTP/1.0", b"HTTP/2.0", b"http/1.1"]
_GOOD_STATUS = [b"200", b"204", b"304", b"404", b"999", b"201"]
_STATUS = [*_GOOD_STATUS, b"100", b"101", b"199", b"000", b"2000", b"20"]
_GOOD_REASONS = [b" OK", b"", b" ", b" Not Found", b" \tweird\x80"]
_REASONS = [*_GOOD_REASONS, b" a\x7fb", b" a\x00b", b"OK"]


@st.composite
def nearly_valid(draw: Any) -> bytes:
    clean = draw(st.booleans())

    def pick(good: list[bytes], every: list[bytes]) -> bytes:
        # rough: each part from the wider pool one time in six (so most
        # rough responses have one or two odd parts, the rest valid)
        chosen: bytes = draw(st.sampled_from(good if clean or draw(st.integers(0, 5)) else every))
        return chosen

    status = pick(_GOOD_STATUS, _STATUS)
    head = (pick(_GOOD_VERSIONS, _VERSIONS) + b" " + status + pick(_GOOD_REASONS, _REASONS)
            + pick(_GOOD_EOL, _EOLS))
    body = b"" if clean and status in (b"204", b"304") else draw(st.binary(max_size=40))
    for _ in range(draw(st.integers(0, 6))):
        head += (pick(_GOOD_NAMES, _NAMES) + b":" + pick(_GOOD_OWS, _GOOD_OWS)
                 + pick(_GOOD_VALUES, _VALUES) + pick(_GOOD_OWS, _GOOD_OWS)
                 + pick(_GOOD_EOL, _EOLS))
    if clean or draw(st.integers(0, 3)):  # a Content-Length that matches, most of the time
        declared = len(body) + (0 if clean else draw(st.sampled_from([0, 0, 1, -1])))
        head += b"Content-Length: " + str(declared).encode() + b"\r\n"
    if not clean:  # now and then a line that changes the framing or the reuse
        head += draw(st.sampled_from([b""] * 6 + [b"X-Folded: a\r\n  b\r\n",
                                                  b"Transfer-Encoding: chunked\r\n",
                                                  b"Connection: close\r\n"]))
    head += pick([b"\r\n"], [b"\r\n", b"\n"])
    trailing = pick([b""], [b"", b"HTTP/1.1 200 OK\r\n", b"x"])
    return head + body + trailing


@st.composite
def mutated(draw: Any) -> bytes:
    data = bytearray(draw(nearly_valid()))
    for _ in range(draw(st.integers(0, 3))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["replace", "delete", "insert"]))
        byte = draw(st.sampled_from([0, 9, 10, 13, 32, 44, 58, 0x7F, 0x80, 0xFF,
                                     ord("a"), ord("0")]))
        if kind == "replace":
            data[at] = byte
        elif kind == "delete":
            del data[at]
        else:
            data.insert(at, byte)
    return bytes(data)


_CUTS = st.lists(st.integers(0, 10_000), max_size=6)
_METHOD = st.sampled_from([b"GET", b"GET", b"GET", b"HEAD"])
_MAX_HEAD = st.sampled_from([65536, 65536, 65536, 80, 24])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(nearly_valid(), nearly_valid(), mutated()), points=_CUTS, method=_METHOD,
       max_head=_MAX_HEAD)
@example(data=NGINX, points=[], method=b"GET", max_head=65536)
@example(data=NGINX, points=list(range(len(NGINX))), method=b"GET", max_head=65536)
@example(data=b"HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n", points=[], method=b"GET",
         max_head=65536)
@example(data=b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n",
         points=[], method=b"GET", max_head=65536)
@example(data=b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
         points=[], method=b"GET", max_head=65536)
def test_a_response_the_fast_path_reads_is_read_as_h11_reads_it(
        data: bytes, points: list[int], method: bytes, max_head: int) -> None:
    differential(cut(data, points), method, max_head)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200), prefix=st.sampled_from([b"", b"HTTP/1.1 ", b"HTTP/1.1 200"]),
       points=_CUTS, method=_METHOD)
def test_arbitrary_bytes_are_declined_or_read_as_h11_reads_them(
        data: bytes, prefix: bytes, points: list[int], method: bytes) -> None:
    differential(cut(prefix + data, points), method, 65536)


def test_the_response_is_read_whatever_the_cut() -> None:
    for at in range(1, len(NGINX)):
        outcome = differential([NGINX[:at], NGINX[at:]], b"GET", 65536)
        assert outcome == "read", at
    assert differential([NGINX[i:i + 1] for i in range(len(NGINX))], b"GET", 65536) == "read"


# --- what it reads, and what it leaves to h11 --------------------------------------------

def parse(data: bytes, method: bytes = b"GET", max_head: int = 65536) -> Any:
    parser = ResponseParser(max_head)
    parser.start(method == b"HEAD").extend(data)
    return parser.parse(), parser.head


@pytest.mark.parametrize("response", [
    NGINX,
    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\nX-A:\r\nX-B:  spaced\t value \t\r\n\r\nnot",
    b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",  # no reason phrase (h11 allows it)
    b"HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n",
    b"HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nETag: \"x\"\r\n\r\n",
])
def test_the_common_responses_are_read_not_declined(response: bytes) -> None:
    assert differential([response], b"GET", 65536) == "read"


def test_a_head_response_has_no_body_whatever_its_content_length() -> None:
    head_only = NGINX[:NGINX.index(b"\r\n\r\n") + 4]
    assert differential([head_only], b"HEAD", 65536) == "read"
    body, head = parse(head_only, b"HEAD")
    assert body == b"" and head.status_code == 200
    assert parse(NGINX, b"HEAD")[0] is DECLINE  # the 100 bytes after it are not its body


@pytest.mark.parametrize("response", [
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n\r\nuntil the close",  # no length: delimited by the close
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n",  # h11 waits for the response
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 10\r\n\r\n5\r\nhello\r\n",
    b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",  # h11 merges
    b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok+more",  # trailing bytes
    b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",  # bare LF (h11 reads it)
    b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 2\r\n\r\nok",  # a folded line
    b"HTTP/1.1 200 OK\r\nX: a\x01b\r\nContent-Length: 2\r\n\r\nok",  # h11 allows \x01
    b"HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n",  # larger than the fast path holds
    b"garbage\r\n\r\n",
    b" HTTP/1.1 200 OK\r\n",  # h11 raises on the first byte already
])
def test_anything_else_is_declined_to_h11(response: bytes) -> None:
    assert parse(response)[0] is DECLINE


def test_a_head_longer_than_the_limit_is_declined_before_its_end_arrives() -> None:
    # h11 raises "Receive buffer too long" once more than max_head bytes wait
    # without a complete head; the fast path must not wait past that.
    start = b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 100
    assert parse(start[:60], max_head=64)[0] is None
    assert parse(start, max_head=64)[0] is DECLINE
    assert differential([start], b"GET", 64) == "declined"


def test_a_head_longer_than_the_limit_is_declined_even_when_it_came_whole() -> None:
    # h11 reads a head of any size that arrives in one piece; the connection
    # then measures it (its max_header_size check): so the fast path leaves it.
    response = b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 100 + b"\r\nContent-Length: 0\r\n\r\n"
    assert parse(response, max_head=len(response))[0] == b""
    assert parse(response, max_head=len(response) - 1)[0] is DECLINE


def test_the_search_for_the_end_of_the_head_resumes_where_it_stopped() -> None:
    parser = ResponseParser(65536)
    buffer = parser.start(False)
    for byte in NGINX[:-101]:
        buffer.append(byte)
        assert parser.parse() is None
    assert parser._searched == len(buffer) - 2
    buffer += NGINX[-101:]
    assert parser.parse() == b"0123456789" * 10


# --- the request side ---------------------------------------------------------------------

def test_the_request_bytes_are_what_h11_writes() -> None:
    event = h11.Request(method="GET", target="/small.txt",
                        headers=[("Host", "127.0.0.1:8080"), ("accept", "*/*")])
    h = h11.Connection(h11.CLIENT)
    expected = (h.send(event) or b"") + (h.send(h11.EndOfMessage()) or b"")
    assert request_bytes(event) == expected
    assert request_bytes(event) == (b"GET /small.txt HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                                    b"accept: */*\r\n\r\n")


@pytest.mark.parametrize("method, headers", [
    ("CONNECT", [("host", "x")]),
    ("GET", [("host", "x"), ("Connection", "close")]),
    ("GET", [("host", "x"), ("Connection", "keep-alive")]),
    ("GET", [("host", "x"), ("Upgrade", "websocket"), ("Connection", "upgrade")]),
    ("POST", [("host", "x"), ("Expect", "100-continue"), ("Content-Length", "0")]),
    ("POST", [("host", "x"), ("Content-Length", "5")]),  # a body h11 waits for
    ("POST", [("host", "x"), ("Transfer-Encoding", "chunked")]),
])
def test_requests_that_change_what_h11_expects_are_not_sent_by_the_fast_path(
        method: str, headers: list[tuple[str, str]]) -> None:
    assert request_bytes(h11.Request(method=method, target="/", headers=headers)) is None
