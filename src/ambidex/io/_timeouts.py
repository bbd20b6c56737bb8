"""One way to put a deadline on an await, raising the builtin TimeoutError.

On Python 3.11+ ``asyncio.timeout`` cancels the awaiting task in place (no
extra task per operation, which matters on a hot read path). 3.10 has no
``asyncio.timeout``, and its ``asyncio.wait_for`` loses a cancellation that
arrives as the inner operation completes (CPython gh-86296: a ``write`` whose
drain had already finished returned normally to a cancelled caller, which then
waited on). So on 3.10 the deadline is the same in-place cancel, done by hand: a
``call_later`` that cancels the awaiting task and remembers that it did. Either
way the builtin ``TimeoutError`` comes out, so callers catch one class in both
colours and on every version.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

from ambidex.io._errors import timed_out

T = TypeVar("T")


if sys.version_info >= (3, 11):

    async def run_with_timeout(
        coro: Coroutine[Any, Any, T], timeout: float | None, what: str
    ) -> T:
        """Await ``coro``; if ``timeout`` seconds pass first, cancel it and raise
        ``TimeoutError("<what> timed out after <timeout> s")``."""
        if timeout is None:
            return await coro
        scope = asyncio.timeout(timeout)
        try:
            async with scope:
                return await coro
        except TimeoutError:
            if scope.expired():
                raise timed_out(what, timeout) from None
            raise

else:  # pragma: no cover - exercised on Python 3.10 only

    async def run_with_timeout(
        coro: Coroutine[Any, Any, T], timeout: float | None, what: str
    ) -> T:
        """Await ``coro``; if ``timeout`` seconds pass first, cancel it and raise
        ``TimeoutError("<what> timed out after <timeout> s")``."""
        if timeout is None:
            return await coro
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError(f"{what}: a deadline needs a running task")
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        deadline = asyncio.get_running_loop().call_later(timeout, expire)
        try:
            return await coro
        except asyncio.CancelledError:
            # Without Task.uncancel (3.11) a caller's cancel that lands in the same
            # instant as the deadline cannot be told apart: it ends as TimeoutError,
            # still an exception out of the task, never a silent return.
            if expired:
                raise timed_out(what, timeout) from None
            raise
        finally:
            deadline.cancel()
