"""Whose frame a report names, and how it reads."""

from __future__ import annotations

import os
import sysconfig
import traceback

from ambidex.detect import BlockingCallError, BlockingReport
from ambidex.detect._report import blame, is_stdlib_file

STDLIB = sysconfig.get_path("stdlib")
SITE = os.path.join(STDLIB, "site-packages")
EVENTS = os.path.join(STDLIB, "asyncio", "events.py")


def frame(filename: str, line: int, name: str) -> traceback.FrameSummary:
    return traceback.FrameSummary(filename, line, name, lookup_line=False)


def stack(*frames: traceback.FrameSummary) -> traceback.StackSummary:
    return traceback.StackSummary.from_list(list(frames))


RUNNER = frame(os.path.join(SITE, "pytest_asyncio", "plugin.py"), 915, "inner")
LOOP_RUN = frame(EVENTS, 80, "_run")


def test_stdlib_and_site_packages_are_told_apart() -> None:
    assert is_stdlib_file(EVENTS)
    assert is_stdlib_file("<frozen importlib._bootstrap>")
    assert not is_stdlib_file(os.path.join(SITE, "redis", "connection.py"))
    assert not is_stdlib_file(__file__)


def test_the_users_innermost_frame_is_named_over_libraries_below_it() -> None:
    user = frame("/app/handler.py", 12, "handle")
    summary = stack(
        RUNNER, LOOP_RUN, user,
        frame(os.path.join(SITE, "redis", "connection.py"), 400, "read_response"),
        frame(os.path.join(STDLIB, "socket.py"), 700, "readinto"),
    )
    assert blame(summary) is user


def test_a_library_frame_is_named_when_no_user_code_runs() -> None:
    library = frame(os.path.join(SITE, "redis", "connection.py"), 400, "read_response")
    summary = stack(RUNNER, LOOP_RUN, library, frame(os.path.join(STDLIB, "socket.py"), 1, "x"))
    assert blame(summary) is library


def test_a_block_inside_asyncio_is_named_there_not_at_the_runner() -> None:
    inside = frame(os.path.join(STDLIB, "asyncio", "selector_events.py"), 300, "_read_ready")
    assert blame(stack(RUNNER, LOOP_RUN, inside)) is inside


def test_report_text_names_the_place_then_shows_the_loops_part_of_the_stack() -> None:
    user = frame("/app/handler.py", 12, "handle")
    report = BlockingReport.from_stack(
        stack(RUNNER, LOOP_RUN, user), kind="blocked", duration=0.25, task="worker"
    )
    assert (report.file, report.line, report.function) == ("/app/handler.py", 12, "handle")
    text = str(report)
    assert text.startswith(
        "/app/handler.py:12: in handle (task 'worker'): "
        "the event loop was blocked for at least 250 ms"
    )
    assert "handler.py" in report.stack and "pytest_asyncio" not in report.stack


def test_an_error_with_several_reports_lists_them_all() -> None:
    reports = [
        BlockingReport.from_stack(stack(frame("/app/a.py", n, "f")), kind="call",
                                  duration=None, task=None, call="time.sleep",
                                  advice="use await asyncio.sleep")
        for n in (1, 2)
    ]
    error = BlockingCallError(reports)
    assert error.report is reports[0]
    assert "blocked 2 times" in str(error)
    assert "/app/a.py:1: in f: blocking call time.sleep() from a task; use await asyncio.sleep" \
        in str(error)
    assert "/app/a.py:2" in str(error)


def test_ambidex_frames_are_skipped_for_the_line_that_called_them() -> None:
    import ambidex

    package = os.path.dirname(os.path.abspath(ambidex.__file__))
    user = frame("/app/handler.py", 30, "handle")
    summary = stack(
        RUNNER, LOOP_RUN, user,
        frame(os.path.join(package, "io", "_sync.py"), 280, "_recv"),
        frame(os.path.join(STDLIB, "socket.py"), 1, "recv"),
    )
    assert blame(summary) is user
