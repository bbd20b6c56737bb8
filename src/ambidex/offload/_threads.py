"""Threads: for blocking libraries and files, which wait without using the CPU."""

from __future__ import annotations

import contextvars
import functools
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ambidex.offload._jobs import Job
from ambidex.offload._pool import BoundedPool

T = TypeVar("T")


class ThreadPool(BoundedPool):
    """At most ``max_workers`` blocking calls at once, each on its own thread.

    Use threads for code that *waits*: a blocking client library you cannot
    port, file I/O, DNS via the system resolver, a C extension that releases
    the GIL. Do not use them for pure-Python CPU work: the GIL lets one
    thread compute at a time, so a thread only moves the slowness off the
    loop without adding speed (see :class:`ProcessPool`).

    **The bound is real.** The pool has at most ``max_workers`` threads
    (started as they are first needed). Calls beyond that wait in a queue,
    in order of arrival, and a thread that finishes a call takes the next
    waiting one itself, without a trip through the event loop. Every waiting
    call is a caller still awaiting it, and ``busy`` never exceeds
    ``max_workers``.

    **Cancellation is honest.** Cancelling the awaiting task makes the
    ``await`` raise :class:`asyncio.CancelledError` at once. A function that
    had not started yet never starts (its place in the queue is marked and
    skipped, in constant time). A function that is running cannot be
    stopped (Python cannot kill a thread): it runs to its end, its result is
    dropped, and its thread stays taken until then, so ``busy`` still counts
    it and the bound still holds. If your function can be told to stop (a
    socket you can close, an event it polls), do that yourself on cancel.

    The function runs in a copy of the caller's :mod:`contextvars` context,
    as with :func:`asyncio.to_thread`. Exceptions propagate with their
    traceback, frames from the worker thread included. The threads are
    daemon threads: at interpreter exit, a function still running does not
    hold the process up (``close()`` waits for them).
    """

    def __init__(self, max_workers: int | None = None, *, name: str = "ambidex-thread") -> None:
        if max_workers is None:
            max_workers = default_thread_count()
        super().__init__(max_workers)
        self._name = name
        self._threads: list[threading.Thread] = []
        # Workers with nothing to do, each asleep on its own lock.
        self._idle: list[threading.Lock] = []

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` on a worker thread and return its result."""
        context = contextvars.copy_context()
        return await self._run(functools.partial(context.run, fn, *args, **kwargs))

    def _submit(self, job: Job) -> None:
        thread = None
        wake = None
        with self._lock:  # ambidex: allow-blocking held briefly, never across I/O
            self._refuse_if_closed()
            self._queue.append(job)
            if self._idle:
                wake = self._idle.pop()
            elif len(self._threads) < self.max_workers:
                thread = threading.Thread(
                    target=self._work,
                    name=f"{self._name}-{len(self._threads)}",
                    daemon=True,
                )
                self._threads.append(thread)
        if wake is not None:
            wake.release()
        elif thread is not None:
            thread.start()

    def _work(self) -> None:
        """A worker: take the oldest waiting job, run it, repeat; sleep when none waits."""
        lock = self._lock
        queue = self._queue
        finish = self._finish
        wake = threading.Lock()
        wake.acquire()  # held while awake; the worker sleeps by acquiring it again
        # The job just run and its outcome, delivered once its worker is
        # counted free (so ``busy`` is 0 by the time the caller resumes).
        done: Job | None = None
        result: Any = None
        error: BaseException | None = None
        while True:
            with lock:
                if done is not None:
                    self._running -= 1
                job = queue.pop()
                if job is not None:
                    self._running += 1
                elif not self._closed:
                    self._idle.append(wake)
            if done is not None:
                finish(done, result, error)
                # Hold nothing of the job while idle (its arguments, its result).
                done = result = error = None
            if job is None:
                if self._closed:
                    return
                wake.acquire()  # until _submit or _shutdown releases it
                continue
            fn = job.fn
            assert fn is not None  # a RUNNING job keeps its function
            try:
                result = fn()
            except BaseException as exc:
                error = exc
            done, job, fn = job, None, None

    def _shutdown(self) -> None:
        with self._lock:  # ambidex: allow-blocking held briefly, never across I/O
            idle, self._idle = self._idle, []
        for wake in idle:
            wake.release()

    def _join(self) -> None:
        for thread in list(self._threads):
            if thread.ident is not None:
                thread.join()


def default_thread_count() -> int:
    """The default pool's size: as ``asyncio``'s default executor picks it."""
    return min(32, (os.cpu_count() or 1) + 4)


_default: ThreadPool | None = None
_default_lock = threading.Lock()


def default_thread_pool() -> ThreadPool:
    """The process-wide pool :func:`run_in_thread` and :func:`open_file` use.

    Created on first use with :func:`default_thread_count` workers; it works
    from any event loop (and several loops in turn, as in a test suite).
    """
    global _default
    with _default_lock:  # ambidex: allow-blocking held briefly, never across I/O
        if _default is None or _default.closed:
            _default = ThreadPool(name="ambidex-offload")
        return _default


async def run_in_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run a blocking ``fn(*args, **kwargs)`` on the default thread pool.

    The one-line way to call something that blocks from a coroutine without
    stalling every other task. Same rules as :meth:`ThreadPool.run`: bounded,
    and a cancelled call returns at once while a started function runs to
    its end, its worker taken until then.
    """
    return await default_thread_pool().run(fn, *args, **kwargs)
