"""Processes: for CPU-bound Python, which threads cannot speed up."""

from __future__ import annotations

import concurrent.futures
import functools
import multiprocessing
import multiprocessing.context
import os
import pickle
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from ambidex.offload._jobs import RUNNING, Job
from ambidex.offload._pool import BoundedPool

T = TypeVar("T")


class ProcessPool(BoundedPool):
    """At most ``max_workers`` CPU-bound calls at once, each in a worker process.

    Use processes for work that *computes* in Python (parsing, compressing in
    pure Python, number crunching without a GIL-releasing library): each
    worker has its own interpreter and its own GIL, so the work runs in
    parallel and the event loop stays free. The price is pickling: ``fn``,
    its arguments and its result cross a process boundary, so they must be
    picklable (``fn`` defined at module level, not a lambda or closure), and
    shipping big objects costs more than small computations save. For code
    that waits rather than computes, :class:`ThreadPool` is cheaper.

    Bound and cancellation behave as in :class:`ThreadPool`: the ``await``
    raises :class:`asyncio.CancelledError` at once, a call not yet started
    never starts, and a started one runs to its end in its process, keeping
    its worker until then. If a worker process dies, the pool is broken and
    calls raise :class:`concurrent.futures.process.BrokenProcessPool`. An
    exception raised in a worker arrives with the worker's traceback as its
    ``__cause__`` (:class:`RemoteTraceback`); a result or exception that
    cannot be pickled there, or rebuilt here, fails its own call only (left
    to the executor, one that cannot be rebuilt breaks the whole pool).

    Workers are started off the event loop: while the pool has fewer
    processes than ``max_workers``, a helper thread submits (submitting is
    what starts a process, which takes milliseconds to a tenth of a second).
    Once all are up, calls are submitted straight from the loop, and a call
    that finishes hands its worker to the next waiting call from the
    executor's own thread, without a trip through the loop.

    So that a process never waits for its next call to be shipped to it,
    waiting calls are handed to the executor ahead of time (as
    ``run_in_executor`` does with every call): at most ``max_workers`` trips
    run and as many wait in the executor. They still count as waiting, and
    cancelling one is still honest: its worker finds it marked (a flag in
    shared memory, checked just before each call) and skips it.

    A trip to a worker costs about as much as a short call (pickling, the
    executor's threads, a pipe each way, a wake-up of the loop), so short
    calls that wait behind busy workers travel together, like the
    ``chunksize`` of ``ProcessPoolExecutor.map``: one trip carries as many
    waiting calls as fit in ``batch_time`` seconds of work, judged by how
    long the pool's recent calls took in their workers, and no more than
    the waiting calls divided among the workers. Calls that take longer than
    ``batch_time`` go one per trip, so a long call never holds a short one
    back for long, nor keeps another worker idle. The results of one trip
    come back together when its last call is done. ``batch_time=0`` sends
    every call on its own.

    ``mp_context`` picks how workers start. The default is ``forkserver``
    where the platform has it, else the platform's default: a process that
    runs an event loop usually runs threads too (this module's thread pool,
    the resolver's), and ``fork`` in a multi-threaded process can copy a lock
    held by another thread into a child that then deadlocks (Python 3.12+
    warns about it; 3.14 changed its default the same way). With
    ``forkserver`` or ``spawn``, a script that creates the pool needs the
    ``if __name__ == "__main__":`` guard, as the multiprocessing docs say.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        mp_context: multiprocessing.context.BaseContext | None = None,
        batch_time: float = 0.001,
    ) -> None:
        if max_workers is None:
            max_workers = os.cpu_count() or 1
        if batch_time < 0:
            raise ValueError(f"batch_time must be >= 0, got {batch_time}")
        if mp_context is None and "forkserver" in multiprocessing.get_all_start_methods():
            mp_context = multiprocessing.get_context("forkserver")
        super().__init__(max_workers)
        if mp_context is None:
            mp_context = multiprocessing.get_context()
        self.batch_time = batch_time
        # Trips in the executor (``_running``): max_workers running, as many ahead.
        self._capacity = 2 * max_workers
        # Calls in the executor, over all its trips.
        self._sent = 0
        # How long one call took in its worker, recently (None: not known yet).
        self._per_call: float | None = None
        # One cancel flag per call in the executor, shared with the workers.
        flags = self._capacity * _MAX_BATCH
        self._flags = mp_context.RawArray("b", flags)
        self._free_slots = list(range(flags))
        self._executor = concurrent.futures.ProcessPoolExecutor(
            max_workers, mp_context=mp_context, initializer=_share_flags, initargs=(self._flags,)
        )
        self._submitter = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="ambidex-process-submit"
        )
        self._all_started = False

    @property
    def busy(self) -> int:
        """How many workers are taken (calls handed ahead are still waiting)."""
        return min(self._running, self.max_workers)

    @property
    def waiting(self) -> int:
        """How many callers wait for a free worker, handed ahead or not."""
        with self._lock:
            return len(self._queue) + self._sent - min(self._running, self.max_workers)

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` in a worker process and return its result."""
        return await self._run(functools.partial(fn, *args, **kwargs))

    def _abandon(self, job: Job) -> None:
        super()._abandon(job)
        with self._lock:
            if job.slot is not None:
                # In the executor: a call not yet started there never starts.
                self._flags[job.slot] = 1

    def _submit(self, job: Job) -> None:
        with self._lock:
            self._refuse_if_closed()
            if self._running < self._capacity and not len(self._queue):
                self._running += 1
                self._sent += 1
                job.state = RUNNING
                start = True
            else:
                self._queue.append(job)
                start = False
        if start:
            self._start([job])

    def _start(self, trip: list[Job]) -> None:
        """Hand RUNNING jobs to the executor, from whichever thread freed their place."""
        if not self._all_started:
            # ProcessPoolExecutor.submit starts a process when none is idle and
            # fewer than max_workers exist. That must not happen on the event
            # loop (nor in the executor's own thread), so a helper submits
            # until every process is up. ``_processes`` is private: without
            # it, the helper keeps doing the submitting (slower, still right).
            processes = getattr(self._executor, "_processes", None)
            if processes is None or len(processes) < self.max_workers:
                self._submitter.submit(self._send, trip)
                return
            self._all_started = True
        self._send(trip)

    def _send(self, trip: list[Job]) -> None:
        current: list[Job] | None = trip
        while current:
            calls = []
            with self._lock:
                for job in current:
                    fn = job.fn
                    assert isinstance(fn, functools.partial)
                    slot = job.slot = self._free_slots.pop()
                    self._flags[slot] = 1 if job.abandoned else 0
                    calls.append((slot, fn.func, fn.args, fn.keywords))
            try:
                sent = self._executor.submit(_run_trip, calls)
            except BaseException as exc:  # a broken or shut-down pool
                # Each waiting job gets the error in turn: a loop, not recursion.
                self._free_slots_of(current)
                for job in current:
                    self._finish(job, None, exc)
                current = self._pass_on()
                continue
            sent.add_done_callback(functools.partial(self._completed, current))
            return

    def _completed(self, trip: list[Job], sent: concurrent.futures.Future[Any]) -> None:
        # In the executor's thread (or in the submitting one if already done).
        # The next waiting jobs are sent first, so their process has work
        # again as soon as possible; then this trip's outcomes go to their callers.
        outcomes: list[tuple[Any, BaseException | None]] | None = None
        error: BaseException | None = None
        if sent.cancelled():
            error = concurrent.futures.CancelledError()
        elif (error := sent.exception()) is None:
            pickled, ran, seconds = sent.result()
            if ran:
                self._learn(seconds / ran)
            outcomes = [_outcome(data) for data in pickled]
        self._free_slots_of(trip)
        following = self._pass_on()
        if following:
            self._start(following)
        if outcomes is None:
            for job in trip:
                self._finish(job, None, error)
        else:
            for job, (result, failure) in zip(trip, outcomes, strict=True):
                self._finish(job, result, failure)

    def _learn(self, per_call: float) -> None:
        """Remember how long calls take (a moving average, so one odd call
        does not decide the size of the next trips alone)."""
        known = self._per_call
        self._per_call = per_call if known is None else 0.75 * known + 0.25 * per_call

    def _free_slots_of(self, trip: list[Job]) -> None:
        with self._lock:
            self._sent -= len(trip)
            for job in trip:
                if job.slot is not None:
                    self._free_slots.append(job.slot)
                    job.slot = None

    def _trip_size(self, waiting: int) -> int:
        """How many waiting calls the next trip takes (under the lock)."""
        per_call = self._per_call
        if per_call is None or waiting <= 1 or per_call >= self.batch_time:
            return 1
        fit = int(self.batch_time / per_call) if per_call > 0 else _MAX_BATCH
        share = -(-waiting // self.max_workers)  # the waiting calls divided among the workers
        return max(1, min(fit, share, _MAX_BATCH))

    def _pass_on(self) -> list[Job] | None:
        """A trip ended: the next waiting jobs (now RUNNING, for the caller to
        send), or None, and then its place in the executor counts as free."""
        with self._lock:
            queue = self._queue
            following = []
            for _ in range(self._trip_size(len(queue))):
                job = queue.pop()
                if job is None:
                    break
                following.append(job)
            if following:
                self._sent += len(following)
                return following
            self._running -= 1
            return None

    def _shutdown(self) -> None:
        self._submitter.shutdown(wait=False)

    def _join(self) -> None:
        self._submitter.shutdown(wait=True)
        self._executor.shutdown(wait=True)


# At most this many calls travel in one trip (and the cancel flags are sized by it).
_MAX_BATCH = 64


def _outcome(data: bytes) -> tuple[Any, BaseException | None]:
    """One call's outcome from its worker, as (result, error)."""
    try:
        kind, value = pickle.loads(data)
    except Exception as exc:  # a result that cannot be unpickled here
        return None, exc
    if kind == _RETURNED:
        return value, None
    if kind == _RAISED:
        return None, value
    return None, concurrent.futures.CancelledError()  # skipped: its caller is gone


# --- in the worker processes ---------------------------------------------------------

_RETURNED, _RAISED, _SKIPPED = 0, 1, 2

_flags: Any = None


def _share_flags(flags: Any) -> None:
    """The executor's initializer: keep the pool's cancel flags."""
    global _flags
    _flags = flags


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process, as text: it
    is the ``__cause__`` of the exception the caller receives (as with
    ``concurrent.futures``), since frames cannot cross a process boundary."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


def _with_cause(exc: BaseException, text: str) -> BaseException:
    exc.__cause__ = RemoteTraceback(text)
    return exc


class _Raised:
    """An exception on its way back, with its worker's traceback as text."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def __reduce__(self) -> tuple[Any, ...]:
        return _with_cause, (self.exc, f'\n"""\n{self.text}"""')


def _run_trip(calls: list[tuple[int, Callable[..., Any], tuple[Any, ...], dict[str, Any]]]) -> Any:
    """Run a trip's calls in order, each unless its caller cancelled it by
    then; return their outcomes (each pickled), how many ran, and their time.

    Each outcome is pickled here, on its own, even when it travels alone: a
    result or exception that cannot be pickled here, or rebuilt in the pool's
    process, then fails its own call only. (Left to the executor, the first
    fails every call of the trip, and the second breaks the whole pool: its
    result thread dies, and every call, running or waiting, gets
    BrokenProcessPool.)"""
    flags = _flags
    packed: list[tuple[int, Any]] = []
    ran = 0
    started = time.perf_counter()
    for slot, fn, args, kwargs in calls:
        if flags is not None and flags[slot]:
            packed.append((_SKIPPED, None))
            continue
        ran += 1
        try:
            packed.append((_RETURNED, fn(*args, **kwargs)))
        except BaseException as exc:
            packed.append((_RAISED, _Raised(exc)))
    seconds = time.perf_counter() - started
    return [_pickled(item) for item in packed], ran, seconds


def _pickled(item: tuple[int, Any]) -> bytes:
    """One outcome, pickled on its own: if it cannot be, only its caller gets
    the pickling error (and one that cannot be unpickled fails alone too)."""
    try:
        return pickle.dumps(item, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        return pickle.dumps((_RAISED, _Raised(exc)), pickle.HIGHEST_PROTOCOL)
