"""PipelineQueue: replies go to the oldest waiter, and a caller who left keeps its place."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambidex.sansio import LocalProtocolError, PipelineQueue, RemoteProtocolError


def test_the_talks_bug_popping_the_newest_waiter_hands_replies_to_the_wrong_callers() -> None:
    callers = ["alice", "bob", "carol"]
    replies = ["reply-for-alice", "reply-for-bob", "reply-for-carol"]

    buggy: list[str] = []
    buggy.extend(callers)
    got_buggy = {buggy.pop(): reply for reply in replies}  # the bug: newest first
    assert got_buggy["alice"] == "reply-for-carol"  # what the bug does

    queue: PipelineQueue[str] = PipelineQueue()
    for caller in callers:
        queue.push(caller)
    got = {queue.pop(): reply for reply in replies}
    assert got == {c: f"reply-for-{c}" for c in callers}


async def test_a_cancelled_waiter_keeps_its_place_and_its_reply_is_dropped() -> None:
    loop = asyncio.get_running_loop()
    queue: PipelineQueue[asyncio.Future[str]] = PipelineQueue()
    futures = [loop.create_future() for _ in range(3)]
    for future in futures:
        queue.push(future)
    futures[1].cancel()  # the middle caller gave up
    for reply in ["r0", "r1", "r2"]:
        waiter = queue.pop()
        if not waiter.done():
            waiter.set_result(reply)
        # a done (cancelled) waiter: its reply is consumed here and dropped
    assert futures[0].result() == "r0"
    assert futures[1].cancelled()
    assert futures[2].result() == "r2"  # not "r1": nobody moved up a place


def test_a_reply_with_nothing_pending_is_the_peers_fault() -> None:
    queue: PipelineQueue[int] = PipelineQueue()
    with pytest.raises(RemoteProtocolError, match="no request pending"):
        queue.pop()


def test_fail_all_returns_every_pending_token_oldest_first_and_empties_the_queue() -> None:
    queue: PipelineQueue[int] = PipelineQueue()
    for i in range(5):
        queue.push(i)
    queue.pop()
    assert queue.fail_all() == [1, 2, 3, 4]
    assert len(queue) == 0
    assert not queue


def test_max_pending_refuses_a_push_beyond_the_bound() -> None:
    queue: PipelineQueue[int] = PipelineQueue(max_pending=2)
    queue.push(1)
    assert not queue.full
    queue.push(2)
    assert queue.full
    with pytest.raises(LocalProtocolError, match="max_pending=2"):
        queue.push(3)
    queue.pop()
    queue.push(3)
    assert list(queue) == [2, 3]
    with pytest.raises(ValueError):
        PipelineQueue(max_pending=0)


def test_peek_shows_the_oldest_without_removing_it() -> None:
    queue: PipelineQueue[str] = PipelineQueue()
    with pytest.raises(LocalProtocolError):
        queue.peek()
    queue.push("a")
    queue.push("b")
    assert queue.peek() == "a"
    assert len(queue) == 2
    assert repr(queue) == "<PipelineQueue 2 pending>"


@settings(max_examples=100)
@given(st.lists(st.sampled_from(["push", "pop", "cancel"]), max_size=200))
def test_every_surviving_caller_gets_exactly_its_own_reply(ops: list[str]) -> None:
    queue: PipelineQueue[int] = PipelineQueue()
    sent = 0
    replied = 0  # the server answers in order
    cancelled: set[int] = set()
    delivered: dict[int, int] = {}
    for op in ops:
        if op == "push":
            queue.push(sent)
            sent += 1
        elif op == "cancel" and sent:
            cancelled.add(sent - 1)
        elif op == "pop" and replied < sent:
            token = queue.pop()
            if token not in cancelled:
                delivered[token] = replied
            replied += 1
    assert all(token == reply for token, reply in delivered.items())
    assert len(queue) == sent - replied


def test_push_many_is_that_many_pushes_of_one_token_and_is_refused_whole() -> None:
    queue: PipelineQueue[str] = PipelineQueue(max_pending=5)
    queue.push("a")
    queue.push_many("batch", 3)
    assert list(queue) == ["a", "batch", "batch", "batch"]
    with pytest.raises(LocalProtocolError):
        queue.push_many("b", 2)  # 4 + 2 > 5: nothing recorded
    assert len(queue) == 4
    with pytest.raises(LocalProtocolError):
        queue.push_many("b", -1)
    queue.push_many("c", 0)
    assert [queue.pop() for _ in range(4)] == ["a", "batch", "batch", "batch"]
