"""The watchdog tells a loop that blocks from a process the machine does not run.

On a loaded machine the OS may leave the loop's thread waiting for a CPU for
longer than the threshold while its code does nothing wrong; the watchdog must
not report that as a block (it did: an extra report, or a report at the wrong
line, in tests/detect/test_watchdog.py under load), and it must still report
every real block while the machine is that busy.

The starvation here is made, not hoped for: a child process runs its loop on
one CPU, in the SCHED_IDLE class, next to a process that spins on that CPU.
The kernel then runs the loop thread only when the spinner's CPU has nothing
else to do, which is rarely: the loop thread waits for its CPU for hundreds of
milliseconds at a time, whatever else the machine does (more load only starves
it more). Its watchdog thread keeps the ordinary class and every CPU.
"""


from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest

from ambidex.detect import _native, _runqueue
from tests.detect.conftest import line_of

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or _runqueue.thread_clock(threading.get_native_id())
    is None,
    reason="the kernel's per-thread run-queue wait is a Linux count",
)

STARVED_CHILD = textwrap.dedent('''
    import asyncio, json, os, subprocess, sys, threading, time
    from time import sleep
    import ambidex.detect

    cpu = min(os.sched_getaffinity(0))
    spinner = subprocess.Popen(
        [sys.executable, "-c",
         f"import os; os.sched_setaffinity(0, {{{cpu}}}); print('spinning', flush=True)\\n"
         "while True: pass"],
        stdout=subprocess.PIPE, text=True)

    async def main():
        detector = ambidex.detect.install(threshold=0.05, mode="log", intercept=False)
        # Only the loop's thread is starved: the watchdog thread exists already
        # and keeps its class and its CPUs.
        loop_thread = threading.get_native_id()
        os.sched_setaffinity(loop_thread, {cpu})
        os.sched_setscheduler(loop_thread, os.SCHED_IDLE, os.sched_param(0))
        started = time.monotonic()
        while len(detector.starved) < 2 and time.monotonic() < started + 60:
            await asyncio.sleep(0.005)
        starved_before_block = len(detector.starved)
        starving = time.monotonic() - started
        sleep(0.6)  # <- blocks
        await asyncio.sleep(0.005)  # the block's report comes with this turn
        # Starved no more: what is left runs at the machine's pace.
        spinner.kill()
        os.sched_setscheduler(loop_thread, os.SCHED_OTHER, os.sched_param(0))
        for _ in range(5):
            await asyncio.sleep(0.005)
        watch = detector._watchdogs[asyncio.get_running_loop()]._gil
        detector.uninstall()
        return {
            "native": watch.counts() if watch is not None else None,
            "starved_before_block": starved_before_block,
            "seconds_to_starve": starving,
            "starved": [list(s) for s in detector.starved],
            "reports": [[r.line, r.function, r.duration] for r in detector.reports],
            "block_line": next(i for i, line in enumerate(open(__file__), 1)
                               if "# <- blocks" in line),
        }

    try:
        assert spinner.stdout.readline() == "spinning\\n"
        print(json.dumps(asyncio.run(main())))
    finally:
        spinner.kill()
        spinner.wait()
''')


@pytest.fixture(scope="module")
def starved_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of the starved child: what its detector saw."""
    script = tmp_path_factory.mktemp("starved") / "starved_loop.py"
    script.write_text(STARVED_CHILD)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=180,
        env={**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"},
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


@linux_only
def test_a_loop_that_waits_for_a_cpu_is_not_reported_as_blocked(
    starved_run: dict[str, Any],
) -> None:
    # The child waited (at most a minute) until its detector had set aside two
    # late answers as waits for a CPU: the starvation really happened.
    assert starved_run["starved_before_block"] >= 2, starved_run
    for duration, waited in starved_run["starved"]:
        assert duration >= 0.05 and waited > duration - 0.05, starved_run
    # ... and none of those waits is a report: the only one is the real block.
    lines = [line for line, _, _ in starved_run["reports"]]
    assert lines == [starved_run["block_line"]], starved_run


@linux_only
def test_a_blocking_sleep_while_the_loop_is_starved_is_still_reported_at_its_line(
    starved_run: dict[str, Any],
) -> None:
    [(line, function, duration)] = starved_run["reports"]
    assert (line, function) == (starved_run["block_line"], "main")
    assert duration >= 0.05


@linux_only
def test_the_native_watcher_takes_no_stack_of_a_loop_that_waits_for_a_cpu(
    starved_run: dict[str, Any],
) -> None:
    # Starved, the loop's thread is often preempted while it holds the GIL, and
    # the watchdog then waits for the GIL as it would behind a C call: the loop's
    # own time (its wait for a CPU set aside) tells the two apart.
    if not _native.available():
        pytest.skip("the native watcher is not built here")
    assert starved_run["native"] is not None
    assert starved_run["native"]["captures"] == 0, starved_run["native"]


BUSY_LOOP_STARVED_WATCHDOG_CHILD = textwrap.dedent('''
    import asyncio, json, os, subprocess, sys, threading, time
    import ambidex.detect

    cpus = sorted(os.sched_getaffinity(0))
    watchdog_cpu, loop_cpu = cpus[0], cpus[1]
    spinner = subprocess.Popen(
        [sys.executable, "-c",
         f"import os; os.sched_setaffinity(0, {{{watchdog_cpu}}}); print('spinning', flush=True)\\n"
         "while True: pass"],
        stdout=subprocess.PIPE, text=True)

    async def main():
        loop = asyncio.get_running_loop()
        detector = ambidex.detect.install(threshold=0.05, mode="log", intercept=False)
        dog = detector._watchdogs[loop]
        watch = dog._gil
        # The loop runs on a CPU of its own; the Python watchdog's thread is the
        # starved one: it waits for a CPU, not for the GIL, and the loop (which
        # keeps the GIL when nobody asks for it) is not blocked.
        os.sched_setaffinity(threading.get_native_id(), {loop_cpu})
        os.sched_setaffinity(dog._thread.native_id, {watchdog_cpu})
        os.sched_setscheduler(dog._thread.native_id, os.SCHED_IDLE, os.sched_param(0))
        deadline = time.monotonic() + 60
        turns = 0
        while watch.counts()["busy"] < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0)  # a busy loop of short steps
            turns += 1
        counts = watch.counts()
        spinner.kill()
        os.sched_setscheduler(dog._thread.native_id, os.SCHED_OTHER, os.sched_param(0))
        for _ in range(5):
            await asyncio.sleep(0.005)
        detector.uninstall()
        return {
            "native": counts,
            "turns": turns,
            "reports": [[r.line, r.function, r.duration] for r in detector.reports],
        }

    try:
        assert spinner.stdout.readline() == "spinning\\n"
        print(json.dumps(asyncio.run(main())))
    finally:
        spinner.kill()
        spinner.wait()
''')


@linux_only
def test_a_busy_loop_is_not_reported_while_the_watchdog_waits_for_a_cpu(
    tmp_path: Any,
) -> None:
    # A loop of short steps keeps the GIL whenever nobody asks for it; a watchdog
    # that is late because the machine does not run it (runnable, not waiting
    # for the GIL) proves nothing about the loop, and the native watcher must not
    # take the loop's stack then (it did, before it measured the watchdog's sleep).
    if not _native.available():
        pytest.skip("the native watcher is not built here")
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs: one for the loop, one for the starved watchdog")
    script = tmp_path / "busy_loop.py"
    script.write_text(BUSY_LOOP_STARVED_WATCHDOG_CHILD)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=180,
        env={**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"},
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    # The child ran its busy loop until the watcher had seen the watchdog late
    # twice for want of a CPU: the starvation really happened...
    assert result["native"]["busy"] >= 2, result
    # ... and the watcher took no stack. (The Python watchdog may still report:
    # starved while it holds the GIL, which SCHED_IDLE makes likely, its thread
    # really keeps the loop waiting, the caveat _watchdog.py names.)
    assert result["native"]["captures"] == 0, result


@linux_only
def test_the_run_queue_wait_is_read_per_thread_and_grows_only_while_runnable() -> None:
    clock = _runqueue.thread_clock(threading.get_native_id())
    assert clock is not None
    try:
        first = clock.sample()
        assert first is not None
        assert clock.is_sleeping() is False  # this thread runs: it is reading
        time.sleep(0.05)  # asleep, not runnable: no wait for a CPU is added...
        second = clock.sample()
        assert second is not None
        assert second.waited >= first.waited and second.cpu >= first.cpu
    finally:
        clock.close()
    # ... and a thread that sleeps says so from another thread.
    sleeping = threading.Event()
    done = threading.Event()
    ids: list[int] = []

    def sleeper() -> None:
        ids.append(threading.get_native_id())
        sleeping.set()
        done.wait(30)

    thread = threading.Thread(target=sleeper)
    thread.start()
    try:
        sleeping.wait(30)
        other = _runqueue.thread_clock(ids[0])
        assert other is not None
        try:
            deadline = time.monotonic() + 30
            while other.is_sleeping() is not True and time.monotonic() < deadline:
                time.sleep(0.01)  # between set() and wait() it still runs
            assert other.is_sleeping() is True
        finally:
            other.close()
    finally:
        done.set()
        thread.join()
    assert _runqueue.thread_clock(0) is None  # no such thread


class ScriptedClock:
    """The loop thread's kernel clocks as the test sets them: the watchdog's
    view of a loaded machine, made exact."""

    def __init__(self, native_id: int) -> None:
        self.native_id = native_id
        self.now = _runqueue.Sample(cpu=1.0, waited=1.0)
        self.sleeping = False

    def sample(self) -> _runqueue.Sample:
        return self.now

    def is_sleeping(self) -> bool:
        return self.sleeping

    def close(self) -> None:
        pass


def innermost(thread: threading.Thread) -> str:
    frame = sys._current_frames().get(thread.ident)  # type: ignore[arg-type]
    names = []
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    return " < ".join(names)


def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.001)


class HeldSelfPipe:
    """The loop's self-pipe socket, whose next recv waits for ``go``: the loop
    thread stays where it reads the wake-up byte a ping's post wrote."""

    def __init__(self, sock: Any, go: threading.Event) -> None:
        self.sock = sock
        self.go = go

    def recv(self, size: int) -> bytes:
        self.go.wait(30)
        data: bytes = self.sock.recv(size)
        return data

    def fileno(self) -> int:
        return int(self.sock.fileno())


@pytest.mark.parametrize("between", ["in its selector", "reading its self-pipe"])
def test_a_look_that_finds_the_loop_between_callbacks_keeps_the_stack_of_the_block(
    between: str,
) -> None:
    # On a loaded machine the watchdog looks again and again while a CPU block
    # lasts (the loop runs, and waits for a CPU now and then), and each look
    # took a fresh stack. The look after the block ends is likeliest where the
    # loop first lets go of the GIL, which the waiting watchdog then takes: in
    # its selector, or reading the wake-up byte of the ping's post. A stack
    # taken there replaced the block's, and the report named the loop (seen at
    # load 7-13: test_cpu_loop_is_reported_inside_the_loop, "in inner" at
    # select). The clocks are scripted: the loop ran and waited between looks,
    # held up far beyond the threshold by itself.
    from ambidex.detect._watchdog import LoopWatchdog, _Ping

    loop = asyncio.new_event_loop()
    reports: list[Any] = []
    release = threading.Event()
    go = threading.Event()

    def spin() -> None:
        while not release.is_set():  # <- spins
            pass

    runner = threading.Thread(target=loop.run_forever)
    real_self_pipe = loop._ssock  # type: ignore[attr-defined]
    if between == "reading its self-pipe":
        loop._ssock = HeldSelfPipe(real_self_pipe, go)  # type: ignore[attr-defined]
    else:
        go.set()
    runner.start()
    try:
        dog = LoopWatchdog(loop, 0.05, reports.append)
        dog._gil = None  # the Python watchdog's judgement only
        clock = ScriptedClock(runner.native_id or 0)
        dog._loop_thread, dog._loop_native = runner.ident, runner.native_id
        dog._clock = clock  # type: ignore[assignment]
        loop.call_soon_threadsafe(spin)
        wait_until(lambda: innermost(runner).startswith("spin"), "the loop spins")
        sent = dog._sent = _Ping(1, clock.now, time.monotonic() - 1.0)
        # A look while it spins: ran since the last look, runnable, no wait counted.
        before = clock.now
        clock.now = _runqueue.Sample(cpu=1.5, waited=1.0)
        last = dog._look(sent, time.monotonic(), before)
        assert dog._pending is not None and dog._pending.stack[-1].name == "spin"
        # The block ends; the loop goes back to its selector (and reads the
        # wake-up byte), and a wait for a CPU is counted since the last look.
        release.set()
        if between == "reading its self-pipe":
            loop.call_soon_threadsafe(lambda: None)  # a post: the self-pipe's byte
            wait_until(lambda: innermost(runner).startswith("wait < wait < recv < "
                                                            "_read_from_self"),
                       "the loop reads its self-pipe")
        else:
            wait_until(lambda: innermost(runner).startswith("select < _run_once"),
                       "the loop waits in its selector")
        clock.now = _runqueue.Sample(cpu=1.6, waited=1.1)
        dog._look(sent, time.monotonic(), last)
        go.set()
        loop.call_soon_threadsafe(dog._pong, 1)
        wait_until(lambda: reports, "the pong reports the block")
    finally:
        release.set()
        go.set()
        loop.call_soon_threadsafe(loop.stop)
        runner.join(30)
        loop._ssock = real_self_pipe  # type: ignore[attr-defined]
        loop.close()
    [report] = reports
    assert (report.function, report.line) == ("spin", line_of(spin, "# <- spins")), report


class HeldTurns(threading.Event):
    """The watchdog's ``_stopping`` event, whose waits between turns the test
    holds: a watchdog thread that the machine does not run on time."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.parked = threading.Event()
        self.waits = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1
        if not self.gate.is_set():
            self.parked.set()
            self.gate.wait(30)
        return super().wait(timeout)


@pytest.mark.parametrize("since_its_answer", [
    "blocked in a callback", "idle in its selector", "ran",
])
def test_a_block_that_began_when_the_loop_answered_is_timed_from_the_answer(
    since_its_answer: str,
) -> None:
    # A watchdog that waits for a CPU itself posts its next ping late, after a
    # block began, and the block may end before the ping is the threshold late:
    # a 0.3 s sleep went unreported (traced at load 20: the watchdog thread
    # waited 219 ms for a CPU between two turns). If the kernel's counts say
    # the loop's thread has not had a CPU since it answered, and it sleeps in a
    # callback now, the block began at the answer. Idle in its selector, or
    # having run since, it proves nothing: no report. The clocks are scripted;
    # the loop, the watchdog thread and their timing are real.
    from ambidex.detect._watchdog import LoopWatchdog

    loop = asyncio.new_event_loop()
    reports: list[Any] = []
    release = threading.Event()

    def blocks() -> None:
        release.wait(30)  # <- blocks

    runner = threading.Thread(target=loop.run_forever)
    runner.start()
    dog = LoopWatchdog(loop, 0.05, reports.append)
    try:
        dog._gil = None  # the Python watchdog's judgement only
        clock = ScriptedClock(runner.native_id or 0)
        clock.now = _runqueue.Sample(cpu=1.0, waited=1.0, switches=7)
        dog._loop_clock = lambda: clock  # type: ignore[assignment, method-assign, return-value]
        dog._clock = clock  # type: ignore[assignment]
        turns = dog._stopping = HeldTurns()
        dog.start()
        wait_until(lambda: dog._answered >= 2, "the loop answers pings")
        turns.gate.clear()  # the watchdog thread waits for a CPU from its next turn on
        wait_until(turns.parked.is_set, "the watchdog is held")
        sent = dog._sent
        assert sent is not None
        wait_until(lambda: dog._answered == sent.number, "the ping on its way is answered")
        answered = dog._answer
        assert answered is not None and answered[0] == sent.number
        then = answered[2]
        if since_its_answer == "idle in its selector":
            wait_until(lambda: innermost(runner).startswith("select < _run_once"),
                       "the loop waits in its selector")
        else:
            loop.call_soon_threadsafe(blocks)
            wait_until(lambda: innermost(runner).startswith("wait < wait < blocks"),
                       "the loop blocks")
        switches = then.switches + (1 if since_its_answer == "ran" else 0)
        clock.now = _runqueue.Sample(then.cpu + 0.0001, then.waited, switches)
        clock.sleeping = True
        time.sleep(0.2)  # the block (or the idle wait) is the threshold old, and more
        turns_before = turns.waits
        turns.gate.set()  # the watchdog's late turn: it posts the next ping
        wait_until(lambda: turns.waits > turns_before, "the watchdog's late turn ends")
        release.set()
        wait_until(lambda: dog._answered > sent.number, "the next ping is answered")
    finally:
        release.set()
        turns.gate.set()
        dog.stop()
        loop.call_soon_threadsafe(loop.stop)
        runner.join(30)
        loop.close()
    if since_its_answer == "blocked in a callback":
        [report] = reports
        assert (report.function, report.line) == ("blocks", line_of(blocks, "# <- blocks"))
        assert report.duration >= 0.2  # timed from the answer, not from the late ping
    else:
        assert reports == []
