"""Towards sync, a method called on a table twin that the twin lacks refuses the port.

``self._sem = asyncio.Semaphore(3)`` becomes ``threading.Semaphore(3)``, which
has no ``locked()``: ``if self._sem.locked():`` was written as is, an
``AttributeError`` when it runs, exit 0 and no word. Towards async the same
question refuses the port (``AsyncSocket has no method ...``); towards sync
it is asked of an attribute that every ``self.x = ...`` of its class makes
with a call the table rewrites, where the type is sure.
"""

from __future__ import annotations

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

POOL = '''\
import asyncio


class Pool:
    def __init__(self):
        self._sem = asyncio.Semaphore(3)
        self._queue = asyncio.Queue()
        self._cond = asyncio.Condition()

    async def use(self):
        if self._sem.locked():
            return None
        async with self._sem:
            self._queue.put_nowait(1)
            async with self._cond:
                self._cond.notify_all()
            return self._queue.qsize()
'''


def test_a_method_the_sync_twin_lacks_called_on_an_attribute_it_makes_refuses_the_port() -> None:
    result = to_sync({"pool.py": POOL}, table=DEFAULT_TABLE, renames={})
    errors = [(d.line, d.col, d.message) for d in result.diagnostics if d.error]
    assert [(line, col) for line, col, _ in errors] == [(11, 12)]
    assert errors[0][2].startswith("`self._sem.locked()`: threading.Semaphore (the sync twin "
                                   "of asyncio.Semaphore, which makes self._sem) has no "
                                   "`locked`")
