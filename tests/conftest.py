"""The session's last line of defence against a hang: no step of a test run may
wait forever.

pytest-timeout (``timeout = 120``, ``timeout_method = "thread"`` in pyproject)
ends a test that hangs: a thread of its own dumps every thread's stack and
exits the process. It only watches a test's setup, call and teardown, and it
is a Python thread, so it needs the GIL. Its other method, "signal", is not
enough for asyncio tests: SIGALRM's exception is raised in whatever Python
code runs at that moment, often a task's step, and asyncio stores it in that
task and keeps the loop running; the test then waits in epoll for good (seen
on 3.10 in session 5: a hang of 9 minutes that ``timeout = 120`` did not end).

This guard covers the rest: collection, the time between tests, the end of
the session (``atexit``, the join of non-daemon threads) and a thread that
holds the GIL while it deadlocks. It is faulthandler's watchdog, a C thread
that needs no GIL: it is re-armed as each test starts and as the session
ends, and when a step outlives its budget it writes every thread's Python
stack to the real stderr and exits with status 1. The budget is the test's
own timeout plus a margin, so pytest-timeout speaks first when it can.
"""

from __future__ import annotations

import faulthandler
import os
from collections.abc import Callable

import pytest

# Beyond a test's own timeout: time for pytest-timeout to dump the stacks first.
MARGIN = 60
# Collection (imports, hypothesis, ...) and the end of the session on a loaded machine.
COLLECTION = 300
SESSION_END = 180

_stderr_fd = -1


def _arm(seconds: float) -> None:
    faulthandler.dump_traceback_later(seconds, exit=True, file=_stderr_fd)


def _test_timeout(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    if marker is not None:
        value = marker.kwargs.get("timeout", marker.args[0] if marker.args else None)
        if value:
            return float(value)
    return float(item.config.getini("timeout") or 0)


def pytest_configure(config: pytest.Config) -> None:
    global _stderr_fd
    # fd 2 is the terminal here; during a test pytest's capture points it at a
    # temporary file, which an exit would lose. A copy keeps the terminal.
    _stderr_fd = os.dup(2)
    _arm(float(os.environ.get("AMBIDEX_TEST_GUARD_COLLECTION", COLLECTION)))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> None:
    timeout = _test_timeout(item)
    # A test with no timeout at all gets the session's end budget per step.
    _arm((timeout if timeout > 0 else SESSION_END) + MARGIN)


def pytest_sessionfinish() -> None:
    # Left armed on purpose: it also bounds atexit handlers and thread joins.
    _arm(float(os.environ.get("AMBIDEX_TEST_GUARD_END", SESSION_END)))


def _open_timer_descriptors() -> int:
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{name}") == "anon_inode:[timerfd]"
        except OSError:  # closed since listed
            pass
    return count


@pytest.fixture
def timer_descriptors() -> Callable[[], int]:
    """How many timer descriptors (Linux timerfd) the process holds open, when
    called: the clients' deadline timers (examples/_timer.py) must give theirs
    back on close. Sockets are not counted: they close in their own time."""
    return _open_timer_descriptors
