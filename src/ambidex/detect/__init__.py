"""Find what blocks the event loop: statically, at run time, and in tests.

"You do not block the event loop" is only a rule if you can see when you break
it. This package gives three ways to see it; each catches what the others miss.

The lint (``ambidex lint``)
    Reads the code, follows the call graph from every ``async def`` and reports
    each call of a blocking primitive of the rule table, with the chain of calls
    that reaches it. Sees code that never ran; misses what it cannot resolve
    statically (dynamic dispatch, C extensions, CPU-bound loops).

The watchdog (run time)
    A thread that notices the loop stop answering. Every ``threshold / 4`` it
    posts the loop one callback (a ping, ``call_soon_threadsafe``; nothing per
    task step, no timer in the loop's schedule); when a ping has waited longer
    than ``threshold`` the thread reads the loop thread's stack *while it is
    blocked*, and when the loop comes back it reports the innermost frame of
    your code (stdlib, asyncio and ambidex frames skipped), the task, and how
    long the loop did not answer. It catches everything that blocks:
    ``time.sleep`` under any name (``from time import sleep``), CPU loops, C
    extensions, a slow ``open().read()``. It cannot raise into a thread stuck in
    C, so "raise" mode raises when the ``watch()`` block ends. A block longer
    than ``threshold`` plus two ping intervals is seen when the watchdog's
    thread gets a CPU as it asks, a shorter one may not be; a run of many
    short callbacks that together delay the loop is reported too, at
    whichever one was running. A C call that keeps the GIL
    (a regex that backtracks, a ``ctypes.PyDLL`` function, an extension's long
    computation) keeps that thread from running too: a native thread that
    needs no GIL (``_gilwatch``) sees it while it lasts and reports it at the
    call's line, on asyncio's loops and uvloop's. It needs the extensions
    built (Linux, CPython 3.10 to 3.13 with a GIL). Without it such calls go
    unseen and nothing else changes: ``detector.gil_unwatched`` says why for
    each watched loop (an INFO line of ``ambidex.detect`` too). On a busy
    machine the loop's
    thread may wait for a CPU longer than the threshold: on Linux, where the
    kernel counts that wait per thread, the threshold is counted in the loop's
    own time and such a late answer is no report (``detector.starved`` keeps
    it); a sleep, a blocking call or a CPU loop is still reported, unless the
    machine keeps the watchdog's own thread from a CPU for the whole block
    (seen: 0.3 to 0.7 s at load 14 to 20 on 2 cores). A block that begins as
    the loop answers a ping is seen even when the watchdog's next turn comes
    late: the kernel's counts show that the loop's thread has slept in it
    since.

Interception (run time, opt-in)
    Replaces the table's blocking primitives (rows with ``blocks=True`` of kind
    call or method that name a real, patchable Python object: ``time.sleep``,
    ``socket.socket.recv``, ``os.stat``, ``subprocess.run``, ``Path.read_text``,
    ...) by wrappers that report a call made on a watched loop's thread, inside a
    task, directly by non-stdlib code, that would really block (a socket with
    timeout 0 does not). In "raise" mode the call raises
    :class:`BlockingCallError` before it happens, so a test fails *at the call*.
    It misses names bound before activation (``from time import sleep``: the
    module's own binding still points at the original; that is what the watchdog
    is for), methods of C types (``threading.Lock`` objects, the file objects of
    ``open()``: ``open`` itself is caught), third-party modules not yet imported,
    and anything not in the table. ``detector.not_patched`` says which rows were
    left alone and why. Blocking rows you add in ``[[tool.ambidex.rules]]`` of
    your pyproject.toml are intercepted too, so your own slow library can fail
    a test at its call.

Modes: "raise" (tests), "warn" (a :class:`BlockingWarning` at your file:line),
"log" (the ``ambidex.detect`` logger). Every report is also a
:class:`BlockingReport` object (duration, file, line, function, task, stack)
in ``detector.reports`` and handed to ``on_report`` hooks.

In tests::

    async def test_handler_does_not_block():
        with ambidex.detect.watch(threshold=0.05):     # raise, intercept
            await handler()

or, for a whole suite, the pytest plugin: ``pytest --ambidex-blocking=raise``
fails every async test (pytest-asyncio or anyio) whose loop is blocked longer
than ``--ambidex-blocking-budget`` ms (default 100); ``@pytest.mark.blocking_budget(ms)``
sets one test's budget and turns detection on for it; ``@pytest.mark.allow_blocking``
exempts a test that blocks on purpose. The failure shows the blocking frame's
stack. ``--ambidex-blocking-intercept`` adds interception, failing at the call.

In staging, where overhead matters, the watchdog alone in "log" mode::

    detector = ambidex.detect.install(loop, threshold=0.1, mode="log")
    ...
    detector.uninstall()

Its cost at ``threshold=0.1`` is one callback and one thread wake-up every 25 ms:
a few per cent of a loop that does nothing but ``await asyncio.sleep(0)``, noise
for real work (``python tools/bench/detect.py`` measures it against blockbuster
and asyncio's debug mode).

In a program you cannot edit::

    AMBIDEX_DETECT=warn AMBIDEX_DETECT_THRESHOLD=0.05 python -m ambidex.detect.run app.py args
    AMBIDEX_DETECT=log python -m ambidex.detect.run -m package.module args

``ambidex.detect.run`` installs a detector that wraps the event loop policy, so
every loop the program creates through ``asyncio.run``/``asyncio.Runner``/
``new_event_loop`` is watched (``AMBIDEX_DETECT_INTERCEPT=1`` adds
interception). A program that builds a loop class by hand bypasses the policy:
call ``ambidex.detect.install(loop)`` there, or ``install_from_env()`` at start.

Importing this package is cheap and does nothing: the runtime machinery is
imported on first use (the pytest plugin loads it in every pytest run).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ambidex.detect._detector import Detector, install, install_from_env, watch
    from ambidex.detect._lint import Finding, LintResult, lint_paths, lint_sources
    from ambidex.detect._report import BlockingCallError, BlockingReport, BlockingWarning

_LAZY = {
    "Detector": "ambidex.detect._detector",
    "install": "ambidex.detect._detector",
    "install_from_env": "ambidex.detect._detector",
    "watch": "ambidex.detect._detector",
    "BlockingCallError": "ambidex.detect._report",
    "BlockingReport": "ambidex.detect._report",
    "BlockingWarning": "ambidex.detect._report",
    "Finding": "ambidex.detect._lint",
    "LintResult": "ambidex.detect._lint",
    "lint_paths": "ambidex.detect._lint",
    "lint_sources": "ambidex.detect._lint",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ambidex.detect' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "BlockingCallError",
    "BlockingReport",
    "BlockingWarning",
    "Detector",
    "Finding",
    "LintResult",
    "install",
    "install_from_env",
    "lint_paths",
    "lint_sources",
    "watch",
]
