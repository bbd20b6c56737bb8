"""What runs inside a ProcessPool's worker processes, and the bytes on their pipe.

Each worker has one socket to the pool (a socket pair made by the pool) and
serves *trips* on it, one at a time, in order: a trip is one or more calls;
the worker runs them, then sends back every call's outcome in one frame.

The wire format is small on purpose (every byte on it is pickled, copied
and parsed once per call):

* a **frame** is an 8-byte big-endian length, then that many bytes; a frame
  of length 0 from the pool means "stop" (so does the end of the stream);
* a **trip** (pool -> worker) is a count, then per call its cancel slot and
  the call ``(fn, args, kwargs)`` pickled on its own, length first;
* its **outcomes** (worker -> pool) are the trip's time in the worker, how
  many calls ran, a count, then per call its outcome pickled on its own.

Each call and each outcome is pickled on its own so that one that cannot be
pickled (or unpickled on the other side) fails its own call only.

Cancellation crosses the process boundary through shared memory: one byte
per slot, set by the pool when a caller gives up. The worker reads a call's
byte just before running it and skips the call if it is set, so a call that
had not started when its caller was cancelled never runs.
"""

from __future__ import annotations

import os
import pickle
import socket
import struct
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

FRAME = struct.Struct("!Q")
"""A frame's length."""
COUNT = struct.Struct("!I")
"""How many calls a trip has."""
CALL = struct.Struct("!iQ")
"""One call of a trip: its cancel slot and the length of its pickle."""
OUTCOMES = struct.Struct("!dII")
"""A trip's outcomes: seconds the trip took, calls that ran, count."""
OUTCOME = FRAME
"""One outcome: the length of its pickle."""

RETURNED, RAISED, SKIPPED = 0, 1, 2

# Frames up to this size are joined and sent with one system call; bigger
# ones are sent part by part, so that a big result is not copied once more.
_JOIN_BELOW = 1 << 16

_flags: Any = None


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process, as text: it
    is the ``__cause__`` of the exception the caller receives (as with
    ``concurrent.futures``), since frames cannot cross a process boundary."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


def _with_cause(exc: BaseException, text: str) -> BaseException:
    exc.__cause__ = RemoteTraceback(text)
    return exc


class _Raised:
    """An exception on its way back, with its worker's traceback as text."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def __reduce__(self) -> tuple[Any, ...]:
        return _with_cause, (self.exc, f'\n"""\n{self.text}"""')


def serve(sock: socket.socket, flags: Any, inherited: Iterable[int] = ()) -> None:
    """A worker process's whole life: read a trip, run it, send its outcomes,
    until the pool says stop or closes its end.

    ``inherited`` lists file descriptors a ``fork`` copied from the pool's
    process (the pool's ends of the other workers' sockets): closed first, so
    that each worker sees the end of its own stream when the pool closes it.
    """
    global _flags
    for fd in inherited:
        try:
            os.close(fd)
        except OSError:
            pass
    _flags = flags
    reader = sock.makefile("rb")
    try:
        while True:
            header = reader.read(FRAME.size)
            if len(header) < FRAME.size:
                return
            (size,) = FRAME.unpack(header)
            if size == 0:
                return
            body = reader.read(size)
            if len(body) < size:
                return
            _send(sock, run_trip(memoryview(body)))
    except (BrokenPipeError, ConnectionResetError):
        return  # the pool went away: nobody is left to receive anything
    finally:
        reader.close()
        sock.close()


def run_trip(body: memoryview) -> list[bytes | memoryview]:
    """Run a trip's calls in order, each unless its caller cancelled it by
    then; return the frame of their outcomes, in parts."""
    flags = _flags
    (count,) = COUNT.unpack_from(body, 0)
    offset = COUNT.size
    outcomes: list[bytes] = []
    ran = 0
    started = time.perf_counter()
    for _ in range(count):
        slot, size = CALL.unpack_from(body, offset)
        offset += CALL.size
        call = body[offset : offset + size]
        offset += size
        if flags is not None and flags[slot]:
            outcomes.append(_pickled((SKIPPED, None)))
            continue
        ran += 1
        outcomes.append(_pickled(_run_one(call)))
    seconds = time.perf_counter() - started
    parts: list[bytes | memoryview] = [b"", OUTCOMES.pack(seconds, ran, count)]
    for data in outcomes:
        parts.append(OUTCOME.pack(len(data)))
        parts.append(data)
    parts[0] = FRAME.pack(sum(len(part) for part in parts))
    return parts


def _run_one(call: memoryview) -> tuple[int, Any]:
    try:
        fn, args, kwargs = pickle.loads(call)
        function: Callable[..., Any] = fn
        return RETURNED, function(*args, **kwargs)
    except BaseException as exc:  # the caller gets it, whatever it is
        return RAISED, _Raised(exc)


def _pickled(item: tuple[int, Any]) -> bytes:
    """One outcome, pickled on its own: if it cannot be, only its caller gets
    the pickling error (and one that cannot be unpickled fails alone too)."""
    try:
        return pickle.dumps(item, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        return pickle.dumps((RAISED, _Raised(exc)), pickle.HIGHEST_PROTOCOL)


def _send(sock: socket.socket, parts: list[bytes | memoryview]) -> None:
    total = sum(len(part) for part in parts)
    if total < _JOIN_BELOW:
        sock.sendall(b"".join(parts))
    else:
        for part in parts:
            sock.sendall(part)
