"""The bounded pool both ThreadPool and ProcessPool are made of."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from ambidex.offload._jobs import DONE, RUNNING, InboxCache, Job, JobQueue

T = TypeVar("T")
_P = TypeVar("_P", bound="BoundedPool")


class PoolClosedError(RuntimeError):
    """The pool was closed: it takes no new work."""


class BoundedPool:
    """At most ``max_workers`` jobs run; the others wait in a queue, in order.

    A caller's job goes into the queue (or straight to an idle worker); a
    worker that finishes a job takes the next one itself. The queue holds
    only jobs whose callers are still awaiting them: a caller that is
    cancelled marks its job, which is then skipped (see ``_jobs``). So
    ``busy`` never exceeds ``max_workers``, and the work beyond it is exactly
    the callers still waiting.

    Subclasses say how a job starts (``_submit``) and how workers stop
    (``_shutdown``, ``_join``); the state below is shared, under ``_lock``.
    """

    def __init__(self, max_workers: int) -> None:
        if max_workers < 1:
            raise ValueError(f"a pool needs at least one worker, got {max_workers}")
        self.max_workers = max_workers
        # Guards _queue, _running, _closed and the subclasses' worker state;
        # held for a few attribute changes at a time, never across a call.
        self._lock = threading.Lock()
        self._queue = JobQueue()
        self._running = 0
        self._closed = False
        self._inboxes = InboxCache()

    @property
    def busy(self) -> int:
        """How many workers are taken, including by calls whose caller was
        cancelled but whose function is still running."""
        return self._running

    @property
    def waiting(self) -> int:
        """How many callers wait for a free worker."""
        with self._lock:
            return len(self._queue)

    @property
    def closed(self) -> bool:
        return self._closed

    async def _run(self, fn: Callable[[], T], cleanup: Callable[[T], object] | None = None) -> T:
        """Run ``fn()`` on a worker and return what it returns.

        If the caller is cancelled, a job still waiting never runs; a job
        already running keeps its worker to the end, and ``cleanup`` (if
        given) is called with its result, which nobody else will receive.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        job = Job(fn, future, self._inboxes.get(loop), cleanup)
        self._submit(job)
        try:
            return await future
        except BaseException:
            self._abandon(job)
            raise

    def _submit(self, job: Job) -> None:
        """Queue ``job`` or start it; raise PoolClosedError once closed."""
        raise NotImplementedError

    def _abandon(self, job: Job) -> None:
        """The caller of ``job`` is gone (cancelled, or the loop is going away)."""
        with self._lock:  # ambidex: allow-blocking held briefly, never across I/O
            if self._queue.cancel(job):
                return  # it never runs: O(1), the worker skips it
            if job.state == RUNNING:
                job.abandoned = True  # the worker calls job.cleanup, if any
                return
        future = job.future
        if (
            job.state == DONE
            and job.cleanup is not None
            and future.done()
            and not future.cancelled()
            and future.exception() is None
        ):
            # The result arrived, but the caller was cancelled before it resumed.
            _clean_up(job.cleanup, future.result())

    def _finish(self, job: Job, result: Any, error: BaseException | None) -> None:
        """Send a finished job's outcome to its caller (from a worker's thread)."""
        if job.cleanup is not None:
            with self._lock:
                job.state = DONE
                abandoned = job.abandoned
            if abandoned:
                if error is None:
                    _clean_up(job.cleanup, result)
                return
        else:
            job.state = DONE
        job.inbox.put(job, result, error)

    def _refuse_if_closed(self) -> None:
        # Called under the lock.
        if self._closed:
            raise PoolClosedError(f"{type(self).__name__} is closed")

    async def close(self, *, wait: bool = True) -> None:
        """Stop taking work. Callers still waiting for a worker get
        :class:`PoolClosedError`. With ``wait`` (the default), also wait until
        every function already started has returned; a function stuck forever
        keeps this waiting forever, since workers cannot be killed. Idempotent."""
        with self._lock:  # ambidex: allow-blocking held briefly, never across I/O
            self._closed = True
            dropped = self._queue.take_all()
        for job in dropped:
            job.inbox.put(job, None, PoolClosedError(f"{type(self).__name__} is closed"))
        self._shutdown()
        if wait:
            await asyncio.to_thread(self._join)

    def _shutdown(self) -> None:
        """Tell idle workers to stop (closed is already set)."""
        raise NotImplementedError

    def _join(self) -> None:
        """Block until every worker has stopped (run off the loop)."""
        raise NotImplementedError

    async def __aenter__(self: _P) -> _P:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<{type(self).__name__} {state} busy={self.busy}/{self.max_workers} "
            f"waiting={self.waiting}>"
        )


def _clean_up(cleanup: Callable[[Any], object], result: Any) -> None:
    """Release what a call nobody awaits any more produced (close an opened file).
    Its failure has nobody to be reported to: the caller is gone."""
    try:
        cleanup(result)
    except Exception:
        pass
