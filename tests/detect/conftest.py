"""Helpers for the runtime detector's tests.

Line numbers are never hard-coded: each blocking line carries a marker comment
and :func:`line_of` finds it in the function's source.
"""

from __future__ import annotations

import ast
import inspect
import threading
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from ambidex.detect import BlockingReport, Detector
from ambidex.detect._watchdog import LoopWatchdog


def pytest_configure(config: pytest.Config) -> None:
    # pytester provides the `pytester` fixture for the plugin's tests. A
    # `pytest_plugins = ["pytester"]` here would be refused (pytest only accepts
    # it in the rootdir's conftest), so the plugin is registered when this
    # conftest is.
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


_PARSED: dict[str, ast.Module] = {}


def parsed(modules: Mapping[str, str]) -> dict[str, ast.Module]:
    """The parser's trees of ``modules`` (path -> text), for ``build(trees=...)``.

    Each text is parsed once per session: several tests build the call graph of
    the same real sources (src/, examples/, stdlib modules), most of them twice to
    compare two ways of resolving it, and parsing was about half of their time.
    The analysis does not change the trees it is handed (``build``'s ``trees``),
    so every build reads what a fresh parse of the same text gives. A text that
    does not parse is left out: ``build`` parses it and reports it.
    """
    trees: dict[str, ast.Module] = {}
    for path, text in modules.items():
        tree = _PARSED.get(text)
        if tree is None:
            try:
                tree = _PARSED[text] = ast.parse(text, filename=path)
            except SyntaxError:
                continue
        trees[path] = tree
    return trees


def line_of(function: Callable[..., Any], marker: str) -> int:
    """The line number of the only line of ``function``'s source containing ``marker``."""
    lines, first = inspect.getsourcelines(function)
    hits = [first + i for i, text in enumerate(lines) if marker in text]
    assert len(hits) == 1, f"marker {marker!r} found {len(hits)} times in {function.__name__}"
    return hits[0]


def the_only_report(detector: Detector) -> BlockingReport:
    """The detector's one report. On a miss, the message says whether the
    watchdog set the block aside as CPU starvation (``Detector.starved``) or
    never saw it: the two need different fixes."""
    assert len(detector.reports) == 1, (
        [str(r) for r in detector.reports],
        {"starved": [str(s) for s in detector.starved]},
    )
    return detector.reports[0]


def tell_when_a_wait_is_seen(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """An Event that is set once a watchdog has taken, as a block that stands,
    the stack of a loop thread waiting in ``threading`` (on this Event).

    A test that blocks its loop with ``seen.wait(30)`` then blocks exactly
    until the block is seen, not for a fixed time: a ``sleep(0.3)`` is missed
    whenever the watchdog's thread gets no CPU for those 0.3 s (one report of
    two at load 18). ``clear()`` it before the next block.

    Only a stack that stands counts: one taken while the loop thread slept
    (``final``) inside ``threading``'s ``wait``. A stack taken while the loop
    thread was runnable is provisional (the watchdog drops it if the thread
    turns out to have been waiting for a CPU, and the pong then sets the
    late answer aside as starvation); setting the Event on one ended a
    sandbox's block before it began, and the test that should have failed
    passed (3.10, load 8-18).
    """
    seen = threading.Event()
    capture = LoopWatchdog._capture

    def capture_and_tell(self: LoopWatchdog, *args: Any, **kwargs: Any) -> None:
        capture(self, *args, **kwargs)
        pending = self._pending
        if pending is not None and pending.final and any(
            frame.name == "wait" and frame.filename.endswith("threading.py")
            for frame in pending.stack
        ):
            seen.set()

    monkeypatch.setattr(LoopWatchdog, "_capture", capture_and_tell)
    return seen
