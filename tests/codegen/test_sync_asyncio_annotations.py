"""Towards sync, an asyncio type left in an annotation is said, with its place.

The port rewrites the typing that has a sync meaning through the rule table
(``asyncio.Lock`` -> ``threading.Lock``, ``AsyncIterator[T]`` -> ``Iterator[T]``,
``Awaitable[T]`` -> ``T``, a bare ``Awaitable`` -> ``typing.Any``). What has
none stayed as it was, with no word: aiohttp 3.14.5's ``self._waiter:
asyncio.Future[None] | None`` and asyncssh's ``loop: asyncio.AbstractEventLoop``
in the sync twin promise an asyncio object the sync code never has, and a type
checker run on the twin believes them. Protocols and transports stay quiet:
asyncio's callback API, which the sync twin keeps as it keeps a class based on
``asyncio.Protocol``. Each other name is a located warning (an error with
--strict): the reader decides, the way they decide a flag's branch.
"""

from __future__ import annotations

import warnings
from typing import Any

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

SOURCE = '''\
import asyncio
from asyncio import StreamReader
from collections.abc import AsyncIterator, Awaitable


class Client:
    writer: "asyncio.StreamWriter | None" = None

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.lock: asyncio.Lock = asyncio.Lock()
        self.waiter: asyncio.Future[None] | None = None
        self.reader: StreamReader | None = None

    async def lines(self) -> AsyncIterator[bytes]:
        yield b"a"

    async def total(self, job: Awaitable[int], later: Awaitable) -> int:
        return 3

    def spawn(self) -> "asyncio.Task[int] | None":
        return None


def made(transport: asyncio.Transport) -> None:
    return None
'''


def test_an_asyncio_type_with_no_sync_meaning_left_in_an_annotation_is_said() -> None:
    result = to_sync({"m.py": SOURCE}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.col, d.error) for d in result.diagnostics]
    assert found == [(7, 13, False), (9, 30, False), (11, 22, False), (12, 22, False),
                     (20, 24, False)], result.diagnostics
    messages = [d.message for d in result.diagnostics]
    assert messages[0].startswith("the annotation names asyncio.StreamWriter, which has "
                                  "no sync twin in the rule table")
    assert "asyncio.AbstractEventLoop" in messages[1]
    assert "asyncio.Task" in messages[4]
    strict = to_sync({"m.py": SOURCE}, table=DEFAULT_TABLE, renames={}, strict=True)
    assert all(d.error for d in strict.diagnostics) and len(strict.diagnostics) == 5
    # What has a sync meaning is rewritten, and the twin runs.
    output = result.outputs["m.py"]
    assert "self.lock: threading.Lock = threading.Lock()" in output
    assert "-> Iterator[bytes]" in output and "job: int" in output
    # A bare Awaitable is "a coroutine of anything": Any.
    assert "later: typing.Any" in output and "Awaitable" not in output
    namespace: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        exec(compile(output, "m.py", "exec"), namespace)
        client = namespace["Client"]()
        assert list(client.lines()) == [b"a"] and client.total(3, None) == 3
