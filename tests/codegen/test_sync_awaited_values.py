"""Towards sync, awaiting a value made elsewhere is said, with its place.

aiokafka 0.14.0's ``TransactionManager`` keeps a future made by
``aiokafka.util.create_future()`` and waits for it with ``await self._pid_waiter``.
The sync twin wrote ``self._pid_waiter``, a statement that waits for nothing:
``wait_for_pid()`` returned at once, exit 0 and no word. A call awaited where it
is made keeps its meaning in sync code (the call runs there); an awaited value
was made elsewhere (a future, a task, a coroutine kept for later), and what
awaiting it did has no sync spelling.

What the port can explain stays quiet, because the sync value is the result:
an item of ``async for`` (the sync ``for`` gives the items), a value a coroutine
function of the port gives (its sync twin returns the result; a property of the
port, aiobotocore's ``await response.content``), a value the function asks about
first (``if inspect.isawaitable(x)``, ``hasattr(x, "__await__")``), and
code only the async colour runs, and what a callable the caller hands in
returns (the sync caller hands in a sync one: pymongo's ``result =
kms_connect_callback(...)``). Everything else (an attribute, a parameter, an
item of a plain ``for``, what an awaited call or a plain function returned) is
a located warning, an error with --strict. A future or a task the port sees
being made (``waiter = loop.create_future()``) is refused:
test_sync_awaited_futures.py.
"""

from __future__ import annotations

import concurrent.futures
import sys
import types
import warnings
from typing import Any

import pytest

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

MESSAGE = "made elsewhere"

MANAGER = '''\
from other import create_future


class Manager:
    def __init__(self):
        self._waiter = create_future()

    async def wait(self):
        await self._waiter
        done = self._waiter
        return await done


class Response:
    async def _read(self):
        return b""

    @property
    def content(self):
        return self._read()


async def body(response: Response):
    return await response.content
'''


def found_in(source: str, **options: object) -> list[tuple[int, int, bool]]:
    result = to_sync({"m.py": source}, table=DEFAULT_TABLE, renames={},
                     **options)  # type: ignore[arg-type]
    return [(d.line, d.col, d.error) for d in result.diagnostics if MESSAGE in d.message]


def run_module(output: str) -> dict[str, Any]:
    """Execute a sync output with RuntimeWarning as an error; its namespace."""
    namespace: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        exec(compile(output, "m.py", "exec"), namespace)
    return namespace


def test_awaiting_a_future_kept_in_an_attribute_is_a_located_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert found_in(MANAGER) == [(9, 9, False), (11, 16, False)]
    result = to_sync({"m.py": MANAGER}, table=DEFAULT_TABLE, renames={})
    message = next(d.message for d in result.diagnostics if MESSAGE in d.message)
    assert message.startswith("awaits `self._waiter`, a value made elsewhere")
    assert not [d for d in result.diagnostics if d.error], result.diagnostics
    assert [line for line, _, error in found_in(MANAGER, strict=True) if error] == [9, 11]
    # What the warning is about: the sync `wait()` hands back the future itself.
    other = types.ModuleType("other")
    other.create_future = concurrent.futures.Future  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "other", other)
    namespace = run_module(result.outputs["m.py"])
    manager = namespace["Manager"]()
    assert manager.wait() is manager._waiter and not manager._waiter.done()


TASKS = '''\
class Fetcher:
    def __init__(self, tasks):
        self._tasks = tasks

    async def close(self):
        for task in self._tasks:
            await task

    async def send_and_wait(self):
        future = await self.send()
        return await future

    async def send(self):
        return self._tasks[0]


async def wait_for(fut, timeout):
    return await fut


def make_waiter(tasks):
    return tasks[0]


async def first(tasks):
    waiter = make_waiter(tasks)
    return await waiter
'''


def test_awaiting_a_task_a_parameter_or_what_an_awaited_call_returned_is_said() -> None:
    assert found_in(TASKS) == [(7, 13, False), (11, 16, False), (18, 12, False),
                               (27, 12, False)]
    result = to_sync({"m.py": TASKS}, table=DEFAULT_TABLE, renames={})
    namespace = run_module(result.outputs["m.py"])
    assert namespace["first"](["done"]) == "done"  # right only for a finished value


EXPLAINED = '''\
import asyncio
import inspect

_IS_SYNC = False


class Conn:
    async def fetch(self):
        return 1


async def total(ait, conn: Conn, maybe, loop, callback):
    result = 0
    async for x in ait:
        result += await x
    result += sum([await y async for y in ait])
    pending = conn.fetch()
    result += await pending
    if inspect.isawaitable(maybe):
        maybe = await maybe
    if not _IS_SYNC:
        await conn.background
    await conn.later  # ambidex: async-only
    called = callback()
    if hasattr(called, "__await__"):
        called = await called
    given = callback()
    return result + maybe + called + await given
'''


def test_an_item_of_async_for_a_ports_own_result_and_what_was_said_already_stay_quiet(
) -> None:
    result = to_sync({"m.py": EXPLAINED}, table=DEFAULT_TABLE, renames={},
                     flags={"_IS_SYNC": "sync"})
    assert result.diagnostics == []
    output = result.outputs["m.py"]
    assert "await " not in output and "background" not in output and "later" not in output
    namespace = run_module(output)

    class SyncConn:  # what the port's Conn becomes
        def fetch(self):
            return 1

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert namespace["total"]([2, 3], SyncConn(), 10, None, lambda: 100) == 221


VERSIONED_CLIENT = '''\
import sys

if sys.version_info >= (3, 11):
    class Client:
        async def fetch(self):
            return 1
else:
    try:
        from fast import Client
    except ImportError:
        class Client:
            async def fetch(self):
                return 2
'''

USES_VERSIONED = '''\
from .client import Client


async def run():
    client = Client()
    kept = client.fetch()
    return await kept
'''


def test_a_coroutine_method_of_a_class_defined_under_if_or_try_explains_what_is_awaited() -> None:
    # A class of the port defined in a top-level `if` or `try` (a version switch, an
    # optional accelerator) is one of the port's classes as a top-level one is: the
    # result of its coroutine method, kept then awaited, is the result in the sync
    # twin too. Before, only top-level classes counted, and the await was a warning.
    result = to_sync({"pkg/__init__.py": "", "pkg/client.py": VERSIONED_CLIENT,
                      "pkg/use.py": USES_VERSIONED}, table=DEFAULT_TABLE, renames={})
    assert [str(d) for d in result.diagnostics] == []
    assert "    kept = client.fetch()\n    return kept\n" in result.outputs["pkg/use.py"]
