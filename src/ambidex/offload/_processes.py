"""Processes: for CPU-bound Python, which threads cannot speed up."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import multiprocessing
import multiprocessing.context
import os
import pickle
import signal
import socket
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from ambidex.offload import _process_worker as wire
from ambidex.offload._jobs import CANCELLED, DONE, QUEUED, RUNNING, Job
from ambidex.offload._pool import BoundedPool, PoolClosedError
from ambidex.offload._process_worker import RemoteTraceback

__all__ = ["ProcessPool", "RemoteTraceback", "WorkerDiedError"]

T = TypeVar("T")


class WorkerDiedError(BrokenProcessPool):
    """The worker process running this call died (killed, crashed, or it
    called ``os._exit``) before sending the call's outcome back. Only the
    calls it was running fail; the pool starts another process for the
    next ones. (A subclass of ``concurrent.futures``' ``BrokenProcessPool``,
    which code written for ``run_in_executor`` already catches.)"""


class ProcessPool(BoundedPool):
    """At most ``max_workers`` CPU-bound calls at once, each in a worker process.

    Use processes for work that *computes* in Python (parsing, compressing in
    pure Python, number crunching without a GIL-releasing library): each
    worker has its own interpreter and its own GIL, so the work runs in
    parallel and the event loop stays free. The price is pickling: ``fn``,
    its arguments and its result cross a process boundary, so they must be
    picklable (``fn`` defined at module level, not a lambda or closure), and
    shipping big objects costs more than small computations save. For code
    that waits rather than computes, :class:`ThreadPool` is cheaper.

    Bound and cancellation behave as in :class:`ThreadPool`: the ``await``
    raises :class:`asyncio.CancelledError` at once, a call not yet started
    never starts, and a started one runs to its end in its process, keeping
    its worker until then. An exception raised in a worker arrives with the
    worker's traceback as its ``__cause__`` (:class:`RemoteTraceback`). An
    argument that cannot be pickled, and a result or exception that cannot
    be pickled there or rebuilt here, fail their own call only. If a worker
    process dies, the calls it was running fail with :class:`WorkerDiedError`
    (those handed to it that had not started go back to the front of the
    queue), and the next call starts a new process.

    **How a call travels.** The event loop talks to each worker over a
    socket pair of its own: it writes the pickled call without blocking and
    reads the outcome when the socket is readable (``loop.add_reader``). No
    thread sits in between: ``run_in_executor`` with a
    ``ProcessPoolExecutor`` wakes its manager thread and its feeder thread
    on the way there and the manager thread and the loop on the way back,
    and each cross-thread wake-up costs tens of microseconds, more than a
    short call itself. What could block the loop goes to a helper thread:
    starting a process, and pickling an argument or unpickling a result
    bigger than 64 KiB / 1 MiB. Big frames are written and read in pieces as
    the socket has room, so a huge argument never stops the loop either.
    The pool serves one event loop at a time (the one that made its first
    call; it moves to another loop once the first is closed or idle).

    So that a process never waits for its next call to be shipped to it,
    once calls are known to be short (under ``batch_time`` or 20 ms), one
    trip more is handed to a busy worker ahead of time (as
    ``ProcessPoolExecutor`` does). Those calls still count as waiting, and
    cancelling one is still honest: its worker finds it marked (a byte in
    shared memory, read just before each call) and skips it. A call much
    longer than the pool's recent ones holds back the trip handed ahead to
    its worker until it ends.

    A trip costs about as much as a short call (pickling, two system calls
    each way, a wake-up of the loop and of the worker), so short calls that
    wait behind busy workers travel together, like the ``chunksize`` of
    ``ProcessPoolExecutor.map``: one trip carries as many waiting calls as
    fit in ``batch_time`` seconds of work, judged by how long the pool's
    recent calls took in their workers, and no more than the waiting calls
    divided among the workers. Calls that take longer than ``batch_time`` go
    one per trip. The results of one trip come back together when its last
    call is done. ``batch_time=0`` sends every call on its own.

    ``mp_context`` picks how workers start. The default is ``forkserver``
    where the platform has it, else the platform's default: a process that
    runs an event loop usually runs threads too (this module's thread pool,
    the resolver's), and ``fork`` in a multi-threaded process can copy a lock
    held by another thread into a child that then deadlocks (Python 3.12+
    warns about it; 3.14 changed its default the same way). With
    ``forkserver`` or ``spawn``, a script that creates the pool needs the
    ``if __name__ == "__main__":`` guard, as the multiprocessing docs say.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        mp_context: multiprocessing.context.BaseContext | None = None,
        batch_time: float = 0.001,
    ) -> None:
        if max_workers is None:
            max_workers = os.cpu_count() or 1
        if batch_time < 0:
            raise ValueError(f"batch_time must be >= 0, got {batch_time}")
        if mp_context is None and "forkserver" in multiprocessing.get_all_start_methods():
            mp_context = multiprocessing.get_context("forkserver")
        super().__init__(max_workers)
        if mp_context is None:
            mp_context = multiprocessing.get_context()
        self._context = mp_context
        self.batch_time = batch_time
        # How long one call took in its worker, recently (None: not known yet).
        self._per_call: float | None = None
        # One cancel byte per call that can be in the workers at once: each
        # worker has at most two trips (one running, one ahead) of _MAX_BATCH.
        slots = 2 * max_workers * _MAX_BATCH
        self._flags = mp_context.RawArray("b", slots)
        self._free_slots = list(range(slots))
        # Starting processes, big pickles: what would block the loop.
        self._helper = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="ambidex-process-helper"
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._workers: list[_Worker] = []
        self._idle: list[_Worker] = []
        self._starting = 0
        self._stopped: list[multiprocessing.process.BaseProcess] = []
        self._drained: asyncio.Future[None] | None = None
        self._trips = 0
        """How many trips were sent (the tests count them)."""
        # A pool dropped without close(): its workers see their stream end and exit.
        self._sockets: list[socket.socket] = []
        weakref.finalize(self, _close_all, self._sockets)

    # --- what callers see ---------------------------------------------------------

    @property
    def busy(self) -> int:
        """How many workers are taken (calls handed ahead are still waiting)."""
        return sum(1 for worker in self._workers if worker.trips)

    @property
    def waiting(self) -> int:
        """How many callers wait for a free worker, handed ahead or not."""
        ahead = 0
        for worker in self._workers:
            for index, trip in enumerate(worker.trips):
                if index:
                    ahead += len(trip.jobs)
        return len(self._queue) + ahead

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` in a worker process and return its result."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._bind(loop)
        return await self._run(functools.partial(fn, *args, **kwargs))

    async def close(self, *, wait: bool = True) -> None:
        """Stop taking work. Callers still waiting for a worker get
        :class:`PoolClosedError` (calls already handed ahead to a worker still
        run). With ``wait`` (the default), also wait until every call already
        started has returned and every worker process has exited; a function
        stuck forever keeps this waiting forever. Idempotent."""
        loop = asyncio.get_running_loop()
        if self._loop is not None and loop is not self._loop:
            self._bind(loop)  # (what the old loop's callers awaited is dropped if it is closed)
        if not self._closed:
            self._closed = True
            for job in self._queue.take_all():
                _settle(job, None, PoolClosedError(f"{type(self).__name__} is closed"))
            for worker in list(self._idle):
                self._stop(worker)
        if not wait:
            self._helper.shutdown(wait=False)
            return
        while self._starting or any(worker.trips for worker in self._workers):
            if self._drained is None or self._drained.done():
                self._drained = loop.create_future()
            await asyncio.shield(self._drained)
        await asyncio.to_thread(self._join)

    def _join(self) -> None:
        self._helper.shutdown(wait=True)
        stopped, self._stopped = self._stopped, []
        for process in stopped:
            process.join()

    def _shutdown(self) -> None:  # BoundedPool's hook; close() above does it all
        pass

    # --- queueing and cancelling (on the loop) --------------------------------------

    def _submit(self, job: Job) -> None:
        if self._closed:
            raise PoolClosedError(f"{type(self).__name__} is closed")
        if self._idle and not len(self._queue):
            job.state = RUNNING
            self._send_trip(self._idle.pop(), [job])
            return
        self._queue.append(job)
        self._dispatch()

    def _abandon(self, job: Job) -> None:
        if self._queue.cancel(job):
            return  # it never runs
        slot = job.slot
        if slot is not None:
            # In a worker's hands: if it has not started, it never will.
            self._flags[slot] = 1

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve ``loop`` from now on (the first call, or a new loop once the
        old one is closed or idle)."""
        old = self._loop
        self._drained = None
        if old is not None and old.is_closed():
            # Whoever awaited the calls in flight or waiting is gone with that
            # loop: the workers running them finish and exit, the rest is dropped.
            self._queue.take_all()
            for worker in list(self._workers):
                if worker.trips or worker.out:
                    for trip in worker.trips:
                        for job in trip.jobs:
                            self._free(job)
                    worker.trips.clear()
                    self._stop(worker)
        elif old is not None:
            if old.is_running():
                raise RuntimeError(
                    "this ProcessPool serves another event loop that is running; "
                    "make one pool per loop"
                )
            for worker in self._workers:
                old.remove_reader(worker.sock.fileno())
                old.remove_reader(worker.sentinel)
                old.remove_writer(worker.sock.fileno())
        self._loop = loop
        for worker in self._workers:
            self._watch(worker)
            if worker.out:
                loop.add_writer(worker.sock.fileno(), self._flush, worker)

    def _dispatch(self) -> None:
        """Hand waiting calls to idle workers (and one trip ahead to busy ones,
        when calls are known to be short); start workers while fewer than
        ``max_workers`` exist."""
        queue = self._queue
        while len(queue):
            if self._idle:
                worker = self._idle.pop()
            else:
                if len(self._workers) + self._starting < self.max_workers:
                    self._start_worker()
                    return
                found = self._ahead_worker()
                if found is None:
                    return
                worker = found
            jobs = []
            for _ in range(self._trip_size(len(queue))):
                job = queue.pop()
                if job is None:
                    break
                jobs.append(job)
            self._send_trip(worker, jobs)

    def _ahead_worker(self) -> _Worker | None:
        per_call = self._per_call
        if per_call is None or per_call >= max(self.batch_time, _AHEAD_BELOW):
            return None
        for worker in self._workers:
            if len(worker.trips) == 1 and not worker.stopping:
                return worker
        return None

    def _trip_size(self, waiting: int) -> int:
        """How many waiting calls the next trip takes."""
        per_call = self._per_call
        if per_call is None or waiting <= 1 or per_call >= self.batch_time:
            return 1
        fit = int(self.batch_time / per_call) if per_call > 0 else _MAX_BATCH
        share = -(-waiting // self.max_workers)  # the waiting calls divided among the workers
        return max(1, min(fit, share, _MAX_BATCH))

    # --- sending trips ---------------------------------------------------------------

    def _send_trip(self, worker: _Worker, jobs: list[Job]) -> None:
        """Pickle the (RUNNING) jobs and write them to ``worker`` as one trip.
        A call that cannot be pickled fails alone; one too big to pickle on
        the loop goes on a trip of its own, pickled by the helper thread."""
        flags = self._flags
        free = self._free_slots
        parts: list[bytes] = [b"", b""]
        sent: list[Job] = []
        for index, job in enumerate(jobs):
            fn = job.fn
            assert isinstance(fn, functools.partial)
            call = (fn.func, fn.args, fn.keywords)
            try:
                data = _dumps_small(call)
            except Exception as exc:  # this argument cannot cross: its call alone fails
                _settle(job, None, exc)
                continue
            if data is None:  # too big to pickle here
                if sent:
                    # It goes next, on a trip of its own; the rest wait for their turn.
                    self._queue.push_front([j for j in jobs[index:] if _requeue(j)])
                    break
                self._send_big(worker, job, call)
                self._queue.push_front([j for j in jobs[index + 1 :] if _requeue(j)])
                return
            slot = job.slot = free.pop()
            flags[slot] = 1 if job.future.done() else 0
            parts.append(wire.CALL.pack(slot, len(data)))
            parts.append(data)
            sent.append(job)
        if not sent:
            if not worker.trips and not worker.stopping:
                self._idle.append(worker)
            return
        parts[1] = wire.COUNT.pack(len(sent))
        parts[0] = wire.FRAME.pack(sum(len(part) for part in parts))
        worker.trips.append(_Trip(sent))
        self._trips += 1
        self._write(worker, b"".join(parts))

    def _send_big(self, worker: _Worker, job: Job, call: Any) -> None:
        """A call whose pickle is big: the helper thread pickles it; its trip
        takes its place in the worker's stream now, its bytes follow."""
        slot = job.slot = self._free_slots.pop()
        self._flags[slot] = 0
        trip = _Trip([job])
        worker.trips.append(trip)
        self._trips += 1
        pending = _Pending()
        worker.out.append(pending)
        loop = self._loop
        assert loop is not None

        def pickle_it() -> None:
            try:
                data = pickle.dumps(call, pickle.HIGHEST_PROTOCOL)
            except Exception as exc:
                failure: BaseException | None = exc
                frame: list[bytes] = [wire.FRAME.pack(wire.COUNT.size), wire.COUNT.pack(0)]
            else:
                failure = None
                head = wire.COUNT.pack(1) + wire.CALL.pack(slot, len(data))
                frame = [wire.FRAME.pack(len(head) + len(data)), head, data]
            try:
                loop.call_soon_threadsafe(self._big_pickled, worker, trip, pending, frame, failure)
            except RuntimeError:
                pass  # the loop is closed: nobody awaits this call any more

        self._helper.submit(pickle_it)

    def _big_pickled(
        self,
        worker: _Worker,
        trip: _Trip,
        pending: _Pending,
        frame: list[bytes],
        failure: BaseException | None,
    ) -> None:
        if worker.closed:
            return  # it died meanwhile: its trips are settled or back in the queue
        if failure is not None:
            # The worker gets an empty trip (its place in the stream is kept).
            for job in trip.jobs:
                self._free(job)
                _settle(job, None, failure)
            trip.jobs = []
        pending.parts = deque(memoryview(part) for part in frame)
        if worker.out and worker.out[0] is pending:
            self._flush(worker)

    def _write(self, worker: _Worker, data: bytes) -> None:
        """Write a frame without blocking: what the socket has no room for now
        is written by the loop when it has (``add_writer``)."""
        if not worker.out:
            try:
                sent = worker.sock.send(data)  # ambidex: allow-blocking non-blocking socket
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                return  # the worker is gone: its sentinel says so, and its trips are settled
            if sent == len(data):
                return
            worker.out.append(memoryview(data)[sent:])
            loop = self._loop
            assert loop is not None
            loop.add_writer(worker.sock.fileno(), self._flush, worker)
        else:
            worker.out.append(memoryview(data))

    def _flush(self, worker: _Worker) -> None:
        out = worker.out
        sock = worker.sock
        loop = self._loop
        assert loop is not None
        while out:
            item = out[0]
            if isinstance(item, _Pending):
                if item.parts is None:
                    loop.remove_writer(sock.fileno())
                    return  # the helper thread is still pickling it
                if not item.parts:
                    out.popleft()
                    continue
                data = item.parts[0]
            else:
                data = item
            try:
                sent = sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                out.clear()
                loop.remove_writer(sock.fileno())
                return
            if sent < len(data):
                if isinstance(item, _Pending):
                    assert item.parts is not None
                    item.parts[0] = data[sent:]
                else:
                    out[0] = data[sent:]
                loop.add_writer(sock.fileno(), self._flush, worker)
                return
            if isinstance(item, _Pending):
                assert item.parts is not None
                item.parts.popleft()
            else:
                out.popleft()
        loop.remove_writer(sock.fileno())

    # --- receiving outcomes ----------------------------------------------------------

    def _readable(self, worker: _Worker) -> bool:
        """The worker's socket has bytes: take whole frames from them.
        False once there is nothing more to read for now (or ever)."""
        if worker.body is not None:
            # A big frame: read straight into its buffer.
            view = memoryview(worker.body)[worker.filled :]
            try:
                got = worker.sock.recv_into(view)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                got = 0
            finally:
                view.release()
            if not got:
                self._ended(worker)
                return False
            worker.filled += got
            if worker.filled == len(worker.body):
                whole, worker.body = worker.body, None
                self._outcomes(worker, memoryview(whole))
            return not worker.closed
        try:
            data = worker.sock.recv(_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            data = b""
        if not data:
            self._ended(worker)
            return False
        buffer = worker.buffer
        if not buffer and len(data) >= wire.FRAME.size:
            (size,) = wire.FRAME.unpack_from(data)
            if size == len(data) - wire.FRAME.size:
                # The usual case: one whole frame, nothing else.
                self._outcomes(worker, memoryview(data)[wire.FRAME.size :])
                return not worker.closed
        buffer += data
        while len(buffer) >= wire.FRAME.size:
            (size,) = wire.FRAME.unpack_from(buffer)
            end = wire.FRAME.size + size
            if len(buffer) >= end:
                body = bytes(buffer[wire.FRAME.size : end])
                del buffer[:end]
                self._outcomes(worker, memoryview(body))
                if worker.closed:
                    return False
                continue
            if size > _READ_SIZE:
                worker.body = bytearray(size)
                have = len(buffer) - wire.FRAME.size
                worker.body[:have] = buffer[wire.FRAME.size :]
                worker.filled = have
                buffer.clear()
            break
        return True

    def _outcomes(self, worker: _Worker, body: memoryview) -> None:
        """A trip's outcomes arrived: its worker takes the next calls first,
        then each caller gets its result or its error."""
        trip = worker.trips.popleft()
        seconds, ran, _count = wire.OUTCOMES.unpack_from(body, 0)
        if ran:
            self._learn(seconds / ran)
        jobs = trip.jobs
        for job in jobs:
            self._free(job)
        self._next(worker)
        offset = wire.OUTCOMES.size
        for job in jobs:
            (size,) = wire.OUTCOME.unpack_from(body, offset)
            offset += wire.OUTCOME.size
            data = body[offset : offset + size]
            offset += size
            if size > _UNPICKLE_HERE_BELOW and not job.future.done():
                self._unpickle_big(job, data)
            else:
                result, error = _outcome(data)
                _settle(job, result, error)

    def _next(self, worker: _Worker) -> None:
        """``worker`` finished a trip: give it work, or let it rest or stop."""
        if not worker.trips:
            if self._closed:
                self._stop(worker)
            else:
                self._idle.append(worker)
        if len(self._queue):
            self._dispatch()
        self._check_drained()

    def _unpickle_big(self, job: Job, data: memoryview) -> None:
        loop = self._loop
        assert loop is not None

        def unpickle_it() -> None:
            result, error = _outcome(data)
            try:
                loop.call_soon_threadsafe(_settle, job, result, error)
            except RuntimeError:
                pass  # the loop is closed: nobody awaits this call any more

        job.state = RUNNING  # until _settle: its result is on its way
        self._helper.submit(unpickle_it)

    def _learn(self, per_call: float) -> None:
        """Remember how long calls take (a moving average, so one odd call
        does not decide the size of the next trips alone)."""
        known = self._per_call
        self._per_call = per_call if known is None else 0.75 * known + 0.25 * per_call

    def _free(self, job: Job) -> None:
        if job.slot is not None:
            self._free_slots.append(job.slot)
            job.slot = None

    # --- workers: start, stop, die ---------------------------------------------------

    def _start_worker(self) -> None:
        """Start a process on the helper thread (it takes milliseconds to a
        tenth of a second); it joins the pool on the loop when it is up."""
        # The helper thread counts down instead when the loop is gone.
        with self._lock:  # ambidex: allow-blocking held briefly, never across I/O
            self._starting += 1
        loop = self._loop
        assert loop is not None
        context = self._context
        flags = self._flags
        forks = context.get_start_method() == "fork"
        others = [worker.sock.fileno() for worker in self._workers]

        def start() -> None:
            ours, theirs = socket.socketpair()
            # A forked child has copies of the pool's ends: it closes them.
            inherited = [*others, ours.fileno()] if forks else []
            try:
                process = context.Process(  # type: ignore[attr-defined]
                    target=wire.serve,
                    args=(theirs, flags, inherited),
                    name="ambidex-process-worker",
                )
                process.start()
            except BaseException as exc:
                ours.close()
                outcome: _Worker | BaseException = exc
            else:
                outcome = _Worker(process, ours)
            finally:
                theirs.close()
            try:
                loop.call_soon_threadsafe(self._started, outcome)
            except RuntimeError:  # the loop is closed: nobody needs this process
                with self._lock:
                    self._starting -= 1
                if isinstance(outcome, _Worker):
                    outcome.sock.close()
                    outcome.process.join()

        self._helper.submit(start)

    def _started(self, outcome: _Worker | BaseException) -> None:
        with self._lock:
            self._starting -= 1
        if isinstance(outcome, BaseException):
            if not self._workers:
                # No process can run these calls: they fail with the reason.
                for job in self._queue.take_all():
                    _settle(job, None, outcome)
            self._check_drained()
            return
        worker = outcome
        worker.sock.setblocking(False)
        self._sockets.append(worker.sock)
        self._workers.append(worker)
        self._watch(worker)
        self._next(worker)

    def _watch(self, worker: _Worker) -> None:
        loop = self._loop
        assert loop is not None
        loop.add_reader(worker.sock.fileno(), self._readable, worker)
        loop.add_reader(worker.sentinel, self._died, worker)

    def _stop(self, worker: _Worker) -> None:
        """An idle worker of a closed pool (or one whose callers' loop is gone):
        tell it to stop, forget it; close() joins its process."""
        worker.stopping = True
        if worker in self._idle:
            self._idle.remove(worker)
        if not worker.out:  # (never in the middle of a frame)
            try:
                worker.sock.send(wire.FRAME.pack(0))  # ambidex: allow-blocking non-blocking socket
            except OSError:
                pass  # it stops anyway when its stream ends, just below
        self._forget(worker)
        self._stopped.append(worker.process)

    def _forget(self, worker: _Worker) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.remove_reader(worker.sock.fileno())
            loop.remove_writer(worker.sock.fileno())
            loop.remove_reader(worker.sentinel)
        if worker in self._workers:
            self._workers.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        if worker.sock in self._sockets:
            self._sockets.remove(worker.sock)
        worker.sock.close()
        worker.closed = True

    def _ended(self, worker: _Worker) -> None:
        """The worker's stream ended: it is exiting; its sentinel says when."""
        loop = self._loop
        assert loop is not None
        loop.remove_reader(worker.sock.fileno())

    def _died(self, worker: _Worker) -> None:
        """The worker process exited while it was ours: what it sent before is
        delivered, the calls it was running fail, the ones handed ahead go
        back to the queue, and a new process takes its place when needed."""
        # Outcomes it sent before dying still count.
        while not worker.closed and worker.trips and self._readable(worker):
            pass
        if worker.closed:
            return
        process = worker.process
        code = process.exitcode
        pid = process.pid
        trips = list(worker.trips)
        worker.trips.clear()
        self._forget(worker)
        try:
            process.join(0)
            process.close()
        except (AssertionError, ValueError):  # still being reaped: multiprocessing does it later
            pass
        for index, trip in enumerate(trips):
            for job in trip.jobs:
                self._free(job)
            if index == 0:
                error = WorkerDiedError(
                    f"the worker process (pid {pid}) running this call "
                    f"{_how_it_ended(code)} before sending its outcome"
                )
                for job in trip.jobs:
                    _settle(job, None, error)
            else:
                self._queue.push_front([job for job in trip.jobs if _requeue(job)])
        if not self._closed and len(self._queue):
            self._dispatch()
        self._check_drained()

    def _check_drained(self) -> None:
        drained = self._drained
        if (
            drained is not None
            and not drained.done()
            and not self._starting
            and not any(worker.trips for worker in self._workers)
        ):
            drained.set_result(None)


# At most this many calls travel in one trip (and the cancel flags are sized by it).
_MAX_BATCH = 64
# Calls known to take less than this (or than batch_time) get a trip handed
# ahead to a busy worker: for longer ones, the loop's turn between two trips
# costs a worker too little to risk a short call waiting behind a long one.
_AHEAD_BELOW = 0.02
# A call pickled on the loop may take this many bytes; bigger goes to the helper.
_PICKLE_HERE_BELOW = 1 << 16
# An outcome of more bytes is unpickled by the helper thread.
_UNPICKLE_HERE_BELOW = 1 << 20
# How much the loop reads from a worker's socket at a time.
_READ_SIZE = 1 << 18


class _Trip:
    """Calls that travel to a worker together; their outcomes come back together."""

    __slots__ = ("jobs",)

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs


class _Pending:
    """A frame's place in a worker's stream while the helper thread pickles it."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: deque[memoryview] | None = None


class _Worker:
    """One worker process, its socket, and the trips in its hands (in order:
    the first is running, the next was handed ahead)."""

    def __init__(self, process: multiprocessing.process.BaseProcess, sock: socket.socket) -> None:
        self.process = process
        self.sock = sock
        self.sentinel: int = process.sentinel
        self.trips: deque[_Trip] = deque()
        self.out: deque[memoryview | _Pending] = deque()
        self.buffer = bytearray()
        self.body: bytearray | None = None
        self.filled = 0
        self.stopping = False
        self.closed = False


def _requeue(job: Job) -> bool:
    """A job handed to a worker goes back to waiting (False: its caller is gone)."""
    if job.future.done():
        job.state = CANCELLED
        return False
    job.state = QUEUED
    return True


def _settle(job: Job, result: Any, error: BaseException | None) -> None:
    """Give a job's outcome to its caller, unless the caller is gone (on the loop)."""
    job.state = DONE
    job.fn = None
    future = job.future
    if future.done():
        return
    try:
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
    except RuntimeError:
        pass  # its loop is closed: nobody awaits it


class _TooBig(Exception):
    pass


class _Capped:
    """Where a pickle goes when it must stay small: it gives up past the cap."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: Any) -> int:
        self.size += len(data)
        if self.size > _PICKLE_HERE_BELOW:
            raise _TooBig
        self.parts.append(bytes(data))
        return len(data)


_SMALL_TYPES = (int, float, bool, type(None))


def _dumps_small(call: tuple[Any, tuple[Any, ...], dict[str, Any]]) -> bytes | None:
    """The call's pickle, or None when it is too big to make on the loop.
    Pickling stops as soon as the output passes the cap, so the loop spends
    little on a big argument before handing it to the helper thread."""
    _, args, kwargs = call
    if not kwargs and all(
        type(arg) in _SMALL_TYPES
        or (type(arg) in (str, bytes) and len(arg) < _PICKLE_HERE_BELOW // 4)
        for arg in args
    ):
        return pickle.dumps(call, pickle.HIGHEST_PROTOCOL)
    capped = _Capped()
    try:
        pickle.Pickler(capped, pickle.HIGHEST_PROTOCOL).dump(call)
    except _TooBig:
        return None
    return b"".join(capped.parts)


def _outcome(data: bytes | memoryview) -> tuple[Any, BaseException | None]:
    """One call's outcome from its worker, as (result, error)."""
    try:
        kind, value = pickle.loads(data)
    except Exception as exc:  # a result that cannot be unpickled here
        return None, exc
    if kind == wire.RETURNED:
        return value, None
    if kind == wire.RAISED:
        return None, value
    return None, concurrent.futures.CancelledError()  # skipped: its caller is gone


def _how_it_ended(code: int | None) -> str:
    if code is None:
        return "died"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with code {code}"


def _close_all(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()
