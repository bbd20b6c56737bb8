"""A deadline on an operation never swallows the caller's own cancellation.

On Python 3.10, ``asyncio.wait_for`` returns the inner result to a task that was
cancelled while the inner operation was completing (CPython gh-86296), so a
cancelled ``write`` came back normally and its caller went on waiting. These
run on every supported Python (tools/test.sh runs the suite on each).
"""

from __future__ import annotations

import asyncio

import pytest

from ambidex.io import AsyncStream
from tests.io.conftest import echo


async def test_a_cancel_at_a_write_that_completes_at_once_is_not_lost(serve) -> None:
    host, port = await serve(echo)
    stream = await AsyncStream.connect(host, port, timeout=5)

    async def caller() -> None:
        await stream.write(b"ping\n")  # the drain finishes at once: the buffer is empty
        await asyncio.sleep(3600)  # a lost cancel leaves the caller waiting here

    task = asyncio.ensure_future(caller())
    await asyncio.sleep(0)  # the caller runs into write() (3.10: suspended in it)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    await stream.close()


async def test_a_deadline_still_raises_the_builtin_timeout_error(serve) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    host, port = await serve(silent)
    stream = await AsyncStream.connect(host, port, timeout=0.05)
    with pytest.raises(TimeoutError, match=r"read timed out after 0\.05 s"):
        await stream.read()
    await stream.close()
