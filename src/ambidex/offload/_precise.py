"""Precise stops: a driver's interrupt narrowed to the one call being cancelled.

``sqlite3.Connection.interrupt()`` is what the rule table names as sqlite3's
cancel hook, and it is the right idea with too wide an aim: SQLite keeps an
interrupt in force "until the running statement count reaches zero", so while
*another* cursor of the connection has rows left to read, the interrupt also
kills the next statements that the connection runs, queries that nobody
cancelled. (The interleaving tests found this.)

So for a graph whose root is a ``sqlite3.Connection``, :func:`wrap` installs a
progress handler on the connection's own thread, and a cancel asks that
handler to stop the statement running *for the cancelled job*, and only while
that job runs. The effect is the same as ``interrupt()`` (the statement ends
with ``OperationalError: interrupted`` and the connection stays usable),
without the spill-over. The progress handler slot is taken: set your own with
:meth:`Wrapped.on_thread` and cancellation falls back to nothing stopping the
query (it then runs to its end, still in step).
"""

from __future__ import annotations

import sqlite3
from typing import Any

#: SQLite virtual-machine instructions between two checks: microseconds apart,
#: and cheap next to the work they measure.
CHECK_EVERY = 1000


class SQLiteStop:
    """Stops the statement of one job of one connection, from any thread."""

    replaces = frozenset({"interrupt", "connection.interrupt"})
    """The table's cancel hooks this stop stands in for."""

    __slots__ = ("_connection", "_installed", "running", "target")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._installed = False
        self.running: Any = None
        """The job running on the connection's thread now (set by that thread)."""
        self.target: Any = None
        """The job to stop (set by the loop's thread, under the thread's lock)."""

    def install(self) -> None:
        """On the connection's thread, before its first job."""
        if not self._installed:
            self._connection.set_progress_handler(self._check, CHECK_EVERY)
            self._installed = True

    def _check(self) -> int:
        target = self.target
        return 1 if target is not None and target is self.running else 0


def precise_stop_for(obj: Any) -> SQLiteStop | None:
    if isinstance(obj, sqlite3.Connection):
        return SQLiteStop(obj)
    return None
