"""What every benchmark that starts a server calls first.

A benchmark stops its servers in ``finally`` blocks (``with redis_server():``,
``with server(kind):``). Python's default for SIGTERM -- what ``timeout``, a CI
runner and ``kill`` send -- ends the process without unwinding the stack, so
those blocks never ran: the redis-server stayed behind, holding its port and
the CPU time of whatever still talked to it, and skewed the next run's numbers.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    sys.exit(128 + signum)  # the shell's code for "killed by SIGTERM"


def stop_servers_on_sigterm() -> None:
    """Make SIGTERM unwind the main thread like Ctrl-C does, running every ``finally``."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
