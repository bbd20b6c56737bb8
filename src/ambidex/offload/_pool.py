"""The bounded pool both ThreadPool and ProcessPool are made of."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from ambidex.offload._slots import Slots

T = TypeVar("T")
_P = TypeVar("_P", bound="BoundedPool")


class PoolClosedError(RuntimeError):
    """The pool was closed: it takes no new work."""


class BoundedPool:
    """An executor whose queue never grows past its workers.

    A caller first takes a slot (waiting, on the loop, while all are taken),
    then submits; the slot is given back by the worker when the function
    returns, whatever became of the caller. So ``busy`` never exceeds
    ``max_workers``, and work beyond that waits in the awaiting callers, not
    in an unbounded queue.
    """

    def __init__(self, executor: concurrent.futures.Executor, max_workers: int) -> None:
        self.max_workers = max_workers
        self._slots = Slots(max_workers)
        self._executor = executor
        self._closed = False

    @property
    def busy(self) -> int:
        """How many workers are taken, including by calls whose caller was
        cancelled but whose function is still running."""
        return self._slots.busy

    @property
    def waiting(self) -> int:
        """How many callers wait for a free worker."""
        return self._slots.waiting

    @property
    def closed(self) -> bool:
        return self._closed

    async def _submit(
        self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> concurrent.futures.Future[T]:
        """Take a slot and start ``fn``; the slot comes back when it returns."""
        self._check_open()
        await self._slots.acquire()
        try:
            self._check_open()
        except BaseException:
            self._slots.release()
            raise
        return await self._start(fn, args, kwargs)

    async def _start(
        self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> concurrent.futures.Future[T]:
        """Submit with a slot already taken; the slot goes back when the job is
        done (or at once, if the submit fails). Here: on the loop's thread,
        which is right when submitting is cheap (starting a thread is)."""
        try:
            future = self._executor.submit(fn, *args, **kwargs)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(self._release)
        return future

    def _release(self, _: concurrent.futures.Future[Any]) -> None:
        self._slots.release()

    async def _run(
        self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> T:
        future = await self._submit(fn, args, kwargs)
        # If this await is cancelled, asyncio cancels ``future``: that stops
        # a call that has not started, and does nothing to one that has.
        return await asyncio.wrap_future(future)

    async def close(self, *, wait: bool = True) -> None:
        """Stop taking work. With ``wait`` (the default), also wait until every
        function already started has returned; a function stuck forever keeps
        this waiting forever, since workers cannot be killed. Idempotent."""
        self._closed = True
        if wait:
            await asyncio.to_thread(self._executor.shutdown, wait=True)
        else:
            self._executor.shutdown(wait=False)

    def _check_open(self) -> None:
        if self._closed:
            raise PoolClosedError(f"{type(self).__name__} is closed")

    async def __aenter__(self: _P) -> _P:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<{type(self).__name__} {state} busy={self.busy}/{self.max_workers} "
            f"waiting={self.waiting}>"
        )

