"""Helpers for the runtime detector's tests.

Line numbers are never hard-coded: each blocking line carries a marker comment
and :func:`line_of` finds it in the function's source.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from ambidex.detect import BlockingReport, Detector


def pytest_configure(config: pytest.Config) -> None:
    # pytester provides the `pytester` fixture for the plugin's tests. A
    # `pytest_plugins = ["pytester"]` here would be refused (pytest only accepts
    # it in the rootdir's conftest), so the plugin is registered when this
    # conftest is.
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


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
