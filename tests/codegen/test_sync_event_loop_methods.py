"""Towards sync, an event loop's method called on an object of unknown type is said.

aiofiles 25.1.0 (``return await self._loop.run_in_executor(self._executor, cb)``)
and aiohttp 3.14.5 (``await self._loop.run_in_executor(None, tmp.close)``) kept
the loop they were given in an attribute; the sync twin called
``self._loop.run_in_executor(...)`` and returned, or dropped, the future it
gives: the work runs later, or never, in a thread nobody waits for. Exit 0, no
word. Where the loop comes from (``asyncio.get_running_loop()``) the port
already refused; an attribute or a parameter cannot be followed, but the names
of an event loop's own methods (the table's async-only rows of
``asyncio.AbstractEventLoop``) say what they are: a located warning (an error
with ``--strict``), and an error when the call is awaited where it is made
(what the sync twin keeps is then surely not what was awaited).
"""

from __future__ import annotations

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

FILES = '''\
import functools


class AsyncFile:
    def __init__(self, file, loop, executor):
        self._file = file
        self._loop = loop
        self._executor = executor

    async def read(self, size=-1):
        cb = functools.partial(self._file.read, size)
        return await self._loop.run_in_executor(self._executor, cb)

    async def close(self):
        waiter = self._loop.create_future()
        self._loop.call_soon(waiter.set_result, None)
        await waiter
        self._file.close()
'''


def test_an_event_loop_method_on_an_object_of_unknown_type_is_a_located_warning() -> None:
    result = to_sync({"files.py": FILES}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.col, d.error) for d in result.diagnostics]
    # Awaiting the loop's future is refused (test_sync_awaited_futures.py), and so
    # is awaiting a loop method's call where it is made (test_sync_thread_offloads.py).
    assert found == [(12, 22, True), (15, 18, False), (16, 9, False), (17, 9, True)], \
        result.diagnostics
    message = result.diagnostics[0].message
    assert message.startswith("`self._loop.run_in_executor(...)` is an event loop's method")
    strict = to_sync({"files.py": FILES}, table=DEFAULT_TABLE, renames={}, strict=True)
    assert [d.error for d in strict.diagnostics] == [True, True, True, True]


KEPT_AS_VALUES = '''\
import functools


def work(x):
    return x


class Copier:
    def __init__(self, loop):
        self._loop = loop

    async def copy(self, x):
        run_in_executor = self._loop.run_in_executor
        first = await run_in_executor(None, work, x)
        return first + await run_in_executor(None, work, x)

    def later(self, x):
        schedule = self._loop.call_soon
        schedule(work, x)


async def offload(x, loop):
    run = loop.run_in_executor
    return await run(None, work, x)


async def connect(timeout, loop, wait):
    factory = functools.partial(loop.create_connection, object)
    return await wait(timeout.sock_connect, factory)
'''


def test_an_event_loop_method_kept_as_a_value_is_refused_where_it_is_kept() -> None:
    # asyncpg 0.32.0 connection.py:1203 (`run_in_executor = self._loop.run_in_executor`,
    # then `await run_in_executor(None, open, path, 'wb')`): the sync twin kept the
    # bound method and called it without await, keeping a future it never waited
    # for; exit 0, no word. Called through the local and awaited: an error where
    # the method is kept; called and not awaited, or handed to functools.partial: a
    # located warning. A read that is not called (aiohttp's `timeout.sock_connect`,
    # a float there) says nothing: the name alone does not make it the loop's.
    result = to_sync({"copier.py": KEPT_AS_VALUES}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.col, d.error) for d in result.diagnostics]
    assert found == [(13, 27, True), (18, 20, False), (23, 11, True), (28, 33, False)], \
        result.diagnostics
    message = result.diagnostics[0].message
    assert message.startswith("`self._loop.run_in_executor` is an event loop's method")
    assert "awaited at lines 14, 15" in message


LOOP_OR_RUNNING_LOOP = '''\
import asyncio
from asyncio import AbstractEventLoop


def work(x):
    return x


async def offload(x, loop: AbstractEventLoop | None = None):
    loop = loop or asyncio.get_running_loop()
    return await loop.run_in_executor(None, work, x)
'''


def test_a_loop_parameter_or_the_running_loop_is_refused_with_its_lines() -> None:
    # aiohttp 3.14.5 client.py:437's `loop = loop or asyncio.get_running_loop()`:
    # not read as the running loop (a caller's loop may be another one); refused
    # where the loop is taken and where its method is awaited, never silent.
    result = to_sync({"offload.py": LOOP_OR_RUNNING_LOOP}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.error) for d in result.diagnostics]
    assert (10, True) in found and (11, True) in found, result.diagnostics
    assert result.failed
