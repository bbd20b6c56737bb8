"""How long a thread waited for a CPU, as the kernel counts it.

From the inside, a process the OS does not run looks exactly like a loop that
blocks: the watchdog's ping waits either way. On a machine with more runnable
threads than cores (a CI runner, a test suite next to five others) a loop
thread can wait 100 ms for a core while its code does nothing wrong, and a
watchdog with a 50 ms threshold would report whatever line it was on.

What tells the two apart is a count Linux keeps for every thread: the time it
spent *runnable but not running*, on a CPU's run queue
(``/proc/self/task/<tid>/schedstat``: time on a CPU, time waiting for one, in
ns, and how many times it got a CPU). A thread that sleeps in a system call,
waits for the GIL or for a lock, or computes, holding the GIL or not, does not
add to it; a thread the machine is too busy to run does, and only that. So the
time a loop held itself up is the time it did not answer minus what its thread
waited for a CPU.

One catch: the kernel adds a wait to the count when the wait *ends* (the
thread gets its CPU). Read from another thread while the loop thread still
waits, the count is short by the wait under way. :meth:`ThreadClock.sample`
therefore also says what the thread is doing now (its state in
``/proc/self/task/<tid>/stat``), so the watchdog can tell a thread that
sleeps (a blocking call: the count is current) from one that is runnable (it
computes, or it waits for a CPU: the CPU time says which).

Elsewhere (other systems, kernels built without CONFIG_SCHED_INFO) there is
no such count: :func:`thread_clock` returns None and the watchdog counts every
late answer as a block, as it always did.
"""

from __future__ import annotations

import os
from typing import NamedTuple

# Bound at import, before any detector exists: interception patches ``os.open``
# and must not see the watchdog's own reads.
_os_open = os.open
_os_pread = os.pread
_os_close = os.close


class Sample(NamedTuple):
    """One reading of a thread's two clocks, in seconds since it started."""

    cpu: float
    """Time the thread ran on a CPU."""
    waited: float
    """Time the thread was runnable and waited for a CPU."""
    switches: int = -1
    """How many times the thread got a CPU (-1: unknown). Unchanged from one
    sample to the next, with the thread asleep at the second, it has not run
    in between: it went to sleep right after the first (its CPU time since
    says exactly when) and has slept ever since."""


class ThreadClock:
    """The kernel's clocks of one thread of this process (Linux).

    Two file descriptors kept open and read with ``pread`` (one system call,
    about a microsecond each), so the watchdog can sample at every ping.
    """

    def __init__(self, native_id: int, schedstat: int, stat: int) -> None:
        self.native_id = native_id
        self._schedstat = schedstat
        self._stat = stat

    def sample(self) -> Sample | None:
        """The thread's clocks now; None once the thread is gone."""
        try:
            fields = _os_pread(self._schedstat, 128, 0).split()
            return Sample(int(fields[0]) / 1e9, int(fields[1]) / 1e9, int(fields[2]))
        except (OSError, ValueError, IndexError):
            return None

    def is_sleeping(self) -> bool | None:
        """True when the thread sleeps now (in a system call, on a lock, for the
        GIL), False when it is runnable (on a CPU or waiting for one); None if
        unknown.
        """
        try:
            text = _os_pread(self._stat, 512, 0)
        except OSError:
            return None
        # "tid (comm) S ...": the name may hold spaces and parentheses.
        _, _, rest = text.rpartition(b")")
        state = rest.split(None, 1)[:1]
        if not state:
            return None
        return state[0] != b"R"

    def close(self) -> None:
        for fd in (self._schedstat, self._stat):
            try:
                _os_close(fd)
            except OSError:
                pass


def thread_clock(native_id: int) -> ThreadClock | None:
    """The clocks of this process's thread ``native_id`` (``threading.get_native_id()``),
    or None where the kernel does not keep them."""
    base = f"/proc/self/task/{native_id}/"
    try:
        schedstat = _os_open(base + "schedstat", os.O_RDONLY | os.O_CLOEXEC)
    except (OSError, AttributeError):
        return None
    try:
        stat = _os_open(base + "stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        _os_close(schedstat)
        return None
    clock = ThreadClock(native_id, schedstat, stat)
    if clock.sample() is None:
        clock.close()
        return None
    return clock
