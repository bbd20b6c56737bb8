"""The async handlers: the roots the lint starts from."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from ambidex.offload import run_in_thread
from lint_project.net import Conn

from . import store
from .legacy import slow_query


async def direct() -> None:
    time.sleep(1)  # noqa: ASYNC251  FINDING: 0 deep (ruff sees this one too)


async def handler() -> str:
    return store.load("k")


async def report() -> str:
    return store.load_twice("k")


async def query() -> int:
    return slow_query("select 1")  # FINDING: user-listed blocking name, 0 deep


class Service:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def status(self) -> bytes:
        return self._poll()

    def _poll(self) -> bytes:
        return self._read_reply()

    def _read_reply(self) -> bytes:
        return self.conn.read()


async def send(conn: Conn) -> None:
    conn.locked_send(b"ping")


async def checked() -> str:
    return store.checked("k")


async def offloaded(executor: ThreadPoolExecutor) -> None:
    # None of these block the loop: the blocking function runs in a thread.
    await asyncio.to_thread(store.load, "a")
    await asyncio.get_running_loop().run_in_executor(None, store.load, "b")
    executor.submit(store.load_twice, "c")
    await asyncio.to_thread(lambda: store.load_twice("d"))
    await run_in_thread(store.load, "e")
    await asyncio.sleep(0)


async def fake() -> str:
    # AMB201 (information): async in name only.
    return await asyncio.to_thread(store.load, "f")
