"""The detector: one watchdog per watched loop, interception, and the modes.

``install()`` returns a :class:`Detector`; ``watch()`` is the same as a
context manager. Reports go, in this order, to ``detector.reports``, to every
hook, then to the mode: "warn" issues a :class:`BlockingWarning` at the user's
file and line, "log" logs to the ``ambidex.detect`` logger, "raise" raises
:class:`BlockingCallError` (at the call for interception; at the end of
``watch()`` or at ``check()`` for the watchdog).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, Literal

from ambidex._rules import Rule, RuleTable
from ambidex.detect import _intercept
from ambidex.detect._report import (
    BlockingCallError,
    BlockingReport,
    BlockingWarning,
    extract_stack,
)
from ambidex.detect._watchdog import LoopWatchdog, Starved

if sys.version_info >= (3, 14):  # the public name is a deprecated alias there
    from asyncio.events import _AbstractEventLoopPolicy as _PolicyBase
else:
    from asyncio import AbstractEventLoopPolicy as _PolicyBase

Mode = Literal["raise", "warn", "log"]
MODES: tuple[Mode, ...] = ("raise", "warn", "log")

logger = logging.getLogger("ambidex.detect")

#: Reports kept on a detector; older ones are dropped (a staging process that
#: blocks once a second must not grow without bound). Hooks see every report.
MAX_REPORTS = 1000


_project_tables: dict[str, RuleTable] = {}


def project_table() -> RuleTable:
    """The rule table of the project around the current folder, read once.

    A malformed ``[tool.ambidex]`` raises ConfigError (naming the file): a typo
    must not silently shrink what is watched.
    """
    cwd = os.getcwd()
    table = _project_tables.get(cwd)
    if table is None:
        from ambidex._config import load_config

        table = _project_tables[cwd] = load_config().table
    return table


def _check_mode(mode: str) -> Mode:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    return mode


class Detector:
    """An installed detector: what it watches, what it saw, and ``uninstall()``.

    ``loop=None`` and no running loop means "every loop created while I am
    installed": the detector wraps the event loop policy's ``new_event_loop``,
    so ``asyncio.run()`` in code you do not edit gets watched too.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        threshold: float = 0.1,
        mode: Mode = "warn",
        intercept: bool = False,
        watchdog: bool = True,
        on_report: Callable[[BlockingReport], object] | None = None,
        table: RuleTable | None = None,
        budget_calls: bool = False,
    ) -> None:
        if threshold <= 0:
            raise ValueError(f"threshold must be positive (seconds), got {threshold!r}")
        self.threshold = float(threshold)
        self.mode: Mode = _check_mode(mode)
        self.intercept = intercept
        self.call_budget: float | None = self.threshold if budget_calls else None
        """With ``budget_calls``, an intercepted call is reported only when it
        took longer than ``threshold`` (after it returns); else every
        intercepted call is reported before it runs."""
        self.watchdog = watchdog
        self.reports: list[BlockingReport] = []
        self.starved: list[Starved] = []
        """Late answers set aside because the loop's thread was waiting for a
        CPU, not blocked (Linux; see the watchdog): the machine was too busy.
        Kept like ``reports`` (the last MAX_REPORTS), and logged at INFO."""
        self._hooks: list[Callable[[BlockingReport], object]] = []
        if on_report is not None:
            self._hooks.append(on_report)
        self._table = table  # None: the project's, read when interception starts
        # Reports check() raised already, held so their ids stay unique.
        self._raised: dict[int, BlockingReport] = {}
        self._watchdogs: dict[asyncio.AbstractEventLoop, LoopWatchdog] = {}
        self._policy: _WatchingPolicy | None = None
        self._patched: _intercept.Patched | None = None
        self._installed = False
        self._lock = threading.Lock()
        self._target = loop

    # --- public --------------------------------------------------------------------

    @property
    def patched(self) -> list[str]:
        """The rule-table names patched by interception (empty without it)."""
        return self._patched.names if self._patched is not None else []

    @property
    def not_patched(self) -> dict[str, str]:
        """Blocking rows interception could not patch, with the reason for each."""
        return dict(self._patched.skipped) if self._patched is not None else {}

    @property
    def gil_unwatched(self) -> dict[asyncio.AbstractEventLoop, str]:
        """The watched loops on which a C call that keeps the GIL goes unseen, with
        the reason for each (the native watcher is not built, stale, or switched
        off); other blocks are reported there as anywhere."""
        with self._lock:
            watched = list(self._watchdogs.items())
        return {loop: dog.gil_unwatched for loop, dog in watched if dog.gil_unwatched}

    def add_hook(self, hook: Callable[[BlockingReport], object]) -> None:
        """Call ``hook(report)`` for every report.

        Hooks run on the loop's thread when the loop comes back (on the watchdog
        thread if the loop stopped first), so a slow hook is itself a block: hand
        the report to a queue or a logger and return. A hook that raises is logged
        and otherwise ignored: a detector must not become the thing that breaks
        the program it watches.
        """
        self._hooks.append(hook)

    def install(self) -> Detector:
        if self._installed:
            return self
        self._installed = True
        with _intercept.reporting():  # our own thread start is not the program's call
            self._install()
        return self

    def _install(self) -> None:
        if self.intercept:
            self._patched = _intercept.acquire(
                self._table if self._table is not None else project_table()
            )
        loop = self._target
        if loop is None:
            loop = asyncio._get_running_loop()
        if loop is not None:
            self._attach(loop)
        else:
            self._policy = _WatchingPolicy.install(self)

    def uninstall(self) -> None:
        """Stop watching and restore everything patched. Idempotent; never raises
        :class:`BlockingCallError` (call :meth:`check` for that)."""
        if not self._installed:
            return
        self._installed = False
        # Joining the watchdog thread is a Thread.join on the loop's thread: ours,
        # not the program's, so an enclosing detector must not report it.
        with _intercept.reporting():
            self._uninstall()

    def _uninstall(self) -> None:
        if self._policy is not None:
            self._policy.uninstall()
            self._policy = None
        with self._lock:  # ambidex: allow-blocking cross-thread lock, held briefly
            watched = list(self._watchdogs.items())
            self._watchdogs.clear()
        for loop, dog in watched:
            _intercept.unwatch_loop(loop, self)
            dog.stop()
        if self._patched is not None:
            self._patched = None
            _intercept.release()

    def check(self) -> None:
        """In "raise" mode, raise :class:`BlockingCallError` for the reports that
        ``check()`` has not raised before, intercepted calls included (their error
        may have been swallowed by the code under test). A test that catches one
        on purpose clears ``detector.reports``."""
        if self.mode != "raise":
            return
        unraised = [r for r in self.reports if id(r) not in self._raised]
        if unraised:
            self._raised.update((id(r), r) for r in unraised)
            raise BlockingCallError(unraised)

    # --- wiring ---------------------------------------------------------------------

    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:  # ambidex: allow-blocking cross-thread lock, held briefly
            if loop in self._watchdogs or not self._installed:
                return
            dog = LoopWatchdog(
                loop, self.threshold, self._deliver, self._loop_closed, self._starved
            )
            self._watchdogs[loop] = dog
        if self.intercept:
            _intercept.watch_loop(loop, self)
        if self.watchdog:
            if dog.gil_unwatched is not None:
                logger.info(
                    "ambidex.detect: C calls that keep the GIL go unseen on this loop: %s",
                    dog.gil_unwatched,
                )
            dog.start()

    def _loop_closed(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            self._watchdogs.pop(loop, None)
        _intercept.unwatch_loop(loop, self)

    def _deliver(self, report: BlockingReport) -> None:
        with _intercept.reporting():
            self.reports.append(report)
            if len(self.reports) > MAX_REPORTS:
                del self.reports[: len(self.reports) - MAX_REPORTS]
            for hook in self._hooks:
                try:
                    hook(report)
                except Exception:
                    logger.exception("ambidex.detect: a report hook raised")
            if self.mode == "warn":
                warnings.warn_explicit(
                    report.summary(), BlockingWarning, report.file, report.line,
                    module="ambidex.detect",
                )
            elif self.mode == "log":
                logger.warning("%s", report)

    def _starved(self, starved: Starved) -> None:
        self.starved.append(starved)
        if len(self.starved) > MAX_REPORTS:
            del self.starved[: len(self.starved) - MAX_REPORTS]
        logger.info(
            "ambidex.detect: the event loop did not answer for %.0f ms, %.0f ms of which its "
            "thread waited for a CPU (the machine is busy): not a block",
            starved.duration * 1000, starved.waited * 1000,
        )

    def intercepted(self, rule: Rule, caller: FrameType, duration: float | None = None) -> None:
        """A task called a blocking primitive: report it, raise in "raise" mode.

        ``duration`` is how long the call took, when it is reported after it
        returned (``budget_calls``).
        """
        with _intercept.reporting():
            report = BlockingReport.from_stack(
                extract_stack(caller),
                kind="call",
                duration=duration,
                task=_current_task_name(),
                call=rule.sync,
                advice=rule.advice(),
            )
        self._deliver(report)
        if self.mode == "raise":
            # Not marked as raised: if the code under test swallows the error
            # (a broad except in a retry loop), check() raises it again.
            raise BlockingCallError([report])


def _current_task_name() -> str | None:
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return None
    return task.get_name() if task is not None else None


class _WatchingPolicy(_PolicyBase):
    """The installed policy, delegating everything, attaching to each new loop.

    This is how a detector with no loop to attach to (``python -m
    ambidex.detect.run``, ``watch()`` around ``asyncio.run()``) sees the loops a
    program creates: ``asyncio.run`` and ``asyncio.Runner`` ask the policy for
    their loop. A program that constructs a loop class directly bypasses it.
    """

    def __init__(self, inner: asyncio.AbstractEventLoopPolicy, detector: Detector) -> None:
        self._inner = inner
        self._detector = detector

    @classmethod
    def install(cls, detector: Detector) -> _WatchingPolicy:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # policies: deprecated in 3.14
            policy = cls(asyncio.get_event_loop_policy(), detector)
            asyncio.set_event_loop_policy(policy)
        return policy

    def uninstall(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            if asyncio.get_event_loop_policy() is self:
                asyncio.set_event_loop_policy(self._inner)

    def get_event_loop(self) -> asyncio.AbstractEventLoop:
        return self._inner.get_event_loop()

    def set_event_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self._inner.set_event_loop(loop)

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._inner.new_event_loop()
        self._detector._attach(loop)
        return loop

    # Unix policies on 3.11 still carry child watchers; delegate them too.
    def get_child_watcher(self) -> Any:
        return self._inner.get_child_watcher()

    def set_child_watcher(self, watcher: Any) -> None:
        self._inner.set_child_watcher(watcher)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def install(
    loop: asyncio.AbstractEventLoop | None = None,
    *,
    threshold: float = 0.1,
    mode: Mode = "warn",
    intercept: bool = False,
    watchdog: bool = True,
    on_report: Callable[[BlockingReport], object] | None = None,
    table: RuleTable | None = None,
    budget_calls: bool = False,
) -> Detector:
    """Start detecting on ``loop`` (default: the running loop, else every new
    loop); return the :class:`Detector`, whose ``uninstall()`` undoes it all.

    The defaults suit staging: warn, watchdog only (its cost is one ping
    callback per ``threshold / 4``). Add ``intercept=True`` to also catch the
    table's blocking primitives at the call; ``table`` defaults to the
    project's (the default rows plus ``[[tool.ambidex.rules]]`` of the nearest
    pyproject.toml), so a blocking call of your own library, declared there, is
    intercepted too. Interception is shared by all detectors: the first one to
    start it decides the table. With ``budget_calls``, the threshold applies to
    intercepted calls too: one is reported (after it returns) only when it took
    longer (the pytest plugin's budget works this way).
    """
    return Detector(
        loop, threshold=threshold, mode=mode, intercept=intercept, watchdog=watchdog,
        on_report=on_report, table=table, budget_calls=budget_calls,
    ).install()


@contextlib.contextmanager
def watch(
    loop: asyncio.AbstractEventLoop | None = None,
    *,
    threshold: float = 0.1,
    mode: Mode = "raise",
    intercept: bool = True,
    watchdog: bool = True,
    on_report: Callable[[BlockingReport], object] | None = None,
    table: RuleTable | None = None,
) -> Iterator[Detector]:
    """Detect blocking inside the ``with`` block; the defaults suit tests.

    Usable inside a coroutine (it watches the running loop) and outside one
    (it watches the loops created in the block, e.g. by ``asyncio.run``). In
    "raise" mode an intercepted call raises at the call, and what the watchdog
    saw raises :class:`BlockingCallError` when the block ends, unless the block
    is already ending with an exception of its own.
    """
    detector = install(
        loop, threshold=threshold, mode=mode, intercept=intercept, watchdog=watchdog,
        on_report=on_report, table=table,
    )
    try:
        yield detector
    except BaseException as exc:
        detector.uninstall()
        # The block's own exception wins; the blocks seen ride along as a note
        # (Python 3.11+), so a test failing for another reason still shows them.
        if (
            detector.mode == "raise"
            and detector.reports
            and not isinstance(exc, BlockingCallError)
            and hasattr(exc, "add_note")
        ):
            exc.add_note("ambidex.detect also saw:\n" + "\n".join(
                r.summary() for r in detector.reports))
        raise
    detector.uninstall()
    detector.check()


def _env_float(env: dict[str, str] | os._Environ[str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected seconds, e.g. 0.05") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r}: must be positive")
    return value


def install_from_env(environ: dict[str, str] | None = None) -> Detector | None:
    """Install as ``AMBIDEX_DETECT`` says; None when it is unset, empty or "off".

    ``AMBIDEX_DETECT`` = raise | warn | log; ``AMBIDEX_DETECT_THRESHOLD`` =
    seconds (default 0.1); ``AMBIDEX_DETECT_INTERCEPT=1`` intercepts too. A bad
    value raises ValueError naming the variable: a typo must not silently turn
    detection off.
    """
    env = os.environ if environ is None else environ
    mode = env.get("AMBIDEX_DETECT", "").strip().lower()
    if mode in ("", "0", "off", "no", "false"):
        return None
    threshold = _env_float(env, "AMBIDEX_DETECT_THRESHOLD", 0.1)
    intercept = env.get("AMBIDEX_DETECT_INTERCEPT", "").strip().lower() in ("1", "true", "yes")
    try:
        checked = _check_mode(mode)
    except ValueError:
        raise ValueError(
            f"AMBIDEX_DETECT={mode!r}: expected one of {', '.join(MODES)} or off"
        ) from None
    return install(threshold=threshold, mode=checked, intercept=intercept)
