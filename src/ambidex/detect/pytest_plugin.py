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
    the very call (``time.sleep``, ``socket.recv``, ``open``...) with its
    name and advice. The budget applies to these calls too: a call is
    reported when it took longer than the budget (a 200 ms sleep passes
    under ``blocking_budget(500)``), right after it returns.
``@pytest.mark.blocking_budget(ms)``
    this test's budget; on a test it also turns detection on ("raise") when
    the command line did not.
``@pytest.mark.allow_blocking``
    never watch this test: for tests that block the loop on purpose (a sync
    client driven from an async test body, a test of a detector). On a
    parameter (``pytest.param(..., marks=pytest.mark.allow_blocking)``) it
    exempts that case only.

What is watched is the test's own coroutine, from its first line to its
last, and the async fixtures it uses (pytest-asyncio's and anyio's): a
fixture's setup, and an async generator fixture's teardown, run watched with
the settings of the test that requested it, and a fixture that blocks is an
error of that test, naming the fixture's line. A fixture shared by several
tests (module or session scope) is watched with the settings of the first
test that set it up. Sync tests and fixtures, trio-backend tests and
hypothesis-wrapped async tests are left alone (there is no asyncio loop to
watch, or the coroutine is not the test's).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
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


def _settings(item: pytest.Item | pytest.Collector) -> tuple[str, float, bool] | None:
    """(mode, budget in seconds, intercept) for this test (or the node a
    fixture is set up for), or None when off."""
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


async def _run_watched(
    step: Awaitable[Any], mode: str, threshold: float, intercept: bool
) -> Any:
    """Await ``step`` with a detector on the running loop; raise what it found."""
    import asyncio

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # anyio on trio: no asyncio loop to watch
        return await step
    from ambidex.detect._detector import install

    detector = install(
        loop, threshold=threshold, mode=mode,  # type: ignore[arg-type]
        intercept=intercept, budget_calls=True,
    )
    try:
        result = await step
    finally:
        detector.uninstall()
    detector.check()
    return result


def _watched(
    test: Callable[..., Any], mode: str, threshold: float, intercept: bool
) -> Callable[..., Any]:
    @functools.wraps(test)
    async def ambidex_watched_test(*args: Any, **kwargs: Any) -> Any:
        return await _run_watched(test(*args, **kwargs), mode, threshold, intercept)

    return ambidex_watched_test


async def _finished(steps: AsyncGenerator[Any, None]) -> bool:
    """Run an async generator fixture's teardown; True when it ended as it should."""
    try:
        await steps.__anext__()
    except StopAsyncIteration:
        return True
    return False


def _watched_fixture(
    fixture: Callable[..., Any], mode: str, threshold: float, intercept: bool
) -> Callable[..., Any]:
    """An async fixture function whose setup and teardown run watched.

    It stays a coroutine function or an async generator function, with the
    original's attributes (``functools.wraps``), so that pytest-asyncio and
    anyio recognise and drive it as they would the original.
    """
    if inspect.isasyncgenfunction(fixture):

        @functools.wraps(fixture)
        async def ambidex_watched_generator_fixture(*args: Any, **kwargs: Any) -> Any:
            steps = fixture(*args, **kwargs)
            yield await _run_watched(steps.__anext__(), mode, threshold, intercept)
            if not await _run_watched(_finished(steps), mode, threshold, intercept):
                raise RuntimeError(f"async generator fixture {fixture.__name__} yielded twice")

        return ambidex_watched_generator_fixture

    @functools.wraps(fixture)
    async def ambidex_watched_fixture(*args: Any, **kwargs: Any) -> Any:
        return await _run_watched(fixture(*args, **kwargs), mode, threshold, intercept)

    return ambidex_watched_fixture


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    """Watch async fixtures: swap in a watched twin of the function while the
    async plugins (which run inside this wrapper) set the fixture up."""
    function = fixturedef.func
    if not (inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)):
        return (yield)
    node = getattr(request, "_pyfuncitem", None) or request.node
    settings = _settings(node)
    if settings is None:
        return (yield)
    fixturedef.func = _watched_fixture(function, *settings)  # type: ignore[misc]
    try:
        return (yield)
    finally:
        fixturedef.func = function  # type: ignore[misc]


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
