"""pytest plugin: fail async tests that block the event loop.

Loaded in every pytest run through the ``pytest11`` entry point, and inert
unless asked: nothing runs until ``--ambidex-blocking`` is given or a test
carries ``@pytest.mark.blocking_budget``. Then each async test (pytest-asyncio
or anyio on its asyncio backend) runs with a watchdog installed on its own
loop, from inside the test's coroutine, so the plugin works with whatever
loop the runner made:

``--ambidex-blocking=raise``
    a test whose loop is blocked longer than its budget fails with
    :class:`~ambidex.detect.BlockingCallError`, whose message holds the
    blocking frame's file:line and the stack captured while it blocked.
``--ambidex-blocking=warn``
    the same as a :class:`~ambidex.detect.BlockingWarning` in pytest's warnings
    summary.
``--ambidex-blocking-budget=MS``
    the default budget (100 ms).
``--ambidex-blocking-intercept``
    also intercept the rule table's blocking primitives, so a test fails at
    the very call (``time.sleep``, ``socket.recv``, ``open``...).
``@pytest.mark.blocking_budget(ms)``
    this test's budget; on a test it also turns detection on ("raise") when
    the command line did not.
``@pytest.mark.allow_blocking``
    never watch this test: for tests that block the loop on purpose (a sync
    client driven from an async test body, a test of a detector). On a
    parameter (``pytest.param(..., marks=pytest.mark.allow_blocking)``) it
    exempts that case only.

What is watched is the test's own coroutine, from its first line to its
last: async fixtures' setup and teardown run outside it and are not. Sync
tests, trio-backend tests and hypothesis-wrapped async tests are left alone
(there is no asyncio loop to watch, or the coroutine is not the test's).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Generator
from typing import Any

import pytest

_MARKER = "blocking_budget"
_ALLOW = "allow_blocking"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ambidex", "ambidex: blocking-call detection")
    group.addoption(
        "--ambidex-blocking",
        choices=("off", "raise", "warn"),
        default="off",
        help="fail (raise) or warn when an async test blocks its event loop longer than "
        "its budget (default: off)",
    )
    group.addoption(
        "--ambidex-blocking-budget",
        type=float,
        default=100.0,
        metavar="MS",
        help="default budget in milliseconds for --ambidex-blocking (default: 100)",
    )
    group.addoption(
        "--ambidex-blocking-intercept",
        action="store_true",
        default=False,
        help="also intercept the rule table's blocking calls, failing at the call",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(ms): fail this async test if its event loop is blocked longer than ms "
        "milliseconds (turns ambidex's blocking detection on for it)",
    )
    config.addinivalue_line(
        "markers",
        f"{_ALLOW}: this test blocks its event loop on purpose; ambidex's blocking "
        "detection leaves it alone",
    )


def _settings(item: pytest.Item) -> tuple[str, float, bool] | None:
    """(mode, budget in seconds, intercept) for this test, or None when off."""
    mode = str(item.config.getoption("ambidex_blocking", "off"))
    marker = item.get_closest_marker(_MARKER)
    if mode == "off" and marker is None:
        return None
    if item.get_closest_marker(_ALLOW) is not None:
        return None
    budget_ms = float(item.config.getoption("ambidex_blocking_budget", 100.0))
    if marker is not None:
        value = marker.args[0] if marker.args else marker.kwargs.get("ms")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.{_MARKER} needs a positive number of "
                f"milliseconds, got {value!r}"
            )
        budget_ms = float(value)
    if mode == "off":
        mode = "raise"
    intercept = bool(item.config.getoption("ambidex_blocking_intercept", False))
    return mode, budget_ms / 1000.0, intercept


def _watched(
    test: Callable[..., Any], mode: str, threshold: float, intercept: bool
) -> Callable[..., Any]:
    @functools.wraps(test)
    async def ambidex_watched_test(*args: Any, **kwargs: Any) -> Any:
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # anyio on trio: no asyncio loop to watch
            return await test(*args, **kwargs)
        from ambidex.detect._detector import install

        detector = install(
            loop, threshold=threshold, mode=mode,  # type: ignore[arg-type]
            intercept=intercept,
        )
        try:
            result = await test(*args, **kwargs)
        finally:
            detector.uninstall()
        detector.check()
        return result

    return ambidex_watched_test


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    settings = _settings(item)
    if (
        settings is None
        or not isinstance(item, pytest.Function)
        or not inspect.iscoroutinefunction(item.obj)
        or hasattr(item.obj, "hypothesis")
    ):
        return (yield)
    original = item.obj
    item.obj = _watched(original, *settings)
    try:
        return (yield)
    finally:
        item.obj = original
