"""Threads: for blocking libraries and files, which wait without using the CPU."""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ambidex.offload._pool import BoundedPool

T = TypeVar("T")


class ThreadPool(BoundedPool):
    """At most ``max_workers`` blocking calls at once, each on its own thread.

    Use threads for code that *waits*: a blocking client library you cannot
    port, file I/O, DNS via the system resolver, a C extension that releases
    the GIL. Do not use them for pure-Python CPU work: the GIL lets one
    thread compute at a time, so a thread only moves the slowness off the
    loop without adding speed (see :class:`ProcessPool`).

    **The bound is real.** ``await pool.run(fn)`` first waits (on the event
    loop, in order of arrival) for a free worker, then starts ``fn``. Work
    beyond ``max_workers`` waits in the awaiting callers, not in an unbounded
    queue, and ``busy`` never exceeds ``max_workers``.

    **Cancellation is honest.** Cancelling the awaiting task makes the
    ``await`` raise :class:`asyncio.CancelledError` at once. A function that
    had not started yet never starts. A function that is running cannot be
    stopped (Python cannot kill a thread): it runs to its end, its result is
    dropped, and its worker stays taken until then, so ``busy`` still counts
    it and the bound still holds. If your function can be told to stop (a
    socket you can close, an event it polls), do that yourself on cancel.

    The function runs in a copy of the caller's :mod:`contextvars` context,
    as with :func:`asyncio.to_thread`. Exceptions propagate with their
    traceback, frames from the worker thread included.
    """

    def __init__(self, max_workers: int | None = None, *, name: str = "ambidex-thread") -> None:
        if max_workers is None:
            max_workers = default_thread_count()
        super().__init__(
            concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix=name),
            max_workers,
        )

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` on a worker thread and return its result."""
        context = contextvars.copy_context()
        return await self._run(context.run, (functools.partial(fn, *args, **kwargs),), {})


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
