"""gibson: the porting guide's first chapter, a small binary key-value protocol.

* :mod:`examples.gibson.protocol` -- the wire format as sans-IO machines.
* :mod:`examples.gibson._async.client` -- ``AsyncClient``, the driver, written once.
* :mod:`examples.gibson._sync.client` -- ``Client``, its generated blocking twin.
* :mod:`examples.gibson.server` -- an asyncio server with an in-memory store.

See README.md in this folder for the chapter itself.
"""

from examples.gibson._async.client import AsyncClient
from examples.gibson._sync.client import Client
from examples.gibson.protocol import (
    ClientConnection,
    ConnectionClosedError,
    GibsonError,
    ServerConnection,
    ServerError,
)
from examples.gibson.server import ServerThread, serve

__all__ = [
    "AsyncClient",
    "Client",
    "ClientConnection",
    "ConnectionClosedError",
    "GibsonError",
    "ServerConnection",
    "ServerError",
    "ServerThread",
    "serve",
]
