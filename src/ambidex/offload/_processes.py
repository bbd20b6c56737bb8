"""Processes: for CPU-bound Python, which threads cannot speed up."""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import multiprocessing.context
import os
from collections.abc import Callable
from typing import Any, TypeVar

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

    Workers are started off the event loop (by a helper thread), since
    starting a process takes milliseconds to a tenth of a second.

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
        super().__init__(
            concurrent.futures.ProcessPoolExecutor(max_workers, mp_context=mp_context),
            max_workers,
        )
        self._submitter = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="ambidex-process-submit"
        )

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` in a worker process and return its result."""
        return await self._run(fn, args, kwargs)

    async def _start(
        self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> concurrent.futures.Future[T]:
        # ProcessPoolExecutor.submit starts worker processes on demand, in the
        # caller's thread: the first one (and the forkserver) takes ~100 ms,
        # each later one milliseconds. That must not happen on the event
        # loop, so submitting is done by a helper thread.
        handed: concurrent.futures.Future[concurrent.futures.Future[T]]
        handed = concurrent.futures.Future()
        # Mark it running, so that cancelling the await below cannot cancel
        # it (wrap_future would try): the helper thread always completes it.
        handed.set_running_or_notify_cancel()

        def submit() -> None:
            try:
                job = self._executor.submit(fn, *args, **kwargs)
            except BaseException as exc:
                self._slots.release()
                handed.set_exception(exc)
                return
            job.add_done_callback(self._release)
            handed.set_result(job)

        self._submitter.submit(submit)
        try:
            return await asyncio.wrap_future(handed)
        except asyncio.CancelledError:
            # The submit goes ahead in its thread; a job that has not started
            # by then is cancelled (its slot comes back through its callback).
            handed.add_done_callback(_cancel_job)
            raise

    async def close(self, *, wait: bool = True) -> None:
        await super().close(wait=wait)
        self._submitter.shutdown(wait=False)


def _cancel_job(handed: concurrent.futures.Future[concurrent.futures.Future[Any]]) -> None:
    if handed.exception() is None:
        handed.result().cancel()
