"""Twins of the blocking waits that take a timeout, with the sync return values.

``threading.Event.wait(timeout)`` returns False when the time ran out;
``asyncio.Event.wait()`` takes no timeout at all. A port that wrote
``await event.wait(timeout)`` would raise ``TypeError``; one that dropped the
argument would wait forever. The port writes these instead, each the
receiver first and the sync call's arguments after it::

    ready = event.wait(5)                  ->  ready = await wait_event(event, 5)
    ok = cond.wait(timeout=1)              ->  ok = await wait_condition(cond, timeout=1)
    got = lock.acquire(timeout=2)          ->  got = await acquire_lock(lock, timeout=2)
    item = q.get(timeout=3)                ->  item = await queue_get(q, timeout=3)
    q.put(item, block=False)               ->  await queue_put(q, item, block=False)

and they behave as the blocking call did: the bool says whether the wait
succeeded; ``queue_get``/``queue_put`` raise ``asyncio.QueueEmpty`` /
``asyncio.QueueFull`` where ``queue.Queue`` raised ``queue.Empty`` /
``queue.Full``, so the port's ``except asyncio.QueueEmpty`` catches them.
A wait cancelled from outside raises ``CancelledError`` as any await does.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from ambidex.io._timeouts import run_with_timeout

__all__ = ["acquire_lock", "queue_get", "queue_put", "wait_condition", "wait_event"]

T = TypeVar("T")


async def wait_event(event: asyncio.Event, timeout: float | None = None) -> bool:
    """``event.wait(timeout)``: True once set, False if ``timeout`` ran out first."""
    if timeout is None:
        await event.wait()
        return True
    try:
        await run_with_timeout(event.wait(), max(timeout, 0.0), "wait")
    except TimeoutError:
        return event.is_set()
    return True


async def wait_condition(condition: asyncio.Condition, timeout: float | None = None) -> bool:
    """``condition.wait(timeout)``: False if ``timeout`` ran out before a notify.
    The lock is held again on return either way, as with threading.Condition."""
    if timeout is None:
        return await condition.wait()
    try:
        return await run_with_timeout(condition.wait(), max(timeout, 0.0), "wait")
    except TimeoutError:
        # asyncio.Condition.wait re-acquires the lock even when cancelled.
        return False


async def acquire_lock(
    lock: asyncio.Lock | asyncio.Semaphore, blocking: bool = True, timeout: float = -1
) -> bool:
    """``lock.acquire(blocking, timeout)``: True when acquired."""
    if not blocking:
        if lock.locked():
            return False
        return await lock.acquire()  # free: acquires without waiting
    if timeout is None or timeout < 0:
        return await lock.acquire()
    try:
        return await run_with_timeout(lock.acquire(), timeout, "acquire")
    except TimeoutError:
        return False


async def queue_get(
    queue: asyncio.Queue[T], block: bool = True, timeout: float | None = None
) -> T:
    """``queue.get(block, timeout)``; raises ``asyncio.QueueEmpty`` as
    ``queue.Queue`` raises ``queue.Empty``."""
    if not block:
        return queue.get_nowait()
    if timeout is None:
        return await queue.get()
    if timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")
    try:
        return await run_with_timeout(queue.get(), timeout, "get")
    except TimeoutError:
        raise asyncio.QueueEmpty from None


async def queue_put(
    queue: asyncio.Queue[Any], item: Any, block: bool = True, timeout: float | None = None
) -> None:
    """``queue.put(item, block, timeout)``; raises ``asyncio.QueueFull`` as
    ``queue.Queue`` raises ``queue.Full``."""
    if not block:
        queue.put_nowait(item)
        return
    if timeout is None:
        await queue.put(item)
        return
    if timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")
    try:
        await run_with_timeout(queue.put(item), timeout, "put")
    except TimeoutError:
        raise asyncio.QueueFull from None
