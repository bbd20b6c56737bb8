"""``wrap``: an async facade over a blocking client object, the table deciding.

The classic way to use a blocking driver from asyncio is one
``run_in_executor`` per call, and it has three problems: someone must know
which methods block, the driver's objects are not thread-safe but the
executor's threads are many, and a cancelled query keeps running on the
database. :func:`wrap` answers each:

1. **The rule table says what blocks.** A method whose row ``blocks``
   (``sqlite3.Connection.execute``, and for any DB-API 2.0 driver the PEP 249
   set: ``cursor``, ``execute``, ``fetch*``, ``commit``, ...) becomes a
   coroutine that runs on the object's thread; every other attribute is read
   from the object directly, without a hop. A blocking object that a blocking
   call returns (the cursor of ``conn.cursor()`` or ``conn.execute(...)``) is
   wrapped too, on the same thread. Rows for a library of your own go in
   ``[[tool.ambidex.rules]]``; :mod:`._rows` reads them per type.
2. **Thread affinity with a bound.** An object graph (a connection and all
   that comes from it) is pinned to one thread of a
   :class:`~ambidex.offload.PinnedThreads` for its life, so sqlite3's
   ``check_same_thread`` can stay on. The threads are bounded: more
   connections than threads share them.
3. **Cancellation reaches the database.** When a task waiting for a running
   call is cancelled, the row's ``cancel`` hook (``sqlite3``:
   ``Connection.interrupt()``, pyodbc: ``Cursor.cancel()``, psycopg2:
   ``connection.cancel()``) is called from the loop's thread, so the query
   stops there too; the ``await`` raises :class:`asyncio.CancelledError` at
   once. The object's later calls queue behind the interrupted one on its
   thread, so they never run out of step with it.

**One hop per query.** A thread hop costs far more than a point query, so
a call that starts a result set (its row says ``results``) brings the first
rows back in the same hop: ``cur = await conn.execute(sql)`` then ``await
cur.fetchone()`` is one hop, and so is ``fetchall`` when the result is
small. ``async for row in cur`` fetches ``batch`` rows per hop. Rows
fetched by a call whose await was cancelled stay buffered for the next
fetch, so a cancelled fetch loses no rows; a fetch the database interrupted
did lose them, and the cursor says so (:class:`ResultsLostError`) until it
is executed again.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import AsyncIterator, Callable, Generator
from types import TracebackType
from typing import Any

from ambidex._rules import Rule, RuleTable
from ambidex.offload._affinity import (
    Job,
    JobState,
    PinnedThreads,
    default_pinned_threads,
    mailbox_for,
)
from ambidex.offload._precise import SQLiteStop, precise_stop_for
from ambidex.offload._rows import _type_name, rows_for

#: Rows an ``execute`` brings back with it (one hop for a small result).
DEFAULT_PREFETCH = 64
#: Rows per hop when a cursor is iterated or ``fetchone`` runs dry.
DEFAULT_BATCH = 1024

_FETCHES = frozenset({"fetchone", "fetchmany", "fetchall", "fetchval"})
"""Fetches served from the rows fetched ahead (``fetchval``: pyodbc's first
column of the next row)."""


class WrappedClosedError(RuntimeError):
    """The wrapped object was closed because a cancel hook failed: the driver
    could not be told to stop, so its state is unknown and it is not used again."""


class ResultsLostError(RuntimeError):
    """A cancelled fetch was interrupted in the database: the rest of the
    result set is gone. Execute the query again."""


class OutOfStepError(RuntimeError):
    """A call would skip rows that were fetched ahead and not read yet."""


# --- cancel hooks ------------------------------------------------------------------


def _stoppable(fn: Callable[[Job], Any], stop: SQLiteStop) -> Callable[[Job], Any]:
    def run(job: Job) -> Any:
        stop.install()
        stop.running = job
        try:
            return fn(job)
        finally:
            stop.running = None

    return run


def _hook(obj: Any, path: str) -> Callable[[], Any]:
    for name in path.split("."):
        obj = getattr(obj, name)
    return obj  # type: ignore[no-any-return]


# --- the object graph ---------------------------------------------------------------


class _Graph:
    """What a graph's facades share: their thread, and whether they broke.
    When the last facade of a graph is gone, its thread takes one graph fewer."""

    __slots__ = ("__weakref__", "batch", "broken", "prefetch", "stop", "table", "thread",
                 "threads")

    def __init__(self, threads: PinnedThreads, table: RuleTable, prefetch: int,
                 batch: int) -> None:
        self.threads = threads
        self.thread = threads.pin()
        self.table = table
        self.prefetch = prefetch
        self.batch = batch
        self.broken: str | None = None
        self.stop: SQLiteStop | None = None
        """The root's precise stop, if its driver needs one (see ``_precise``)."""

    def __del__(self) -> None:
        thread = getattr(self, "thread", None)  # unset if pin() raised
        if thread is not None:
            self.threads.unpin(thread)


class Wrapped:
    """The async facade :func:`wrap` returns. Blocking methods (by the table)
    are coroutines run on the object's thread; everything else is the
    object's own attribute. ``wrapped`` is the object itself.

    A facade of a DB-API cursor also buffers rows (see the module's text)
    and iterates: ``async for row in cursor``. ``async with`` runs the
    object's own ``__enter__``/``__exit__`` on its thread (for sqlite3:
    commit or roll back, not close).
    """

    __slots__ = ("_buffer", "_exhausted", "_graph", "_methods", "_pending", "_rows", "wrapped")

    def __init__(self, obj: Any, graph: _Graph, rows: dict[str, Rule]) -> None:
        _set_wrapped(self, obj)
        _set_graph(self, graph)
        _set_rows(self, rows)
        _set_methods(self, {})
        # Rows fetched ahead and not read yet; None while the object has no
        # result set that this facade fetched from.
        _set_buffer(self, None)
        _set_exhausted(self, False)
        # An error to raise at the next fetch: a prefetch's error, or a lost result set.
        _set_pending(self, None)

    # --- attributes -------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        method = self._methods.get(name)
        if method is not None:
            return method
        rule = self._rows.get(name)
        if rule is None or not rule.blocks:
            return getattr(self.wrapped, name)
        if name in _FETCHES and "fetchmany" in self._rows:
            method = getattr(self, f"_{name}")
        else:
            method = functools.partial(self._call, name, rule)
        self._methods[name] = method
        return method

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.wrapped, name, value)

    def __dir__(self) -> list[str]:
        return sorted({*dir(type(self)), *dir(self.wrapped)})

    def __repr__(self) -> str:
        return f"<Wrapped {self.wrapped!r} on {self._graph.thread.name}>"

    # --- the hop ------------------------------------------------------------------

    async def _hop(self, fn: Callable[[Job], Any], rule: Rule | None,
                   undelivered: Callable[[bool, Any], None] | None = None) -> Any:
        return await self._wait(self._submit(fn, undelivered), rule)

    def _submit(self, fn: Callable[[Job], Any],
                undelivered: Callable[[bool, Any], None] | None) -> Job:
        """Put ``fn`` on the graph's thread; :meth:`_wait` awaits its result."""
        graph = self._graph
        if graph.broken is not None:
            raise WrappedClosedError(graph.broken)
        stop = graph.stop
        if stop is not None:
            fn = _stoppable(fn, stop)
        loop = asyncio.get_running_loop()
        job = Job(fn, loop.create_future(), mailbox_for(loop), undelivered)
        graph.thread.submit(job)
        return job

    async def _wait(self, job: Job, rule: Rule | None) -> Any:
        future = job.future
        try:
            return await future
        except asyncio.CancelledError:
            if not future.cancelled():
                raise  # cancelled after the result was set: it was delivered
            self._cancel(job, rule)
            raise

    def _cancel(self, job: Job, rule: Rule | None) -> None:
        """On the loop's thread, for a job whose await was cancelled."""
        thread = self._graph.thread
        with thread.lock:
            if job.state is JobState.PENDING:
                job.state = JobState.CANCELLED  # never starts
                return
            if job.state is not JobState.RUNNING:
                return
            job.interrupted = True
            if rule is None or rule.cancel is None:
                return  # no way to stop it: it runs to its end, its result dropped
            stop = self._graph.stop
            if stop is not None and rule.cancel in stop.replaces:
                stop.target = job  # stops this job's statement, and only while it runs
                return
            try:
                _hook(self.wrapped, rule.cancel)()
            except Exception as exc:
                reason = (f"{_type_name(type(self.wrapped))}: cancel hook "
                          f"{rule.cancel}() failed ({exc!r}); the object was closed")
                self._break(reason)

    def _break(self, reason: str) -> None:
        self._graph.broken = reason
        close = getattr(self.wrapped, "close", None)
        if close is not None:
            loop = asyncio.get_running_loop()
            self._graph.thread.submit(
                Job(lambda job: close(), loop.create_future(), mailbox_for(loop), None))

    # --- calls --------------------------------------------------------------------

    async def _call(self, name: str, rule: Rule, /, *args: Any, **kwargs: Any) -> Any:
        buffer = self._buffer
        if buffer and not rule.results and name != "close":
            raise OutOfStepError(
                f"{name}() would skip {len(buffer)} row(s) fetched ahead and not read yet: "
                "read them with fetchone/fetchmany/fetchall first, or execute again")
        obj = self.wrapped

        def run(job: Job) -> Any:
            result = getattr(obj, name)(*args, **kwargs)
            if name == "close":
                _set_buffer(self, None)
            return self._adopt(result, rule)

        return await self._hop(run, rule)

    async def on_thread(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` on this object's thread, in turn with its
        other calls: for what the table does not list but the object's thread
        must do (sqlite3's ``create_function``, with ``check_same_thread`` on)::

            await conn.on_thread(conn.wrapped.create_function, "twice", 1, twice)

        A blocking object it returns is wrapped, as the table's calls' are.
        """
        unknown = Rule(None, None)

        def run(job: Job) -> Any:
            return self._adopt(fn(*args, **kwargs), unknown)

        return await self._hop(run, None)

    def _adopt(self, result: Any, rule: Rule) -> Any:
        """On the thread: the facade for a blocking result, prefetching rows
        where the call started a result set."""
        if result is self.wrapped or (result is None and rule.results):
            if rule.results:
                self._start_results()
            return self if result is not None else None
        if result is None:
            return None
        rows = rows_for(self._graph.table, type(result))
        if rows is None:
            return result
        facade = Wrapped(result, self._graph, rows)
        if rule.results:
            facade._start_results()
        return facade

    def _start_results(self) -> None:
        """On the thread, right after a call that starts a result set."""
        _set_pending(self, None)
        if "fetchmany" not in self._rows or self.wrapped.description is None:
            _set_buffer(self, None)
            _set_exhausted(self, False)
            return
        try:
            rows = self.wrapped.fetchmany(self._graph.prefetch)
        except Exception as exc:  # raised at the fetch that would have met it
            _set_buffer(self, deque())
            _set_exhausted(self, False)
            _set_pending(self, exc)
            return
        _set_buffer(self, deque(rows))
        _set_exhausted(self, len(rows) < self._graph.prefetch)

    # --- buffered fetches (DB-API cursors) ----------------------------------------------

    async def _fill(self, name: str, size: int) -> None:
        """One hop: fetch ``size`` rows (all, if ``name`` is fetchall) into the buffer."""
        await self._wait(self._submit_fill(name, size), self._rows[name])

    def _submit_fill(self, name: str, size: int, *, ahead: bool = False) -> Job:
        """Start a fetch of ``size`` rows into the buffer. ``ahead``: nobody may
        wait for it, so a driver error is kept for the next fetch to raise."""
        obj = self.wrapped

        def run(job: Job) -> None:
            lost = self._pending
            if isinstance(lost, ResultsLostError):
                raise lost  # queued behind the fetch that lost them
            try:
                rows = obj.fetchall() if name == "fetchall" else obj.fetchmany(size)
            except Exception as exc:
                if not ahead or job.interrupted:
                    raise
                _set_pending(self, exc)  # raised by the fetch that would have met it
                return
            buffer = self._buffer
            if buffer is None:
                buffer = deque()
                _set_buffer(self, buffer)
            buffer.extend(rows)
            if name == "fetchall" or len(rows) < size:
                _set_exhausted(self, True)

        def undelivered(ok: bool, value: Any) -> None:
            # The await was cancelled while the fetch ran. Fetched rows are in
            # the buffer; an interrupted fetch lost the rest of the result set.
            if not ok:
                _set_pending(self, ResultsLostError(
                    f"a cancelled {name}() was interrupted ({value!r}): "
                    "the result set is lost; execute the query again"))

        return self._submit(run, undelivered)

    def _check_pending(self) -> None:
        pending = self._pending
        if pending is not None:
            if not isinstance(pending, ResultsLostError):
                _set_pending(self, None)
            raise pending

    async def _fetchone(self) -> Any:
        buffer = self._buffer
        if buffer:
            return buffer.popleft()
        self._check_pending()
        if buffer is None:
            return await self._call("fetchone", self._rows["fetchone"])
        if self._exhausted:
            return None
        await self._fill("fetchmany", self._graph.batch)
        return self._buffer.popleft() if self._buffer else None

    async def _fetchval(self) -> Any:
        row = await self._fetchone()
        return None if row is None else row[0]

    async def _fetchmany(self, size: int | None = None) -> list[Any]:
        if size is None:
            size = self.wrapped.arraysize
        buffer = self._buffer
        if buffer is None:
            self._check_pending()
            return await self._call("fetchmany", self._rows["fetchmany"], size)  # type: ignore[no-any-return]
        if len(buffer) < size and not self._exhausted:
            self._check_pending()
            await self._fill("fetchmany", size - len(buffer))
            buffer = self._buffer
            assert buffer is not None
        take = min(size, len(buffer))
        if take == 0:
            self._check_pending()
        return [buffer.popleft() for _ in range(take)]

    async def _fetchall(self) -> list[Any]:
        buffer = self._buffer
        if buffer is None:
            self._check_pending()
            return await self._call("fetchall", self._rows["fetchall"])  # type: ignore[no-any-return]
        if not self._exhausted:
            self._check_pending()
            await self._fill("fetchall", 0)
            buffer = self._buffer
            assert buffer is not None
        rows = list(buffer)
        buffer.clear()
        return rows

    def __aiter__(self) -> AsyncIterator[Any]:
        """``async for row in cursor``: ``batch`` rows per hop. An async
        generator, so a row already fetched costs no coroutine of its own."""
        if "fetchmany" not in self._rows:
            raise TypeError(f"{_type_name(type(self.wrapped))} is not a DB-API cursor")
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        batch, rule = self._graph.batch, self._rows["fetchmany"]
        while True:
            buffer = self._buffer
            # Read ahead: the thread fetches the next batch while this one is
            # handed out (the database steps with the GIL released).
            ahead = None
            if buffer and not self._exhausted and self._pending is None:
                ahead = self._submit_fill("fetchmany", batch, ahead=True)
            while buffer:
                yield buffer.popleft()
            if ahead is not None:
                await self._wait(ahead, rule)
                continue
            # Whatever a cancelled fetch brings stays in the buffer: the next
            # iteration, or fetch, starts where this one stopped.
            row = await self._fetchone()
            if row is None:
                return
            yield row

    # --- context manager ----------------------------------------------------------------

    async def __aenter__(self) -> Wrapped:
        enter = getattr(self.wrapped, "__enter__", None)
        if enter is not None:
            await self._hop(lambda job: enter(), None)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        exit_ = getattr(self.wrapped, "__exit__", None)
        if exit_ is not None:
            await self._hop(lambda job: exit_(exc_type, exc, tb), None)


# The facade's own slots are set through their descriptors: its __setattr__
# sets attributes of the wrapped object, and this is the cheapest way around it.
_set_buffer, _set_exhausted, _set_graph, _set_methods, _set_pending, _set_rows, _set_wrapped = (
    Wrapped.__dict__[name].__set__ for name in Wrapped.__slots__
)


# --- wrap ---------------------------------------------------------------------------


class Wrapper:
    """:func:`wrap` with its settings: which threads, which table, how many rows per hop.

    ``threads`` (default: the process-wide :class:`PinnedThreads`) bounds the
    threads; ``table`` (default: ambidex's table with the project's
    ``[[tool.ambidex.rules]]``) says what blocks; ``prefetch`` rows travel
    back with an ``execute``; ``batch`` rows per hop when iterating.
    """

    def __init__(self, *, threads: PinnedThreads | None = None, table: RuleTable | None = None,
                 prefetch: int = DEFAULT_PREFETCH, batch: int = DEFAULT_BATCH) -> None:
        if prefetch < 1 or batch < 1:
            raise ValueError("prefetch and batch must be at least 1")
        self._threads = threads
        self._table = table
        self.prefetch = prefetch
        self.batch = batch

    @property
    def threads(self) -> PinnedThreads:
        return self._threads or default_pinned_threads()

    @property
    def table(self) -> RuleTable:
        if self._table is None:
            from ambidex.detect._detector import project_table

            return project_table()
        return self._table

    def _rows(self, table: RuleTable, obj: Any) -> dict[str, Rule]:
        rows = rows_for(table, type(obj))
        if rows is None:
            raise TypeError(
                f"no row of the rule table says a method of {_type_name(type(obj))} blocks: "
                "add [[tool.ambidex.rules]] rows (kind = \"method\") for the ones that do")
        return rows

    def wrap(self, target: Any, /, *args: Any, **kwargs: Any) -> Any:
        """See :func:`wrap`."""
        table = self.table
        if args or kwargs or (callable(target) and rows_for(table, type(target)) is None):
            return _Opening(self, table, target, args, kwargs)
        rows = self._rows(table, target)
        graph = _Graph(self.threads, table, self.prefetch, self.batch)
        graph.stop = precise_stop_for(target)
        return Wrapped(target, graph, rows)


class _Opening:
    """What the factory form of :func:`wrap` returns: await it, or ``async with`` it
    (which closes the object on exit)."""

    def __init__(self, wrapper: Wrapper, table: RuleTable, factory: Callable[..., Any],
                 args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._wrapper = wrapper
        self._table = table
        self._factory = factory
        self._args = args
        self._kwargs = kwargs
        self._opened: Wrapped | None = None

    async def _open(self) -> Wrapped:
        wrapper, table = self._wrapper, self._table
        graph = _Graph(wrapper.threads, table, wrapper.prefetch, wrapper.batch)
        factory, args, kwargs = self._factory, self._args, self._kwargs

        def run(job: Job) -> Wrapped:
            obj = factory(*args, **kwargs)
            graph.stop = precise_stop_for(obj)
            try:
                return Wrapped(obj, graph, wrapper._rows(table, obj))
            except TypeError:
                _close(obj)
                raise

        def undelivered(ok: bool, value: Any) -> None:
            if ok:  # cancelled while it was being made: close it, do not leak it
                _close(value.wrapped)

        # A facade that is not yet returned, standing for the graph's root.
        opener = Wrapped(None, graph, {})
        return await opener._hop(run, None, undelivered)  # type: ignore[no-any-return]

    def __await__(self) -> Generator[Any, None, Wrapped]:
        return self._open().__await__()

    async def __aenter__(self) -> Wrapped:
        self._opened = await self._open()
        return self._opened

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        opened = self._opened
        if opened is not None and hasattr(opened.wrapped, "close"):
            await opened._hop(lambda job: opened.wrapped.close(), None)


def _close(obj: Any) -> None:
    close = getattr(obj, "close", None)
    if close is not None:
        close()


_default_wrapper = Wrapper()


def wrap(target: Any, /, *args: Any, **kwargs: Any) -> Any:
    """An async facade over a blocking client object; the rule table decides
    which of its methods run on a thread.

    Two forms::

        conn = await wrap(sqlite3.connect, "app.db")   # made on its own thread
        async with wrap(sqlite3.connect, "app.db") as conn:   # ... and closed after
            cur = await conn.execute("SELECT 42")
            print(await cur.fetchone())

        conn = wrap(existing)   # an object that may leave the thread it was made on

    A callable with arguments, or a callable that is not itself a blocking
    object, is a factory: it is called on the graph's thread. Anything else
    is wrapped as it is (``TypeError`` if no row says a method of its type
    blocks). The process-wide :class:`PinnedThreads` and the project's table
    are used; :class:`Wrapper` picks others.
    """
    return _default_wrapper.wrap(target, *args, **kwargs)
