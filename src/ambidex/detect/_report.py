"""What a detection says: the report object, the error, and whose frame to blame.

Both mechanisms (the watchdog and the interception) end in a
:class:`BlockingReport`. The report names one frame, the innermost frame of
*the user's* code: a stack that blocked in ``time.sleep`` called from
``socket.py`` called from ``http/client.py`` called from ``app.py:42`` is
reported at ``app.py:42``, because that is the line the user can change.
The whole stack is kept too, formatted, for when the blame is wrong.
"""

from __future__ import annotations

import os
import sysconfig
import traceback
from dataclasses import dataclass, field
from types import FrameType
from typing import Literal

__all__ = ["BlockingCallError", "BlockingReport", "BlockingWarning"]


def _norm(path: str) -> str:
    # abspath, not realpath: this runs inside interception's wrapper, and realpath
    # calls os.lstat, itself a patched primitive. Symlinks are handled by listing
    # each folder both as given and as resolved (resolved once, at import).
    return os.path.normcase(os.path.abspath(path))


def _both(path: str) -> set[str]:
    return {_norm(path) + os.sep, os.path.normcase(os.path.realpath(path)) + os.sep}


# The standard library's folders. site-packages often lives *inside* the stdlib
# folder (/usr/lib/python3.11/site-packages), so it is excluded explicitly.
_STDLIB_DIRS = tuple(
    set().union(*(_both(p) for key in ("stdlib", "platstdlib") if (p := sysconfig.get_path(key))))
)
# ambidex's own frames are skipped like the stdlib's: a blocking Stream.read()
# is reported at the user's line that called it, which is the line to change.
_AMBIDEX_DIRS = tuple(_both(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
_THIRD_PARTY_MARKERS = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")

_stdlib_cache: dict[str, bool] = {}
_skip_cache: dict[str, bool] = {}


def is_stdlib_file(filename: str) -> bool:
    """True when ``filename`` is a module of the standard library (or frozen/builtin code).

    Cached per file name: interception asks this on its slow path, once per call.
    """
    known = _stdlib_cache.get(filename)
    if known is not None:
        return known
    if filename.startswith("<"):
        # <frozen importlib._bootstrap>, <string> from exec: frozen modules are the
        # stdlib; other pseudo-files are user code run through exec.
        result = filename.startswith("<frozen ")
    else:
        path = _norm(filename)
        result = path.startswith(_STDLIB_DIRS) and not any(
            marker in path for marker in _THIRD_PARTY_MARKERS
        )
    _stdlib_cache[filename] = result
    return result


def _is_skipped(filename: str) -> bool:
    """Frames not blamed while a user frame exists: the stdlib (asyncio included)
    and ambidex itself."""
    known = _skip_cache.get(filename)
    if known is None:
        known = is_stdlib_file(filename) or (
            not filename.startswith("<") and _norm(filename).startswith(_AMBIDEX_DIRS)
        )
        _skip_cache[filename] = known
    return known


def _is_third_party(filename: str) -> bool:
    return any(marker in filename for marker in _THIRD_PARTY_MARKERS)


def extract_stack(frame: FrameType | None, limit: int = 60) -> traceback.StackSummary:
    """The stack from ``frame`` outwards, outermost first (as tracebacks print).

    Called from the watchdog thread on *another* thread's frame: reading a
    frame's code and line number is safe under the GIL, and the source lines are
    read here (off the loop) rather than when the report is printed.
    """
    frames: list[tuple[FrameType, int]] = []
    while frame is not None and len(frames) < limit:
        frames.append((frame, frame.f_lineno))
        frame = frame.f_back
    frames.reverse()
    return traceback.StackSummary.extract(frames, lookup_lines=True)


def loop_part(stack: traceback.StackSummary) -> traceback.StackSummary:
    """The part of ``stack`` the event loop is running: from the callback or task
    step on (after asyncio's ``Handle._run``). The frames that started the loop
    (pytest, ``asyncio.run``) say nothing about a block and would bury it. The
    whole stack when there is no such frame."""
    start = 0
    for i, summary in enumerate(stack):
        if summary.name == "_run" and summary.filename.endswith(
            os.path.join("asyncio", "events.py")
        ):
            start = i + 1
    if start == 0 or start >= len(stack):
        return stack
    return traceback.StackSummary.from_list(list(stack)[start:])


def blame(stack: traceback.StackSummary) -> traceback.FrameSummary | None:
    """The frame to name: the innermost frame of the user's code that the loop runs.

    Among the frames of the running callback or task step (:func:`loop_part`):
    the innermost that is neither stdlib, ambidex nor an installed third-party
    package; failing that, the innermost that is not stdlib or ambidex;
    failing that, the innermost frame (a block inside asyncio's
    own machinery is named where it is, not at the runner that started the loop).
    """
    frames = list(loop_part(stack))
    for summary in reversed(frames):
        if not _is_skipped(summary.filename) and not _is_third_party(summary.filename):
            return summary
    for summary in reversed(frames):
        if not _is_skipped(summary.filename):
            return summary
    return frames[-1] if frames else None


@dataclass
class BlockingReport:
    """One time the event loop was blocked, or one blocking call caught.

    ``kind`` says which mechanism saw it:

    * ``"blocked"``: the watchdog saw the loop stop answering. ``duration`` is
      how long it was late, a lower bound of the time it was blocked (the
      watchdog's ping interval is the error bar). ``stack`` was captured *while* the
      loop was blocked, so for a CPU loop it is wherever the loop was at that
      moment, and for a blocking call it is the call.
    * ``"call"``: interception caught a call of a blocking primitive named in
      the rule table (``call``, e.g. ``"time.sleep"``) from a task. ``duration``
      is None when the call is reported before it runs (in "raise" mode it then
      never happens), or how long it took when the detector budgets calls
      (``budget_calls``) and reports only the ones over the threshold.

    ``file``/``line``/``function`` name the innermost frame of the user's code
    (see :func:`blame`); ``task`` is the asyncio task's name when it was found.
    """

    kind: Literal["blocked", "call"]
    duration: float | None
    file: str
    line: int
    function: str
    task: str | None
    stack: str
    """The formatted stack, outermost frame first, as a traceback prints it."""
    call: str | None = None
    """For ``kind == "call"``: the rule table's name of the primitive."""
    advice: str = ""
    """The rule table's fix for the primitive (interception only)."""
    frames: traceback.StackSummary = field(default_factory=traceback.StackSummary, repr=False)

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    def summary(self) -> str:
        """One line: ``path:line: in function (task 'x'): what happened``."""
        where = f"{self.location}: in {self.function}"
        if self.task:
            where += f" (task {self.task!r})"
        if self.kind == "call":
            what = f"blocking call {self.call}() from a task"
            if self.duration is not None:
                what += f" took {self.duration * 1000:.0f} ms"
            if self.advice:
                what += f"; {self.advice}"
        else:
            what = f"the event loop was blocked for at least {self.duration * 1000:.0f} ms" if (
                self.duration is not None) else "the event loop was blocked"
        return f"{where}: {what}"

    def __str__(self) -> str:
        return f"{self.summary()}\nStack (most recent call last):\n{self.stack.rstrip()}"

    @classmethod
    def from_stack(
        cls,
        stack: traceback.StackSummary,
        *,
        kind: Literal["blocked", "call"],
        duration: float | None,
        task: str | None,
        call: str | None = None,
        advice: str = "",
    ) -> BlockingReport:
        culprit = blame(stack)
        return cls(
            kind=kind,
            duration=duration,
            file=culprit.filename if culprit else "<unknown>",
            line=(culprit.lineno or 0) if culprit else 0,
            function=culprit.name if culprit else "<unknown>",
            task=task,
            stack="".join(loop_part(stack).format()),
            call=call,
            advice=advice,
            frames=stack,
        )


class BlockingWarning(RuntimeWarning):
    """Issued in "warn" mode, at the file and line of the user's blocking code."""


class BlockingCallError(RuntimeError):
    """The event loop was blocked, in "raise" mode.

    Raised at the call itself by interception (``report.kind == "call"``), or,
    for what the watchdog saw, when the ``watch()`` block ends (a thread cannot
    raise into a thread that is stuck in C code). ``reports`` holds every report
    that led to it; ``report`` is the first.
    """

    def __init__(self, reports: list[BlockingReport]) -> None:
        self.reports = list(reports)
        self.report = self.reports[0]
        if len(self.reports) == 1:
            message = str(self.report)
        else:
            message = f"the event loop was blocked {len(self.reports)} times:\n" + "\n\n".join(
                str(r) for r in self.reports
            )
        super().__init__(message)

