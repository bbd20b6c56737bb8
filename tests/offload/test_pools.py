"""ThreadPool, ProcessPool and run_in_thread: the bound holds, cancellation is honest."""

from __future__ import annotations

import asyncio
import collections
import contextvars
import os
import random
import threading
import time
import traceback
from typing import Any

import pytest

from ambidex.offload import (
    PoolClosedError,
    ProcessPool,
    ThreadPool,
    default_thread_pool,
    run_in_thread,
)


async def until(predicate, timeout: float = 5.0) -> None:
    """Wait on the loop until ``predicate()`` holds (threads change it)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


class Gate:
    """A blocking function's controls: it records entry and waits to be let go."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.started = 0
        self.finished = 0
        self.release = threading.Event()

    def work(self, value: int) -> int:
        with self.lock:
            self.started += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.release.wait(10)
        with self.lock:
            self.running -= 1
            self.finished += 1
        return value * 2


async def test_no_more_than_max_workers_run_at_once_and_the_rest_wait_on_the_loop():
    gate = Gate()
    async with ThreadPool(2) as pool:
        tasks = [asyncio.create_task(pool.run(gate.work, i)) for i in range(5)]
        await until(lambda: gate.started == 2 and pool.waiting == 3)
        await asyncio.sleep(0.1)  # give a broken bound the chance to show
        assert gate.started == 2
        assert pool.busy == 2
        gate.release.set()
        assert await asyncio.gather(*tasks) == [0, 2, 4, 6, 8]
    assert gate.most_at_once == 2
    assert pool.busy == 0


async def test_cancelling_a_running_call_returns_at_once_but_keeps_the_worker():
    gate = Gate()
    pool = ThreadPool(1)
    first = asyncio.create_task(pool.run(gate.work, 1))
    await until(lambda: gate.started == 1)
    first.cancel()
    started = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert time.monotonic() - started < 1  # at once, though the thread still blocks
    # The thread cannot be killed: the function is still running and its
    # worker is still taken, so the next call waits for it.
    assert gate.finished == 0
    assert pool.busy == 1
    second = asyncio.create_task(pool.run(lambda: "second"))
    await asyncio.sleep(0.1)
    assert not second.done()
    assert pool.waiting == 1
    gate.release.set()
    assert await second == "second"
    assert gate.finished == 1  # the cancelled call did run to its end
    await pool.close()


async def test_cancelling_a_call_that_waits_for_a_worker_means_it_never_runs():
    gate = Gate()
    ran = threading.Event()
    pool = ThreadPool(1)
    first = asyncio.create_task(pool.run(gate.work, 1))
    await until(lambda: gate.started == 1)
    queued = asyncio.create_task(pool.run(ran.set))
    await until(lambda: pool.waiting == 1)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert pool.waiting == 0
    gate.release.set()
    assert await first == 2
    await pool.close()
    assert not ran.is_set()
    assert pool.busy == 0


async def test_random_cancellations_never_leak_or_double_a_worker():
    rng = random.Random(7)
    pool = ThreadPool(3)
    tasks = [
        asyncio.create_task(pool.run(time.sleep, rng.choice([0, 0.001, 0.005])))
        for _ in range(60)
    ]
    for task in rng.sample(tasks, 30):
        await asyncio.sleep(rng.choice([0, 0.001]))
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await until(lambda: pool.busy == 0)
    assert pool.waiting == 0
    # All three workers are free again: three calls can meet at a barrier.
    barrier = threading.Barrier(3, timeout=5)
    await asyncio.gather(*(pool.run(barrier.wait) for _ in range(3)))
    await pool.close()


async def test_an_exception_propagates_with_the_worker_frames_in_its_traceback():
    def parse(text: str) -> int:
        return int(text)

    def handler() -> int:
        return parse("not a number")

    with pytest.raises(ValueError, match="not a number") as info:
        await run_in_thread(handler)
    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "handler" in frames and "parse" in frames


async def test_run_in_thread_runs_off_the_loop_thread_with_args_and_context():
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var")
    var.set("from the caller")

    def job(a: int, *, b: int) -> tuple[int, int, str]:
        return a + b, threading.get_ident(), var.get()

    total, ident, seen = await run_in_thread(job, 1, b=2)
    assert total == 3
    assert ident != threading.get_ident()
    assert seen == "from the caller"


def test_the_default_pool_serves_one_loop_after_another():
    for _ in range(3):
        assert asyncio.run(run_in_thread(sum, [1, 2, 3])) == 6
    assert default_thread_pool().busy == 0


async def test_a_closed_pool_refuses_work_and_close_waits_for_running_calls():
    gate = Gate()
    pool = ThreadPool(1)
    running = asyncio.create_task(pool.run(gate.work, 5))
    await until(lambda: gate.started == 1)
    closing = asyncio.create_task(pool.close())
    await asyncio.sleep(0.1)
    assert not closing.done()  # waits: the running call cannot be killed
    with pytest.raises(PoolClosedError):
        await pool.run(print)
    gate.release.set()
    await closing
    assert await running == 10
    await pool.close()  # idempotent


def test_a_pool_needs_a_worker():
    with pytest.raises(ValueError):
        ThreadPool(0)


async def test_the_process_pool_runs_cpu_work_in_other_processes():
    async with ProcessPool(2) as pool:
        pids = set(await asyncio.gather(*(pool.run(os.getpid) for _ in range(4))))
        assert os.getpid() not in pids
        assert await pool.run(sum, range(1_000_001)) == 500_000_500_000
        assert await pool.run(int, "ff", base=16) == 255
        with pytest.raises(ValueError):
            await pool.run(int, "zz")


async def test_the_process_pool_is_bounded_too():
    async with ProcessPool(1) as pool:
        calls = [asyncio.create_task(pool.run(time.sleep, 0.2)) for _ in range(3)]
        await until(lambda: pool.busy == 1 and pool.waiting == 2)
        await asyncio.gather(*calls)
        assert pool.busy == 0


async def test_cancelling_process_calls_at_any_point_leaks_no_worker():
    async with ProcessPool(2) as pool:
        rng = random.Random(3)
        for _ in range(20):
            task = asyncio.create_task(pool.run(time.sleep, 0.01))
            await asyncio.sleep(rng.choice([0, 0, 0.001, 0.02]))
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await until(lambda: pool.busy == 0)
        assert pool.waiting == 0
        assert list(await asyncio.gather(pool.run(abs, -1), pool.run(abs, -2))) == [1, 2]


class CountingDeque(collections.deque[Any]):
    """A deque that counts the entries its searching methods step over."""

    visited = 0

    def remove(self, value):
        CountingDeque.visited += self.index(value) + 1
        super().remove(value)

    def __iter__(self):
        for item in super().__iter__():
            CountingDeque.visited += 1
            yield item


async def test_cancelling_many_waiting_calls_costs_constant_work_per_cancel():
    # Issue 12, item 10: cancelling a waiting call removed it from the middle
    # of a deque, O(n) each: 10k waiting callers cancelling half of theirs
    # took 1.3 s on the loop, 60k took 26 s. A cancel must mark, not search.
    gate = Gate()
    pool = ThreadPool(1)
    blocker = asyncio.create_task(pool.run(gate.work, 0))
    await until(lambda: gate.started == 1)
    pool._queue._jobs = CountingDeque(pool._queue._jobs)
    CountingDeque.visited = 0
    n = 4000
    calls = [asyncio.create_task(pool.run(abs, -i)) for i in range(n)]
    await asyncio.sleep(0)
    assert pool.waiting == n
    # Newest first: the worst order for a search from the front.
    for task in reversed(calls[::2]):
        task.cancel()
    await asyncio.gather(*calls[::2], return_exceptions=True)
    assert pool.waiting == n // 2
    # Linear in n (a compaction pass may step over the queue a few times);
    # a search per cancel would step over about n * n / 4 = 4,000,000.
    assert CountingDeque.visited <= 4 * n
    gate.release.set()
    assert await asyncio.gather(*calls[1::2]) == list(range(1, n, 2))
    await blocker
    await pool.close()


async def test_closing_the_pool_refuses_the_calls_still_waiting():
    gate = Gate()
    pool = ThreadPool(1)
    running = asyncio.create_task(pool.run(gate.work, 1))
    await until(lambda: gate.started == 1)
    waiting = asyncio.create_task(pool.run(gate.work, 2))
    await until(lambda: pool.waiting == 1)
    closing = asyncio.create_task(pool.close())
    with pytest.raises(PoolClosedError):
        await waiting
    gate.release.set()
    await closing
    assert await running == 2
    assert gate.started == 1  # the waiting call never ran


async def test_a_worker_takes_the_next_waiting_call_without_the_loop():
    # The loop is blocked (a plain time.sleep in this coroutine) while three
    # calls queue behind one worker: they all run during the block, since a
    # worker takes the next waiting call itself instead of waiting for the
    # loop to hand it over.
    ran: list[int] = []
    pool = ThreadPool(1)
    calls = [asyncio.create_task(pool.run(ran.append, i)) for i in range(3)]
    await asyncio.sleep(0)  # the three are submitted
    deadline = time.monotonic() + 5
    while len(ran) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)  # noqa: ASYNC251 - blocking the loop is the point
    assert ran == [0, 1, 2]
    await asyncio.gather(*calls)
    await pool.close()


async def test_a_process_call_handed_ahead_and_then_cancelled_never_runs(tmp_path):
    # ProcessPool hands waiting calls to the executor ahead of time (so a
    # process never waits to be sent its next call); cancelling one there
    # must still mean it never runs.
    marker = tmp_path / "ran"
    async with ProcessPool(1) as pool:
        first = asyncio.create_task(pool.run(time.sleep, 0.5))
        await until(lambda: pool.busy == 1)
        ahead = asyncio.create_task(pool.run(marker.touch))
        await until(lambda: pool.waiting == 1)
        ahead.cancel()
        with pytest.raises(asyncio.CancelledError):
            await ahead
        await first
        await until(lambda: pool.busy == 0 and pool.waiting == 0)
        assert await pool.run(abs, -3) == 3  # the worker and its place are free again
    assert not marker.exists()


async def test_short_process_calls_that_wait_travel_to_the_workers_several_at_a_time():
    # Issue 13 §1: 64 callers of a tiny function were 0.83x run_in_executor:
    # every call was its own trip (pickled alone, fed alone through the pipe,
    # its result read alone). Calls that wait behind busy workers and are
    # known to be short go together: one trip for many calls.
    async with ProcessPool(1) as pool:
        assert await pool.run(abs, -1) == 1  # the worker is up
        before = pool._trips
        for _ in range(3):
            results = await asyncio.gather(*(pool.run(abs, -i) for i in range(200)))
            assert results == list(range(200))
        trips = pool._trips - before
        assert trips < 600 / 4, trips


async def test_cancelled_or_timed_out_calls_in_a_trip_handed_ahead_never_run(tmp_path):
    # A trip of several calls waits in the executor behind a running call;
    # cancelling some of its calls (or letting a timeout cancel one) means
    # exactly those never run, and the rest of the trip runs as usual.
    markers = [tmp_path / f"ran-{i}" for i in range(8)]
    # batch_time=60: even these calls count as short enough to travel together.
    async with ProcessPool(1, batch_time=60) as pool:
        assert await pool.run(abs, -1) == 1  # the worker is up, calls are known short
        first = asyncio.create_task(pool.run(time.sleep, 0.3))
        await until(lambda: pool.busy == 1)
        second = asyncio.create_task(pool.run(time.sleep, 1.0))  # handed ahead alone
        await until(lambda: pool.waiting == 1)
        touches = [asyncio.create_task(pool.run(marker.touch)) for marker in markers]
        await until(lambda: pool.waiting == 9)
        await first
        # The eight went to the executor together while ``second`` runs.
        await until(lambda: pool.waiting == 8 and len(pool._queue) == 0)
        touches[2].cancel()
        touches[5].cancel()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(touches[6], timeout=0.01)
        outcomes = await asyncio.gather(*touches, return_exceptions=True)
        await second
        await until(lambda: pool.busy == 0 and pool.waiting == 0)
        assert await pool.run(abs, -3) == 3  # every place is free again
    cancelled = {i for i, o in enumerate(outcomes) if isinstance(o, asyncio.CancelledError)}
    assert cancelled == {2, 5, 6}
    assert {i for i, marker in enumerate(markers) if marker.exists()} == set(range(8)) - cancelled


class Unpicklable(Exception):
    def __init__(self, a: int, b: int) -> None:  # pickle rebuilds it with one argument
        super().__init__(a)
        self.b = b


def raise_unpicklable() -> None:
    raise Unpicklable(1, 2)


def parse(text: str) -> int:
    return int(text)


async def test_each_call_in_a_trip_gets_its_own_result_or_its_own_error():
    async with ProcessPool(1, batch_time=60) as pool:
        assert await pool.run(abs, -1) == 1
        before = pool._trips
        blocker = asyncio.create_task(pool.run(time.sleep, 0.2))
        await until(lambda: pool.busy == 1)
        calls = [pool.run(abs, -2), pool.run(parse, "zz"), pool.run(os.getpid),
                 pool.run(raise_unpicklable), pool.run(abs, -3)]
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        await blocker
        trips = pool._trips - before
    assert trips < 1 + len(calls)  # some of them shared a trip
    assert outcomes[0] == 2 and outcomes[4] == 3
    assert isinstance(outcomes[1], ValueError)
    # The worker's traceback comes along as text, as with concurrent.futures.
    assert "parse" in str(outcomes[1].__cause__)
    assert isinstance(outcomes[2], int) and outcomes[2] != os.getpid()
    assert isinstance(outcomes[3], TypeError)  # it could not be rebuilt here: it alone fails


async def test_calls_longer_than_batch_time_travel_one_per_trip():
    async with ProcessPool(1, batch_time=0.001) as pool:
        await pool.run(time.sleep, 0.01)  # calls are known to take ~10 ms
        before = pool._trips
        await asyncio.gather(*(pool.run(time.sleep, 0.01) for _ in range(10)))
        trips = pool._trips - before
    assert trips == 10


async def test_batch_time_zero_sends_every_call_on_its_own():
    async with ProcessPool(1, batch_time=0) as pool:
        await pool.run(abs, -1)
        before = pool._trips
        assert await asyncio.gather(*(pool.run(abs, -i) for i in range(50))) == list(range(50))
        trips = pool._trips - before
    assert trips == 50
    with pytest.raises(ValueError):
        ProcessPool(1, batch_time=-1)


async def test_an_exception_that_cannot_be_rebuilt_here_fails_its_call_and_not_the_pool():
    # ProcessPoolExecutor unpickles results in its own thread; an exception
    # whose class cannot be rebuilt from its args kills that thread, and the
    # whole pool is broken (run_in_executor: BrokenProcessPool for every call).
    async with ProcessPool(1) as pool:
        with pytest.raises(TypeError):
            await pool.run(raise_unpicklable)
        assert await pool.run(abs, -4) == 4
