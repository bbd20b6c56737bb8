"""Slots: the bound of a pool, awaited on the loop, released from any thread.

An ``asyncio.Semaphore`` will not do: it belongs to one event loop, it must
be released from that loop, and a pool outlives loops (the default pool is
process-wide; each test gets a new loop). Here a slot is released by the
worker thread the moment the function returns, and handed to the oldest
waiter on whatever loop it waits on.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque


class Slots:
    def __init__(self, total: int) -> None:
        if total < 1:
            raise ValueError(f"a pool needs at least one worker, got {total}")
        self.total = total
        self._free = total
        self._lock = threading.Lock()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    @property
    def busy(self) -> int:
        """Slots taken: by functions running, or about to run."""
        with self._lock:
            return self.total - self._free

    @property
    def waiting(self) -> int:
        """Callers waiting for a slot."""
        with self._lock:
            return len(self._waiters)

    async def acquire(self) -> None:
        """Take a slot, waiting (first come, first served) while none is free."""
        with self._lock:  # ambidex: allow-blocking held briefly, never across I/O
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()
            entry = (loop, waiter)
            self._waiters.append(entry)
        try:
            await waiter
        except BaseException:
            with self._lock:  # ambidex: allow-blocking held briefly, never across I/O
                try:
                    self._waiters.remove(entry)
                    handed_over = False
                except ValueError:
                    handed_over = True
            if handed_over:
                # release() picked us while we were being cancelled: the slot
                # is ours, so pass it on rather than lose it.
                self.release()
            raise

    def release(self) -> None:
        """Give a slot back; thread-safe. The oldest waiter, if any, gets it."""
        while True:
            with self._lock:  # ambidex: allow-blocking held briefly, never across I/O
                if not self._waiters:
                    self._free += 1
                    return
                loop, waiter = self._waiters.popleft()
            try:
                loop.call_soon_threadsafe(_grant, waiter)
                return
            except RuntimeError:
                # That waiter's loop is closed: it will never take the slot.
                continue


def _grant(waiter: asyncio.Future[None]) -> None:
    # A waiter cancelled after it was picked releases the slot itself (see
    # acquire), so here there is nothing to do for it.
    if not waiter.done():
        waiter.set_result(None)
