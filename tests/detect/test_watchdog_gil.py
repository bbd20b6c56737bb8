"""The watchdog sees the loop's C calls that keep the GIL, at the call's line.

A C call that does not release the GIL (a regex that backtracks, a
``ctypes.PyDLL`` function, an extension's long computation) keeps the Python
watchdog thread from running at all: before the native watcher
(``ambidex.detect._gilwatch``) such a call was never reported. These tests run
inside the suite's process, after whatever ran before them (the case the
Python-only prototype missed).

The calls that wait (``poll`` through ``ctypes.PyDLL``, which keeps the GIL)
last exactly until the native watcher has seen them: it writes a byte to a
pipe when it takes a stack (``GilWatch.notify_fd``, for tests), and the call
waits for that byte. Nothing here depends on how fast the machine is; a
watcher that never sees the call fails the test after 30 s.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import importlib.util
import itertools
import logging
import os
import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

import ambidex.detect
from ambidex.detect import BlockingReport, _native
from tests.detect.conftest import line_of, the_only_report

T = TypeVar("T")

THRESHOLD = 0.05
SEEN_WITHIN_MS = 30_000
MAX_MATCHES = 200  # about 30 s of backtracking on this machine, idle

# Under detectors of their own: the suite-wide --ambidex-blocking leaves them alone.
pytestmark = pytest.mark.allow_blocking
needs_native = pytest.mark.skipif(
    not _native.available(),
    reason="the native watcher is not built here (test_the_native_watcher_is_built_"
    "where_the_extensions_are says whether it must be)",
)


class PollFd(ctypes.Structure):
    _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_short), ("revents", ctypes.c_short)]


POLLIN = 1
# A PyDLL function keeps the GIL for the whole call (a CDLL one releases it).
libc_poll = ctypes.PyDLL(None).poll if sys.platform != "win32" else None


def watchdog_only() -> ambidex.detect.Detector:
    return ambidex.detect.install(threshold=THRESHOLD, mode="log", intercept=False)


@contextmanager
def seen_signal(detector: ambidex.detect.Detector) -> Iterator[PollFd]:
    """A pollfd that becomes readable when the native watcher takes a stack."""
    watch = detector._watchdogs[asyncio.get_running_loop()]._gil
    assert watch is not None
    read, write = os.pipe()
    watch.notify_fd = write
    try:
        yield PollFd(read, POLLIN, 0)
    finally:
        watch.notify_fd = -1
        os.close(read)
        os.close(write)


def keep_the_gil_until_seen(signal: PollFd) -> int:
    assert libc_poll is not None
    return int(libc_poll(ctypes.byref(signal), 1, SEEN_WITHIN_MS))  # <- polls


async def run_as_task(coro_fn: object, name: str) -> asyncio.Task[None]:
    """Run ``coro_fn()`` as a task named ``name``, to its end. The caller keeps the
    task until the detector is uninstalled: the watchdog's thread names the
    native watcher's block when it gets to it, which at load may be after the
    task ended (at ``uninstall()`` even), and a task that is gone by then is
    named by its coroutine instead ("<coroutine blocker>": seen once in 120 runs
    at load 16 while this helper let go of the task 10 ms after its end)."""
    task: asyncio.Task[None] = asyncio.create_task(coro_fn(), name=name)  # type: ignore[operator]
    await task
    await asyncio.sleep(0.01)  # a loop turn with time in it: the pong that reports
    return task


@needs_native
async def test_a_ctypes_call_that_keeps_the_gil_is_reported_at_its_line() -> None:
    detector = watchdog_only()
    try:
        with seen_signal(detector) as signal:

            async def blocker() -> None:
                await asyncio.sleep(0)
                assert keep_the_gil_until_seen(signal) == 1  # <- keeps the GIL

            task = await run_as_task(blocker, "pydll")
    finally:
        detector.uninstall()
    report = the_only_report(detector)
    assert report.kind == "blocked"
    # The stack is the call's: the C function has no frame, its caller's line is
    # the innermost, and the task's line that called it is on the stack.
    assert (report.file, report.function) == (__file__, "keep_the_gil_until_seen")
    assert report.line == line_of(keep_the_gil_until_seen, "# <- polls")
    assert report.task == task.get_name() == "pydll"
    assert report.duration is not None and report.duration >= THRESHOLD
    assert [(f.name, f.lineno) for f in report.frames][-2:] == [
        ("blocker", line_of(blocker, "# <- keeps the GIL")),
        ("keep_the_gil_until_seen", report.line),
    ]


@needs_native
async def test_a_regex_that_backtracks_is_reported_at_the_match() -> None:
    # (a+)+$ against a's and a b: 2**22 ways to split the a's, all tried in C with
    # the GIL held (about 0.15 s of CPU here). One such match is missed when neither
    # the watchdog's thread nor the native one gets a CPU while it lasts (3 in 200
    # at load 12-16 on 3.12). So the matches are made one after another until the
    # native watcher has seen them, and one more (the loop's own time after the
    # look must reach the threshold: the pong checks it with the kernel's exact
    # count, and a wait for a CPU under way at the look is not in the watcher's).
    # No Python code runs between two matches (map over the pattern's C method; the
    # iterator that ends it polls the watcher's pipe through a PyDLL call): the GIL
    # is kept from the first match to the last.
    pattern = re.compile(r"(a+)+$")
    texts = itertools.repeat("a" * 22 + "b")
    detector = watchdog_only()
    try:
        with seen_signal(detector) as signal:
            assert libc_poll is not None
            not_seen_yet = iter(functools.partial(libc_poll, ctypes.byref(signal), 1, 0), 1)
            until_seen = itertools.chain(itertools.islice(not_seen_yet, MAX_MATCHES), [0])

            async def blocker() -> None:
                deque(map(pattern.match, texts, until_seen), maxlen=0)  # <- backtracks

            task = await run_as_task(blocker, "regex")
            assert libc_poll(ctypes.byref(signal), 1, 0) == 1, "unseen after MAX_MATCHES"
    finally:
        detector.uninstall()
    report = the_only_report(detector)
    assert (report.file, report.function) == (__file__, "blocker")
    assert report.task == task.get_name() == "regex"
    assert report.line == line_of(blocker, "# <- backtracks")
    # The matches are C calls made from C: the line that starts them is innermost.
    assert report.frames[-1].name == "blocker"


@needs_native
async def test_a_call_that_ends_the_watch_block_is_reported_when_the_block_ends() -> None:
    # No loop turn after the call: the report comes with watch()'s end, as any block's.
    reports: list[BlockingReport] = []

    async def blocker() -> None:
        with ambidex.detect.watch(
            threshold=THRESHOLD, mode="log", intercept=False, on_report=reports.append
        ) as detector:
            with seen_signal(detector) as signal:
                keep_the_gil_until_seen(signal)  # <- last

    await blocker()
    assert [(r.function, r.line) for r in reports] == [
        ("keep_the_gil_until_seen", line_of(keep_the_gil_until_seen, "# <- polls"))
    ]
    assert [f.lineno for f in reports[0].frames][-2] == line_of(blocker, "# <- last")


@needs_native
async def test_the_native_watcher_takes_no_stack_when_another_thread_keeps_the_gil() -> None:
    # The loop waits for the GIL too, but its code did nothing: the holder is the
    # worker thread, and the native watcher names only the loop's own calls.
    # (The Python watchdog may still report the loop's wait, at wherever the
    # loop waited, if a ping was on its way: as it did before the watcher.)
    detector = watchdog_only()
    watch = detector._watchdogs[asyncio.get_running_loop()]._gil
    assert watch is not None
    read, write = os.pipe()
    watch.notify_fd = write
    started = threading.Event()

    def worker() -> None:
        started.set()
        # Keeps the GIL for 0.5 s (or until a stack is taken: none must be).
        assert libc_poll is not None
        libc_poll(ctypes.byref(PollFd(read, POLLIN, 0)), 1, 500)

    try:
        thread = threading.Thread(target=worker)
        thread.start()
        await asyncio.to_thread(started.wait)
        for _ in range(10):
            await asyncio.sleep(0.01)
        await asyncio.to_thread(thread.join)
    finally:
        detector.uninstall()
        os.close(read)
        os.close(write)
    counts = watch.counts()
    assert counts["captures"] == 0, counts
    assert all(report.function != "worker" for report in detector.reports)


async def test_without_the_native_watcher_the_detector_says_why_and_watches_on(
    monkeypatch, caplog
) -> None:
    # The degraded mode: C calls that keep the GIL go unseen, the reason is said
    # (a property and an INFO line), and the Python watchdog runs as everywhere.
    monkeypatch.setenv("AMBIDEX_NO_EXTENSIONS", "1")
    loop = asyncio.get_running_loop()
    with caplog.at_level(logging.INFO, logger="ambidex.detect"):
        detector = watchdog_only()
    try:
        assert detector.gil_unwatched == {
            loop: "AMBIDEX_NO_EXTENSIONS is set: the native watcher is switched off"
        }
        dog = detector._watchdogs[loop]
        assert dog._gil is None and dog._thread.is_alive()
    finally:
        detector.uninstall()
    assert "C calls that keep the GIL go unseen on this loop: AMBIDEX_NO_EXTENSIONS" in (
        caplog.text
    )


def test_an_install_without_the_compiled_watcher_is_told_what_builds_it(monkeypatch) -> None:
    built = importlib.util.find_spec("ambidex.detect._gilwatch") is not None
    loop = asyncio.new_event_loop()
    try:
        monkeypatch.setattr(_native, "_load", lambda: None)  # not loaded: absent or stale
        if built:  # here, a stale build (from another version of the C file)
            assert _native.why_unwatched(loop) == (
                "the native watcher (ambidex.detect._gilwatch) is there but was not loaded "
                "(built from another version of _gilwatch.c): reinstall ambidex to rebuild it"
            )
        monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
        assert _native.why_unwatched(loop) == (
            "the native watcher (ambidex.detect._gilwatch) is not built in this install: "
            "it is built with the C extensions on Linux, for CPython 3.10 to 3.13 with a GIL"
        )
    finally:
        loop.close()


def run_on_uvloop(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``main()`` run to completion on a loop of uvloop's (written in C: no Python
    frame of its own on the loop thread's stack)."""
    import uvloop  # a test dependency where the native watcher is built

    loop = uvloop.new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


@needs_native
def test_a_ctypes_call_that_keeps_the_gil_on_a_uvloop_loop_is_reported_at_its_line() -> None:
    async def main() -> ambidex.detect.Detector:
        detector = watchdog_only()
        try:
            assert detector.gil_unwatched == {}
            with seen_signal(detector) as signal:

                async def blocker() -> None:
                    await asyncio.sleep(0)
                    assert keep_the_gil_until_seen(signal) == 1  # <- keeps the GIL

                await run_as_task(blocker, "pydll")
        finally:
            detector.uninstall()
        return detector

    detector = run_on_uvloop(main)
    report = the_only_report(detector)
    assert (report.file, report.function, report.task) == (
        __file__, "keep_the_gil_until_seen", "pydll"
    )
    assert report.line == line_of(keep_the_gil_until_seen, "# <- polls")
    # No frame of the loop's below the task's: the coroutine's line is the outermost.
    assert [f.name for f in report.frames][-2:] == ["blocker", "keep_the_gil_until_seen"]


@needs_native
def test_a_busy_uvloop_loop_is_not_taken_for_a_c_call_that_keeps_the_gil() -> None:
    # On a loop written in C the watcher takes any stack of a running loop's thread
    # that keeps the GIL against a request: Python code lets it go at once, so a
    # loop that only runs short callbacks (sleep(0), a socket's ping-pong) gives none.
    async def main() -> tuple[dict[str, int], list[ambidex.detect.BlockingReport]]:
        detector = watchdog_only()
        watch = detector._watchdogs[asyncio.get_running_loop()]._gil
        assert watch is not None
        try:
            for _ in range(20_000):
                await asyncio.sleep(0)

            async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                while data := await reader.read(100):
                    writer.write(data)
                writer.close()

            server = await asyncio.start_server(echo, "127.0.0.1", 0)
            try:
                reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
                for _ in range(2_000):
                    writer.write(b"ping")
                    assert await reader.readexactly(4) == b"ping"
                writer.close()
                await writer.wait_closed()
            finally:
                server.close()
                await server.wait_closed()
        finally:
            detector.uninstall()
        return watch.counts(), detector.reports

    counts, reports = run_on_uvloop(main)
    # Seen once at load ~8 (session 13): one capture. What was taken says whether it
    # was a real block of the test's (a garbage collection is one) or a false one.
    assert counts["captures"] == 0, (counts, [(r.duration, r.stack) for r in reports])


def test_the_native_watcher_is_built_where_the_extensions_are() -> None:
    # tools/test.sh's sessions build the extensions and set this: the tests above
    # must run there, not skip. (CPython 3.10 to 3.13 with a GIL; elsewhere the
    # module is not built and such calls go unseen, as the docs say.)
    if os.environ.get("AMBIDEX_EXPECT_EXTENSIONS"):
        assert _native.available()


@pytest.mark.primary_only
def test_the_build_hook_builds_the_native_watcher_beside_the_accelerator(
    tmp_path, monkeypatch, capsys
) -> None:
    import sysconfig
    from pathlib import Path

    from tests.io.test_speedups import FakeBuild, build_data, copy_source, load_hook

    hook = load_hook()
    copy_source(tmp_path)
    watcher_source = tmp_path / hook.GILWATCH
    watcher_source.parent.mkdir(parents=True)
    watcher_source.write_bytes(Path(_native.__file__).with_name("_gilwatch.c").read_bytes())
    for name in ("AMBIDEX_BUILD_EXTENSIONS", "CC", "LDSHARED", "CFLAGS"):
        monkeypatch.delenv(name, raising=False)
    build = FakeBuild(tmp_path)

    data = build_data()
    hook.SpeedupsHook.initialize(build, "standard", data)
    (watcher,) = watcher_source.parent.glob("_gilwatch*" + sysconfig.get_config_var("EXT_SUFFIX"))
    assert data["force_include"][str(watcher)] == f"ambidex/detect/{watcher.name}"
    assert capsys.readouterr().err == ""

    # A Python whose internals the C does not know: left out, without a word.
    watcher.unlink()
    monkeypatch.setattr(hook, "GILWATCH_PYTHONS", ((3, 0), (3, 1)))
    data = build_data()
    hook.SpeedupsHook.initialize(build, "standard", data)
    assert data["pure_python"] is False and len(data["force_include"]) == 1
    assert not watcher.exists()
    assert capsys.readouterr().err == ""


def exit_code_within(pid: int, seconds: float) -> int:
    """The child's exit code; a child still running after ``seconds`` is killed: a failure."""
    import time

    deadline = time.monotonic() + seconds
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the child hung stopping its copy of the native watcher")
        time.sleep(0.01)
    return os.waitstatus_to_exitcode(done[1])


@needs_native
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # 3.12+: fork() of a threaded process
async def test_a_child_made_by_fork_stops_its_copy_of_the_watcher_without_hanging() -> None:
    # The native thread does not exist in the child, and its mutex may be copied
    # locked: stopping the copy must neither join a thread that is not there nor
    # wait for that mutex.
    detector = watchdog_only()
    try:
        pid = os.fork()
        if pid == 0:  # the child: uninstall, then leave at once
            code = 1
            try:
                detector.uninstall()
                code = 0
            finally:
                os._exit(code)
        assert await asyncio.to_thread(exit_code_within, pid, 30) == 0
    finally:
        detector.uninstall()
