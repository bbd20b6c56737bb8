"""The deadline waits keep the blocking call's result, and cancel like any await."""

from __future__ import annotations

import asyncio

import pytest

from ambidex.io import acquire_lock, queue_get, queue_put, wait_condition, wait_event


async def test_wait_event_returns_false_on_timeout_and_true_once_set():
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_event(event, 5) is True
    assert await wait_event(event) is True


async def test_wait_condition_returns_false_on_timeout_and_holds_the_lock_again():
    condition = asyncio.Condition()
    async with condition:
        assert await wait_condition(condition, 0.01) is False
        assert condition.locked()

    async def notify() -> None:
        async with condition:
            condition.notify_all()

    async with condition:
        asyncio.get_running_loop().call_soon(asyncio.ensure_future, notify())
        assert await wait_condition(condition, timeout=5) is True


async def test_acquire_lock_with_blocking_false_or_a_timeout_reports_failure():
    lock = asyncio.Lock()
    assert await acquire_lock(lock, blocking=False) is True
    assert await acquire_lock(lock, blocking=False) is False
    assert await acquire_lock(lock, timeout=0.01) is False
    asyncio.get_running_loop().call_later(0.01, lock.release)
    assert await acquire_lock(lock, timeout=5) is True


async def test_queue_get_and_put_raise_the_asyncio_twins_of_empty_and_full():
    queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
    with pytest.raises(asyncio.QueueEmpty):
        await queue_get(queue, timeout=0.01)
    with pytest.raises(asyncio.QueueEmpty):
        await queue_get(queue, block=False)
    await queue_put(queue, 1, timeout=1)
    with pytest.raises(asyncio.QueueFull):
        await queue_put(queue, 2, timeout=0.01)
    with pytest.raises(asyncio.QueueFull):
        await queue_put(queue, 2, False)
    assert await queue_get(queue, True, 1) == 1
    with pytest.raises(ValueError):
        await queue_get(queue, timeout=-1)


async def test_each_wait_is_cancellable_and_leaves_nothing_behind():
    event, lock, queue = asyncio.Event(), asyncio.Lock(), asyncio.Queue[int]()
    await lock.acquire()
    waits = (wait_event(event, 60), acquire_lock(lock, timeout=60), queue_get(queue, timeout=60))
    for wait in waits:
        task = asyncio.ensure_future(wait)
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    queue.put_nowait(7)
    assert queue.get_nowait() == 7  # the cancelled get took nothing
    assert lock.locked()  # still ours, not taken by the cancelled acquire
