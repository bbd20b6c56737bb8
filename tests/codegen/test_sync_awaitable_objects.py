"""Towards sync, what only an async generator or an awaitable object does is never
written as is.

Found by porting aiosqlite 0.22.1, aiomysql 0.3.2 and asyncpg 0.32.0 to sync
(session 7). Each was exit 0 and no word:

* ``await gen.asend(value)`` on an async generator stayed ``gen.asend(value)``
  (a sync generator has ``send``/``throw``; ``aclose`` was already ``close``):
  an ``AttributeError`` when it runs (aiosqlite's tests/perf.py);
* a class whose instances are awaited (it defines ``__await__``, or derives
  from ``Coroutine``/``Awaitable``): ``await conn.cursor(q)`` runs the object's
  ``__await__`` and gives its result; the sync ``conn.cursor(q)`` gives the
  object itself (aiomysql's ``_ContextManager``, asyncpg's ``CursorFactory``).
  aiosqlite's ``class Result(AbstractAsyncContextManager[_T], Coroutine[Any,
  Any, _T])`` even became ``class Result(AbstractContextManager[_T], _T)``, a
  TypeError on import of the whole package. Nothing reading the code can follow
  every awaited instance: the class is refused at its place.
"""

from __future__ import annotations

import warnings

import pytest

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

DRIVE = '''\
async def drive(gen, values):
    await gen.asend(None)
    for value in values:
        try:
            await gen.asend(value)
        except StopAsyncIteration:
            break
    await gen.athrow(ValueError)
    await gen.aclose()
'''


def test_towards_sync_an_async_generators_asend_and_athrow_become_send_and_throw() -> None:
    result = to_sync({"drive.py": DRIVE}, table=DEFAULT_TABLE, renames={})
    assert not [d for d in result.diagnostics if d.error], result.diagnostics
    output = result.outputs["drive.py"]
    assert "asend" not in output and "athrow" not in output and "aclose" not in output
    assert "gen.send(value)" in output and "gen.throw(ValueError)" in output
    namespace: dict[str, object] = {}
    exec(compile(output, "drive.py", "exec"), namespace)
    seen: list[object] = []

    def consumer():  # the sync twin of an async generator that records what it is sent
        while True:
            try:
                seen.append((yield))
            except ValueError:
                seen.append("thrown")
                yield

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        namespace["drive"](consumer(), [1, 2])  # type: ignore[operator]
    assert seen == [1, 2, "thrown"]


AWAITABLE_CLASS = '''\
class CursorFactory:
    def __init__(self, coro):
        self._coro = coro

    def __await__(self):
        return self._coro.__await__()


async def fetch(conn):
    cursor = await conn.cursor()
    return cursor
'''

COROUTINE_BASE = '''\
from collections.abc import Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")


class Result(Coroutine[Any, Any, _T]):
    def __init__(self, coro: Coroutine[Any, Any, _T]):
        self._coro = coro

    def send(self, value):
        return self._coro.send(value)

    def throw(self, typ, val=None, tb=None):
        return self._coro.throw(typ, val, tb)

    def close(self):
        return self._coro.close()
'''


@pytest.mark.parametrize(("source", "line", "col"), [
    (AWAITABLE_CLASS, 5, 5),
    (COROUTINE_BASE, 7, 14),
], ids=["defines-__await__", "derives-from-Coroutine"])
def test_towards_sync_a_class_whose_instances_are_awaited_refuses_the_port(
        source: str, line: int, col: int) -> None:
    result = to_sync({"m.py": source}, table=DEFAULT_TABLE, renames={})
    errors = [d for d in result.diagnostics if d.error]
    assert [(d.line, d.col) for d in errors] == [(line, col)], result.diagnostics
    assert "awaiting" in errors[0].message and "async-only" in errors[0].message


TIMEOUTS = '''\
import asyncio
import socket


async def read(sock: socket.socket) -> bytes:
    try:
        return sock.recv(10)
    except asyncio.TimeoutError:
        return b""
'''


def test_towards_sync_asyncio_timeout_error_becomes_the_builtin_the_sync_twin_raises() -> None:
    # Left as is (aiobotocore, aiohttp, nats, aioredis, asyncssh all catch it):
    # on Python 3.10 asyncio.TimeoutError is not the builtin TimeoutError that a
    # socket's timeout raises, so the sync twin's `except` never caught it.
    result = to_sync({"read.py": TIMEOUTS}, table=DEFAULT_TABLE, renames={})
    assert not [d for d in result.diagnostics if d.error], result.diagnostics
    output = result.outputs["read.py"]
    assert "except TimeoutError:" in output and "asyncio" not in output
    namespace: dict[str, object] = {}
    exec(compile(output, "read.py", "exec"), namespace)

    class Slow:
        def recv(self, size: int) -> bytes:
            raise TimeoutError("timed out")  # what socket.timeout is since 3.10

    assert namespace["read"](Slow()) == b""  # type: ignore[operator]
