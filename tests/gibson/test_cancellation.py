"""The asyncio client at each of its awaits: waiting for room, for a reply, in close()."""

from __future__ import annotations

import asyncio

import pytest

from examples.gibson import AsyncClient, ConnectionClosedError

from .conftest import ScriptedServer


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()


async def test_a_timeout_while_waiting_for_room_records_nothing() -> None:
    with ScriptedServer(silent) as server:
        async with await AsyncClient.connect(
            "127.0.0.1", server.port, timeout=0.2, max_pending=1
        ) as client:
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
            client._waiters.pop().cancel()
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
