"""The asyncio client at each of its awaits: waiting for room, for a reply, in close()."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

import pytest

from examples import _timer
from examples._timer import DeadlineTimer
from examples.gibson import AsyncClient, ConnectionClosedError

from .conftest import ScriptedServer


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()


async def test_a_timeout_while_waiting_for_room_records_nothing() -> None:
    with ScriptedServer(silent) as server:
        async with await AsyncClient.connect(
            "127.0.0.1", server.port, timeout=5, max_pending=1
        ) as client:
            client.timeout = 0.2  # after the connect: under load a connect can take 0.2 s
            first = asyncio.create_task(client.get("a"))
            await asyncio.sleep(0)
            assert client._conn.outstanding == 1
            with pytest.raises(TimeoutError):
                await client.get("b")  # never got room: nothing was sent
            assert client._conn.outstanding == 1
            assert not [room for _, room in client._room_waiters if not room.done()]
            with pytest.raises(TimeoutError):
                await first


async def test_room_granted_to_a_caller_cancelled_before_it_runs_is_handed_on() -> None:
    with ScriptedServer(silent) as server:
        async with await AsyncClient.connect(
            "127.0.0.1", server.port, timeout=5, max_pending=1
        ) as client:
            first = asyncio.create_task(client.get("a"))
            second = asyncio.create_task(client.get("b"))
            third = asyncio.create_task(client.get("c"))
            await asyncio.sleep(0)  # first on the wire; second and third wait in line
            assert len(client._room_waiters) == 2
            # What the reader does when first's reply comes, and, before second
            # can run, second is cancelled: the race this pins, made exact.
            client._waiters.popleft()[0].cancel()
            client._grant_room()
            assert client._reserved == 1
            second.cancel()
            with pytest.raises(asyncio.CancelledError):
                await second
            for _ in range(20):  # a few loop turns for third to use the room
                if client._conn.outstanding == 2:
                    break
                await asyncio.sleep(0)
            assert client._conn.outstanding == 2  # "a" (unanswered) and "c"
            assert client._reserved == 0
            for task in (first, third):
                task.cancel()
            await asyncio.gather(first, third, return_exceptions=True)


async def test_close_cancelled_midway_still_fails_waiters_and_closes_the_stream() -> None:
    with ScriptedServer(silent) as server:
        client = await AsyncClient.connect("127.0.0.1", server.port, timeout=10)
        pending = [asyncio.create_task(client.get(f"k{i}")) for i in range(5)]
        await asyncio.sleep(0)
        closing = asyncio.create_task(client.close())
        await asyncio.sleep(0)
        closing.cancel()
        await asyncio.gather(closing, return_exceptions=True)
        results = await asyncio.gather(*pending, return_exceptions=True)
        assert all(isinstance(r, ConnectionClosedError) for r in results), results
        assert len(client._waiters) == 0
        assert client._broken.is_set()
        await client.close()  # a second close finishes the job, and is harmless
        assert client._stream.closed


async def test_cancelling_a_batch_caller_drops_all_its_replies_and_keeps_the_order() -> None:
    from examples.gibson.server import serve

    async with (
        serve() as server,
        await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client,
    ):
        await client.set("x", "1")
        batch = asyncio.create_task(client.get_many(["x"] * 50))
        await asyncio.sleep(0)
        batch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await batch
        assert await client.get("x") == "1"
        assert len(client._waiters) == 0


# -- timeouts: one timer per connection (see AsyncClient._expire) -----------------------


async def test_fifty_waiting_requests_arm_one_timer_and_all_time_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    armed: list[float] = []
    arm = DeadlineTimer.arm

    def counting_arm(self: DeadlineTimer, when: float) -> None:
        armed.append(when)
        arm(self, when)

    with ScriptedServer(silent) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client:
            client.timeout = 0.3  # after the connect: under load a connect can take 0.3 s
            monkeypatch.setattr(DeadlineTimer, "arm", counting_arm)
            try:
                tasks = [asyncio.create_task(client.get(f"k{i}")) for i in range(50)]
                results = await asyncio.wait_for(
                    asyncio.gather(*tasks, return_exceptions=True), 10
                )
            finally:
                monkeypatch.undo()
            assert all(type(result) is TimeoutError for result in results)
            # Every request had a deadline; the connection armed its timer for the
            # earliest, and again for what was left each time it fired (the
            # deadlines are microseconds to milliseconds apart), not once per request.
            assert 1 <= len(armed) < 25, armed
            assert len(client._waiters) == 50  # they keep their places


async def test_a_waiting_request_with_a_timeout_leaves_the_loop_no_timer_on_linux() -> None:
    # The connection's deadline timer is a timer descriptor (examples/_timer.py):
    # the loop's waits for the reply carry no timeout, and the deadline still comes.
    loop = asyncio.get_running_loop()
    with ScriptedServer(silent) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client:
            client.timeout = 0.2  # after the connect: under load a connect can take 0.2 s
            waiting = asyncio.create_task(client.get("k"))
            await asyncio.sleep(0.05)
            if sys.platform.startswith("linux"):
                assert client._timer is not None and client._timer.uses_descriptor
                live = [h for h in loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
                assert not live, live
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(waiting, 10)
            assert len(client._waiters) == 1  # its place is kept, the connection is fine
            assert client._error is None


async def test_without_timer_descriptors_a_deadline_is_a_loop_timer_that_fires_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_timer, "_TIMERFD", None)
    with ScriptedServer(silent) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client:
            client.timeout = 0.1  # after the connect: under load a connect can take 0.1 s
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.get("a"), 10)
            assert client._timer is not None and not client._timer.uses_descriptor
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.get("b"), 10)  # armed again after it fired
            assert len(client._waiters) == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="timer descriptors: Linux")
async def test_closing_a_client_gives_its_timer_descriptor_back(
    timer_descriptors: Callable[[], int],
) -> None:
    with ScriptedServer(silent) as server:
        before = timer_descriptors()
        for _ in range(3):
            async with await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client:
                client.timeout = 0.05  # after the connect: under load a connect can take 0.05 s
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(client.get("k"), 10)
                assert client._timer is not None and client._timer.uses_descriptor
                assert timer_descriptors() == before + 1
        assert timer_descriptors() == before


async def test_a_shorter_timeout_set_while_a_longer_one_waits_fires_on_its_own_deadline() -> None:
    with ScriptedServer(silent) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=60) as client:
            patient = asyncio.create_task(client.get("a"))
            await asyncio.sleep(0)
            client.timeout = 0.1
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.get("b"), 10)
            assert not patient.done()  # its own deadline is a minute away
            patient.cancel()
            with pytest.raises(asyncio.CancelledError):
                await patient
            assert len(client._waiters) == 2


async def test_the_timer_is_armed_again_for_requests_whose_deadline_is_later() -> None:
    with ScriptedServer(silent) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client:
            client.timeout = 0.2  # after the connect: under load a connect can take 0.2 s
            first = asyncio.create_task(client.get("a"))
            await asyncio.sleep(0.1)
            second = asyncio.create_task(client.get("b"))
            results = await asyncio.wait_for(
                asyncio.gather(first, second, return_exceptions=True), 10
            )
            assert [type(result) for result in results] == [TimeoutError, TimeoutError]


async def test_a_batch_that_times_out_raises_timeout_error_and_keeps_its_places() -> None:
    with ScriptedServer(silent) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client:
            client.timeout = 0.1  # after the connect: under load a connect can take 0.1 s
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.get_many(["a", "b", "c"]), 10)
            assert len(client._waiters) == 3
            assert all(future.done() for future, _ in client._waiters)


async def test_a_caller_cancelled_as_its_deadline_passes_is_cancelled_not_timed_out() -> None:
    with ScriptedServer(silent) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client:
            client.timeout = 0.05  # after the connect: under load a connect can take 0.05 s
            task = asyncio.create_task(client.get("a"))
            await asyncio.sleep(0)
            future, deadline = client._waiters[0]
            assert deadline is not None
            # The timer and the cancellation in the same turn of the loop: the
            # caller's own cancellation wins, and the timer leaves it alone.
            client._expire()  # as if the deadline had come
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert future.done()
