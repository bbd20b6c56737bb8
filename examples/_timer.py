"""asyncio only: a connection's deadline timer that leaves the loop's waits untimed.

The asyncio clients watch every caller's deadline with ONE timer per
connection, armed for the earliest deadline (see ``_expire`` in
``examples/resp/_async/connection.py``). With a timeout of seconds and
replies in microseconds that timer almost never fires -- but an asyncio
timer (``loop.call_at``) that merely exists costs every turn of the loop:
the loop asks the clock to compute how long ``epoll_wait`` may sleep and
passes that timeout to the kernel, which sets a high-resolution timer for
each blocking wait and cancels it when the reply wakes the loop. Counted
on this VM: a raw asyncio client doing one GET at a time goes from 49.7k to
55.4k machine instructions per GET in user space with one 300 s
``call_later`` on its loop (callgrind), and its CPU per GET rose ~2.3 us
(mostly system time: the kernel's timer) in session 6's measure.

On Linux a timer can be a file descriptor instead: ``timerfd_create``,
armed with an absolute time on the clock asyncio's loop reads
(``CLOCK_MONOTONIC``), registered once with the loop's selector. The kernel
holds one timer while it is armed; ``epoll_wait`` sleeps with no timeout and
the descriptor becomes readable when the deadline comes, like a socket.
Re-arming it is one system call, made only when an earlier deadline comes
along or the timer fires (with one timeout for every command: once per
timeout period, not per command).

:class:`DeadlineTimer` is that, where it can be: Linux, a selector event
loop whose ``time()`` is :func:`time.monotonic` (asyncio's own loops; not
uvloop, whose clock is its own), and ``os.timerfd_create`` (Python 3.13) or
the C library's through :mod:`ctypes` (3.10-3.12). Anywhere else it is
``loop.call_at``, with the same behaviour.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["DeadlineTimer"]

_CLOCK_MONOTONIC = 1
_TFD_TIMER_ABSTIME = 1


def _timerfd_calls() -> tuple[Callable[[], int], Callable[[int, float], None]] | None:
    """(create, set) for timer descriptors on CLOCK_MONOTONIC, or None where
    there are none. ``set(fd, when)``: fire at ``when`` (seconds on that
    clock); ``when == 0`` disarms."""
    if not sys.platform.startswith("linux"):
        return None
    if time.get_clock_info("monotonic").implementation != "clock_gettime(CLOCK_MONOTONIC)":
        return None
    flags = os.O_NONBLOCK | os.O_CLOEXEC  # the values of TFD_NONBLOCK and TFD_CLOEXEC
    if hasattr(os, "timerfd_create"):  # Python 3.13
        def create() -> int:
            return os.timerfd_create(time.CLOCK_MONOTONIC, flags=flags)  # type: ignore[attr-defined,no-any-return,unused-ignore]

        def set_(fd: int, when: float) -> None:
            os.timerfd_settime(  # type: ignore[attr-defined,unused-ignore]
                fd, flags=_TFD_TIMER_ABSTIME if when else 0, initial=when)
        return create, set_
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        timerfd_create, timerfd_settime = libc.timerfd_create, libc.timerfd_settime
    except (ImportError, OSError, AttributeError):
        return None

    class _TimeSpec(ctypes.Structure):
        _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

    class _ITimerSpec(ctypes.Structure):
        _fields_ = [("it_interval", _TimeSpec), ("it_value", _TimeSpec)]

    def create_c() -> int:
        fd: int = timerfd_create(_CLOCK_MONOTONIC, flags)
        if fd < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno))
        return fd

    def set_c(fd: int, when: float) -> None:
        seconds = int(when)
        spec = _ITimerSpec(_TimeSpec(0, 0), _TimeSpec(seconds, int((when - seconds) * 1e9)))
        if timerfd_settime(fd, _TFD_TIMER_ABSTIME if when else 0, ctypes.byref(spec), None):
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno))
    return create_c, set_c


_TIMERFD = _timerfd_calls()


class DeadlineTimer:
    """Calls ``callback()`` once the loop's clock reaches the time last given
    to :meth:`arm` (or a little later; never before it, by that clock).

    :meth:`arm` again replaces the time; :meth:`cancel` forgets it;
    :meth:`close` gives the descriptor back (a closed timer may be armed
    again: it then uses ``loop.call_at``). The descriptor is made on the
    first :meth:`arm`, so a connection without timeouts has none.
    """

    __slots__ = ("_callback", "_fd", "_handle", "_loop", "_use_fd")

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], Any]) -> None:
        self._loop = loop
        self._callback = callback
        self._fd: int | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._use_fd = (_TIMERFD is not None
                        and type(loop).time is asyncio.BaseEventLoop.time
                        and isinstance(loop, asyncio.SelectorEventLoop))

    @property
    def uses_descriptor(self) -> bool:
        """Whether this timer is a timer descriptor (else ``loop.call_at``)."""
        return self._use_fd

    def arm(self, when: float) -> None:
        """Call back at ``when`` (loop time), instead of any time armed before."""
        if self._use_fd and _TIMERFD is not None:
            fd = self._fd
            if fd is None:
                fd = self._fd = _TIMERFD[0]()
                try:
                    self._loop.add_reader(fd, self._fired)
                except BaseException:
                    self._fd = None
                    os.close(fd)
                    raise
            _TIMERFD[1](fd, max(when, 1e-9))  # (0 would disarm it)
            return
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._loop.call_at(when, self._callback)

    def cancel(self) -> None:
        """Forget the time armed; nothing is called back."""
        if self._fd is not None and _TIMERFD is not None:
            _TIMERFD[1](self._fd, 0)
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def close(self) -> None:
        """:meth:`cancel`, and give the descriptor back. Idempotent."""
        self.cancel()
        fd = self._fd
        if fd is not None:
            self._fd = None
            self._use_fd = False
            if not self._loop.is_closed():
                self._loop.remove_reader(fd)
            os.close(fd)

    def _fired(self) -> None:
        fd = self._fd
        if fd is None:
            return
        try:
            os.read(fd, 8)  # how many times it expired: once, it is not periodic
        except BlockingIOError:
            return  # disarmed or re-armed since the loop saw it readable
        self._callback()

    def __del__(self) -> None:
        # A connection dropped without close(): at least the descriptor goes.
        fd = self._fd
        if fd is not None:
            self._fd = None
            os.close(fd)
