"""The watchdog sees every kind of block, at the user's line, while it happens.

Blocks last 0.3 s against a 0.05 s threshold: generous both ways, so a loaded
machine does not make these tests flaky. Nothing here asserts on speed.
"""

# These tests block the loop on purpose: that is what they detect.
# ruff: noqa: ASYNC230, ASYNC251

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from time import sleep  # bound before any detector exists: interception cannot see it

import pytest

import ambidex.detect
from ambidex.detect import BlockingCallError, BlockingReport, BlockingWarning
from tests.detect.conftest import line_of, tell_when_a_wait_is_seen, the_only_report

BLOCK = 0.3

# These tests block their loop on purpose, under detectors of their own: the
# suite-wide `pytest --ambidex-blocking=raise` leaves them alone.
pytestmark = pytest.mark.allow_blocking
THRESHOLD = 0.05


def watchdog_only(**kwargs: object) -> ambidex.detect.Detector:
    options: dict[str, object] = {"threshold": THRESHOLD, "mode": "log", "intercept": False}
    options.update(kwargs)
    return ambidex.detect.install(**options)  # type: ignore[arg-type]


async def run_as_task(coro_fn: object, name: str) -> None:
    task = asyncio.create_task(coro_fn(), name=name)  # type: ignore[operator]
    await task
    # One more loop turn with time in it, so the beat that closes the block runs.
    await asyncio.sleep(0.01)


async def test_sleep_imported_before_activation_is_reported_at_its_line() -> None:
    async def blocker() -> None:
        sleep(BLOCK)  # <- blocks

    detector = watchdog_only()
    try:
        await run_as_task(blocker, "sleeper")
    finally:
        detector.uninstall()
    report = the_only_report(detector)
    assert report.kind == "blocked"
    assert report.file == __file__
    assert report.line == line_of(blocker, "# <- blocks")
    assert report.function == "blocker"
    assert report.task == "sleeper"
    assert report.duration is not None and report.duration >= THRESHOLD
    assert f"{__file__}:{report.line}" in str(report)
    assert "sleep(BLOCK)" in report.stack


async def test_cpu_loop_is_reported_inside_the_loop() -> None:
    # Spins for BLOCK seconds of this thread's CPU time, not of the wall clock:
    # on a loaded machine a wall-clock spin may get a fraction of a CPU, under
    # the threshold, and the watchdog counts a loop's own time (seen on 3.12
    # at load 9: reported after the spin, at the loop's _read_from_self).
    def spin(seconds: float) -> int:
        count = 0
        end = time.thread_time() + seconds
        while time.thread_time() < end:  # <- spins
            count += 1  # <- counts
        return count

    async def blocker() -> None:
        spin(BLOCK)

    detector = watchdog_only()
    try:
        await run_as_task(blocker, "spinner")
    finally:
        detector.uninstall()
    report = the_only_report(detector)
    assert report.function == "spin"
    assert report.line in (line_of(spin, "# <- spins"), line_of(spin, "# <- counts"))
    assert report.task == "spinner"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO (POSIX)")
async def test_open_read_of_a_slow_file_is_reported_at_the_read(tmp_path: Path) -> None:
    # A FIFO is a file whose open() and read() wait for a writer: a slow disk,
    # made exact. The writer shows up BLOCK seconds after the reader's go.
    # The writer's thread is started before the watched step: Thread.start()
    # waits until the new thread runs, itself a block on a loaded machine (a
    # report at the start() line), and the go is a byte written to a pipe,
    # which never waits.
    fifo = tmp_path / "slow"
    os.mkfifo(fifo)
    go_read, go_write = os.pipe()

    def writer() -> None:
        if os.read(go_read, 1) != b"g":
            return  # the test ended before its go
        time.sleep(BLOCK)
        with open(fifo, "wb") as f:
            f.write(b"x" * 1000)

    thread = threading.Thread(target=writer)
    thread.start()

    async def blocker() -> None:
        os.write(go_write, b"g")
        data = open(fifo, "rb").read()  # <- reads
        assert len(data) == 1000

    detector = watchdog_only()
    try:
        await run_as_task(blocker, "reader")
    finally:
        detector.uninstall()
        os.close(go_write)  # a writer still waiting for its go ends
        thread.join()
        os.close(go_read)
    report = the_only_report(detector)
    assert (report.file, report.line) == (__file__, line_of(blocker, "# <- reads"))
    assert report.task == "reader"


async def test_recv_on_a_blocking_socket_is_reported_at_the_recv() -> None:
    # The sender's thread is started before the watched step, as the FIFO
    # test's writer is: a threading.Timer started inside it waited for its
    # thread to run, 90 ms at load 20, and the report named the start() line.
    a, b = socket.socketpair()
    go_read, go_write = os.pipe()

    def sender() -> None:
        if os.read(go_read, 1) != b"g":
            return  # the test ended before its go
        time.sleep(BLOCK)
        b.sendall(b"ping")

    thread = threading.Thread(target=sender)
    thread.start()

    async def blocker() -> None:
        os.write(go_write, b"g")
        assert a.recv(4) == b"ping"  # <- recv

    detector = watchdog_only()
    try:
        with a, b:
            await run_as_task(blocker, "receiver")
    finally:
        detector.uninstall()
        os.close(go_write)  # a sender still waiting for its go ends
        thread.join()
        os.close(go_read)
    report = the_only_report(detector)
    assert (report.file, report.line) == (__file__, line_of(blocker, "# <- recv"))
    assert report.function == "blocker"
    assert report.task == "receiver"


async def test_a_loop_that_keeps_answering_is_not_reported() -> None:
    # Short awaits only; the threshold is far above any scheduling hiccup.
    detector = watchdog_only(threshold=0.5)
    try:
        for _ in range(20):
            await asyncio.sleep(0.005)
    finally:
        detector.uninstall()
    assert detector.reports == []


async def test_two_blocks_separated_by_a_real_await_are_two_reports() -> None:
    async def blocker() -> None:
        sleep(BLOCK)  # <- first
        await asyncio.sleep(0.02)
        sleep(BLOCK)  # <- second

    detector = watchdog_only()
    try:
        await run_as_task(blocker, "twice")
    finally:
        detector.uninstall()
    assert [r.line for r in detector.reports] == [
        line_of(blocker, "# <- first"),
        line_of(blocker, "# <- second"),
    ]


# --- modes ----------------------------------------------------------------------


async def test_raise_mode_raises_when_the_watch_block_ends() -> None:
    def blocked() -> None:
        sleep(BLOCK)  # <- raise

    with pytest.raises(BlockingCallError) as caught:
        with ambidex.detect.watch(threshold=THRESHOLD, intercept=False):
            blocked()
    assert caught.value.report.line == line_of(blocked, "# <- raise")
    assert caught.value.report.function == "blocked"
    assert f"{__file__}:{caught.value.report.line}" in str(caught.value)


async def test_raise_mode_does_not_mask_the_blocks_own_exception() -> None:
    with pytest.raises(KeyError) as caught:
        with ambidex.detect.watch(threshold=THRESHOLD, intercept=False) as detector:
            sleep(BLOCK)
            raise KeyError("the test's own failure")
    assert len(detector.reports) == 1
    if sys.version_info >= (3, 11):  # the block rides along as a note
        notes = getattr(caught.value, "__notes__", [])
        assert any(detector.reports[0].location in note for note in notes)


async def test_warn_mode_warns_at_the_users_file_and_line() -> None:
    def blocked() -> None:
        sleep(BLOCK)  # <- warn

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with ambidex.detect.watch(threshold=THRESHOLD, mode="warn", intercept=False):
            blocked()
    ours = [w for w in seen if issubclass(w.category, BlockingWarning)]
    assert len(ours) == 1
    assert (ours[0].filename, ours[0].lineno) == (__file__, line_of(blocked, "# <- warn"))
    assert "blocked for at least" in str(ours[0].message)


async def test_log_mode_logs_the_report_with_its_stack(caplog: pytest.LogCaptureFixture) -> None:
    def blocked() -> None:
        sleep(BLOCK)  # <- log

    with caplog.at_level(logging.WARNING, logger="ambidex.detect"):
        with ambidex.detect.watch(threshold=THRESHOLD, mode="log", intercept=False):
            blocked()
    records = [r for r in caplog.records if r.name == "ambidex.detect"]
    assert len(records) == 1
    message = records[0].getMessage()
    assert f"{__file__}:{line_of(blocked, '# <- log')}" in message
    assert "Stack (most recent call last)" in message


async def test_hooks_receive_report_objects() -> None:
    received: list[BlockingReport] = []
    with ambidex.detect.watch(
        threshold=THRESHOLD, mode="log", intercept=False, on_report=received.append
    ) as detector:
        sleep(BLOCK)
    assert received == detector.reports
    assert len(received) == 1


async def test_a_hook_that_raises_does_not_break_the_program(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken_hook(report: BlockingReport) -> None:
        raise ValueError("broken hook")

    with ambidex.detect.watch(
        threshold=THRESHOLD, mode="log", intercept=False, on_report=broken_hook
    ) as detector:
        sleep(BLOCK)
    assert len(detector.reports) == 1
    assert any("a report hook raised" in r.getMessage() for r in caplog.records)


def test_bad_mode_and_threshold_are_refused() -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        ambidex.detect.install(mode="loud")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threshold must be positive"):
        ambidex.detect.install(threshold=0)


# --- installing and uninstalling --------------------------------------------------


def watchdog_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ambidex-watchdog")]


async def test_uninstall_stops_the_watchdog_and_nothing_is_reported_after() -> None:
    before = set(watchdog_threads())
    detector = watchdog_only()
    assert len(set(watchdog_threads()) - before) == 1
    detector.uninstall()
    detector.uninstall()  # idempotent
    assert set(watchdog_threads()) <= before
    sleep(BLOCK)
    await asyncio.sleep(0.01)
    assert detector.reports == []


def test_install_on_a_loop_that_is_not_running_yet() -> None:
    loop = asyncio.new_event_loop()

    async def main() -> None:
        sleep(BLOCK)  # <- not running yet
        await asyncio.sleep(0.01)

    try:
        detector = ambidex.detect.install(loop, threshold=THRESHOLD, mode="log")
        loop.run_until_complete(main())
        detector.uninstall()
    finally:
        loop.close()
    assert [r.line for r in detector.reports] == [line_of(main, "# <- not running yet")]


def test_watch_outside_a_loop_watches_the_loops_asyncio_run_creates() -> None:
    policy = asyncio.get_event_loop_policy()

    async def main() -> None:
        sleep(BLOCK)  # <- under asyncio.run

    with pytest.raises(BlockingCallError) as caught:
        with ambidex.detect.watch(threshold=THRESHOLD, intercept=False):
            asyncio.run(main())
    assert caught.value.report.line == line_of(main, "# <- under asyncio.run")
    assert caught.value.report.task is not None
    assert asyncio.get_event_loop_policy() is policy


def test_a_stopped_loop_between_runs_is_not_a_block() -> None:
    # run_until_complete() twice with an idle pause between: the heartbeat is
    # "late" across the pause, but the loop was not running, so nothing is said.
    loop = asyncio.new_event_loop()
    try:
        detector = ambidex.detect.install(loop, threshold=THRESHOLD, mode="log")
        loop.run_until_complete(asyncio.sleep(0.01))
        time.sleep(BLOCK)
        loop.run_until_complete(asyncio.sleep(0.05))
        detector.uninstall()
    finally:
        loop.close()
    assert detector.reports == []


def test_install_from_env_reads_mode_threshold_and_intercept() -> None:
    assert ambidex.detect.install_from_env({}) is None
    assert ambidex.detect.install_from_env({"AMBIDEX_DETECT": "off"}) is None
    with pytest.raises(ValueError, match="AMBIDEX_DETECT="):
        ambidex.detect.install_from_env({"AMBIDEX_DETECT": "shout"})
    with pytest.raises(ValueError, match="AMBIDEX_DETECT_THRESHOLD"):
        ambidex.detect.install_from_env(
            {"AMBIDEX_DETECT": "warn", "AMBIDEX_DETECT_THRESHOLD": "soon"}
        )
    detector = ambidex.detect.install_from_env(
        {"AMBIDEX_DETECT": "log", "AMBIDEX_DETECT_THRESHOLD": "0.25",
         "AMBIDEX_DETECT_INTERCEPT": "1"}
    )
    assert detector is not None
    try:
        assert (detector.mode, detector.threshold, detector.intercept) == ("log", 0.25, True)
    finally:
        detector.uninstall()


def test_run_wrapper_watches_a_program_it_does_not_edit(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(
        "import asyncio, sys\n"
        "from time import sleep\n"
        "async def main():\n"
        "    sleep(0.3)\n"
        "    await asyncio.sleep(0.02)\n"
        "    print('args', sys.argv[1:])\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "AMBIDEX_DETECT": "warn", "AMBIDEX_DETECT_THRESHOLD": "0.05"}
    done = subprocess.run(
        [sys.executable, "-m", "ambidex.detect.run", str(script), "--flag"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "args ['--flag']" in done.stdout
    assert f"{script}:4: BlockingWarning" in done.stderr


# --- cancellation and timeouts: the detector never outlives its block ----------


async def test_a_cancelled_watch_block_uninstalls_and_lets_the_cancellation_through() -> None:
    original_sleep = time.sleep
    before = set(watchdog_threads())
    entered = asyncio.Event()

    async def watched() -> None:
        with ambidex.detect.watch(threshold=THRESHOLD):
            entered.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(watched())
    await entered.wait()
    assert time.sleep is not original_sleep
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.sleep is original_sleep
    assert set(watchdog_threads()) <= before


async def test_a_timeout_inside_a_watch_block_is_the_timeout_not_a_detection() -> None:
    original_sleep = time.sleep
    with pytest.raises(asyncio.TimeoutError):  # TimeoutError itself from 3.11 on
        with ambidex.detect.watch(threshold=THRESHOLD) as detector:
            await asyncio.wait_for(asyncio.sleep(30), timeout=0.05)
    assert detector.reports == []
    assert time.sleep is original_sleep


async def test_install_on_a_loop_running_in_another_thread() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()

    async def blocker() -> None:
        sleep(BLOCK)  # <- in another thread's loop
        await asyncio.sleep(0.02)

    try:
        detector = ambidex.detect.install(loop, threshold=THRESHOLD, mode="log")
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(blocker(), loop))
        detector.uninstall()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join)
        loop.close()
    assert [r.line for r in detector.reports] == [line_of(blocker, "# <- in another thread's loop")]


async def test_the_task_is_found_by_its_coroutine_frame_where_asyncio_hides_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Python 3.14 keeps the running task per thread, out of another thread's
    # reach; the watchdog then finds the task whose coroutine frame is running.
    monkeypatch.delattr(asyncio.tasks, "_current_tasks", raising=False)

    async def blocker() -> None:
        sleep(BLOCK)

    detector = watchdog_only()
    try:
        await run_as_task(blocker, "found by frame")
    finally:
        detector.uninstall()
    assert the_only_report(detector).task == "found by frame"


async def test_a_warning_turned_into_an_error_does_not_stop_the_heartbeat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each block lasts until the watchdog has seen it, not a fixed 0.3 s: a
    # loaded machine could keep the watchdog's thread off a CPU for the whole
    # of a fixed block (1 report of 2, seen at load 18).
    seen = tell_when_a_wait_is_seen(monkeypatch)
    loop = asyncio.get_running_loop()
    errors: list[dict[str, object]] = []
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", BlockingWarning)
            with ambidex.detect.watch(threshold=THRESHOLD, mode="warn", intercept=False) as d:
                first_seen = seen.wait(30)
                await asyncio.sleep(0.02)  # the first report raises in the beat
                seen.clear()
                second_seen = seen.wait(30)
                await asyncio.sleep(0.02)  # the heartbeat lives on: a second report
    finally:
        loop.set_exception_handler(previous_handler)
    assert first_seen and second_seen, "the watchdog did not see a block in 30 s"
    assert len(d.reports) == 2, (
        [str(r) for r in d.reports], {"starved": [str(s) for s in d.starved]}
    )
    # At least ours (the pytest plugin, if on, adds its own detector's).
    raised = [e.get("exception") for e in errors]
    assert len(raised) >= 2 and all(isinstance(e, BlockingWarning) for e in raised)


def test_run_wrapper_runs_modules_and_fails_in_raise_mode(tmp_path: Path) -> None:
    package = tmp_path / "blockpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text(
        "import asyncio, sys\n"
        "from time import sleep\n"
        "async def main():\n"
        "    sleep(0.3)\n"
        "    await asyncio.sleep(0.02)\n"
        "    print('args', sys.argv[1:])\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop("AMBIDEX_DETECT", None)
    done = subprocess.run(
        [sys.executable, "-m", "ambidex.detect.run", "--mode", "raise", "--threshold", "0.05",
         "-m", "blockpkg.app", "--mode", "theirs"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert "args ['--mode', 'theirs']" in done.stdout  # the program's own arguments
    assert done.returncode == 1
    assert f"{package / 'app.py'}:4: in main" in done.stderr
