"""ProcessPool's own pipes: the event loop talks to each worker process itself.

What must hold with no executor threads in between: a worker that dies fails
only what it was running and is replaced, what cannot be pickled fails only
its call, a huge argument or result never stops the loop, cancellation is
honest at every step a call can be waiting in, and close() ends every process.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import signal
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from ambidex.offload import PoolClosedError, ProcessPool, WorkerDiedError


async def until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


def die(after: float) -> None:
    time.sleep(after)
    os.kill(os.getpid(), signal.SIGKILL)


def pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def touch(path: str) -> int:
    Path(path).touch()
    return os.getpid()


def touch_after(path: str, seconds: float) -> None:
    time.sleep(seconds)
    Path(path).touch()


def start_then_touch(started: str, path: str, seconds: float) -> None:
    Path(started).touch()
    touch_after(path, seconds)


def touch_with(path: str, data: bytes) -> int:
    Path(path).touch()
    return len(data)


def give_back(data: bytes) -> bytes:
    return data[::-1]


def a_lock() -> Any:
    return threading.Lock()


async def test_a_worker_that_dies_fails_only_its_call_and_a_new_process_takes_its_place():
    async with ProcessPool(2) as pool:
        await asyncio.gather(*(pool.run(pid_after, 0.05) for _ in range(2)))
        await until(lambda: len(pool._workers) == 2 and pool.busy == 0)
        first = {worker.process.pid for worker in pool._workers}
        dying = asyncio.create_task(pool.run(die, 0.05))  # each goes to an idle worker
        other = asyncio.create_task(pool.run(pid_after, 0.3))
        with pytest.raises(WorkerDiedError, match="SIGKILL"):
            await dying
        assert await other in first  # the other worker was not touched
        await asyncio.gather(*(pool.run(pid_after, 0.05) for _ in range(4)))
        await until(lambda: len(pool._workers) == 2 and pool.busy == 0)
        later = {worker.process.pid for worker in pool._workers}
        assert len(later - first) == 1 and len(later & first) == 1  # one new process
        assert pool.waiting == 0


async def test_calls_handed_ahead_to_a_worker_that_dies_run_on_its_replacement(tmp_path):
    # batch_time=60: calls count as short, so the next one is handed ahead to
    # the busy worker; it had not started when the worker died, so it runs.
    async with ProcessPool(1, batch_time=60) as pool:
        assert await pool.run(abs, -1) == 1
        old = await pool.run(os.getpid)
        dying = asyncio.create_task(pool.run(die, 0.5))
        await until(lambda: pool.busy == 1)
        ahead = asyncio.create_task(pool.run(touch, str(tmp_path / "ran")))
        await until(lambda: pool.waiting == 1 and len(pool._queue) == 0)
        with pytest.raises(WorkerDiedError):
            await dying
        new = await ahead
        assert new != old and (tmp_path / "ran").exists()


async def test_an_argument_that_cannot_be_pickled_fails_its_call_only():
    async with ProcessPool(1, batch_time=60) as pool:
        assert await pool.run(abs, -1) == 1
        blocker = asyncio.create_task(pool.run(time.sleep, 0.2))
        await until(lambda: pool.busy == 1)
        calls = [pool.run(abs, -2), pool.run(id, threading.Lock()), pool.run(abs, -3)]
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        await blocker
        assert outcomes[0] == 2 and outcomes[2] == 3
        assert isinstance(outcomes[1], TypeError)
        assert await pool.run(abs, -4) == 4


async def test_a_result_that_cannot_be_pickled_fails_its_call_only():
    async with ProcessPool(1) as pool:
        with pytest.raises(TypeError):
            await pool.run(a_lock)
        assert await pool.run(abs, -5) == 5


async def test_a_huge_argument_and_result_cross_while_the_loop_keeps_turning():
    # 32 MiB each way: pickled and unpickled on the helper thread, written and
    # read in pieces as the sockets have room; the loop turns all along.
    data = bytes(range(256)) * (1 << 17)
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0)

    async with ProcessPool(1) as pool:
        assert await pool.run(abs, -1) == 1
        counting = asyncio.create_task(ticker())
        result = await pool.run(give_back, data)
        done = True
        await counting
    assert result == data[::-1]
    assert ticks > 20, ticks  # a loop blocked for the whole trip turns once or twice


async def test_a_call_cancelled_while_its_huge_argument_is_pickled_never_runs(tmp_path):
    marker = tmp_path / "ran"
    async with ProcessPool(1) as pool:
        assert await pool.run(abs, -1) == 1
        big = b"x" * (8 << 20)
        call = asyncio.create_task(pool.run(touch_with, str(marker), big))
        await asyncio.sleep(0)  # submitted: its pickle is being made off the loop
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert await pool.run(abs, -2) == 2  # the trip after it has come back
    assert not marker.exists()


async def test_a_call_that_times_out_while_the_first_process_starts_never_runs(tmp_path):
    marker = tmp_path / "ran"
    async with ProcessPool(1) as pool:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(pool.run(touch, str(marker)), timeout=0.001)
        assert await pool.run(abs, -1) == 1
    assert not marker.exists()


async def test_a_cancelled_running_call_keeps_its_worker_until_it_ends(tmp_path):
    marker = tmp_path / "ran"
    started = tmp_path / "started"
    async with ProcessPool(1) as pool:
        assert await pool.run(abs, -1) == 1
        call = asyncio.create_task(pool.run(start_then_touch, str(started), str(marker), 0.3))
        await until(started.exists)  # it has started in its worker
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert pool.busy == 1  # the bound counts it until it returns
        await until(lambda: pool.busy == 0)
        assert marker.exists()


async def test_closing_the_process_pool_refuses_waiting_calls_and_ends_every_process(tmp_path):
    marker = tmp_path / "ran"
    pool = ProcessPool(1)
    running = asyncio.create_task(pool.run(pid_after, 0.5))
    await until(lambda: pool.busy == 1)
    waiting = asyncio.create_task(pool.run(touch, str(marker)))
    await until(lambda: pool.waiting == 1)
    processes = [worker.process for worker in pool._workers]
    await pool.close()
    with pytest.raises(PoolClosedError):
        await waiting
    assert isinstance(await running, int)
    assert [process.exitcode for process in processes] == [0]
    assert not marker.exists()
    with pytest.raises(PoolClosedError):
        await pool.run(abs, -1)
    await pool.close()  # idempotent


async def test_a_pool_closed_without_waiting_still_delivers_what_was_running():
    pool = ProcessPool(1)
    running = asyncio.create_task(pool.run(pid_after, 0.1))
    await until(lambda: pool.busy == 1)
    processes = [worker.process for worker in pool._workers]
    await pool.close(wait=False)
    assert isinstance(await running, int)
    await until(lambda: not processes[0].is_alive())


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_each_start_method_serves_calls_and_its_workers_end_when_the_pool_is_dropped(method):
    # fork: each worker first closes the copies of the pool's sockets it
    # inherited, or a dropped pool's workers would never see their stream end.
    context = multiprocessing.get_context(method)
    processes: list[Any] = []

    async def use() -> None:
        pool = ProcessPool(2, mp_context=context)
        pids = await asyncio.gather(*(pool.run(pid_after, 0.1) for _ in range(2)))
        assert os.getpid() not in pids
        await until(lambda: len(pool._workers) == 2)  # the second one started on demand
        processes.extend(worker.process for worker in pool._workers)

    with warnings.catch_warnings():
        # Python 3.12+ warns (DeprecationWarning) when a multi-threaded process forks.
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.run(use())
    gc.collect()
    deadline = time.monotonic() + 10
    while any(process.is_alive() for process in processes):
        assert time.monotonic() < deadline, "a worker of a dropped pool is still alive"
        time.sleep(0.01)
    for process in processes:
        process.join()


def test_a_process_pool_serves_one_event_loop_after_another():
    pool = ProcessPool(1)
    assert asyncio.run(pool.run(abs, -1)) == 1
    assert asyncio.run(pool.run(abs, -2)) == 2

    async def finish() -> None:
        assert await pool.run(abs, -3) == 3
        await pool.close()

    asyncio.run(finish())


def _end_a_loop_in_the_middle_of_a_call(pool: ProcessPool, seconds: float) -> list[Any]:
    """Run a loop that ends (``asyncio.run`` cancels the call) while ``pool``
    sleeps ``seconds`` in a worker; the worker processes it had."""

    async def leave_one_running() -> None:
        running = asyncio.create_task(pool.run(time.sleep, seconds))
        await until(lambda: pool.busy == 1 and not running.done())

    asyncio.run(leave_one_running())
    return [worker.process for worker in pool._workers]


def test_a_process_pool_outlives_a_loop_closed_in_the_middle_of_a_call():
    # The first loop ends while a call runs (asyncio.run cancels it): its
    # worker finishes and exits; the next loop gets a fresh one, and close()
    # waits for both.
    pool = ProcessPool(1)
    processes = _end_a_loop_in_the_middle_of_a_call(pool, 0.3)

    async def finish() -> None:
        assert await pool.run(abs, -1) == 1
        await pool.close()

    asyncio.run(finish())
    assert [process.exitcode for process in processes] == [0]


def test_a_pool_whose_loop_closed_mid_call_can_be_closed_from_the_next_loop():
    pool = ProcessPool(1)
    processes = _end_a_loop_in_the_middle_of_a_call(pool, 0.2)
    asyncio.run(pool.close())  # nothing of the first loop's is awaited any more
    assert [process.exitcode for process in processes] == [0]
