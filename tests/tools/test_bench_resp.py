"""tools/bench/resp.py's goal lines: the raw asyncio Protocol floor is judged
against the one-at-a-time goal beside ambidex, and says what its reading means.

In spread placement the floor itself read 1.21-1.32x redis-py+hiredis
(sessions 9-10) against a goal of 1.3x, while ambidex read 1.00-1.01x the
floor: whether the goal is within any awaiting client's reach in a run is the
floor's line, so the README can quote it.
"""

from __future__ import annotations

from tools.bench.resp import ONE_AT_A_TIME_GOAL, floor_goal


def test_a_floor_under_the_goal_in_most_rounds_says_the_goal_is_above_it() -> None:
    name, goal, value, met, note = floor_goal("spread", (1.25, 1.20, 1.28))
    assert "floor" in name and "[spread]" in name
    assert goal == f">= {ONE_AT_A_TIME_GOAL}x"
    assert value == 1.25 and not met(value)
    assert "the goal is above the floor (IQR 1.20-1.28)" in note


def test_a_goal_within_the_floors_quartiles_is_at_its_edge() -> None:
    _, _, value, met, note = floor_goal("spread", (1.25, 1.19, 1.40))
    assert not met(value)
    assert "the goal sits at the floor's edge (within its IQR 1.19-1.40)" in note


def test_a_floor_over_the_goal_says_it_reaches_it() -> None:
    _, _, value, met, note = floor_goal("same-cpu", (2.6, 2.5, 2.7))
    assert met(value)
    assert "the floor reaches it" in note
