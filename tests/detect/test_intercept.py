"""Interception: the rule table's blocking primitives fail at the call, from a task.

These tests call the primitives through their modules (``time.sleep``, not a
name bound before activation: that is the watchdog's job, tested elsewhere).
"""

# These tests call blocking functions from async code on purpose.
# ruff: noqa: ASYNC221, ASYNC240, ASYNC251

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest

import ambidex.detect
from ambidex._rules import DEFAULT_TABLE, Kind
from ambidex.detect import BlockingCallError, BlockingWarning
from ambidex.detect._intercept import intercepted_rules
from tests.detect.conftest import line_of

# A long threshold: these tests are about interception, and the watchdog must
# not add reports of its own on a loaded machine.
QUIET_WATCHDOG = 5.0

# These tests block their loop on purpose, under detectors of their own: the
# suite-wide `pytest --ambidex-blocking=raise` leaves them alone.
pytestmark = pytest.mark.allow_blocking


def resolve(name: str) -> tuple[Any, str]:
    """(owner object, attribute) for a dotted rule name, importing as needed."""
    import builtins
    import importlib

    parts = name.split(".")
    if len(parts) == 1:
        return builtins, name
    for i in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:-1]:
            owner = getattr(owner, attr)
        return owner, parts[-1]
    raise LookupError(name)


def raw_attribute(owner: Any, attr: str) -> Any:
    return inspect.getattr_static(owner, attr)


@pytest.fixture
async def intercepting() -> AsyncIterator[ambidex.detect.Detector]:
    # An async fixture: it runs on the test's loop, so watch() attaches to it.
    # Its teardown raises for any report the test did not clear.
    with ambidex.detect.watch(threshold=QUIET_WATCHDOG, mode="raise", intercept=True) as d:
        yield d


async def test_what_is_patched_comes_from_the_table(
    intercepting: ambidex.detect.Detector,
) -> None:
    blocking_rows = {r.sync for r in intercepted_rules(DEFAULT_TABLE)}
    patched = set(intercepting.patched)
    # Everything patched is a blocking call/method row, and every such row is
    # either patched or has a reason why not.
    assert patched <= blocking_rows
    assert patched | set(intercepting.not_patched) == blocking_rows
    for rule in DEFAULT_TABLE.rules:
        if rule.sync in patched:
            assert rule.blocks and rule.kind in (Kind.CALL, Kind.METHOD)
    assert {
        "time.sleep", "socket.socket.recv", "socket.socket.sendall", "socket.create_connection",
        "os.stat", "open", "subprocess.run", "pathlib.Path.read_text", "queue.Queue.get",
        "threading.Event.wait", "select.select",
    } <= patched
    # C types cannot be patched; the reason says so.
    assert "threading.Lock.acquire" in intercepting.not_patched
    # Non-blocking rows are never touched.
    assert "socket.socket.close" not in patched
    assert "threading.Event.set" not in patched


async def test_time_sleep_raises_at_the_call(intercepting: ambidex.detect.Detector) -> None:
    async def handler() -> None:
        time.sleep(0.2)  # <- sleeps

    started = time.monotonic()
    with pytest.raises(BlockingCallError) as caught:
        await asyncio.create_task(handler(), name="handler")
    # Raised before the call, not after a 0.2 s sleep.
    assert time.monotonic() - started < 0.2
    report = caught.value.report
    assert report.kind == "call"
    assert report.call == "time.sleep"
    assert (report.file, report.line) == (__file__, line_of(handler, "# <- sleeps"))
    assert report.task == "handler"
    assert "use await asyncio.sleep" in str(caught.value)
    intercepting.reports.clear()  # caught on purpose


async def test_os_stat_and_open_raise_at_the_call(
    intercepting: ambidex.detect.Detector, tmp_path: pathlib.Path
) -> None:
    target = tmp_path / "f"
    # Path.write_bytes is a row too: set the file up off the loop, as one should.
    await asyncio.to_thread(target.write_bytes, b"data")

    def stat_it() -> None:
        os.stat(target)  # <- stat

    def open_it() -> None:
        open(target, "rb")  # <- open

    def read_text() -> None:
        target.read_text()  # <- read_text

    for call, function, marker in (
        ("os.stat", stat_it, "# <- stat"),
        ("open", open_it, "# <- open"),
        ("pathlib.Path.read_text", read_text, "# <- read_text"),
    ):
        with pytest.raises(BlockingCallError) as caught:
            function()
        assert caught.value.report.call == call
        assert caught.value.report.line == line_of(function, marker)
    intercepting.reports.clear()  # caught on purpose


async def test_recv_on_a_blocking_socket_raises_but_asyncio_sockets_pass(
    intercepting: ambidex.detect.Detector,
) -> None:
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    a.settimeout(5)  # blocking all the same; bounded should interception fail
    with a, b:
        def recv_blocking() -> None:
            a.recv(1)  # <- recv

        with pytest.raises(BlockingCallError) as caught:
            recv_blocking()
        assert caught.value.report.call == "socket.socket.recv"
        assert caught.value.report.line == line_of(recv_blocking, "# <- recv")
        # asyncio's own socket API uses the same methods on non-blocking sockets
        # from inside this task: that must not be reported.
        a.setblocking(False)
        b.setblocking(False)
        await loop.sock_sendall(b, b"ping")
        assert await loop.sock_recv(a, 4) == b"ping"
        # ... nor must a non-blocking socket used directly.
        b.send(b"!")
    assert [r.call for r in intercepting.reports] == ["socket.socket.recv"]
    intercepting.reports.clear()  # caught on purpose


async def test_calls_outside_tasks_and_off_the_loop_thread_pass(
    intercepting: ambidex.detect.Detector,
) -> None:
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def callback() -> None:  # a plain loop callback is not a task
        time.sleep(0)
        done.set_result(None)

    loop.call_soon(callback)
    await done
    await asyncio.to_thread(time.sleep, 0.01)  # another thread
    other = threading.Thread(target=time.sleep, args=(0.01,))
    other.start()
    other.join(timeout=0)  # timeout=0 does not block
    await asyncio.to_thread(other.join)
    assert intercepting.reports == []


async def test_stdlib_internals_and_nonblocking_arguments_pass(
    intercepting: ambidex.detect.Detector,
) -> None:
    # asyncio starts a subprocess with blocking calls of its own (os.read of the
    # exec pipe); those are the stdlib's business, not the task's.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "print('hi')", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert out.strip() == b"hi"
    event = threading.Event()
    assert event.wait(0) is False
    lock = threading.Semaphore(1)
    assert lock.acquire(blocking=False)
    import queue

    q: queue.Queue[int] = queue.Queue()
    q.put(1, block=False)
    assert q.get(block=False) == 1
    assert intercepting.reports == []


async def test_warn_mode_warns_and_still_makes_the_call() -> None:
    def nap() -> None:
        time.sleep(0.001)  # <- warned

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with ambidex.detect.watch(threshold=QUIET_WATCHDOG, mode="warn") as detector:
            nap()
    ours = [w for w in seen if issubclass(w.category, BlockingWarning)]
    assert [(w.filename, w.lineno) for w in ours] == [(__file__, line_of(nap, "# <- warned"))]
    assert "blocking call time.sleep()" in str(ours[0].message)
    assert [r.call for r in detector.reports] == ["time.sleep"]


async def test_log_mode_logs_and_still_makes_the_call(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ambidex.detect"):
        with ambidex.detect.watch(threshold=QUIET_WATCHDOG, mode="log"):
            os.stat(__file__)
    messages = [r.getMessage() for r in caplog.records if r.name == "ambidex.detect"]
    assert len(messages) == 1
    assert "blocking call os.stat()" in messages[0]


async def test_a_swallowed_blocking_call_error_still_fails_the_watch_block() -> None:
    with pytest.raises(BlockingCallError) as caught:
        with ambidex.detect.watch(threshold=QUIET_WATCHDOG):
            try:
                time.sleep(0)
            except Exception:
                pass  # a broad except in the code under test
    assert caught.value.report.call == "time.sleep"


def snapshot() -> dict[str, Any]:
    return {
        name: raw_attribute(*resolve(name))
        for name in ("time.sleep", "socket.socket.recv", "os.stat", "open",
                     "pathlib.Path.read_text", "subprocess.run", "threading.Event.wait")
    }


async def test_uninstall_restores_every_patched_attribute() -> None:
    before = snapshot()
    original_sleep = time.sleep
    with ambidex.detect.watch(threshold=QUIET_WATCHDOG) as detector:
        patched = list(detector.patched)
        originals = {}
        for name in patched:
            owner, attr = resolve(name)
            current = raw_attribute(owner, attr)
            wrapped = getattr(current, "__func__", current)
            assert hasattr(wrapped, "__ambidex_original__"), name
            originals[name] = (owner, attr)
        assert time.sleep is not original_sleep
    assert time.sleep is original_sleep
    assert "recv" not in vars(socket.socket)  # the C method shows through again
    assert snapshot() == before
    for name, (owner, attr) in originals.items():
        current = raw_attribute(owner, attr)
        assert not hasattr(getattr(current, "__func__", current), "__ambidex_original__"), name


async def test_nested_detectors_share_the_patches_until_the_last_leaves() -> None:
    original_sleep = time.sleep
    with ambidex.detect.watch(threshold=QUIET_WATCHDOG, mode="log") as outer:
        with ambidex.detect.watch(threshold=QUIET_WATCHDOG, mode="log"):
            pass
        assert time.sleep is not original_sleep
        time.sleep(0)
    assert time.sleep is original_sleep
    assert [r.call for r in outer.reports] == ["time.sleep"]


async def test_intercepted_call_in_a_subprocess_run_is_reported() -> None:
    with pytest.raises(BlockingCallError) as caught:
        with ambidex.detect.watch(threshold=QUIET_WATCHDOG) as detector:
            subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert detector.reports == caught.value.reports
    assert caught.value.report.call == "subprocess.run"
    assert "asyncio.create_subprocess_exec" in str(caught.value)


async def test_classifying_a_new_caller_does_not_call_the_patched_primitives() -> None:
    # The wrapper asks "is the caller stdlib?" for every file it has not seen;
    # answering must not itself call os.lstat & co., or the first stdlib caller
    # of a patched primitive (posixpath.realpath -> os.lstat) recurses forever.
    from ambidex.detect import _report

    with ambidex.detect.watch(threshold=QUIET_WATCHDOG) as detector:
        _report._stdlib_cache.clear()
        assert os.path.realpath(__file__)
    assert detector.reports == []


async def test_a_blocking_row_of_the_users_pyproject_is_intercepted(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[[tool.ambidex.rules]]\n"
        'sync = "slowlib_for_ambidex_test.fetch"\n'
        'fix = "use slowlib_for_ambidex_test.afetch"\n'
    )
    (tmp_path / "slowlib_for_ambidex_test.py").write_text(
        "def fetch():\n    return 'fetched'\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    import slowlib_for_ambidex_test  # type: ignore[import-not-found]

    def call_it() -> None:
        slowlib_for_ambidex_test.fetch()  # <- user row

    with pytest.raises(BlockingCallError) as caught:
        with ambidex.detect.watch(threshold=QUIET_WATCHDOG) as detector:
            assert "slowlib_for_ambidex_test.fetch" in detector.patched
            call_it()
    assert caught.value.report.call == "slowlib_for_ambidex_test.fetch"
    assert caught.value.report.line == line_of(call_it, "# <- user row")
    assert "use slowlib_for_ambidex_test.afetch" in str(caught.value)
    assert slowlib_for_ambidex_test.fetch() == "fetched"  # restored, and off the loop's watch
    monkeypatch.delitem(sys.modules, "slowlib_for_ambidex_test")
