"""Processes: for CPU-bound Python, which threads cannot speed up."""

from __future__ import annotations

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

    ``mp_context`` picks how workers start. The default is ``forkserver``
    where the platform has it, else the platform's default: a process that
    runs an event loop usually runs threads too (this module's thread pool,
    the resolver's), and ``fork`` in a multi-threaded process can copy a lock
    held by another thread into a child that then deadlocks (Python 3.12+
    warns about it; 3.14 changed its default the same way).
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

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` in a worker process and return its result."""
        return await self._run(fn, args, kwargs)
