"""The watchdog: a thread that notices when one event loop stops answering.

How it stays cheap. Every *interval* (a quarter of the threshold: 25 ms for
0.1 s) the watchdog thread posts one callback to the loop with
``call_soon_threadsafe``, a ping, and the loop runs it, the pong, in its next
iteration. Nothing runs per task step, and no timer sits in the loop's
schedule: an asyncio loop with any timer pending pays a heap check on every
iteration, a few per cent of a loop that only does ``sleep(0)`` (measured).

How it sees the culprit. When a ping has waited longer than the threshold,
the loop is stuck *right now*, so the thread reads the loop thread's current
frame (``sys._current_frames()``) and keeps that stack. A thread cannot raise
into a thread stuck in C code, so the report is finished and delivered on the
loop thread by the pong, when the loop comes back; the duration is how long
the ping waited.

What it cannot do. It sees a block only while it lasts and looks once per
interval, so a block longer than ``threshold + 2 * interval`` is always seen
and a shorter one may not be; the duration is a lower bound, short by at most
one interval. It
reports where the loop *was* when it looked: for a CPU loop that is some line
of the loop, for a blocking call it is the call. A long run of short callbacks
in one loop iteration delays the pong too, and is reported as a block at
whichever callback was running.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from ambidex.detect._report import BlockingReport, extract_stack

_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE, without importing inspect


@dataclass
class _Pending:
    """A block seen by the thread, waiting for the loop to come back."""

    ping: int
    since: float
    stack: traceback.StackSummary
    task: str | None
    coroutine_frame: FrameType | None


def _task_name_from_thread(loop: asyncio.AbstractEventLoop) -> str | None:
    """The name of the task running on ``loop``, read from another thread.

    ``asyncio.current_task`` only answers on the loop's own thread. asyncio keeps
    the running task per loop in a dict (3.10 to 3.13); reading it under the GIL
    is safe. Where it is gone (3.14 keeps it per thread), the caller falls back on
    finding the task by its coroutine frame once the loop is back.
    """
    current = getattr(asyncio.tasks, "_current_tasks", None)
    if isinstance(current, dict):
        task = current.get(loop)
        if task is not None:
            return str(task.get_name())
    return None


def _task_by_frame(loop: asyncio.AbstractEventLoop, frame: FrameType) -> str | None:
    """The name of ``loop``'s task whose coroutine runs ``frame``.

    Safe from another thread: ``all_tasks`` copies its weak set with retries
    made for concurrent changes, and the rest only reads attributes.
    """
    try:
        tasks = asyncio.all_tasks(loop)
    except Exception:  # any failure only costs the task's name
        return None
    for task in tasks:
        if getattr(task.get_coro(), "cr_frame", None) is frame:
            return task.get_name()
    return None


def _outermost_coroutine(frame: FrameType | None) -> FrameType | None:
    found = None
    while frame is not None:
        if frame.f_code.co_flags & _CO_COROUTINE:
            found = frame
        frame = frame.f_back
    return found


class LoopWatchdog:
    """Watch one loop; hand each block, as a report, to ``deliver``.

    ``deliver`` is called on the loop's thread when the loop comes back, or on
    the watchdog thread if the loop stops or the watchdog is stopped first.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        threshold: float,
        deliver: Callable[[BlockingReport], None],
        on_closed: Callable[[asyncio.AbstractEventLoop], None] | None = None,
    ) -> None:
        if threshold <= 0:
            raise ValueError(f"threshold must be positive, got {threshold!r}")
        self.loop = loop
        self.threshold = threshold
        # The ping's period: the error bar on durations; a block longer than the
        # threshold plus two of these is always seen. Bounded below so a tiny
        # threshold cannot turn the watchdog into a busy loop.
        self.interval = min(max(threshold / 4, 0.002), 0.25)
        self._deliver = deliver
        self._on_closed = on_closed
        self._answered = 0  # the last ping the loop answered (written by the loop only)
        self._loop_thread: int | None = None
        self._pending: _Pending | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(
            target=self._watch, name=f"ambidex-watchdog-{id(loop):x}", daemon=True
        )

    # --- the loop's side ---------------------------------------------------------

    def start(self) -> None:
        # The loop's thread must be known before the first block, which may come
        # before the thread's first ping is answered: now, or at the loop's very
        # next iteration (a loop not running yet: before any task of it runs).
        if asyncio._get_running_loop() is self.loop:
            self._loop_thread = threading.get_ident()
        else:
            self.loop.call_soon_threadsafe(self._pong, 0)
        self._thread.start()

    def _pong(self, ping: int) -> None:
        if self._stopped:
            return
        now = time.monotonic()
        self._loop_thread = threading.get_ident()
        self._answered = ping
        pending = None
        if self._pending is not None:
            with self._lock:
                pending, self._pending = self._pending, None
        if pending is not None and pending.ping == ping:
            self._finish(pending, now)

    def _finish(self, pending: _Pending, now: float) -> None:
        task = pending.task
        if task is None and pending.coroutine_frame is not None:
            task = self._task_by_frame(pending.coroutine_frame)
        report = BlockingReport.from_stack(
            pending.stack, kind="blocked", duration=now - pending.since, task=task
        )
        self._deliver(report)

    def _task_by_frame(self, frame: FrameType) -> str | None:
        return _task_by_frame(self.loop, frame) or f"<coroutine {frame.f_code.co_name}>"

    def stop(self) -> None:
        """Stop watching; deliver a block seen but not yet finished.

        Called on the loop's thread (the usual case, e.g. at the end of a
        ``watch()`` block inside a coroutine), the pending block is the one that
        just ended, so it is delivered now with its duration up to now. Pings
        still queued in the loop do nothing when they run.
        """
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        if self._thread.ident is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._flush(time.monotonic())

    def _flush(self, now: float) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self._finish(pending, now)

    # --- the watchdog thread -------------------------------------------------------

    def _watch(self) -> None:
        loop = self.loop
        ping = 0
        since = 0.0  # when the unanswered ping was sent, or the loop seen running again
        captured = 0
        while not self._stopping.is_set():
            if loop.is_closed():
                self._flush(time.monotonic())
                if self._on_closed is not None:
                    self._on_closed(loop)
                return
            now = time.monotonic()
            if not loop.is_running():
                # Stopped between run_until_complete() calls: idle by the program's
                # choice, not blocked. A queued ping waits; time starts again when
                # the loop runs.
                if self._pending is not None:
                    self._flush(now)
                since = 0.0
            elif self._answered >= ping:
                ping += 1
                since = now
                try:
                    loop.call_soon_threadsafe(self._pong, ping)
                except RuntimeError:  # closed in between: seen at the top
                    continue
            else:
                if since == 0.0:
                    since = now
                if now - since >= self.threshold and captured != ping:
                    captured = ping
                    self._capture(ping, since)
            self._stopping.wait(self.interval)

    def _capture(self, ping: int, since: float) -> None:
        thread = self._loop_thread
        frame = sys._current_frames().get(thread) if thread is not None else None
        if frame is None or self._answered >= ping:
            return
        task = _task_name_from_thread(self.loop)
        stack = extract_stack(frame)
        coroutine = _outermost_coroutine(frame) if task is None else None
        if coroutine is not None:
            # Now, while the task is surely alive: by the time the loop is back
            # it may have finished and left all_tasks().
            task = _task_by_frame(self.loop, coroutine)
        del frame
        with self._lock:
            if self._answered < ping and not self._stopped:
                self._pending = _Pending(ping, since, stack, task, coroutine)
