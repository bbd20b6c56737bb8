"""The asyncio client never blocks its event loop; its generated twin would.

Checked with ambidex's own detector in interception mode: every blocking
primitive of the rule table (socket.recv, sendall, time.sleep, ...) raises at
the call if it is made from a task of the watched loop. No watchdog, so the
check does not depend on how loaded the machine is.
"""

from __future__ import annotations

import asyncio

import pytest

import ambidex.detect
from examples.gibson import AsyncClient, Client
from examples.gibson.server import GibsonServer, ServerThread


async def test_the_async_client_makes_no_blocking_call_on_its_loop(server: GibsonServer) -> None:
    with ambidex.detect.watch(watchdog=False):
        async with await AsyncClient.connect(
            "127.0.0.1", server.port, timeout=5, max_pending=32
        ) as client:
            await client.set("k", "v")
            assert await client.get_many(["k"] * 100) == ["v"] * 100
            values = await asyncio.gather(*(client.get("k") for _ in range(300)))
            assert values == ["v"] * 300
            assert await client.delete("k") is True


async def test_the_generated_blocking_client_called_from_a_task_is_caught() -> None:
    # The control: the same detector does see the blocking twin misused.
    with ServerThread() as server, Client.connect("127.0.0.1", server.port, timeout=5) as client:
        with (
            pytest.raises(ambidex.detect.BlockingCallError, match=r"Stream\.write\(\).*use await"),
            ambidex.detect.watch(watchdog=False),
        ):
            client.get("k")
