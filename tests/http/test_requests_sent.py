"""What goes on the wire is what the request says at the moment it is sent.

The client builds a request from its own defaults without copying them and
reuses h11's ``Request`` event for the same method, URL and headers (see
``Request`` in examples/http/_models.py): these tests pin that neither is
ever seen from outside. The embedded server's ``/headers`` answers with the
request's target and headers as they came.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from examples.http import URL
from examples.http.server import ServerThread

from .conftest import close, make_client, read, v


@pytest.fixture
async def client(colour: str, server: ServerThread) -> AsyncIterator[Any]:
    c = make_client(colour, base_url=server.url)
    try:
        yield c
    finally:
        await close(c)


async def sent(client: Any, *args: Any, **kwargs: Any) -> list[bytes]:
    """The target and the header lines the server saw for one GET."""
    response = await v(client.get("/headers", *args, **kwargs))
    return list(response.content.split(b"\n"))


async def test_a_header_set_on_the_client_between_requests_is_sent_with_the_next(
        client: Any) -> None:
    assert b"x-trace: 1" not in await sent(client)
    client.headers["X-Trace"] = "1"
    assert b"x-trace: 1" in await sent(client)
    client.headers["X-Trace"] = "2"
    lines = await sent(client)
    assert b"x-trace: 2" in lines and b"x-trace: 1" not in lines
    del client.headers["x-trace"]
    assert not [line for line in await sent(client) if line.startswith(b"x-trace")]


async def test_changing_a_sent_requests_headers_changes_neither_the_client_nor_the_next(
        client: Any) -> None:
    response = await v(client.get("/headers"))
    response.request.headers["x-mine"] = "yes"
    assert response.request.headers["x-mine"] == "yes"
    assert "x-mine" not in client.headers
    assert b"x-mine: yes" not in await sent(client)
    again = await v(client.send(response.request))  # sent again, as it is now
    assert b"x-mine: yes" in (await read(again)).split(b"\n")


async def test_a_built_request_changed_before_it_is_sent_is_sent_as_changed(
        client: Any, server: ServerThread) -> None:
    await sent(client)  # the same method and URL were sent before
    request = client.build_request("GET", "/headers")
    request.headers["x-late"] = "added"
    response = await v(client.send(request))
    assert b"x-late: added" in (await read(response)).split(b"\n")
    assert "x-late" not in client.headers

    await v(client.get("/headers?first"))
    request = client.build_request("GET", "/headers?first")
    request.url = URL(server.url + "/headers?second")
    request.method = "HEAD"
    response = await v(client.send(request))
    assert response.request.method == "HEAD" and await read(response) == b""
    request.method = "GET"
    response = await v(client.send(request))
    assert (await read(response)).split(b"\n")[0] == b"/headers?second"
