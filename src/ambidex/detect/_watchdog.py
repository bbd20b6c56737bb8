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

How it tells a block from a busy machine. A loop whose thread waits for a
CPU (more runnable threads than cores: a CI runner, a loaded test machine)
does not answer either, and its code did nothing wrong. Where the kernel
counts each thread's wait for a CPU (Linux, see ``_runqueue``), the watchdog
measures the loop's own hold-up: the time it did not answer minus the time
its thread waited for a CPU. A wait for a CPU is not a block: the threshold is
counted in the loop's own time, and a late answer that only the machine's
load explains is set aside as *starved* (``Detector.starved``, an INFO line of
the ``ambidex.detect`` logger), never reported. A sleep or a blocking system
call does not add to that wait (the thread sleeps), and neither does code
that computes (it runs), so no real block is hidden, however loaded the
machine: a CPU loop is measured by the CPU it got. The stack is taken only
when the loop thread sleeps or has run since the last look, never while it
waits for its CPU (it would be a random innocent line). On a busy machine it
looks again at every turn while a block lasts, and a later stack replaces an
earlier one, except one taken between callbacks (in the loop's selector, or
reading the wake-up byte of the ping's post): the block is over then, the loop
is on its way to the pong, and the stack of the block stands. Those are the
first places a CPU block's loop lets go of the GIL, so a watchdog kept waiting
for the GIL by the block looks there more often than anywhere else.

How it keeps up when it waits for a CPU itself. On a busy machine this
thread may get a CPU 0.2 s after it asked (measured at load 20 on 2 cores):
its next ping goes out late, after a block began, and a block that ends
before that ping is the threshold late was not seen. The kernel counts, for
each thread, how many times it got a CPU: if the loop's thread has not had
one since it answered the last ping (the count is the same), and sleeps now,
in a callback, it went to sleep there right after answering and has slept
since. The block is then timed from the answer (``_look_back``), and the
stack taken at once; an idle loop sleeps in its selector, not in a callback,
and is never taken for one.

What it cannot do. It sees a block only while it lasts and looks once per
interval, so a block longer than ``threshold + 2 * interval`` is seen, when
this thread gets a CPU as it asks, and a shorter one may not be; the
duration is a lower bound, short by at most one interval. A block that
starts after the loop ran a while since its last answer, on a machine that
keeps this thread waiting for a CPU longer than the block lasts, is missed. It
reports where the loop *was* when it looked: for a CPU loop that is some line
of the loop, for a blocking call it is the call. A long run of short callbacks
in one loop iteration delays the pong too, and is reported as a block at
whichever callback was running. The kernel's count covers waits for a CPU,
not every pause it imposes: a process stopped (SIGSTOP, a debugger) with a
ping on its way is reported as a block, and so is a wait for the GIL while
another thread that holds it waits for a CPU. Without the count (not Linux)
every late answer is a block, as before.

How it sees a C call that keeps the GIL. A regex that backtracks, a
``ctypes.PyDLL`` function, an extension that computes or does I/O without
releasing the GIL: this thread cannot run while the call lasts, and when it
runs again the call is over and the loop has moved on (before, such a call was
seen only if a ping was already on its way, and then at wherever the loop was
when it ended). Where the native watcher is built (``_native``,
``_gilwatch.c``), a thread that needs no GIL watches this one: this thread
says when it is due back (``sleeping()`` before each wait, ``awake()`` after).
Late by the threshold, and the loop's thread refusing a request to drop the
GIL at every look for the threshold (Python code drops it within microseconds
of a request: the holder is in C), inside a loop iteration, its own time at
the threshold (its waits for a CPU set aside), the native thread copies the
loop thread's stack then: the call's line (a C function has no frame: its
caller's line is the innermost). This thread reports it when it gets the GIL back, as any block
(``_Pending.held``: the native thread already set the machine's load aside).
The task is named if it is still alive then, else by its coroutine
(``<coroutine name>``). Without the native watcher (not built, another
Python), such calls go unseen as before (``gil_unwatched`` says why). A C
call of *another* thread that keeps the GIL is not the loop's: the native
thread takes no stack, but a ping already on its way is still reported as a
block, at wherever the loop waited.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType, FrameType, FunctionType
from typing import Literal, NamedTuple

from ambidex.detect._native import _run_once_code, gil_watch, why_unwatched
from ambidex.detect._report import BlockingReport, extract_stack
from ambidex.detect._runqueue import Sample, ThreadClock, thread_clock

_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE, without importing inspect


class Starved(NamedTuple):
    """A late answer set aside: the loop's thread was waiting for a CPU."""

    duration: float
    """How long the loop did not answer, in seconds."""
    waited: float
    """How much of it the loop's thread waited for a CPU (the machine's load)."""


@dataclass
class _Ping:
    """The ping on its way: its number, the loop thread's clocks when it was
    posted, and when (0.0 until the post returned)."""

    number: int
    base: Sample | None
    since: float = 0.0


_Held = tuple[float, float, list[tuple[str, int, str]], int, int, float]
"""A block the native watcher saw (``GilWatch.awake()``): since, seen, the frames
(file, line, function; innermost first), the outermost coroutine's id and its
frame's index (-1: none), the loop thread's wait for a CPU at since (-1: unknown)."""


@dataclass
class _Pending:
    """A block seen by the thread, waiting for the loop to come back."""

    ping: int
    since: float
    stack: traceback.StackSummary
    task: str | None
    coroutine_frame: FrameType | None
    waited: float = 0.0
    """The loop thread's run-queue wait count when the stack was taken."""
    final: bool = True
    """Taken while the loop thread slept (or with no counts to go by): a later
    look cannot do better. A stack taken while it was runnable is replaced if
    a wait for a CPU turns out to have been under way."""
    held: float | None = None
    """Seen by the native watcher (a C call that kept the GIL): how long the
    watchdog waited for the GIL."""
    wait0: float = -1.0
    """The loop thread's wait for a CPU when ``since`` began (-1: unknown): the
    pong checks the loop's own time from then with the exact count (see
    ``_starved_since``). Known for a block the native watcher saw, and for one
    timed from the loop's last answer (``_look_back``)."""


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


def _task_by_coroutine_id(loop: asyncio.AbstractEventLoop, coroutine: int) -> str | None:
    """The name of ``loop``'s task whose coroutine has the id the native watcher
    copied (0: none). The task may be done by now (the call that kept the GIL
    was its last step): asyncio's registry of tasks still holds it while it is
    alive (a weak set, which ``all_tasks`` reads too: ``_all_tasks`` on 3.10
    and 3.11, ``_scheduled_tasks`` on 3.12 and 3.13; copied with retries, as
    ``all_tasks`` does, since the loop's thread may add to it meanwhile)."""
    if not coroutine:
        return None
    registry = getattr(asyncio.tasks, "_scheduled_tasks", None)
    if registry is None:
        registry = getattr(asyncio.tasks, "_all_tasks", None)
    tasks: list[asyncio.Task[object]] = []
    for _ in range(100):
        try:
            tasks = list(registry) if registry is not None else list(asyncio.all_tasks(loop))
            break
        except RuntimeError:  # changed size while copied
            continue
        except Exception:  # any other failure only costs the task's name
            return None
    for task in tasks:
        if id(task.get_coro()) == coroutine and task.get_loop() is loop:
            return task.get_name()
    return None


def _native_stack(frames: list[tuple[str, int, str]]) -> traceback.StackSummary:
    """The native watcher's copy (innermost first) as a stack, outermost first,
    its source lines read here (on the watchdog's thread, off the loop)."""
    return traceback.StackSummary.from_list(
        [traceback.FrameSummary(file, line, name) for file, line, name in reversed(frames)]
    )


class _LoopCode(NamedTuple):
    """The code of a loop's own steps between callbacks."""

    iterating: frozenset[CodeType]
    """The methods that iterate: ``_run_once`` (its selector is called there) and
    ``run_forever``, which calls it."""
    self_reader: CodeType | None
    """The callback that reads the self-pipe's wake-up byte (a post such as a ping's)."""


def _loop_code(loop: asyncio.AbstractEventLoop) -> _LoopCode:
    def code(name: str) -> CodeType | None:
        method = getattr(type(loop), name, None)
        return method.__code__ if isinstance(method, FunctionType) else None

    iterating = {code("run_forever"), _run_once_code(loop)}
    return _LoopCode(frozenset(c for c in iterating if c is not None), code("_read_from_self"))


_HANDLE_RUN = asyncio.events.Handle._run.__code__


_Position = Literal["callback", "between", "unknown"]


def _loop_position(frame: FrameType | None, loop_code: _LoopCode) -> _Position:
    """Where the loop thread is, at ``frame``: in a callback of the program's
    (a task's step included), or *between* callbacks, in the loop's own
    iteration (its selector) or reading its self-pipe's wake-up byte. A late
    ping found between callbacks means the block, if there was one, is over:
    the loop is on its way to the pong. "unknown": a loop whose steps are not
    known here (one written in C has no frames of its own).
    """
    inner = None
    while frame is not None:
        code = frame.f_code
        if code is _HANDLE_RUN:
            if inner is not None and inner.f_code is loop_code.self_reader:
                return "between"
            return "callback"
        if code in loop_code.iterating:
            return "between"
        inner, frame = frame, frame.f_back
    return "unknown"


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
        on_starved: Callable[[Starved], None] | None = None,
    ) -> None:
        if threshold <= 0:
            raise ValueError(f"threshold must be positive, got {threshold!r}")
        self.loop = loop
        self.threshold = threshold
        # The ping's period: the error bar on durations; a block longer than the
        # threshold plus two of these is seen (when this thread gets a CPU on
        # time). Bounded below so a tiny
        # threshold cannot turn the watchdog into a busy loop.
        self.interval = min(max(threshold / 4, 0.002), 0.25)
        self._deliver = deliver
        self._on_closed = on_closed
        self._on_starved = on_starved
        self._answered = 0  # the last ping the loop answered (written by the loop only)
        # That answer: its ping, when, and the loop thread's clocks then (loop only).
        self._answer: tuple[int, float, Sample] | None = None
        self._loop_thread: int | None = None
        self._loop_native: int | None = None  # the kernel's id of the loop's thread
        self._clock: ThreadClock | None = None  # its clocks (opened by the watchdog thread)
        self._sent: _Ping | None = None
        self._pending: _Pending | None = None
        self._lock = threading.Lock()
        # The native watcher of C calls that keep the GIL, where it is built.
        self._gil = gil_watch(loop, threshold, self.interval)
        self.gil_unwatched: str | None = why_unwatched(loop) if self._gil is None else None
        """Why C calls that keep the GIL go unseen on this loop (None: they are seen)."""
        self._loop_code = _loop_code(loop)
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
        gil = self._gil
        if asyncio._get_running_loop() is self.loop:
            self._loop_thread = threading.get_ident()
            self._loop_native = threading.get_native_id()
            if gil is not None:
                # Watched from now: the loop's next step may keep the GIL before
                # the watchdog's thread first runs.
                gil.loop_thread()
                gil.sleeping(time.monotonic() + self.interval, True)
        else:
            self.loop.call_soon_threadsafe(self._pong, 0)
        if gil is not None:
            gil.start()
        self._thread.start()
        if gil is not None and self._thread.native_id is not None:
            gil.watchdog_thread(self._thread.native_id)

    def _pong(self, ping: int) -> None:
        if self._stopped:
            return
        now = time.monotonic()
        ident = threading.get_ident()
        if ident != self._loop_thread and self._gil is not None:
            self._gil.loop_thread()
        self._loop_thread = ident
        self._loop_native = threading.get_native_id()
        self._answered = ping
        pending = None
        if self._pending is not None:
            with self._lock:
                pending, self._pending = self._pending, None
        if pending is not None and pending.ping != ping:
            pending = None
        sent = self._sent
        if pending is not None and (pending.held is not None or pending.wait0 >= 0):
            if not self._starved_since(pending, now):
                self._finish(pending, now)
        elif not (
            sent is not None and sent.number == ping and sent.since
            and now - sent.since >= self.threshold and self._starved(sent, now)
        ) and pending is not None:
            self._finish(pending, now)
        clock = self._clock
        if clock is not None and clock.native_id == self._loop_native:
            # The loop thread's clocks as it answers (exact: it runs), for _look_back.
            answered = clock.sample()
            self._answer = (ping, time.monotonic(), answered) if answered is not None else None

    def _starved(self, sent: _Ping, now: float) -> bool:
        """Whether the loop's late answer to ``sent`` is explained by its thread's
        wait for a CPU (the loop's own hold-up is under the threshold); if so,
        say so to ``on_starved``.

        Exact on the loop's thread (the pong): a thread that runs has every
        wait of its own counted.
        """
        clock = self._clock
        if clock is None or sent.base is None or clock.native_id != self._loop_native:
            return False
        current = clock.sample()
        if current is None:
            return False
        duration = now - sent.since
        waited = current.waited - sent.base.waited
        if duration - waited >= self.threshold:
            return False
        if self._on_starved is not None:
            self._on_starved(Starved(duration, waited))
        return True

    def _starved_since(self, pending: _Pending, now: float) -> bool:
        """Whether a block whose start is known exactly (the native watcher's,
        or one timed from the loop's last answer) is explained by the loop
        thread's wait for a CPU; if so, say so to ``on_starved``.

        The watchdog and the native thread count the loop's own time too, but
        while they look the kernel's count lacks a wait still under way. Here,
        on the loop's thread, every wait since ``since`` has ended and is
        counted: the loop's own time from then to now (what it ran, or slept
        in its call) must reach the threshold.
        """
        clock = self._clock
        if (
            clock is None or pending.wait0 < 0 or clock.native_id != self._loop_native
            or threading.get_native_id() != clock.native_id
        ):
            return False
        current = clock.sample()
        if current is None:
            return False
        duration = now - pending.since
        waited = current.waited - pending.wait0
        if duration - waited >= self.threshold:
            return False
        if self._on_starved is not None:
            self._on_starved(Starved(duration, waited))
        return True

    def _finish(self, pending: _Pending, now: float) -> None:
        task = pending.task
        if task is None and pending.coroutine_frame is not None:
            task = self._task_by_frame(pending.coroutine_frame)
        duration = pending.held if pending.held is not None else now - pending.since
        report = BlockingReport.from_stack(
            pending.stack, kind="blocked", duration=duration, task=task
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
        if self._gil is not None:
            self._gil.stop()
        self._flush(time.monotonic())

    def _flush(self, now: float) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        held = self._gil.awake() if self._gil is not None else None
        if held is not None:  # the native watcher's stack is the call's: it stands
            pending = self._held_pending(held, now, 0)
        if pending is None:
            return
        if pending.held is not None or pending.wait0 >= 0:
            if not self._starved_since(pending, now):
                self._finish(pending, now)
            return
        sent = self._sent
        if (
            pending.held is None and sent is not None and sent.number == pending.ping
            and self._starved(sent, now)
        ):
            return
        self._finish(pending, now)

    # --- the watchdog thread -------------------------------------------------------

    def _watch(self) -> None:
        gil = self._gil
        try:
            self._watch_loop()
        finally:
            if gil is not None:
                gil.stop()
            if self._clock is not None:
                self._clock.close()
                self._clock = None

    def _loop_clock(self) -> ThreadClock | None:
        """The loop thread's clocks, opened on first need (and again if the loop
        moved to another thread)."""
        native = self._loop_native
        clock = self._clock
        if native is None:
            return None
        if clock is None or clock.native_id != native:
            if clock is not None:
                clock.close()
            clock = self._clock = thread_clock(native)
        return clock

    def _watch_loop(self) -> None:
        loop = self.loop
        gil = self._gil
        ping = 0
        sent: _Ping | None = None
        last: Sample | None = None  # the loop thread's clocks at the last look
        # A block the native watcher saw while this thread waited for the GIL.
        held: _Held | None = None
        while not self._stopping.is_set():
            if held is not None and (loop.is_closed() or not loop.is_running()):
                # The loop ended or stopped right after the call: delivered from here.
                self._finish(self._held_pending(held, time.monotonic(), 0), time.monotonic())
                held = None
            if loop.is_closed():
                self._flush(time.monotonic())
                if self._on_closed is not None:
                    self._on_closed(loop)
                return
            now = time.monotonic()
            running = loop.is_running()
            if not running:
                # Stopped between run_until_complete() calls: idle by the program's
                # choice, not blocked. A queued ping waits; time starts again when
                # the loop runs.
                if self._pending is not None:
                    self._flush(now)
                if sent is not None:
                    sent.since = 0.0
            elif self._answered >= ping:
                ping += 1
                clock = self._loop_clock()
                last = clock.sample() if clock is not None else None
                sent = self._sent = _Ping(ping, last)
                if held is not None:
                    # Before the post: the loop may answer at once.
                    self._pend_held(held, now, ping)
                    held = None
                try:
                    loop.call_soon_threadsafe(self._pong, ping)
                except RuntimeError:  # closed in between: seen at the top
                    continue
                # After the post: a wait of this thread's before it is not the loop's.
                sent.since = time.monotonic()
                self._look_back(sent)
            elif sent is not None:
                if held is not None:
                    # The ping on its way waited for the same C call: the native
                    # stack is the call's, a look now would find the loop past it.
                    if not self._pend_held(held, now, ping):
                        continue  # answered in between: the next ping carries it
                    held = None
                else:
                    if sent.since == 0.0:  # running again: counted from now
                        clock = self._loop_clock()
                        last = clock.sample() if clock is not None else None
                        sent = self._sent = _Ping(ping, last, now)
                    self._look_back(sent)
                    if now - sent.since >= self.threshold:
                        last = self._look(sent, now, last)
            if gil is None:
                self._stopping.wait(self.interval)
                continue
            # A block seen while this turn waited for the GIL is handled now.
            held = gil.awake()
            if held is None:
                gil.sleeping(time.monotonic() + self.interval, running)
                if self._stopping.wait(self.interval):
                    break  # a block seen meanwhile is stop()'s (_flush)
                held = gil.awake()
        if held is not None:  # stopped as it came: stop() delivers it (_flush)
            with self._lock:
                self._pending = self._held_pending(held, time.monotonic(), ping)

    def _held_pending(
        self, held: _Held, now: float, ping: int
    ) -> _Pending:
        """The native watcher's block, to be reported by the pong of ``ping``."""
        since, _seen, frames, coroutine, index, wait0 = held
        task = _task_by_coroutine_id(self.loop, coroutine)
        if task is None and 0 <= index < len(frames):
            # The task is gone already (the call was its end): its coroutine's name.
            task = f"<coroutine {frames[index][2]}>"
        return _Pending(
            ping, since, _native_stack(frames), task, None, held=now - since, wait0=wait0
        )

    def _pend_held(
        self, held: _Held, now: float, ping: int
    ) -> bool:
        """Make the native watcher's block the one the pong of ``ping`` reports;
        False if the loop answered ``ping`` first. (Also once stop() began: it
        delivers what is pending after this thread ended.)"""
        pending = self._held_pending(held, now, ping)
        with self._lock:
            if self._answered >= ping:
                return False
            self._pending = pending
        return True

    def _look(self, sent: _Ping, now: float, last: Sample | None) -> Sample | None:
        """The ping ``sent`` is late: take the loop thread's stack if the loop is
        really held up and its thread is not waiting for a CPU right now.
        Returns the loop thread's clocks now, for the next look."""
        pending = self._pending
        if pending is not None and pending.ping != sent.number:
            pending = None
        clock = self._clock
        current = clock.sample() if clock is not None and sent.base is not None else None
        if clock is None or current is None or sent.base is None:
            # No counts to go by: every late answer is a block, as it always was.
            if pending is None:
                self._capture(sent.number, sent.since, 0.0, final=True)
            return current
        if pending is not None and (pending.final or current.waited == pending.waited):
            return current  # nothing new: the stack taken stands
        own = (now - sent.since) - (current.waited - sent.base.waited)
        if own < self.threshold:
            # Not (or no longer) held up long enough by itself: a stack taken
            # while a wait for a CPU was under way, now counted, is dropped.
            if pending is not None:
                with self._lock:
                    if self._pending is pending:
                        self._pending = None
            return current
        sleeping = clock.is_sleeping()
        if sleeping or sleeping is None:
            self._capture(sent.number, sent.since, current.waited, final=True)
        elif sleeping is False and last is not None and current.cpu > last.cpu:
            self._capture(sent.number, sent.since, current.waited, final=False)
        # else: runnable and no CPU since the last look: it is waiting for its CPU
        # (a wait the count does not hold yet); look again next time.
        return current

    def _look_back(self, sent: _Ping) -> None:
        """Time a block from the loop's last answer, when the kernel's counts
        prove it began then: take the stack at once if it is the threshold old.

        A watchdog that waits for a CPU itself (a busy machine: 219 ms between
        two turns of this thread, seen at load 20) posts its next ping late,
        after a block began, and the block may be over before the ping is the
        threshold late (a 0.3 s sleep went unreported so, at a 50 ms
        threshold). But if the loop's thread has not got a CPU since it
        answered the ping before (its count of turns on a CPU is the same) and
        sleeps now, inside a callback, it went to sleep there right after the
        answer (its CPU time since says exactly when) and has slept since: a
        block that began then, whatever this thread's delays.
        """
        answer, clock = self._answer, self._clock
        if (
            answer is None or clock is None or self._pending is not None
            or answer[0] != sent.number - 1 or clock.native_id != self._loop_native
        ):
            return
        _, answered_at, then = answer
        current = clock.sample()
        if (
            then.switches < 0 or current is None or current.switches != then.switches
            or current.waited != then.waited or clock.is_sleeping() is not True
        ):
            return  # it ran (or waited for a CPU) since: timed from the ping, as usual
        since = answered_at + (current.cpu - then.cpu)
        if time.monotonic() - since < self.threshold:
            return

        def slept_on() -> bool:  # after the stack is read: still the same sleep
            again = clock.sample()
            return again is not None and again.switches == then.switches

        self._capture(
            sent.number, since, current.waited, final=True, wait0=then.waited, still=slept_on
        )

    def _capture(
        self, ping: int, since: float, waited: float, *, final: bool,
        wait0: float = -1.0, still: Callable[[], bool] | None = None,
    ) -> None:
        """Take the loop thread's stack as the pending block of ``ping``. With
        ``still``: only inside a callback, and if ``still()`` holds once the
        stack is read."""
        thread = self._loop_thread
        frame = sys._current_frames().get(thread) if thread is not None else None
        if frame is None or self._answered >= ping:
            return
        position = _loop_position(frame, self._loop_code)
        if position == "between" or (still is not None and position != "callback"):
            # Between callbacks the block is over (the loop is back in its
            # selector, or reads the ping post's wake-up byte): a stack taken
            # during it stands. This is where a watchdog kept waiting for the
            # GIL by a CPU block gets it.
            return
        task = _task_name_from_thread(self.loop)
        stack = extract_stack(frame)
        if still is not None and not still():
            return
        coroutine = _outermost_coroutine(frame) if task is None else None
        if coroutine is not None:
            # Now, while the task is surely alive: by the time the loop is back
            # it may have finished and left all_tasks().
            task = _task_by_frame(self.loop, coroutine)
        del frame
        with self._lock:
            if self._answered < ping and not self._stopped:
                self._pending = _Pending(
                    ping, since, stack, task, coroutine, waited, final, wait0=wait0
                )
