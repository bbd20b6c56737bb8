"""Chapter 2 of the porting guide: a Redis client written once, in both colours.

The protocol is a sans-IO machine (:mod:`examples.resp.protocol`); the client
is written once as asyncio code (``_async/``) and generated as blocking code
(``_sync/``) by ``ambidex generate``. See README.md beside this file.
"""

from .errors import (
    PoolTimeout,
    RedisConnectionError,
    RedisError,
    RemoteProtocolError,
    ResponseError,
)
from .protocol import PushReply, RespParser, VerbatimString, encode_command

__all__ = [
    "PoolTimeout",
    "PushReply",
    "RedisConnectionError",
    "RedisError",
    "RemoteProtocolError",
    "RespParser",
    "ResponseError",
    "VerbatimString",
    "encode_command",
]
