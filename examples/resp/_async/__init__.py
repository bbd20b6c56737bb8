"""The Redis client in one colour; ``_async`` is the source, ``_sync`` is generated from it."""

from .client import AsyncClient, AsyncPipeline, WatchError
from .connection import AsyncConnection
from .pool import AsyncConnectionPool

__all__ = ["AsyncClient", "AsyncConnection", "AsyncConnectionPool", "AsyncPipeline", "WatchError"]
