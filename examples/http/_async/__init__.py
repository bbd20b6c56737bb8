"""The HTTP client in one colour; ``_async`` is the source, ``_sync`` is generated from it."""

from .client import AsyncClient
from .connection import AsyncConnection
from .pool import AsyncConnectionPool
from .response import AsyncResponse

__all__ = ["AsyncClient", "AsyncConnection", "AsyncConnectionPool", "AsyncResponse"]
