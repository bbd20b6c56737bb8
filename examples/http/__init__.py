"""Chapter 3 of the porting guide: HTTP/1.1 over h11, written once, in both colours.

::

    from examples.http import Client, AsyncClient

    with Client(base_url="http://127.0.0.1:8080") as client:
        client.get("/index.html").raise_for_status()
        with client.stream("GET", "/big.bin") as response:
            for chunk in response.iter_bytes():
                ...

    async with AsyncClient() as client:
        response = await client.post("http://127.0.0.1:8080/api", json={"n": 1})

The machine is someone else's -- h11 -- and this chapter supplies what it
leaves out: the drivers, the pool, the timeouts. The connection, pool,
response and client are written once as asyncio code (``_async/``); the
blocking twin (``_sync/``) is generated from it by ``ambidex generate``.
See README.md beside this file.
"""

from ._async import AsyncClient, AsyncConnection, AsyncConnectionPool, AsyncResponse
from ._models import URL, BaseResponse, Headers, Request, Timeout
from ._sync import Client, Connection, ConnectionPool, Response
from .errors import (
    ConnectError,
    ConnectTimeout,
    HTTPError,
    HTTPStatusError,
    LocalProtocolError,
    NetworkError,
    PoolTimeout,
    ProtocolError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    ResponseNotRead,
    ResponseTooLarge,
    StreamConsumed,
    TimeoutException,
    TooManyRedirects,
    TransportError,
    WriteError,
    WriteTimeout,
)

__all__ = [
    "URL",
    "AsyncClient",
    "AsyncConnection",
    "AsyncConnectionPool",
    "AsyncResponse",
    "BaseResponse",
    "Client",
    "ConnectError",
    "ConnectTimeout",
    "Connection",
    "ConnectionPool",
    "HTTPError",
    "HTTPStatusError",
    "Headers",
    "LocalProtocolError",
    "NetworkError",
    "PoolTimeout",
    "ProtocolError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "Request",
    "Response",
    "ResponseNotRead",
    "ResponseTooLarge",
    "StreamConsumed",
    "Timeout",
    "TimeoutException",
    "TooManyRedirects",
    "TransportError",
    "WriteError",
    "WriteTimeout",
]
