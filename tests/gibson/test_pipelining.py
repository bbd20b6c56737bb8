"""Thousands of requests on one connection, with a random part cancelled or timed out.

What must hold: every reply delivered is the one for its request (checked by
content: key i holds value i), every request that was not cancelled completes,
and afterwards nothing is left waiting.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from examples.gibson import AsyncClient
from examples.gibson.protocol import Encoding
from examples.gibson.server import GibsonServer

REQUESTS = 3000


async def one_request(
    client: AsyncClient, i: int, fate: str, rng: random.Random
) -> tuple[str, object]:
    key = f"k{i}"
    if fate == "timeout":
        try:
            return fate, await asyncio.wait_for(client.get(key), rng.uniform(0, 0.003))
        except (TimeoutError, asyncio.TimeoutError):
            return fate, TimeoutError
    return fate, await client.get(key)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_thousands_of_pipelined_requests_with_cancellations_get_their_own_replies(
    server: GibsonServer, seed: int
) -> None:
    rng = random.Random(seed)
    for i in range(REQUESTS):
        server.store[f"k{i}".encode()] = (Encoding.BINARY, f"v{i}".encode())
    async with await AsyncClient.connect(
        "127.0.0.1", server.port, timeout=30, max_pending=64
    ) as client:
        fates = [
            rng.choice(["plain", "plain", "plain", "cancel", "timeout"]) for _ in range(REQUESTS)
        ]
        tasks = [
            asyncio.create_task(one_request(client, i, fate, rng)) for i, fate in enumerate(fates)
        ]
        # Cancel the chosen ones at random moments: some while they wait for
        # room under max_pending, some after their request is on the wire,
        # some while the reply is arriving.
        doomed = [task for task, fate in zip(tasks, fates, strict=True) if fate == "cancel"]
        rng.shuffle(doomed)
        loop = asyncio.get_running_loop()
        for n, task in enumerate(doomed):
            if n % 2:
                loop.call_later(rng.uniform(0, 0.1), task.cancel)
                continue
            for _ in range(rng.randrange(4)):
                await asyncio.sleep(0)
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)

        delivered = 0
        for i, (fate, result) in enumerate(zip(fates, results, strict=True)):
            if isinstance(result, asyncio.CancelledError):
                assert fate == "cancel"
                continue
            assert not isinstance(result, BaseException), (i, fate, result)
            got_fate, value = result
            if value is TimeoutError:
                assert got_fate == "timeout"
                continue
            assert value == f"v{i}".encode(), (i, fate, value)
            delivered += 1
        plain = fates.count("plain")
        assert delivered >= plain  # every request nobody gave up on completed
        # The run did exercise both ways of giving up.
        assert any(isinstance(r, asyncio.CancelledError) for r in results)
        assert any(not isinstance(r, BaseException) and r[1] is TimeoutError for r in results)

        # FIFO: once a fresh request is answered, every earlier reply was read.
        assert await client.get("k7") == b"v7"
        assert len(client._waiters) == 0
        assert client._reserved == 0
        assert not [room for _, room in client._room_waiters if not room.done()]
        assert client._error is None


async def test_a_task_cancelled_while_waiting_for_room_records_nothing(
    server: GibsonServer,
) -> None:
    server.store[b"k"] = (Encoding.BINARY, b"v")
    async with await AsyncClient.connect(
        "127.0.0.1", server.port, timeout=10, max_pending=1
    ) as client:
        first = asyncio.create_task(client.get("k"))
        second = asyncio.create_task(client.get("k"))
        await asyncio.sleep(0)  # first is on the wire, second waits for room
        assert client._conn.outstanding == 1
        second.cancel()
        assert await first == b"v"
        with pytest.raises(asyncio.CancelledError):
            await second
        assert client._conn.outstanding == 0
        assert await client.get("k") == b"v"


async def test_batches_and_single_requests_interleave_in_order(server: GibsonServer) -> None:
    for i in range(200):
        server.store[f"k{i}".encode()] = (Encoding.UTF8, f"v{i}".encode())
    async with await AsyncClient.connect(
        "127.0.0.1", server.port, timeout=10, max_pending=16
    ) as client:
        batches = [client.get_many([f"k{j}" for j in range(i, i + 20)]) for i in range(0, 200, 20)]
        singles = [client.get(f"k{i}") for i in range(200)]
        results = await asyncio.gather(*batches, *singles)
        assert results[:10] == [[f"v{j}" for j in range(i, i + 20)] for i in range(0, 200, 20)]
        assert results[10:] == [f"v{i}" for i in range(200)]
