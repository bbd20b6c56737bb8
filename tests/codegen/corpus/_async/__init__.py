"""The async source of a tiny line-protocol client: a pool and a client."""

from .client import AsyncClient
from .memory import AsyncMemoryStream, MemoryServer
from .pool import AsyncConnectionPool, PoolTimeout

__all__ = ["AsyncClient", "AsyncConnectionPool", "AsyncMemoryStream", "MemoryServer", "PoolTimeout"]
