"""Processes: for CPU-bound Python, which threads cannot speed up."""

from __future__ import annotations

import concurrent.futures
import functools
import multiprocessing
import multiprocessing.context
import os
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
    calls raise :class:`concurrent.futures.process.BrokenProcessPool`.

    Workers are started off the event loop: while the pool has fewer
    processes than ``max_workers``, a helper thread submits (submitting is
    what starts a process, which takes milliseconds to a tenth of a second).
    Once all are up, calls are submitted straight from the loop, and a call
    that finishes hands its worker to the next waiting call from the
    executor's own thread, without a trip through the loop.

    So that a process never waits for its next call to be shipped to it, up
    to ``max_workers`` waiting calls are handed to the executor ahead of
    time (as ``run_in_executor`` does with every call). They still count as
    waiting, and cancelling one is still honest: its worker finds it marked
    (a flag in shared memory, checked just before the call) and skips it.

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
    ) -> None:
        if max_workers is None:
            max_workers = os.cpu_count() or 1
        if mp_context is None and "forkserver" in multiprocessing.get_all_start_methods():
            mp_context = multiprocessing.get_context("forkserver")
        super().__init__(max_workers)
        if mp_context is None:
            mp_context = multiprocessing.get_context()
        # Calls in the executor: max_workers running, as many handed ahead.
        self._capacity = 2 * max_workers
        # One cancel flag per place in the executor, shared with the workers.
        self._flags = mp_context.RawArray("b", self._capacity)
        self._free_slots = list(range(self._capacity))
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
            return len(self._queue) + max(0, self._running - self.max_workers)

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
                job.state = RUNNING
                start = True
            else:
                self._queue.append(job)
                start = False
        if start:
            self._start(job)

    def _start(self, job: Job) -> None:
        """Hand a RUNNING job to the executor, from whichever thread freed its worker."""
        if not self._all_started:
            # ProcessPoolExecutor.submit starts a process when none is idle and
            # fewer than max_workers exist. That must not happen on the event
            # loop (nor in the executor's own thread), so a helper submits
            # until every process is up. ``_processes`` is private: without
            # it, the helper keeps doing the submitting (slower, still right).
            processes = getattr(self._executor, "_processes", None)
            if processes is None or len(processes) < self.max_workers:
                self._submitter.submit(self._send, job)
                return
            self._all_started = True
        self._send(job)

    def _send(self, job: Job) -> None:
        current: Job | None = job
        while current is not None:
            fn = current.fn
            assert isinstance(fn, functools.partial)
            with self._lock:
                slot = current.slot = self._free_slots.pop()
                self._flags[slot] = 1 if current.abandoned else 0
            try:
                sent = self._executor.submit(
                    _unless_cancelled, slot, fn.func, fn.args, fn.keywords
                )
            except BaseException as exc:  # a broken or shut-down pool
                # Each waiting job gets the error in turn: a loop, not recursion.
                self._free_slot(current)
                self._finish(current, None, exc)
                current = self._pass_on()
                continue
            sent.add_done_callback(functools.partial(self._completed, current))
            return

    def _completed(self, job: Job, sent: concurrent.futures.Future[Any]) -> None:
        # In the executor's thread (or in the submitting one if already done).
        # The next waiting job is sent first, so its process has work again
        # as soon as possible; then this job's outcome goes to its caller.
        self._free_slot(job)
        following = self._pass_on()
        if following is not None:
            self._start(following)
        error: BaseException | None
        if sent.cancelled():
            result, error = None, concurrent.futures.CancelledError()
        else:
            error = sent.exception()
            result = None if error is not None else sent.result()
        self._finish(job, result, error)

    def _free_slot(self, job: Job) -> None:
        with self._lock:
            if job.slot is not None:
                self._free_slots.append(job.slot)
                job.slot = None

    def _pass_on(self) -> Job | None:
        """A worker was freed: the next waiting job (now RUNNING, for the
        caller to start), or None, and then the worker counts as free."""
        with self._lock:
            following = self._queue.pop()
            if following is None:
                self._running -= 1
        return following

    def _shutdown(self) -> None:
        self._submitter.shutdown(wait=False)

    def _join(self) -> None:
        self._submitter.shutdown(wait=True)
        self._executor.shutdown(wait=True)


# --- in the worker processes ---------------------------------------------------------

_flags: Any = None


def _share_flags(flags: Any) -> None:
    """The executor's initializer: keep the pool's cancel flags."""
    global _flags
    _flags = flags


class _Skipped:
    """What a call cancelled before it started returns instead of running."""


def _unless_cancelled(
    slot: int, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    if _flags is not None and _flags[slot]:
        return _Skipped()
    return fn(*args, **kwargs)
