"""Pinned threads: a bounded set of worker threads, each object graph on one.

Most blocking client objects are not thread-safe: a DB-API connection and
its cursors must be used from one thread (sqlite3 checks it; others just
corrupt their state). So :func:`ambidex.offload.wrap` pins each object graph
(a connection and everything made from it) to one worker thread for its
life, and runs every call of the graph there, in the order it was made.

A :class:`PinnedThreads` caps the number of threads. A new graph goes to an
idle thread while there is one (starting it, up to the bound), else to the
thread with the fewest graphs: more connections than threads share threads,
each call still on its own object's thread.

**The hop.** The loop appends a job to the thread's deque and wakes the
thread only if it sleeps; the thread runs its jobs in order and hands each
result back through a per-loop mailbox. A mailbox wakes its loop with one
``call_soon_threadsafe`` however many results arrive before the loop gets
to them, so a busy loop is woken once per burst, not once per result, and
no :class:`concurrent.futures.Future` is made on the way.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import queue
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from ambidex.offload._threads import default_thread_count


class JobState(enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    """Cancelled before it started: the thread skips it."""


class Job:
    """One call to run on a pinned thread, and the future waiting for it.

    ``state`` moves PENDING -> RUNNING -> DONE on the thread, or PENDING ->
    CANCELLED on the loop; both under the thread's lock, so a cancel hook is
    only ever called while *this* job runs, never on the next one.
    """

    __slots__ = ("fn", "future", "interrupted", "mailbox", "state", "undelivered")

    fn: Callable[[Job], Any] | None
    undelivered: Callable[[bool, Any], None] | None

    def __init__(self, fn: Callable[[Job], Any], future: asyncio.Future[Any],
                 mailbox: _Mailbox, undelivered: Callable[[bool, Any], None] | None) -> None:
        self.fn = fn
        self.future = future
        self.mailbox = mailbox
        self.undelivered = undelivered
        """Called on the thread, instead of delivering, with (ok, result or
        exception) when the await was cancelled while the job ran."""
        self.state = JobState.PENDING
        self.interrupted = False
        """The awaiting task was cancelled while the job ran (a cancel hook, if
        any, was called): the job's outcome is not delivered."""


class _Mailbox:
    """Results for one event loop, delivered with one wake-up per burst."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._items: list[tuple[asyncio.Future[Any], bool, Any, _Late | None]] = []
        self._scheduled = False

    def post(self, future: asyncio.Future[Any], ok: bool, value: Any,
             late: _Late | None = None) -> None:
        """From a worker thread: deliver ``value`` (a result, or an exception).
        If the await was cancelled meanwhile, ``late`` (the job's
        ``undelivered`` and its thread) gets the value instead, on that thread."""
        with self._lock:
            self._items.append((future, ok, value, late))
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._deliver)
        except RuntimeError:
            pass  # the loop is closed: nobody waits for these results any more

    def _deliver(self) -> None:
        with self._lock:
            items, self._items = self._items, []
            self._scheduled = False
        for future, ok, value, late in items:
            if future.done():  # cancelled after the job had finished
                if late is not None:
                    undelivered, thread = late
                    try:
                        thread.submit(Job(functools.partial(_run_late, undelivered, ok, value),
                                          self._loop.create_future(), self, None))
                    except RuntimeError:
                        pass  # its threads were closed: nothing more runs there
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)


_Late = tuple[Callable[[bool, Any], None], "PinnedThread"]


def _run_late(undelivered: Callable[[bool, Any], None], ok: bool, value: Any, job: Job) -> None:
    undelivered(ok, value)


_mailboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Mailbox] = (
    weakref.WeakKeyDictionary()
)
_mailboxes_lock = threading.Lock()


def mailbox_for(loop: asyncio.AbstractEventLoop) -> _Mailbox:
    box = _mailboxes.get(loop)
    if box is None:
        with _mailboxes_lock:  # ambidex: allow-blocking held briefly, never across I/O
            box = _mailboxes.setdefault(loop, _Mailbox(loop))
    return box


class PinnedThread:
    """One worker thread with its own queue: the home of the graphs pinned to it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        """Guards every job's ``state``; held by a cancel hook while it runs."""
        self.graphs = 0
        """How many object graphs live on this thread."""
        self.stopped = False
        # Jobs wait in a deque; the thread sleeps on ``_wake`` only when the
        # deque is empty, and only then does a submit pay for waking it. Jobs
        # submitted while it is awake (running, or waiting for the GIL) are a
        # deque append: under load, many calls cost one wake-up.
        self._pending: deque[Job | None] = deque()
        self._mutex = threading.Lock()
        self._awake = False
        self._wake: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def start(self) -> None:
        """Start the worker (jobs submitted before this wait in its queue)."""
        self._thread.start()

    @property
    def ident(self) -> int | None:
        return self._thread.ident

    def submit(self, job: Job) -> None:
        if self.stopped:
            raise RuntimeError(f"{self.name} is stopped: its PinnedThreads was closed")
        self._push(job)

    def stop(self) -> None:
        """Let the thread end once the jobs already queued have run."""
        self.stopped = True
        self._push(None)

    def _push(self, job: Job | None) -> None:
        with self._mutex:
            self._pending.append(job)
            if self._awake:
                return
            self._awake = True
        self._wake.put(None)

    def _next(self) -> Job | None:
        """On the thread: the next job, sleeping while there is none."""
        pending, mutex = self._pending, self._mutex
        while True:
            with mutex:
                if pending:
                    return pending.popleft()
                self._awake = False
            self._wake.get()

    def _main(self) -> None:
        next_job, lock = self._next, self.lock
        running, done, cancelled = JobState.RUNNING, JobState.DONE, JobState.CANCELLED
        while True:
            job = next_job()
            if job is None:
                return
            with lock:
                fn = job.fn
                if job.state is cancelled or fn is None:
                    job.fn = job.undelivered = None
                    continue
                job.state = running
            try:
                value = fn(job)
                ok = True
            except BaseException as exc:  # delivered to the awaiting task
                value, ok = exc, False
            with lock:
                job.state = done
            # Let go of the job (its closure holds the wrapped objects) before
            # the result wakes the loop: what the loop drops must be freeable.
            future, mailbox, undelivered = job.future, job.mailbox, job.undelivered
            interrupted = job.interrupted
            job.fn = job.undelivered = None
            del job, fn
            if not interrupted:
                # If the await is cancelled before delivery, undelivered gets it.
                late = None if undelivered is None else (undelivered, self)
                mailbox.post(future, ok, value, late)
            elif undelivered is not None:
                try:
                    undelivered(ok, value)
                except Exception:  # nobody waits for it: it must not end the thread
                    pass
            del future, value, undelivered  # nor keep them while waiting for the next job


class PinnedThreads:
    """At most ``max_threads`` worker threads; each object graph pinned to one.

    Threads start on demand and live until :meth:`close`. The default,
    shared by every :func:`ambidex.offload.wrap` that is not given one, has
    as many threads as :func:`ambidex.offload.run_in_thread`'s pool.
    """

    def __init__(self, max_threads: int | None = None, *, name: str = "ambidex-pinned") -> None:
        if max_threads is None:
            max_threads = default_thread_count()
        if max_threads < 1:
            raise ValueError(f"PinnedThreads needs at least one thread, got {max_threads}")
        self.max_threads = max_threads
        self._name = name
        self._threads: list[PinnedThread] = []
        # Re-entrant: the GC may run a dead graph's __del__ (which unpins) on any
        # allocation, including one inside pin() while this lock is held.
        self._lock = threading.RLock()
        self._closed = False

    @property
    def threads(self) -> list[PinnedThread]:
        """The threads started so far (never more than ``max_threads``)."""
        return list(self._threads)

    def pin(self) -> PinnedThread:
        """The thread for a new object graph: an idle one, a new one while
        under the bound, else the one with the fewest graphs."""
        new = None
        with self._lock:  # ambidex: allow-blocking held briefly, never across I/O
            if self._closed:
                raise RuntimeError("PinnedThreads is closed")
            best = min(self._threads, key=lambda t: t.graphs, default=None)
            if best is None or (best.graphs > 0 and len(self._threads) < self.max_threads):
                best = new = PinnedThread(f"{self._name}-{len(self._threads)}")
                self._threads.append(best)
            best.graphs += 1
        if new is not None:
            # Outside the lock: Thread.start() waits for the new thread, which may
            # run the GC as it starts, and a dead graph's __del__ there unpins,
            # which takes this lock (a deadlock seen on 3.10).
            new.start()
        return best

    def unpin(self, thread: PinnedThread) -> None:
        with self._lock:
            thread.graphs -= 1

    def close(self) -> None:
        """Take no new graphs; each thread ends after the jobs already queued.
        Objects still pinned to them cannot be used any more."""
        with self._lock:
            self._closed = True
            for thread in self._threads:
                thread.stop()

    def __repr__(self) -> str:
        graphs = [t.graphs for t in self._threads]
        return f"<PinnedThreads {len(graphs)}/{self.max_threads} threads, graphs={graphs}>"


_default: PinnedThreads | None = None
_default_lock = threading.Lock()


def default_pinned_threads() -> PinnedThreads:
    """The process-wide :class:`PinnedThreads` that :func:`wrap` uses by default."""
    global _default
    with _default_lock:
        if _default is None or _default._closed:
            _default = PinnedThreads(name="ambidex-wrap")
        return _default
