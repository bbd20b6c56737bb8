"""The pytest plugin fails async tests that block their loop, and only those.

Each test runs a small suite in a pytester sandbox, in-process, with the
plugin loaded the way every pytest run loads it (its pytest11 entry point).
"""

from __future__ import annotations

import pytest

# Imported here, before any sandbox run: pytester runs each sandbox in-process
# and afterwards drops from sys.modules every module the run imported. The
# plugin imports the detector lazily, and the detector reads the rule table
# through ambidex._config, which imports ambidex._rules lazily too; a module
# first imported inside one run would be imported afresh by the next run while
# its older copy stayed bound elsewhere (the interceptor compared the second
# run's rules against the first run's Kind enum, patched nothing, and the
# watchdog's "loop blocked" report came instead of the intercepted call).
import ambidex._rules
import ambidex.detect._detector  # noqa: F401

# The suite's blocking test blocks until the watchdog has taken the stack of
# its block (the sandbox's `seen` fixture, below), not for a fixed 0.3 s: on a
# loaded machine the watchdog's thread can wait for a CPU longer than that and
# miss the whole block (traced: 312 ms without a turn at load 14 on 3.12), and
# the test then passed. Only a stack that stands counts (see
# tests/detect/conftest.py's tell_when_a_wait_is_seen): a provisional one, taken
# while the loop thread was runnable, ended the block before it began. What it
# pins is the plugin's part: a block the watchdog saw fails the test with the
# block's line.
ASYNCIO_SUITE = '''
import asyncio
import pytest
from time import sleep

@pytest.mark.asyncio
async def test_blocks(seen):
    await asyncio.sleep(0)
    seen.wait(30)  # <- blocks
    await asyncio.sleep(0)

@pytest.mark.asyncio
async def test_clean():
    for _ in range(5):
        await asyncio.sleep(0.01)

def test_sync_tests_are_left_alone():
    sleep(0.01)
'''

ANYIO_SUITE = '''
import asyncio
import pytest
from time import sleep

@pytest.fixture
def anyio_backend():
    return "asyncio"

@pytest.mark.anyio
async def test_blocks():
    sleep(0.3)  # <- blocks
    await asyncio.sleep(0)

@pytest.mark.anyio
async def test_clean():
    for _ in range(5):
        await asyncio.sleep(0.01)
'''

MARKED_SUITE = '''
import asyncio
import pytest
from time import sleep

@pytest.mark.asyncio
@pytest.mark.blocking_budget(50)
async def test_marked_blocks():
    sleep(0.3)  # <- blocks
    await asyncio.sleep(0)

@pytest.mark.asyncio
@pytest.mark.blocking_budget(2000)
async def test_within_a_generous_budget():
    sleep(0.01)
    await asyncio.sleep(0)

@pytest.mark.asyncio
async def test_unmarked_blocks_unseen():
    sleep(0.3)
    await asyncio.sleep(0)
'''


SANDBOX_CONFTEST = '''
import threading
import pytest
from tests.detect.conftest import tell_when_a_wait_is_seen

@pytest.fixture
def seen(request, monkeypatch):
    """Set once the watchdog has taken the stack of the loop thread waiting
    on it: a test that waits on it blocks its loop until the block is seen.
    Where nothing watches the test (detection off), it is set after 0.3 s: a
    block as long as a sleep(0.3)."""
    event = tell_when_a_wait_is_seen(monkeypatch)
    watched = (request.config.getoption("ambidex_blocking") != "off"
               or request.node.get_closest_marker("blocking_budget") is not None)
    if not watched:
        timer = threading.Timer(0.3, event.set)
        timer.start()
        request.addfinalizer(timer.join)
        request.addfinalizer(timer.cancel)  # runs first: finalizers run last-in first-out
    return event
'''


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest(SANDBOX_CONFTEST)
    pytester.makepyfile(test_suite=source)
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def blocking_line(pytester: pytest.Pytester) -> int:
    """The line of ``# <- blocks`` in the suite file as pytester wrote it."""
    text = (pytester.path / "test_suite.py").read_text()
    return next(i for i, line in enumerate(text.splitlines(), 1) if "# <- blocks" in line)


def test_asyncio_blocking_test_fails_with_the_blocking_line(pytester: pytest.Pytester) -> None:
    result = run(pytester, ASYNCIO_SUITE, "--ambidex-blocking=raise",
                 "--ambidex-blocking-budget=50")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "FAILED test_suite.py::test_blocks*",
    ])
    line = blocking_line(pytester)
    result.stdout.fnmatch_lines([f"*BlockingCallError: *test_suite.py:{line}: in test_blocks*"])
    result.stdout.fnmatch_lines(["*seen.wait(30)  # <- blocks*"])  # the captured stack


GIL_SUITE = '''
import asyncio
import re
import pytest

@pytest.mark.asyncio
async def test_backtracks():
    await asyncio.sleep(0)
    re.match(r"(a+)+$", "a" * 22 + "b")  # <- blocks
    await asyncio.sleep(0)
'''


def test_a_test_whose_c_call_keeps_the_gil_fails_with_the_calls_line(
    pytester: pytest.Pytester,
) -> None:
    from ambidex.detect import _native

    if not _native.available():
        pytest.skip("the native watcher is not built here")
    result = run(pytester, GIL_SUITE, "--ambidex-blocking=raise", "--ambidex-blocking-budget=50")
    result.assert_outcomes(failed=1)
    line = blocking_line(pytester)
    result.stdout.fnmatch_lines([f"*BlockingCallError: *test_suite.py:{line}: in test_backtracks*"])


def test_anyio_blocking_test_fails_with_the_blocking_line(pytester: pytest.Pytester) -> None:
    result = run(pytester, ANYIO_SUITE, "--ambidex-blocking=raise",
                 "--ambidex-blocking-budget=50")
    result.assert_outcomes(passed=1, failed=1)
    line = blocking_line(pytester)
    result.stdout.fnmatch_lines([f"*BlockingCallError: *test_suite.py:{line}: in test_blocks*"])


def test_plugin_is_inert_by_default(pytester: pytest.Pytester) -> None:
    result = run(pytester, ASYNCIO_SUITE)
    result.assert_outcomes(passed=3)
    assert "BlockingWarning" not in result.stdout.str()


# The suite makes RuntimeWarning an error; the inner run under test must see its
# BlockingWarning (a RuntimeWarning) as the warning warn mode emits.
@pytest.mark.filterwarnings("default::ambidex.detect.BlockingWarning")
def test_warn_mode_passes_and_warns_at_the_blocking_line(pytester: pytest.Pytester) -> None:
    result = run(pytester, ASYNCIO_SUITE, "--ambidex-blocking=warn",
                 "--ambidex-blocking-budget=50")
    result.assert_outcomes(passed=3, warnings=1)
    line = blocking_line(pytester)
    result.stdout.fnmatch_lines([f"*test_suite.py:{line}: BlockingWarning*"])


def test_marker_sets_the_budget_and_turns_detection_on(pytester: pytest.Pytester) -> None:
    result = run(pytester, MARKED_SUITE)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_suite.py::test_marked_blocks*"])
    line = blocking_line(pytester)
    result.stdout.fnmatch_lines([f"*test_suite.py:{line}: in test_marked_blocks*"])


def test_marker_with_a_bad_budget_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = run(pytester, '''
import pytest

@pytest.mark.blocking_budget("soon")
async def test_x():
    pass
''', "-p", "asyncio", "-o", "asyncio_mode=auto")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*blocking_budget needs a positive number of milliseconds*"])


def test_intercept_option_fails_at_the_call(pytester: pytest.Pytester) -> None:
    source = '''
import asyncio
import time
import pytest

@pytest.mark.asyncio
async def test_blocks():
    time.sleep(0.08)  # <- blocks
    await asyncio.sleep(0)
'''
    result = run(pytester, source, "--ambidex-blocking=raise", "--ambidex-blocking-intercept",
                 "--ambidex-blocking-budget=20")
    result.assert_outcomes(failed=1)
    line = blocking_line(pytester)
    result.stdout.fnmatch_lines([
        f"*BlockingCallError: *test_suite.py:{line}: in test_blocks*blocking call time.sleep()*"
    ])


def test_allow_blocking_exempts_a_test_or_one_parameter(pytester: pytest.Pytester) -> None:
    source = '''
import asyncio
import pytest
from time import sleep

@pytest.mark.asyncio
@pytest.mark.allow_blocking
async def test_blocks_on_purpose():
    sleep(0.3)
    await asyncio.sleep(0)

@pytest.mark.asyncio
@pytest.mark.parametrize("colour", [
    "async",
    pytest.param("sync", marks=pytest.mark.allow_blocking),
])
async def test_either_colour(colour):
    if colour == "sync":
        sleep(0.3)
    await asyncio.sleep(0)

@pytest.mark.asyncio
async def test_still_watched():
    sleep(0.3)  # <- blocks
    await asyncio.sleep(0)
'''
    result = run(pytester, source, "--ambidex-blocking=raise", "--ambidex-blocking-budget=50")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_suite.py::test_still_watched*"])
    line = blocking_line(pytester)
    result.stdout.fnmatch_lines([f"*test_suite.py:{line}: in test_still_watched*"])


def test_the_budget_applies_to_intercepted_calls_too(pytester: pytest.Pytester) -> None:
    source = '''
import asyncio
import time
import pytest

@pytest.mark.asyncio
@pytest.mark.blocking_budget(500)
async def test_within_its_budget():
    time.sleep(0.2)
    await asyncio.sleep(0)

@pytest.mark.asyncio
@pytest.mark.blocking_budget(50)
async def test_over_its_budget():
    time.sleep(0.2)  # <- blocks
    await asyncio.sleep(0)
'''
    result = run(pytester, source, "--ambidex-blocking-intercept")
    result.assert_outcomes(passed=1, failed=1)
    line = blocking_line(pytester)
    result.stdout.fnmatch_lines([
        f"*BlockingCallError: *test_suite.py:{line}: in test_over_its_budget*time.sleep()*"
    ])


def test_a_blocking_async_fixture_fails_the_test_that_uses_it(pytester: pytest.Pytester) -> None:
    source = '''
import asyncio
import pytest
import pytest_asyncio
from time import sleep

@pytest_asyncio.fixture
async def slow_setup():
    sleep(0.3)  # <- blocks
    await asyncio.sleep(0)
    return 1

@pytest_asyncio.fixture
async def slow_teardown():
    await asyncio.sleep(0)
    yield 2
    sleep(0.3)

@pytest_asyncio.fixture
async def clean():
    await asyncio.sleep(0)
    yield 3
    await asyncio.sleep(0)

@pytest.mark.asyncio
async def test_uses_slow_setup(slow_setup):
    await asyncio.sleep(0)

@pytest.mark.asyncio
async def test_uses_slow_teardown(slow_teardown):
    await asyncio.sleep(0)

@pytest.mark.asyncio
async def test_uses_clean(clean):
    await asyncio.sleep(0)

@pytest.mark.asyncio
@pytest.mark.allow_blocking
async def test_allowed(slow_setup):
    await asyncio.sleep(0)
'''
    result = run(pytester, source, "--ambidex-blocking=raise", "--ambidex-blocking-budget=50")
    result.assert_outcomes(passed=3, errors=2)
    line = blocking_line(pytester)
    result.stdout.fnmatch_lines([
        "ERROR test_suite.py::test_uses_slow_setup*",
        "ERROR test_suite.py::test_uses_slow_teardown*",
    ], consecutive=False)
    result.stdout.fnmatch_lines([f"*BlockingCallError: *test_suite.py:{line}: in slow_setup*"])
