"""Both colours of the client against a real nginx: the same bodies, the same
expectations (see conftest.py for ``v``, ``stream``, ``chunks``)."""

from __future__ import annotations

import gzip
import ssl
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import h11
import pytest

from examples.http import (
    AsyncClient,
    ConnectError,
    Headers,
    HTTPStatusError,
    ResponseNotRead,
    StreamConsumed,
    Timeout,
    TooManyRedirects,
)
from examples.http.nginx import BIG, PAGE, SMALL, Nginx

from .conftest import chunks, close, in_step, make_client, pool_of, read, stream, v


async def test_a_get_returns_the_status_the_headers_and_the_body(client: Any) -> None:
    response = await v(client.get("/small.txt"))
    assert response.status_code == 200
    assert response.reason_phrase == "OK"
    assert response.http_version == "HTTP/1.1"
    assert response.headers["Content-Type"] == "text/plain"
    assert response.headers["content-length"] == str(len(SMALL))
    assert response.content == SMALL
    assert response.text == SMALL.decode()
    assert response.is_success


async def test_content_is_bytes_though_h11_hands_the_body_out_as_a_bytearray(
        client: Any) -> None:
    for path in ("/small.txt", "/page.txt", "/big.bin"):  # one piece, gzip, many pieces
        response = await v(client.get(path))
        assert type(response.content) is bytes, path


async def test_requests_on_one_client_reuse_one_kept_alive_connection(client: Any) -> None:
    for _ in range(5):
        assert (await v(client.get("/small.txt"))).content == SMALL
    pool = pool_of(client)
    assert pool.size == 1
    (conn,) = pool.idle
    assert conn.cycles == 5
    assert in_step(client)


async def test_a_gzip_body_is_decoded_and_raw_iteration_gives_it_encoded(client: Any) -> None:
    response = await v(client.get("/page.txt"))
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == PAGE
    async with stream(client, "GET", "/page.txt") as streamed:
        raw = b"".join(await chunks(streamed, raw=True))
    assert gzip.decompress(raw) == PAGE


async def test_a_one_megabyte_body_streams_in_pieces_and_frees_the_connection(
        client: Any) -> None:
    async with stream(client, "GET", "/big.bin") as response:
        assert response.status_code == 200
        pieces = await chunks(response)
    assert len(pieces) > 1
    assert b"".join(pieces) == BIG
    assert in_step(client) and len(pool_of(client).idle) == 1


async def test_a_streamed_body_left_unread_closes_its_connection(client: Any) -> None:
    async with stream(client, "GET", "/big.bin") as response:
        with pytest.raises(ResponseNotRead):
            _ = response.content
    pool = pool_of(client)
    assert pool.size == 0 and not pool.idle
    assert (await v(client.get("/small.txt"))).content == SMALL


async def test_a_streamed_body_can_be_read_whole_once(client: Any) -> None:
    async with stream(client, "GET", "/small.txt") as response:
        assert await read(response) == SMALL
        assert response.content == SMALL
        with pytest.raises(StreamConsumed):
            await chunks(response)


async def test_head_has_headers_and_no_body(client: Any) -> None:
    response = await v(client.head("/big.bin"))
    assert response.headers["content-length"] == str(len(BIG))
    assert response.content == b""
    assert (await v(client.get("/small.txt"))).content == SMALL
    assert pool_of(client).size == 1


async def test_status_errors_are_responses_until_raise_for_status(client: Any) -> None:
    missing = await v(client.get("/missing"))
    assert missing.status_code == 404
    with pytest.raises(HTTPStatusError) as caught:
        missing.raise_for_status()
    assert caught.value.response is missing
    assert "404" in str(caught.value)
    bad_gateway = await v(client.get("/bad-gateway"))
    assert bad_gateway.status_code == 502
    with pytest.raises(HTTPStatusError, match="server error"):
        bad_gateway.raise_for_status()
    assert (await v(client.get("/small.txt"))).raise_for_status().status_code == 200


async def test_redirects_are_followed_only_when_asked(client: Any) -> None:
    plain = await v(client.get("/redirect"))
    assert plain.status_code == 302
    assert plain.headers["location"].endswith("/small.txt")
    followed = await v(client.get("/redirect", follow_redirects=True))
    assert followed.status_code == 200
    assert followed.content == SMALL
    assert [r.status_code for r in followed.history] == [302]
    assert followed.url.target == "/small.txt"


async def test_a_303_after_post_becomes_a_get(client: Any) -> None:
    response = await v(client.post("/redirect-303", content=b"data", follow_redirects=True))
    assert response.status_code == 200
    assert response.request.method == "GET"
    assert response.content == SMALL


async def test_a_redirect_loop_stops_at_the_limit(colour: str, nginx: Nginx) -> None:
    c = make_client(colour, base_url=nginx.url, follow_redirects=True, max_redirects=3)
    try:
        with pytest.raises(TooManyRedirects):
            await v(c.get("/redirect-loop"))
        assert in_step(c)
    finally:
        await close(c)


async def test_params_are_encoded_into_the_query(client: Any) -> None:
    token = uuid.uuid4().hex
    response = await v(client.get("/token", params={"token": token, "other": "a b"}))
    assert response.headers["x-token"] == token
    assert response.content == token.encode()
    assert response.request.url.target == f"/token?token={token}&other=a+b"


async def test_bytes_json_and_iterator_bodies_are_uploaded(client: Any) -> None:
    name = f"/dav/{uuid.uuid4().hex}"
    assert (await v(client.put(name, content=b"plain bytes"))).status_code == 201
    assert (await v(client.get(name))).content == b"plain bytes"
    assert (await v(client.put(name, json={"a": [1, 2]}))).status_code == 204
    assert (await v(client.get(name))).json() == {"a": [1, 2]}

    parts = [b"x" * 70000, b"", b"y" * 10, b"z" * 100000]

    def gen() -> Iterator[bytes]:
        yield from parts

    response = await v(client.put(name, content=gen()))
    assert response.status_code == 204
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert (await v(client.get(name))).content == b"".join(parts)
    assert (await v(client.delete(name))).status_code == 204
    assert (await v(client.get(name))).status_code == 404


async def test_a_body_larger_than_the_socket_buffers_is_uploaded_whole(client: Any) -> None:
    # A send that the socket takes only in part: the rest follows, in order
    # (the blocking connection's own sends, examples/http/_socketio.py).
    body = bytes(range(251)) * (16 * 1024 * 1024 // 251)  # 16 MiB, a period no buffer divides
    name = f"/dav/{uuid.uuid4().hex}"
    assert (await v(client.put(name, content=body))).status_code == 201
    got = (await v(client.get(name))).content
    assert len(got) == len(body) and got == body
    assert (await v(client.delete(name))).status_code == 204


async def test_the_async_client_uploads_an_async_iterator(nginx: Nginx) -> None:
    async def gen() -> AsyncIterator[bytes]:
        for i in range(5):
            yield b"%d" % i * 1000

    name = f"/dav/{uuid.uuid4().hex}"
    async with AsyncClient(base_url=nginx.url) as c:
        assert (await c.put(name, content=gen())).status_code == 201
        assert (await c.get(name)).content == b"".join(b"%d" % i * 1000 for i in range(5))


async def test_connection_close_from_the_server_is_not_reused(client: Any) -> None:
    response = await v(client.get("/close"))
    assert response.headers["connection"] == "close"
    assert pool_of(client).size == 0
    assert (await v(client.get("/small.txt"))).content == SMALL


async def test_client_headers_are_sent_and_a_request_header_wins(client: Any) -> None:
    request = client.build_request("GET", "/small.txt", headers={"User-Agent": "test/1"})
    assert request.headers["user-agent"] == "test/1"
    assert request.headers["accept-encoding"] == "gzip, deflate"
    assert ("host", f"127.0.0.1:{client.base_url.port}") in request.h11_headers()


async def test_an_absolute_url_ignores_base_url(client: Any, nginx: Nginx) -> None:
    assert (await v(client.get(nginx.url + "/small.txt"))).content == SMALL


async def test_https_with_a_trusted_ca_works(colour: str, nginx: Nginx,
                                             trusted: ssl.SSLContext) -> None:
    c = make_client(colour, verify=trusted)
    try:
        response = await v(c.get(nginx.tls_url + "/small.txt"))
        assert response.content == SMALL
        assert (await v(c.get(nginx.tls_url + "/big.bin"))).content == BIG
        assert pool_of(c).size == 1
    finally:
        await close(c)


async def test_https_verifies_the_certificate_by_default(colour: str, nginx: Nginx) -> None:
    c = make_client(colour)
    try:
        with pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await v(c.get(nginx.tls_url + "/small.txt"))
        assert pool_of(c).size == 0
    finally:
        await close(c)


async def test_a_refused_connection_is_a_connect_error(colour: str) -> None:
    from examples.http.nginx import free_port
    c = make_client(colour, timeout=Timeout(2))
    try:
        with pytest.raises(ConnectError, match="cannot connect"):
            await v(c.get(f"http://127.0.0.1:{free_port()}/"))
        assert pool_of(c).size == 0
    finally:
        await close(c)


def test_headers_match_any_case_and_keep_repeats() -> None:
    headers = Headers([("Set-Cookie", "a=1"), ("set-cookie", "b=2"), ("X-One", "1")])
    assert headers["SET-COOKIE"] == "a=1, b=2"
    assert headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert "x-one" in headers and "x-two" not in headers
    assert headers.multi_items() == [("set-cookie", "a=1"), ("set-cookie", "b=2"), ("x-one", "1")]
    assert len(headers) == 2
    headers["x-one"] = "2"
    assert headers["x-one"] == "2"
    del headers["set-cookie"]
    assert list(headers) == ["x-one"]


def test_headers_as_h11_hands_them_over_match_any_case_and_join_repeats() -> None:
    # A response's headers stay h11's bytes until the caller looks at them
    # all (Headers.from_raw); a lookup by name answers from the bytes.
    raw = [(b"Set-Cookie", b"a=1"), (b"X-One", b"1"), (b"Content-Encodinh", b"no"),
           (b"set-cookie", b"b=2"), (b"SET-COOKIE", b"c=3")]
    headers = Headers.from_raw(raw)
    assert headers.get("set-cookie") == "a=1, b=2, c=3"
    assert headers["X-ONE"] == "1"
    assert headers.get("content-encoding") is None  # same length, another name
    assert headers.get("missing", "default") == "default"
    assert headers.get_list("set-cookie") == ["a=1", "b=2", "c=3"]  # decoded from here on


def test_headers_of_an_h11_event_match_any_case_and_join_repeats() -> None:
    # Headers.from_raw takes h11's own list of (name as sent, lower-cased,
    # value) as it is; the answers are those of the pairs above.
    event = h11.Response(status_code=200, headers=[
        ("Set-Cookie", "a=1"), ("X-One", "1"), ("Content-Encodinh", "no"),
        ("set-cookie", "b=2"), ("SET-COOKIE", "c=3")])
    headers = Headers.from_raw(event.headers)
    assert headers.get("set-cookie") == "a=1, b=2, c=3"
    assert headers["X-ONE"] == "1"
    assert headers.get("content-encoding") is None
    assert headers.get("missing", "default") == "default"
    assert headers.multi_items() == [("set-cookie", "a=1"), ("x-one", "1"),
                                     ("content-encodinh", "no"), ("set-cookie", "b=2"),
                                     ("set-cookie", "c=3")]


def test_a_timeout_sets_every_phase_unless_one_is_named() -> None:
    assert Timeout(3) == Timeout(connect=3, read=3, write=3, pool=3)
    both = Timeout(3, read=None)
    assert (both.connect, both.read, both.write, both.pool) == (3, None, 3, 3)
    assert Timeout.of(2.5).read == 2.5
