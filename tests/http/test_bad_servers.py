"""What nginx will not do, from examples/http/server.py: every misbehaviour
is an error that says the server broke HTTP, and no connection it touched
is handed to the next request. Both colours, the same bodies."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from examples.http import (
    LocalProtocolError,
    NetworkError,
    ReadTimeout,
    RemoteProtocolError,
    ResponseTooLarge,
    Timeout,
    WriteTimeout,
)
from examples.http.server import ServerThread

from .conftest import close, in_step, make_client, pool_of, read, stream, v


@pytest.fixture
async def bad(colour: str, server: ServerThread) -> AsyncIterator[Any]:
    c = make_client(colour, base_url=server.url, timeout=Timeout(5))
    try:
        yield c
    finally:
        await close(c)


async def assert_recovers(client: Any) -> None:
    """The pool holds nothing broken: the next request gets its own answer."""
    response = await v(client.get("/token", params={"t": "next"}))
    assert response.headers["x-token"] == "next" and response.content == b"next"
    assert in_step(client)


@pytest.mark.parametrize("path, message", [
    ("/garbage-status", "the server broke HTTP/1.1"),
    ("/short-body", "peer closed connection without sending complete message body"),
    ("/cut-chunk", "peer closed connection without sending complete message body"),
])
async def test_a_server_that_breaks_http_raises_remote_protocol_error(
        bad: Any, path: str, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=message):
        await v(bad.get(path))
    assert pool_of(bad).size == 0
    await assert_recovers(bad)


async def test_headers_beyond_the_limit_are_refused(colour: str, server: ServerThread) -> None:
    c = make_client(colour, base_url=server.url, max_header_size=16 * 1024)
    try:
        with pytest.raises(RemoteProtocolError, match="larger than max_header_size=16384"):
            await v(c.get("/huge-headers"))
        await assert_recovers(c)
    finally:
        await close(c)


async def test_headers_within_a_raised_limit_are_read(colour: str, server: ServerThread) -> None:
    c = make_client(colour, base_url=server.url, max_header_size=256 * 1024)
    try:
        response = await v(c.get("/huge-headers"))
        assert response.headers["x-h99"] == "v" * 1000
    finally:
        await close(c)


async def test_a_body_over_max_body_size_is_refused(colour: str, server: ServerThread) -> None:
    c = make_client(colour, base_url=server.url, max_body_size=1000)
    try:
        assert len((await v(c.get("/token", params={"t": "a", "size": 1000}))).content) == 1000
        with pytest.raises(ResponseTooLarge, match="max_body_size=1000"):
            await v(c.get("/token", params={"t": "a", "size": 5000, "pieces": 5}))
        await assert_recovers(c)
    finally:
        await close(c)


async def test_a_response_one_byte_at_a_time_is_read_whole(bad: Any) -> None:
    assert (await v(bad.get("/one-byte"))).content == b"one byte at a time"


async def test_a_server_that_never_answers_is_a_read_timeout(bad: Any) -> None:
    with pytest.raises(ReadTimeout) as caught:
        await v(bad.get("/never", timeout=Timeout(5, read=0.2)))
    assert isinstance(caught.value, TimeoutError)
    assert pool_of(bad).size == 0
    await assert_recovers(bad)


async def test_a_body_that_stalls_is_a_read_timeout_and_its_connection_is_closed(
        bad: Any) -> None:
    async with stream(bad, "GET", "/stall?after=10", timeout=Timeout(5, read=0.2)) as response:
        assert response.headers["content-length"] == "20"
        with pytest.raises(ReadTimeout):
            await read(response)  # 10 bytes arrive, then nothing
    assert pool_of(bad).size == 0
    await assert_recovers(bad)


async def test_a_server_that_reads_nothing_is_a_write_timeout(bad: Any) -> None:
    def endless() -> Any:
        while True:
            yield b"x" * 65536

    with pytest.raises(WriteTimeout):
        await v(bad.post("/sink", content=endless(), timeout=Timeout(5, write=0.3)))
    assert pool_of(bad).size == 0
    await assert_recovers(bad)


async def test_a_server_that_reads_nothing_is_a_write_timeout_for_a_bytes_body_too(
        bad: Any) -> None:
    # One write of head and body (asyncio: the transport buffers what the
    # socket does not take, and the request waits for it to drain).
    with pytest.raises(WriteTimeout):
        await v(bad.post("/sink", content=b"x" * (32 << 20), timeout=Timeout(5, write=0.3)))
    assert pool_of(bad).size == 0
    await assert_recovers(bad)


async def test_a_kept_alive_connection_closed_by_the_server_is_retried_once(bad: Any) -> None:
    first = await v(bad.get("/then-close"))
    assert first.content == b"closing after this"
    (conn,) = pool_of(bad).idle  # the server said nothing of closing: kept
    response = await v(bad.get("/conn"))
    assert response.status_code == 200
    assert response.headers["x-requests"] == "1"  # on a fresh connection
    assert conn.closed
    assert in_step(bad)


async def test_a_post_on_a_closed_kept_alive_connection_is_not_retried(bad: Any) -> None:
    # The close crosses the request: the pool's check before reuse saw nothing.
    await v(bad.get("/close-next"))
    # EOF (h11: no response), or a reset seen by the write or the read.
    with pytest.raises((RemoteProtocolError, NetworkError)):
        await v(bad.post("/echo", content=b"once only"))
    await assert_recovers(bad)


async def test_stray_bytes_after_a_response_keep_its_connection_out_of_the_pool(
        bad: Any) -> None:
    response = await v(bad.get("/trailing"))
    assert response.content == b"body"
    pool = pool_of(bad)
    # h11 finished the exchange, but more bytes came: the connection is not reused.
    assert pool.size == 0 and not pool.idle
    await assert_recovers(bad)


async def test_a_kept_alive_connection_seen_closed_while_idle_is_not_reused(bad: Any) -> None:
    first = await v(bad.get("/then-close"))
    assert first.content == b"closing after this"
    (conn,) = pool_of(bad).idle
    for _ in range(500):  # until the server's close has reached the client
        if conn._stream.peer_closed():
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the server's close never arrived")
    # Not even tried: a POST (never retried) goes on a fresh connection.
    response = await v(bad.post("/echo", content=b"once only"))
    assert response.content == b"once only"
    assert conn.closed
    await assert_recovers(bad)


async def test_stray_bytes_that_arrive_while_a_connection_is_idle_keep_it_from_reuse(
        bad: Any, colour: str, server: ServerThread) -> None:
    token = uuid.uuid4().hex
    first = await v(bad.get("/stray-later", params={"t": token}))
    assert first.content == b"ok"
    assert len(pool_of(bad).idle) == 1  # a complete response, kept alive
    # Asked on another connection: when it answers, the stray response is in
    # the idle connection's socket.
    other = make_client(colour, base_url=server.url, timeout=Timeout(5))
    try:
        assert (await v(other.get("/send-stray", params={"t": token}))).content == b"sent"
    finally:
        await close(other)
    # Reused, the connection would give this request the stray answer.
    second = await v(bad.get("/conn"))
    assert second.content == b"ok"
    assert second.headers["x-conn"] != first.headers["x-conn"]
    assert second.headers["x-requests"] == "1"  # on a fresh connection
    await assert_recovers(bad)


@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/deflate-raw"])
async def test_gzip_and_both_kinds_of_deflate_are_decoded(bad: Any, path: str) -> None:
    response = await v(bad.get(path, params={"t": "abc", "size": 30000}))
    assert response.content == (b"abc" * 10000)


async def test_repeated_headers_are_kept(bad: Any) -> None:
    response = await v(bad.get("/cookies"))
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert response.headers["set-cookie"] == "a=1, b=2"


async def test_a_chain_of_redirects_is_followed_with_history(bad: Any) -> None:
    response = await v(bad.get("/redirect/3", follow_redirects=True))
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [302, 302, 302]
    assert pool_of(bad).size == 1  # every hop on the same kept-alive connection


async def test_an_iterator_body_arrives_chunked_and_whole(bad: Any) -> None:
    response = await v(bad.post("/echo", content=iter([b"one", b"two", b"three"])))
    assert response.content == b"onetwothree"
    assert response.headers["x-chunks"] == "3"
    assert response.headers["x-method"] == "POST"


async def test_json_is_sent_and_read(bad: Any) -> None:
    response = await v(bad.post("/echo", json={"a": "é", "n": [1, 2]}))
    assert response.json() == {"a": "é", "n": [1, 2]}
    assert response.request.headers["content-type"] == "application/json"


async def test_a_body_iterator_that_fails_mid_upload_closes_its_connection(bad: Any) -> None:
    def failing() -> Any:
        yield b"first part"
        raise ValueError("the caller's iterator broke")

    with pytest.raises(ValueError, match="iterator broke"):
        await v(bad.post("/echo", content=failing()))
    # Half a chunked body went out: the connection is closed, never reused.
    assert pool_of(bad).size == 0
    await assert_recovers(bad)


async def test_a_local_protocol_error_names_what_we_did_wrong(bad: Any) -> None:
    with pytest.raises(LocalProtocolError, match="Illegal header value"):
        await v(bad.get("/conn", headers={"x-bad": "line\r\nbreak"}))
    assert pool_of(bad).size == 0
    await assert_recovers(bad)
