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
3.10 to 3.13 with a GIL on Linux (it reads each version's internal structures,
and the kernel's per-thread counts). On asyncio's own loops it takes a stack
only inside a loop iteration (a frame of ``_run_once`` on the loop thread's
stack); a loop written in C, such as uvloop's, has no such frame, and lets the
GIL go while it polls, so its thread holding the GIL while it runs is inside a
callback.

Without it (not built, ``AMBIDEX_NO_EXTENSIONS=1`` in the environment, or a
compiled module built from another version of the C file) the watchdog works
as before and such calls go unseen: the degraded mode, never an error.
:func:`why_unwatched` says why (``Detector.gil_unwatched`` holds it for each
watched loop, and an INFO line of ``ambidex.detect`` says it when the loop is
attached); :func:`available` says whether the module is there.
"""

from __future__ import annotations

import asyncio
import importlib.util
from types import CodeType, FunctionType
from typing import TYPE_CHECKING, Any

from ambidex._compiled import load, switched_off

if TYPE_CHECKING:
    from ambidex.detect._gilwatch import GilWatch

__all__ = ["available", "gil_watch", "why_unwatched"]

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
    the loop thread's stack means the loop is running (None for a loop written in
    C, such as uvloop's)."""
    run_once = getattr(type(loop), "_run_once", None)
    return run_once.__code__ if isinstance(run_once, FunctionType) else None


def why_unwatched(loop: asyncio.AbstractEventLoop) -> str | None:
    """Why a C call that keeps the GIL goes unseen on ``loop``; None when the
    native watcher can watch it."""
    if switched_off():
        return "AMBIDEX_NO_EXTENSIONS is set: the native watcher is switched off"
    if _load() is None:
        if importlib.util.find_spec("ambidex.detect._gilwatch") is not None:
            return (
                "the native watcher (ambidex.detect._gilwatch) is there but was not loaded "
                "(built from another version of _gilwatch.c): reinstall ambidex to rebuild it"
            )
        return (
            "the native watcher (ambidex.detect._gilwatch) is not built in this install: "
            "it is built with the C extensions on Linux, for CPython 3.10 to 3.13 with a GIL"
        )
    return None


def gil_watch(
    loop: asyncio.AbstractEventLoop, threshold: float, interval: float
) -> GilWatch | None:
    """A ``GilWatch`` for ``loop`` (not started), or None where there is none
    (:func:`why_unwatched` says why)."""
    module = _load()
    if module is None:
        return None
    # A loop written in C (uvloop's) has no frame of its own: None, and the
    # watcher takes its running loop's thread to be in a callback whenever it
    # holds the GIL (such a loop lets the GIL go while it polls).
    watch: GilWatch = module.GilWatch(threshold, interval, _run_once_code(loop))
    return watch
