"""The optional native watcher of C calls that keep the GIL (``_gilwatch.c``).

The watchdog is a Python thread: it cannot run while the loop's thread holds
the GIL, so a C call that keeps it (a regex that backtracks, a
``ctypes.PyDLL`` function, an extension's long computation) is over before
the watchdog can look. ``_gilwatch.GilWatch`` is a native thread that needs no
GIL: it sees the watchdog kept waiting for the GIL while the loop's thread
holds it, and copies the loop thread's stack then, with the line of the call
(see the C file for how, and why it is safe).

It is built with ``ambidex.io._speedups``, by the same build hook and the same
switch (``AMBIDEX_BUILD_EXTENSIONS``; ``tools/hatch_speedups.py``), for CPython
3.10 to 3.13 with a GIL (it reads each version's internal structures). Without
it, or with ``AMBIDEX_NO_EXTENSIONS=1`` in the environment, or when the
compiled module was built from another version of the C file, the watchdog
works as before and such calls go unseen: :func:`available` says which.
"""

from __future__ import annotations

import asyncio
from types import CodeType, FunctionType
from typing import TYPE_CHECKING, Any

from ambidex._compiled import load, switched_off

if TYPE_CHECKING:
    from ambidex.detect._gilwatch import GilWatch

__all__ = ["available", "gil_watch"]

_module: Any = None
_loaded = False


def _load() -> Any:
    global _module, _loaded
    # Read each time (a detector made after the variable is set has no watcher).
    if switched_off():
        return None
    if not _loaded:
        _module = load("ambidex.detect._gilwatch")
        _loaded = True
    return _module


def available() -> bool:
    """Whether this install sees C calls that keep the GIL (the native watcher is built)."""
    return _load() is not None


def _run_once_code(loop: asyncio.AbstractEventLoop) -> CodeType | None:
    """The code of the method ``loop`` runs once per iteration: a frame of it on
    the loop thread's stack means the loop is running (a loop written in C, such
    as uvloop's, has none: not watched)."""
    run_once = getattr(type(loop), "_run_once", None)
    return run_once.__code__ if isinstance(run_once, FunctionType) else None


def gil_watch(
    loop: asyncio.AbstractEventLoop, threshold: float, interval: float
) -> GilWatch | None:
    """A ``GilWatch`` for ``loop`` (not started), or None where there is none."""
    module = _load()
    code = _run_once_code(loop)
    if module is None or code is None:
        return None
    watch: GilWatch = module.GilWatch(threshold, interval, code)
    return watch
