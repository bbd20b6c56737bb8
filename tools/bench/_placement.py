"""Where a client benchmark puts its processes: the client and the server on one
CPU, or on two.

Why it matters. A request made one at a time is mostly waiting: the client
writes, sleeps, and the server's reply wakes it. On a small VM (the 2-vCPU box
these numbers come from) a wake-up from the other CPU costs the woken process
~45 us of its own CPU per round trip (an inter-processor interrupt, the guest's
idle polling, cold caches), a wake-up on the same CPU is a context switch. Left
alone, the scheduler puts the client and the server on one CPU in some runs and
on two in others, so the same code reads as two different speeds from one run
to the next, and a ratio of two clients moves with it (each client pays the
wake-up differently). Pinning both ends makes the run say which case it
measured; measuring both says how the code fares in each.

* ``same-cpu``: the client and the server pinned to one CPU
  (``os.sched_setaffinity``);
* ``spread``: the client on one CPU, the server on another;
* ``both`` (the default): every one-at-a-time row in each of the two.

Rows with many requests in flight keep both ends busy at once; the scheduler
spreads such a pair by itself, so under ``both`` they run once, ``spread``
(``--placement same-cpu`` runs them on one CPU too).

**A goal counts as met only when it is met in every placement reported**
(:data:`RULE`; each script prints it with its goals).

Usage, in a benchmark::

    _placement.add_option(parser)
    ...
    for placement in _placement.chosen(args.placement):
        with _placement.pinned(placement, server_pid):
            rows = measure(...)       # label them with placement.name

Where pinning cannot work (no ``os.sched_setaffinity``, a single CPU for this
process, or a server that is a thread of the client's own process) the runs
say ``unpinned``: the scheduler decides, as it did before this module.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SAME_CPU = "same-cpu"
SPREAD = "spread"
BOTH = "both"
UNPINNED = "unpinned"
CHOICES = (SAME_CPU, SPREAD, BOTH)

RULE = (
    "A goal counts as met only when it is met in every placement reported "
    "(same-cpu: client and server pinned to one CPU; spread: on two CPUs)."
)


@dataclass(frozen=True)
class Placement:
    """One way to place the pair: ``name`` is what the rows print; ``client``
    and ``server`` are the CPU sets (None: left to the scheduler)."""

    name: str
    client: frozenset[int] | None
    server: frozenset[int] | None


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--placement",
        choices=CHOICES,
        default=BOTH,
        help="same-cpu: client and server pinned to one CPU; spread: to two different "
        "CPUs; both (default): the one-at-a-time rows in each, the rest spread",
    )


def chosen(option: str) -> list[Placement]:
    """The placements the one-at-a-time rows run in, for ``--placement option``."""
    names = [SAME_CPU, SPREAD] if option == BOTH else [option]
    return [_placement(name) for name in names]


def busy(option: str) -> Placement:
    """The one placement for rows with many requests in flight: ``spread``
    unless ``same-cpu`` was asked for."""
    return _placement(SAME_CPU if option == SAME_CPU else SPREAD)


def _placement(name: str) -> Placement:
    cpus = _cpus()
    if not cpus:
        return Placement(UNPINNED, None, None)
    if name == SAME_CPU:
        one = frozenset(cpus[:1])
        return Placement(SAME_CPU, one, one)
    if len(cpus) < 2:
        return Placement(UNPINNED, None, None)
    return Placement(SPREAD, frozenset(cpus[:1]), frozenset(cpus[1:2]))


def _cpus() -> list[int]:
    """The CPUs this process may run on, in order; [] where affinity cannot be set."""
    if not hasattr(os, "sched_setaffinity"):
        return []
    return sorted(os.sched_getaffinity(0))


@contextmanager
def pinned(placement: Placement, server_pid: int | None) -> Iterator[Placement]:
    """Pin this process (every thread of it) and the server (``server_pid``,
    every thread of it and of its descendants: nginx's workers) as
    ``placement`` says; put both back as they were on the way out.

    ``server_pid=None`` (a server in a thread of this process) pins nothing:
    the placement is then ``unpinned``, and that is what is yielded.
    """
    if placement.client is None or placement.server is None or server_pid is None:
        yield Placement(UNPINNED, None, None)
        return
    saved: dict[int, set[int]] = {}
    try:
        for tid in _threads(os.getpid()):
            _pin(tid, placement.client, saved)
        for pid in _tree(server_pid):
            for tid in _threads(pid):
                _pin(tid, placement.server, saved)
        yield placement
    finally:
        for tid, cpus in saved.items():
            try:
                os.sched_setaffinity(tid, cpus)
            except OSError:  # the thread has ended
                pass


def _pin(tid: int, cpus: frozenset[int], saved: dict[int, set[int]]) -> None:
    try:
        saved.setdefault(tid, os.sched_getaffinity(tid))
        os.sched_setaffinity(tid, cpus)
    except OSError:  # ended between the listing and now
        saved.pop(tid, None)


def _threads(pid: int) -> list[int]:
    """Every thread of ``pid`` (an affinity belongs to a thread, not a process;
    threads started later inherit their creator's)."""
    try:
        return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return [pid]


def children_by_parent() -> dict[int, list[int]]:
    """Every process's direct children, by the parent's pid, read from /proc now."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    return parents


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from /proc (children fork after start-up:
    nginx's master forks its worker, so pinning the master alone misses it)."""
    parents = children_by_parent()
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, []))
    return tree


def label(row: str, placement: Placement) -> str:
    """A row's name with its placement: ``"sync, one at a time [same-cpu]"``."""
    return f"{row} [{placement.name}]"
