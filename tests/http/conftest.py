"""Real servers for the HTTP chapter's tests: nginx, and the misbehaving one.

``nginx`` (session) runs the Debian package's binary with a generated config
on free loopback ports, one plain and one TLS (a throwaway CA from trustme
signed its certificate), in a temporary directory, and stops it at the end.
A machine without nginx FAILS these tests: install it (``.ci/run`` does).

``server`` (session) is ``examples/http/server.py`` in a thread of its own,
for what nginx will not do.

Tests are written once as ``async def`` bodies taking a client of either
colour: ``v()`` awaits what the async client returns and passes the blocking
client's values through; ``stream()``, ``chunks()`` and ``read()`` do the
same for streaming.
"""

from __future__ import annotations

import inspect
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trustme

from examples.http import AsyncClient, Client
from examples.http.nginx import Nginx, find_nginx
from examples.http.server import ServerThread

COLOURS = ["sync", "async"]


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def nginx(tmp_path_factory: pytest.TempPathFactory, ca: trustme.CA) -> Iterator[Nginx]:
    if find_nginx() is None:
        pytest.fail("nginx is not installed (apt-get install nginx); the HTTP tests need a "
                    "real server and do not skip without one")
    root: Path = tmp_path_factory.mktemp("nginx")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(root / "server.pem"))
    server = Nginx(root, cert=root / "server.pem", key=root / "server.pem").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def server() -> Iterator[ServerThread]:
    with ServerThread().running() as running:
        yield running


@pytest.fixture
def trusted(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture(params=COLOURS)
def colour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_client(colour: str, **options: Any) -> Any:
    return (Client if colour == "sync" else AsyncClient)(**options)


@pytest.fixture
async def client(colour: str, nginx: Nginx) -> AsyncIterator[Any]:
    c = make_client(colour, base_url=nginx.url)
    try:
        yield c
    finally:
        await close(c)


async def v(value: Any) -> Any:
    """The value of a call in either colour."""
    return await value if inspect.isawaitable(value) else value


async def close(client: Any) -> None:
    await v(client.aclose() if isinstance(client, AsyncClient) else client.close())


@asynccontextmanager
async def stream(client: Any, method: str, url: str, **kwargs: Any) -> AsyncIterator[Any]:
    if isinstance(client, AsyncClient):
        async with client.stream(method, url, **kwargs) as response:
            yield response
    else:
        with client.stream(method, url, **kwargs) as response:
            yield response


async def chunks(response: Any, raw: bool = False) -> list[bytes]:
    if hasattr(response, "aiter_bytes"):
        it = response.aiter_raw() if raw else response.aiter_bytes()
        return [chunk async for chunk in it]
    return list(response.iter_raw() if raw else response.iter_bytes())


async def read(response: Any) -> bytes:
    return bytes(await v(response.aread() if hasattr(response, "aread") else response.read()))


async def first_chunk(response: Any) -> bytes:
    """The first piece of the body, leaving the rest unread."""
    if hasattr(response, "aiter_raw"):
        async for chunk in response.aiter_raw():
            return bytes(chunk)
        return b""
    for chunk in response.iter_raw():
        return bytes(chunk)
    return b""


def pool_of(client: Any) -> Any:
    (pool,) = client.pools.values()
    return pool


def in_step(client: Any) -> bool:
    """Every pool of the client has no connection in use, and every idle
    connection's h11 machine waits for a new request."""
    import h11
    for pool in client.pools.values():
        if pool.size != len(pool.idle):
            return False
        for conn in pool.idle:
            if (conn._h11.our_state, conn._h11.their_state) != (h11.IDLE, h11.IDLE):
                return False
    return True
