"""The chaos test: 5,000 asyncio requests over a pool of 8 connections, a
random tenth of them cancelled or timed out while their body arrives.

Every request carries its own token; the server (examples/http/server.py, in
this test's loop) echoes it in ``X-Token`` and builds the body from it, in
pieces. A response given to the wrong caller -- the bytes of an abandoned
response read by the next request on its connection -- would show as a
wrong token or a wrong body. At the end no connection is in use, every idle
one waits for a new request (h11 ``IDLE`` on both sides), and each still
answers correctly.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections import Counter
from typing import Any

from examples.http import AsyncClient, ReadTimeout, Timeout
from examples.http.server import serve, shutdown

from .conftest import in_step, pool_of

REQUESTS = 5000
WORKERS = 64
POOL = 8


def expected(token: str, size: int) -> bytes:
    unit = token.encode()
    return (unit * (size // len(unit) + 1))[:size]


async def test_five_thousand_requests_with_a_tenth_abandoned_each_get_their_own_response(
) -> None:
    server = await serve()
    port = server.sockets[0].getsockname()[1]
    rng = random.Random(9)
    outcomes: Counter[str] = Counter()
    wrong: list[str] = []
    async with AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                   max_connections=POOL, timeout=Timeout(10, pool=None)) as c:

        async def one(i: int, fate: str) -> None:
            token = f"{i}-{rng.getrandbits(32):08x}"
            size = rng.randrange(1, 30_000)
            params: dict[str, Any] = {"t": token, "size": size, "pieces": 3}
            timeout = None
            if fate == "timeout":
                params["delay"] = 0.3  # the body stalls between pieces...
                # ...far longer than we wait; the head (sent at once) gets 50 ms, which
                # a loaded 2-core machine needs (10 ms timed out 157 of 270 heads in CI).
                timeout = Timeout(10, read=0.05, pool=None)
            elif fate == "cancel":
                params["delay"] = 0.002
            got: list[bytes] = []

            async def request() -> None:
                kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
                async with c.stream("GET", "/token", params=params, **kwargs) as response:
                    if response.headers["x-token"] != token:
                        wrong.append(f"{token}: header {response.headers['x-token']}")
                    async for chunk in response.aiter_bytes():
                        got.append(chunk)
                        if fate == "cancel" and len(got) == 1:
                            asyncio.current_task().cancel()  # type: ignore[union-attr]
                body = b"".join(got)
                if body != expected(token, size):
                    wrong.append(f"{token}: body {body[:40]!r}")

            try:
                await request()
                outcome = "completed"
            except asyncio.CancelledError:
                outcome = "cancelled mid-body" if got else "cancelled"
            except ReadTimeout:
                outcome = "timed out mid-body" if got else "timed out"
            outcomes[f"{fate}: {outcome}"] += 1

        fates = ["cancel" if r < 0.05 else "timeout" if r < 0.1 else "ok"
                 for r in (rng.random() for _ in range(REQUESTS))]
        queue = iter(enumerate(fates))

        async def worker() -> None:
            for i, fate in queue:
                await asyncio.create_task(one(i, fate)) if fate == "cancel" else await one(i, fate)

        await asyncio.gather(*(worker() for _ in range(WORKERS)))

        assert not wrong, wrong[:10]
        assert sum(outcomes.values()) == REQUESTS
        assert outcomes["ok: completed"] == fates.count("ok"), outcomes
        # A read timeout of 10 ms may also hit the head on a loaded machine.
        assert (outcomes["timeout: timed out mid-body"] + outcomes["timeout: timed out"]
                == fates.count("timeout")), outcomes
        assert outcomes["timeout: timed out mid-body"] > fates.count("timeout") // 2, outcomes
        if sys.version_info >= (3, 11):
            assert outcomes["cancel: cancelled mid-body"] == fates.count("cancel"), outcomes
        else:
            # 3.10's asyncio.wait_for (under ambidex.io's timeouts there) can
            # lose a cancellation that lands as the read completes (CPython
            # gh-86296): such a request completes, with its own response.
            assert (outcomes["cancel: cancelled mid-body"] + outcomes["cancel: completed"]
                    == fates.count("cancel")), outcomes
        pool = pool_of(c)
        # Not "at least 1": the abandoned requests are the slow ones (a read
        # timeout, a stalled body), so they are often the last to finish, and
        # each closes the connection it held. Seen on 3.10 under load: size 0,
        # every close accounted for (270 timed out + 280 cancelled, no other).
        assert 0 <= pool.size <= POOL
        assert in_step(c)
        # Every connection left in the pool answers its next request correctly.
        checks = [c.get("/token", params={"t": f"check{i}", "size": 5000}) for i in range(POOL)]
        for i, response in enumerate(await asyncio.gather(*checks)):
            assert response.headers["x-token"] == f"check{i}"
            assert response.content == expected(f"check{i}", 5000)
        assert in_step(c)
    await shutdown(server)
