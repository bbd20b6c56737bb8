"""The garbage collector during batch work over many syntax trees.

``lint`` over a venv's site-packages builds about ten million AST nodes and
keeps them until the call graph is done. CPython's cyclic collector runs
every 700 new container objects and, every so often, walks *all* of them:
parsing alone took 16.2 s of CPU with the collector on and 4.0 s with it off
(2,041 files, 851k lines; see the lint/port scale section of the issue-13 note).
Syntax trees hold no reference cycles (no parent pointers), so the collector
has nothing to find in them; reference counting frees them either way.

So the batch steps run with the collector paused (:func:`paused`), and the
command line, whose process ends right after, turns it off for the whole
command (``ambidex.cli``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """Run the body with the cyclic collector off; restore its previous state after.

    Nested uses are fine: only the outermost one that found it on turns it
    back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
