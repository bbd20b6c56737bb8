"""Towards sync, an object only async code can use, given by an outside class.

``async with self._connection.execute(q) as cursor`` (``self._connection`` an
aiosqlite.Connection, databases 0.9.0), ``async with self.lock`` (``self.lock =
anyio.Lock()``, aiobotocore 3.10.0), ``await
stack.enter_async_context(aiohttp.ClientSession())`` (aiobotocore): the sync
``with`` / ``enter_context`` calls ``__enter__``, which the object lacks (or
defines only to refuse sync use), or the method is an ``async def`` whose
call gives a coroutine. Each was written with no word, exit 0. Now refused
with its place, or a located "cannot tell" where the port cannot read what
the method gives; the port's own context managers and the rule table's twins
(asyncio.Lock -> threading.Lock, AsyncExitStack) still convert cleanly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

OUTSIDE = '''\
import contextlib


def _result(function):
    return function


class Cursor:
    async def fetchall(self):
        return []

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        pass


class Both(Cursor):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


class Connection:
    @_result
    async def execute(self, query):
        return Cursor()

    @contextlib.asynccontextmanager
    async def transaction(self):
        yield self

    def cursor(self) -> Cursor:
        return Cursor()

    def both(self) -> Both:
        return Both()

    def unknown(self):
        return Cursor()

    async def rows(self):
        yield 1

    async def fetch(self):
        return 1


class Lock:
    async def __aenter__(self):
        return None

    async def __aexit__(self, *exc):
        pass


class Base:
    def __enter__(self):
        raise NotImplementedError

    def __exit__(self, *exc):
        pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        pass


class Session:
    def __enter__(self):
        raise TypeError("Use async with instead")

    def __exit__(self, *exc):
        pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        pass
'''


def _port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> list[
        tuple[int, int, bool, str]]:
    package = tmp_path / "site" / "outsideasync"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(OUTSIDE)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    result = to_sync({"run.py": source}, table=DEFAULT_TABLE, renames={})
    return [(d.line, d.col, d.error, d.message) for d in result.diagnostics]


ENTERED_FROM_A_TYPED_RECEIVER = '''\
import contextlib

import outsideasync


class Store:
    def __init__(self, connection: outsideasync.Connection) -> None:
        self._connection = connection
        self.lock = outsideasync.Lock()

    async def fetch(self, query):
        async with self._connection.execute(query) as cursor:
            return await cursor.fetchall()

    async def fetch_local(self, connection: outsideasync.Connection):
        async with connection.cursor() as cursor:
            return await cursor.fetchall()

    async def locked(self):
        async with self.lock:
            pass

    async def stacked(self):
        async with contextlib.AsyncExitStack() as stack:
            return await stack.enter_async_context(outsideasync.Session())

    async def managed(self, connection: outsideasync.Connection):
        async with connection.transaction():
            pass
        async for row in connection.rows():
            print(row)
        async with connection.unknown():
            pass
        pending = connection.fetch()
        return pending
'''


def test_an_async_only_object_from_a_typed_outside_receiver_in_async_with_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each `async with` item became `with ...` (enter_async_context ->
    # enter_context), over an object whose class has no usable __enter__, or the
    # call of an outside async def the sync code never runs: no word, exit 0.
    found = _port(tmp_path, monkeypatch, ENTERED_FROM_A_TYPED_RECEIVER)
    by_line = {line: (col, error, message) for line, col, error, message in found}
    # An async def under a decorator the port does not know (aiosqlite's
    # Connection.execute): "cannot tell", at the item.
    assert by_line[12][:2] == (20, False), found
    assert "`self._connection.execute(...)`: self._connection is annotated " \
        "outsideasync.Connection" in by_line[12][2]
    assert "decorated with @_result" in by_line[12][2] and "cannot tell" in by_line[12][2]
    # What the item binds is what its __aenter__ gives: its awaited methods are a
    # located "cannot tell" too (on `self.x` as on a parameter).
    assert by_line[13][:2] == (26, False), found
    assert "cursor is what entering outsideasync.Connection.execute() gives" in by_line[13][2]
    assert by_line[17][:2] == (26, False), found
    assert "cursor is what entering outsideasync.Connection.cursor() gives" in by_line[17][2]
    # A plain def whose return annotation names a class without __enter__.
    assert by_line[16][:2] == (20, True), found
    assert "outsideasync.Cursor has no __enter__" in by_line[16][2]
    # `self.lock = outsideasync.Lock()`, then `async with self.lock:`.
    assert by_line[20][:2] == (20, True), found
    assert "outsideasync.Lock has no __enter__" in by_line[20][2]
    # enter_async_context(Session()) -> enter_context: Session's __enter__ only raises.
    assert by_line[25][:2] == (52, True), found
    assert "enter_context" in by_line[25][2] and "only raises" in by_line[25][2]
    # An @asynccontextmanager method, an async generator method, an unannotated
    # method, a coroutine method kept unawaited.
    assert by_line[28][:2] == (20, True) and "an async context manager" in by_line[28][2]
    assert by_line[30][:2] == (26, True) and "an async generator" in by_line[30][2]
    assert by_line[32][:2] == (20, False) and "cannot tell" in by_line[32][2]
    assert by_line[34][:2] == (19, True) and "a coroutine" in by_line[34][2]
    assert sorted(by_line) == [12, 13, 16, 17, 20, 25, 28, 30, 32, 34], found


CONVERTED_CLEANLY = '''\
import asyncio
import contextlib

import outsideasync


class Own:
    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        pass


class Fine:
    def __init__(self, connection: outsideasync.Connection, base: outsideasync.Base) -> None:
        self._connection = connection
        self.lock = asyncio.Lock()
        self._base = base

    async def run(self):
        async with self.lock:
            pass
        async with self._base:
            pass
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(Own())
            await stack.enter_async_context(self._open())
        async with self._connection.both():
            pass
        return await self._connection.fetch()

    @contextlib.asynccontextmanager
    async def _open(self):
        yield self
'''


def test_the_ports_own_context_managers_and_table_twins_still_convert_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No false refusal: asyncio.Lock has its twin, AsyncExitStack enters the
    # port's own context managers, Both has a real __enter__, and Base's only
    # raises NotImplementedError (a subclass's may serve). The awaited
    # coroutine method is the one line refused (as before).
    found = _port(tmp_path, monkeypatch, CONVERTED_CLEANLY)
    assert [(line, error) for line, _, error, _ in found] == [(31, True)], found
    assert "outsideasync.Connection.fetch is a coroutine function" in found[0][3]
