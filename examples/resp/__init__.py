"""Chapter 2 of the porting guide: a Redis client written once, in both colours.

::

    from examples.resp import Client, AsyncClient

    with Client("127.0.0.1", 6379) as r:
        r.set("greeting", "hello")

    async with AsyncClient("127.0.0.1", 6379) as r:  # auto-pipelined: one connection
        await r.get("greeting")

The protocol is a sans-IO machine (:mod:`examples.resp.protocol`); the
command set is colourless (:mod:`examples.resp.commands`); the connection,
pool and client are written once as asyncio code (``_async/``) and the
blocking twin (``_sync/``) is generated from it by ``ambidex generate``.
See README.md beside this file.
"""

from ._async import AsyncClient, AsyncConnection, AsyncConnectionPool, AsyncPipeline
from ._sync import Client, Connection, ConnectionPool, Pipeline, WatchError
from .errors import (
    PoolTimeout,
    RedisConnectionError,
    RedisError,
    RemoteProtocolError,
    ResponseError,
)
from .protocol import PushReply, RespParser, VerbatimString, encode_command

__all__ = [
    "AsyncClient",
    "AsyncConnection",
    "AsyncConnectionPool",
    "AsyncPipeline",
    "Client",
    "Connection",
    "ConnectionPool",
    "Pipeline",
    "PoolTimeout",
    "PushReply",
    "RedisConnectionError",
    "RedisError",
    "RemoteProtocolError",
    "RespParser",
    "ResponseError",
    "VerbatimString",
    "WatchError",
    "encode_command",
]
