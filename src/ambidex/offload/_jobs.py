"""Jobs, the queue they wait in, and the way their results reach the loop.

A pool's bound is its workers: at most ``max_workers`` jobs run; the rest
wait in a :class:`JobQueue` in order of arrival. Two costs decide how fast
that is, and both are kept constant per job:

* **Taking the next job costs no trip through the event loop.** A worker
  that finishes a job takes the next one from the queue itself, in its own
  thread. (Handing a freed slot to a waiting coroutine, which then submits,
  wakes the loop once per job before the next one can start: that made the
  old pool 0.4x ``asyncio.to_thread`` with 64 callers.)
* **Cancelling a waiting job is O(1).** It is marked, not removed: a worker
  skips marked jobs as it pops them. Removing from the middle of a deque is
  O(n), and 10,000 callers cancelling half their calls made that quadratic
  (1.3 s on the loop; 60,000 took 26 s). The marked jobs hold no references
  to their function or arguments, and the queue compacts itself when more
  than half of it is marked, so they cost little memory and no time.

Results travel back through an :class:`Inbox`, one per event loop: workers
append to it and wake the loop only when it was empty, so results that
arrive together cost one wake-up (``asyncio.to_thread`` pays one
``call_soon_threadsafe``, a system call, per result).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

# A job's life: QUEUED -> RUNNING -> DONE, or QUEUED -> CANCELLED (never run).
# Changes from QUEUED happen under the pool's lock, so a job is either taken
# by a worker or cancelled, never both.
QUEUED = 0
RUNNING = 1
DONE = 2
CANCELLED = 3

# Below this many marked jobs, compaction is not worth a pass over the queue.
_COMPACT_MIN = 64


class Job:
    """One call: the function, where its result goes, and its state."""

    __slots__ = ("abandoned", "cleanup", "fn", "future", "inbox", "slot", "state")

    def __init__(
        self,
        fn: Callable[[], Any],
        future: asyncio.Future[Any],
        inbox: Inbox,
        cleanup: Callable[[Any], object] | None,
    ) -> None:
        self.fn: Callable[[], Any] | None = fn
        self.future = future
        self.inbox = inbox
        self.cleanup = cleanup
        """Called with the result if nobody is left to receive it (an opened file)."""
        self.state = QUEUED
        self.abandoned = False
        """Set (under the lock) when the caller gave up on a running job."""
        self.slot: int | None = None
        """ProcessPool: the job's cancel flag while it is in the executor."""


class JobQueue:
    """First in, first out; ``cancel`` marks in O(1), ``pop`` skips marked jobs.

    Not thread-safe by itself: the pool calls it under its lock.
    """

    __slots__ = ("_dead", "_jobs")

    def __init__(self) -> None:
        self._jobs: deque[Job] = deque()
        self._dead = 0

    def __len__(self) -> int:
        """Jobs waiting (marked ones not counted)."""
        return len(self._jobs) - self._dead

    def append(self, job: Job) -> None:
        self._jobs.append(job)

    def pop(self) -> Job | None:
        """The oldest waiting job, now RUNNING; None if none waits."""
        jobs = self._jobs
        while jobs:
            job = jobs.popleft()
            if job.state == QUEUED:
                job.state = RUNNING
                return job
            self._dead -= 1
        return None

    def push_front(self, jobs: list[Job]) -> None:
        """Put QUEUED jobs back at the front, in their order (ProcessPool: calls
        a worker had not started when it died, or that wait for a big one)."""
        self._jobs.extendleft(reversed(jobs))

    def cancel(self, job: Job) -> bool:
        """Mark a waiting job so that it never runs; False if it already left the queue."""
        if job.state != QUEUED:
            return False
        job.state = CANCELLED
        job.fn = None  # drop the arguments now, not when a worker reaches it
        self._dead += 1
        if self._dead > _COMPACT_MIN and self._dead * 2 > len(self._jobs):
            self._jobs = deque(j for j in self._jobs if j.state == QUEUED)
            self._dead = 0
        return True

    def take_all(self) -> list[Job]:
        """Every waiting job, now CANCELLED, in order (for closing the pool)."""
        waiting = [job for job in self._jobs if job.state == QUEUED]
        for job in waiting:
            job.state = CANCELLED
            job.fn = None
        self._jobs.clear()
        self._dead = 0
        return waiting


class Inbox:
    """Results on their way to one event loop, delivered in batches.

    ``put`` may be called from any thread. The first result put into an
    empty inbox schedules one ``drain`` on the loop; results put before that
    drain runs ride along with it.
    """

    __slots__ = ("_items", "_scheduled", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._items: deque[tuple[Job, Any, BaseException | None]] = deque()
        self._scheduled = False

    def put(self, job: Job, result: Any, error: BaseException | None) -> None:
        self._items.append((job, result, error))
        if not self._scheduled:
            self._scheduled = True
            try:
                self.loop.call_soon_threadsafe(self._drain)
            except RuntimeError:
                # The loop is closed: nobody will ever await these results.
                self._items.clear()

    def _drain(self) -> None:
        # Reset before popping: a result put after this line schedules its
        # own drain if this one has already looked at the end of the queue.
        self._scheduled = False
        items = self._items
        while items:
            job, result, error = items.popleft()
            future = job.future
            if future.done():
                # The caller was cancelled while the result was on its way.
                if job.cleanup is not None and error is None:
                    try:
                        job.cleanup(result)
                    except Exception:
                        pass  # nobody to report to: the caller is gone
            elif error is None:
                future.set_result(result)
            else:
                future.set_exception(error)


class InboxCache:
    """The inbox of the running loop, found without a dictionary lookup in the
    common case (one loop at a time), and correct when several loops share a
    pool (each thread's loop gets its own inbox)."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: tuple[asyncio.AbstractEventLoop, Inbox] | None = None

    def get(self, loop: asyncio.AbstractEventLoop) -> Inbox:
        last = self._last  # one read of one tuple: consistent across threads
        if last is not None and last[0] is loop:
            return last[1]
        inbox = Inbox(loop)
        self._last = (loop, inbox)
        return inbox
