"""The watchdog: a thread that notices when one event loop stops answering.

How it stays cheap. The loop pays for one timer callback per *heartbeat
interval* (a quarter of the threshold, so 40 a second for a 0.1 s threshold),
never per task step: the beat records the time and schedules the next beat.
The watchdog thread sleeps until the moment the next beat would be late by
more than the threshold; if the beat has happened by then it sleeps again.

How it sees the culprit. When the beat is late by more than the threshold the
loop is stuck *right now*, so the thread reads the loop thread's current frame
(``sys._current_frames()``) and keeps that stack. A thread cannot raise into a
thread stuck in C code, so the report is finished and delivered on the loop
thread at its next beat, when the loop comes back; the duration is how late
that beat was.

What it cannot do. It sees a block only while it lasts, so a block between
``threshold`` and ``threshold + interval`` may go unseen (a block longer than
that never does). It reports where the loop *was* when it looked: for a CPU
loop that is some line of the loop, for a blocking call it is the call. A long
run of short callbacks in one loop iteration also makes the loop late, and is
reported as a block at whichever callback was running.
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

    beats: int
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
        # The heartbeat's period: the error bar on durations, and the margin above
        # the threshold past which a block is always seen. Bounded below so a tiny
        # threshold cannot turn the beat into a busy loop.
        self.interval = min(max(threshold / 4, 0.002), 0.25)
        self._deliver = deliver
        self._on_closed = on_closed
        self._beats = 0
        self._last_beat = 0.0
        self._loop_thread: int | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._pending: _Pending | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(
            target=self._watch, name=f"ambidex-watchdog-{id(loop):x}", daemon=True
        )

    # --- the loop's side ---------------------------------------------------------

    def start(self) -> None:
        if asyncio._get_running_loop() is self.loop:
            self._beat()
        else:
            self.loop.call_soon_threadsafe(self._beat)
        self._thread.start()

    def _beat(self) -> None:
        if self._stopped:
            return
        now = time.monotonic()
        self._loop_thread = threading.get_ident()
        pending = None
        if self._pending is not None:
            with self._lock:
                pending, self._pending = self._pending, None
        self._beats += 1
        self._last_beat = now
        self._timer = self.loop.call_later(self.interval, self._beat)
        # Delivered after the next beat is scheduled: a delivery that raises
        # (a warning filter set to "error") must not stop the heartbeat.
        if pending is not None and pending.beats == self._beats - 1:
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
        just ended, so it is delivered now with its duration up to now.
        """
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        if self._thread.ident is not None and self._thread is not threading.current_thread():
            self._thread.join()
        timer, self._timer = self._timer, None
        if timer is not None:
            if asyncio._get_running_loop() is self.loop:
                timer.cancel()
            elif not self.loop.is_closed():
                try:
                    self.loop.call_soon_threadsafe(timer.cancel)
                except RuntimeError:  # closed in between
                    pass
        self._flush(time.monotonic())

    def _flush(self, now: float) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self._finish(pending, now)

    # --- the watchdog thread -------------------------------------------------------

    def _watch(self) -> None:
        loop = self.loop
        resumed_at: float | None = None
        while not self._stopping.is_set():
            if loop.is_closed():
                self._flush(time.monotonic())
                if self._on_closed is not None:
                    self._on_closed(loop)
                return
            beats, last = self._beats, self._last_beat
            if beats == 0 or not loop.is_running():
                # Not started, or stopped between run_until_complete() calls: the
                # beat is not late, the loop is idle by the program's choice.
                if self._pending is not None:
                    self._flush(time.monotonic())
                resumed_at = None
                self._stopping.wait(self.interval)
                continue
            now = time.monotonic()
            if resumed_at is None:
                resumed_at = now
            since = max(last + self.interval, resumed_at)
            late = now - since
            if late < self.threshold:
                self._stopping.wait(self.threshold - late + 0.001)
                continue
            self._capture(beats, since)
            # One report per block: wait for the loop to come back.
            while (
                self._beats == beats
                and loop.is_running()
                and not self._stopping.wait(self.interval)
            ):
                pass

    def _capture(self, beats: int, since: float) -> None:
        thread = self._loop_thread
        frame = sys._current_frames().get(thread) if thread is not None else None
        if frame is None or self._beats != beats:
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
            if self._beats == beats and not self._stopped:
                self._pending = _Pending(beats, since, stack, task, coroutine)
