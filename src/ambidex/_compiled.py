"""The one loader of ambidex's optional C modules.

``ambidex.io._speedups``, ``ambidex.sansio._speedups``, ``ambidex.detect._gilwatch``
and ``ambidex._callgraph._slimcopy`` are compiled at install time when a C
compiler is there (``tools/hatch_speedups.py``), each stamped with the hash of
the C file it was built from. Each has a pure-Python twin (or, for the GIL
watcher, goes without), so a caller asks :func:`load` and takes None as "use the
pure path": the module is absent, switched off by ``AMBIDEX_NO_EXTENSIONS=1``,
or stale -- built in place from another version of its C file, which an
editable install keeps until ``pip install -e .`` runs again.

It caches nothing: the switch is read on every call, and callers cache what
they build from the module.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from pathlib import Path
from types import ModuleType

__all__ = ["load", "source_hash", "switched_off"]


def source_hash(source: Path) -> str:
    """What the build stamps into a module (``SOURCE_HASH``): the C source's sha256, 16 digits."""
    data = source.read_bytes()  # ambidex: allow-blocking once per module and process, tens of KB
    return hashlib.sha256(data).hexdigest()[:16]


def switched_off() -> bool:
    """Whether ``AMBIDEX_NO_EXTENSIONS`` asks this process for the pure paths."""
    return bool(os.environ.get("AMBIDEX_NO_EXTENSIONS"))


def load(name: str) -> ModuleType | None:
    """The compiled module ``name`` (``"ambidex.io._speedups"``), or None: run the pure path."""
    if switched_off():
        return None
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    # A wheel ships no C source: only an in-place build can be stale.
    source = Path(module.__file__ or "").with_name(name.rpartition(".")[2] + ".c")
    if source.is_file() and source_hash(source) != module.SOURCE_HASH:
        return None
    return module
