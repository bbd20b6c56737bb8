"""Judging a ratio of two clients from short interleaved rounds.

Why. A request made one at a time is mostly waiting for a wake-up, and what a
wake-up costs drifts from second to second with whatever else the machine
runs (session 8 saw resp.py's raw Protocol floor move 1.13-1.85x within 20
minutes; session 9's quiet pass read gibson's async/sync 1.06x then 0.93x
same-cpu with no code changed). Two long runs taken seconds apart measure two
different machines. Two short turns taken tens of ms apart measure nearly the
same one, so the ratio of each ROUND is fair even when the rates are not, and
the median of many such ratios, printed with its quartiles, says how sure the
number is.

How, in a benchmark::

    for r in range(rounds):
        for name in _rounds.rotated(names, r):   # nobody always goes first
            rates[name].append(measure(name))
    ratios = [a / b for a, b in zip(rates["ours"], rates["theirs"])]
    median, q1, q3 = _rounds.spread_of(ratios)

Used by tools/bench/resp.py and tools/bench/gibson.py.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def rotated(items: Sequence[T], round_number: int) -> list[T]:
    """``items`` in the order round ``round_number`` takes them: rotated by one
    each round, so no contender always runs first or always after the same
    other."""
    turn = round_number % len(items)
    return [*items[turn:], *items[:turn]]


def spread_of(values: Sequence[float]) -> tuple[float, float, float]:
    """(median, first quartile, third quartile) of ``values``."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return median, q1, q3
