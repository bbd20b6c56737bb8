"""The stream, written once in the asyncio colour (``ambidex.io._sync`` is generated)."""

from ambidex.io._async._stream import AsyncStream

__all__ = ["AsyncStream"]
