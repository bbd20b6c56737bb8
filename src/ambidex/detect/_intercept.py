"""Interception: make the rule table's blocking primitives complain at the call.

Every row of the rule table with ``blocks=True`` and kind CALL or METHOD
whose name resolves to a real Python object is replaced, for as long as some
detector asks for interception, by a wrapper. The wrapper's fast path is one
C call (``asyncio._get_running_loop()``) and, on a watched loop's thread, one
dict look-up and ``asyncio.current_task``: a call from another thread, from
outside any task, or on a loop nobody watches goes straight to the original.

A call is reported only when all of these hold:

* it runs on the thread of a watched loop, inside a task;
* its direct caller is not the standard library (asyncio's own subprocess
  start, ``Thread.start()`` waiting for its thread, ``linecache`` stat-ing a
  file: the stdlib's brief internal waits are its business, and the call the
  user wrote, ``subprocess.run`` or ``Path.read_text``, is itself a row);
* it would actually block: a socket with timeout 0 (asyncio's own
  non-blocking sockets), ``os.read`` of a non-blocking fd, ``acquire(False)``,
  ``get(block=False)``, ``timeout=0``, ``result()`` of a done future are let
  through.

What it cannot see, by construction:

* names bound before activation: ``from time import sleep`` binds the original
  function in the user's module, and patching ``time.sleep`` afterwards does
  not change that binding. The watchdog catches those;
* methods of C types, which cannot be patched: ``threading.Lock`` objects,
  the file objects ``open()`` returns (``io.IOBase.read`` is patched but the
  concrete ``_io`` classes do not inherit it; ``open()`` itself is caught);
* third-party rows (``requests.get``) unless their module was imported before
  activation: interception never imports a third-party module;
* blocking code that is not in the table: CPU loops, C extensions.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import importlib
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ambidex._rules import DEFAULT_TABLE, Kind, Rule, RuleTable
from ambidex.detect._report import _stdlib_cache, is_stdlib_file

_get_ident = threading.get_ident
_current_task = asyncio.current_task
_getframe = sys._getframe
_perf_counter = time.perf_counter


class Interceptor(Protocol):
    """What a wrapper calls on the detector that watches the loop.

    ``call_budget`` is None to report every intercepted call before it runs,
    or a number of seconds: the call runs, and only one that took longer is
    reported (with its duration), after it returns.
    """

    call_budget: float | None

    def intercepted(self, rule: Rule, caller: Any, duration: float | None = None) -> None: ...


# The wrapper's fast path keys on the calling thread, not the running loop:
# threading.get_ident() is several times cheaper than asyncio._get_running_loop().
# thread id -> (loop, the detector intercepting in that loop's tasks: the innermost
# of nested ones).
_watched: dict[int, tuple[asyncio.AbstractEventLoop, Interceptor]] = {}
# loop -> (its thread id once known, every detector on it, outermost first).
_stacks: dict[asyncio.AbstractEventLoop, tuple[list[int], list[Interceptor]]] = {}
# Threads on which a detector is reporting, so its own use of patched functions
# (linecache stat-ing files, logging opening a file) is not reported in turn.
_reporting: set[int] = set()
_lock = threading.RLock()


@dataclass
class _Patch:
    name: str
    owner: Any
    attr: str
    had_own: bool
    original_raw: Any
    wrapper_raw: Any


@dataclass
class Patched:
    """The set of patches in force, and why the other rows are not patched."""

    patches: list[_Patch] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.patches]


_active: Patched | None = None
_users = 0


# --- would the call block? ---------------------------------------------------------


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str,
         default: Any) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def _zero(value: Any) -> bool:
    return value is not None and not isinstance(value, bool) and value == 0


def _socket_nonblocking(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    try:
        return bool(args[0].gettimeout() == 0.0)
    except Exception:
        return False


def _fd_nonblocking(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    try:
        return not os.get_blocking(_arg(args, kwargs, 0, "fd", -1))
    except (OSError, TypeError, AttributeError):
        return False


def _acquire_nonblocking(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    # acquire(self, blocking=True, timeout=-1 or None)
    blocking = _arg(args, kwargs, 1, "blocking", True)
    return not blocking or _zero(_arg(args, kwargs, 2, "timeout", None))


def _get_nonblocking(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    # Queue.get(self, block=True, timeout=None)
    block = _arg(args, kwargs, 1, "block", True)
    return not block or _zero(_arg(args, kwargs, 2, "timeout", None))


def _put_nonblocking(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    # Queue.put(self, item, block=True, timeout=None)
    block = _arg(args, kwargs, 2, "block", True)
    return not block or _zero(_arg(args, kwargs, 3, "timeout", None))


def _timeout_at(index: int) -> Callable[[tuple[Any, ...], dict[str, Any]], bool]:
    def nonblocking(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        return _zero(_arg(args, kwargs, index, "timeout", None))

    return nonblocking


def _result_nonblocking(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    try:
        if args[0].done():
            return True
    except Exception:
        return False
    return _timeout_at(1)(args, kwargs)


_NonBlocking = Callable[[tuple[Any, ...], dict[str, Any]], bool]


def _nonblocking_test(rule_name: str) -> _NonBlocking | None:
    """How to tell, from the arguments, that this call will not block."""
    owner, _, method = rule_name.rpartition(".")
    if owner in ("socket.socket", "ssl.SSLSocket"):
        return _socket_nonblocking
    if rule_name in ("os.read", "os.write"):
        return _fd_nonblocking
    if method == "acquire" or method == "__enter__":
        return _acquire_nonblocking if method == "acquire" else None
    if owner == "queue.Queue" and method == "get":
        return _get_nonblocking
    if owner == "queue.Queue" and method == "put":
        return _put_nonblocking
    if method in ("wait", "join"):
        return _timeout_at(1)
    if method == "wait_for":
        return _timeout_at(2)
    if rule_name == "select.select":
        return _timeout_at(3)
    if rule_name == "concurrent.futures.Future.result":
        return _result_nonblocking
    return None


# --- the wrapper -----------------------------------------------------------------


def _wrap(function: Callable[..., Any], rule: Rule) -> Callable[..., Any]:
    nonblocking = _nonblocking_test(rule.sync or "")

    @functools.wraps(function)
    def ambidex_intercepted(*args: Any, **kwargs: Any) -> Any:
        watched = _watched.get(_get_ident())
        if watched is not None:
            # On a watched loop's thread. The checks run cheapest and most often
            # decisive first: asyncio's own socket calls stop at the caller check.
            caller = _getframe(1)
            filename = caller.f_code.co_filename
            in_stdlib = _stdlib_cache.get(filename)  # inlined: the hottest check
            if in_stdlib is None:
                in_stdlib = is_stdlib_file(filename)
            if (
                not in_stdlib
                and _current_task(watched[0]) is not None
                and not (nonblocking is not None and nonblocking(args, kwargs))
                and _get_ident() not in _reporting
            ):
                budget = watched[1].call_budget
                if budget is None:
                    watched[1].intercepted(rule, caller)
                else:
                    start = _perf_counter()
                    result = function(*args, **kwargs)
                    elapsed = _perf_counter() - start
                    if elapsed > budget:
                        watched[1].intercepted(rule, caller, elapsed)
                    return result
        return function(*args, **kwargs)

    ambidex_intercepted.__ambidex_original__ = function  # type: ignore[attr-defined]
    return ambidex_intercepted


# --- resolving and patching rows ---------------------------------------------------


def _import_owner(parts: list[str]) -> tuple[Any, list[str]] | str:
    """The longest importable module prefix of ``parts``, and the rest.

    Standard-library modules are imported; anything else only if it is already
    in ``sys.modules`` (interception never runs a third party's import).
    """
    if len(parts) == 1:
        return builtins, parts
    for i in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:i])
        module = sys.modules.get(module_name)
        if module is None and parts[0] in sys.stdlib_module_names:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                module = None
        if module is not None:
            return module, parts[i:]
    if parts[0] in sys.stdlib_module_names:
        return f"no module of {'.'.join(parts)} imports"
    return f"{parts[0]} is not imported (third-party modules are never imported by ambidex)"


def _resolve(rule: Rule) -> tuple[Any, str, Any, bool] | str:
    """(owner, attribute, raw attribute value, owner has it in its own dict)."""
    assert rule.sync is not None
    found = _import_owner(rule.sync.split("."))
    if isinstance(found, str):
        return found
    owner, rest = found
    for name in rest[:-1]:
        try:
            owner = getattr(owner, name)
        except AttributeError:
            return f"{rule.sync}: no attribute {name!r}"
    attr = rest[-1]
    if rule.kind is Kind.METHOD and not isinstance(owner, type):
        return f"{rule.sync}: {owner!r} is not a class"
    if isinstance(owner, type):
        for klass in owner.__mro__:
            if attr in vars(klass):
                raw = vars(klass)[attr]
                break
        else:
            return f"{rule.sync}: no attribute {attr!r}"
        return owner, attr, raw, attr in vars(owner)
    raw = getattr(owner, attr, None)
    if raw is None:
        return f"{rule.sync}: no attribute {attr!r}"
    return owner, attr, raw, True


def _wrap_raw(raw: Any, rule: Rule) -> Any | str:
    if isinstance(raw, type):
        return f"{rule.sync} is a class: patching a constructor would break isinstance()"
    if isinstance(raw, classmethod):
        return classmethod(_wrap(raw.__func__, rule))
    if isinstance(raw, staticmethod):
        return staticmethod(_wrap(raw.__func__, rule))
    if isinstance(raw, property) or not callable(raw):
        return f"{rule.sync} is not callable"
    if getattr(raw, "__ambidex_original__", None) is not None:
        return f"{rule.sync} is already patched"
    return _wrap(raw, rule)


def intercepted_rules(table: RuleTable) -> list[Rule]:
    """The table's rows interception tries: blocking CALL and METHOD rows."""
    return [r for r in table.blocking() if r.kind in (Kind.CALL, Kind.METHOD) and r.sync]


def _apply(table: RuleTable) -> Patched:
    patched = Patched()
    for rule in intercepted_rules(table):
        assert rule.sync is not None
        found = _resolve(rule)
        if isinstance(found, str):
            patched.skipped[rule.sync] = found
            continue
        owner, attr, raw, had_own = found
        wrapper = _wrap_raw(raw, rule)
        if isinstance(wrapper, str):
            patched.skipped[rule.sync] = wrapper
            continue
        try:
            setattr(owner, attr, wrapper)
        except (TypeError, AttributeError) as exc:
            patched.skipped[rule.sync] = f"{rule.sync}: cannot be patched ({exc})"
            continue
        patched.patches.append(_Patch(rule.sync, owner, attr, had_own, raw, wrapper))
    return patched


def _restore(patched: Patched) -> None:
    for patch in reversed(patched.patches):
        if patch.had_own:
            setattr(patch.owner, patch.attr, patch.original_raw)
        else:
            delattr(patch.owner, patch.attr)


def acquire(table: RuleTable = DEFAULT_TABLE) -> Patched:
    """Patch the table's primitives (once, however many detectors ask)."""
    global _active, _users
    with _lock:  # ambidex: allow-blocking cross-thread lock, held briefly
        if _active is None:
            _active = _apply(table)
        _users += 1
        return _active


def release() -> None:
    """One detector is done with interception; the last one restores everything."""
    global _active, _users
    with _lock:  # ambidex: allow-blocking cross-thread lock, held briefly
        _users -= 1
        if _users == 0 and _active is not None:
            _restore(_active)
            _active = None


def _publish(loop: asyncio.AbstractEventLoop) -> None:
    """Point each of ``loop``'s known threads at its innermost detector."""
    threads, detectors = _stacks.get(loop, ([], []))
    for thread in threads:
        if detectors:
            _watched[thread] = (loop, detectors[-1])
        elif _watched.get(thread, (None,))[0] is loop:
            del _watched[thread]


def _learn_thread(loop: asyncio.AbstractEventLoop) -> None:
    """Runs on ``loop``'s thread: record which thread that is."""
    with _lock:  # ambidex: allow-blocking cross-thread lock, held briefly
        entry = _stacks.get(loop)
        if entry is not None and _get_ident() not in entry[0]:
            entry[0].append(_get_ident())
            _publish(loop)


def watch_loop(loop: asyncio.AbstractEventLoop, detector: Interceptor) -> None:
    """Intercept in ``loop``'s tasks for ``detector``, from now (on the loop's
    thread) or from the loop's next iteration (elsewhere)."""
    with _lock:  # ambidex: allow-blocking cross-thread lock, held briefly
        _stacks.setdefault(loop, ([], []))[1].append(detector)
        _publish(loop)
    if asyncio._get_running_loop() is loop:
        _learn_thread(loop)
    else:
        loop.call_soon_threadsafe(_learn_thread, loop)


def unwatch_loop(loop: asyncio.AbstractEventLoop, detector: Interceptor) -> None:
    with _lock:  # ambidex: allow-blocking cross-thread lock, held briefly
        entry = _stacks.get(loop)
        if entry is None:
            return
        detectors = entry[1]
        if detector in detectors:
            detectors.remove(detector)
        _publish(loop)
        if not detectors:
            del _stacks[loop]


class reporting:
    """``with reporting():`` silences interception on this thread meanwhile."""

    def __enter__(self) -> None:
        self._thread = _get_ident()
        self._was = self._thread in _reporting
        _reporting.add(self._thread)

    def __exit__(self, *exc: object) -> None:
        if not self._was:
            _reporting.discard(self._thread)
