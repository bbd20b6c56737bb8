"""One way to put a deadline on an await, raising the builtin TimeoutError.

On Python 3.11+ ``asyncio.timeout`` cancels the awaiting task in place (no
extra task per operation, which matters on a hot read path). On 3.10 only
``asyncio.wait_for`` exists; it runs the coroutine as its own task and raises
``asyncio.TimeoutError``, which there is not the builtin ``TimeoutError``: we
translate, so callers catch one class in both colours and on every version.
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
        try:
            return await asyncio.wait_for(coro, timeout)
        except asyncio.TimeoutError:
            raise timed_out(what, timeout) from None
