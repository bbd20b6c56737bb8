"""Towards sync, what an object from outside the port is when the port keeps it.

``g = pkg.agen()`` then ``await g.aclose()``; ``c = await pkg.connect()`` then
``await c.query()``; ``async with pkg.open() as f`` then ``await f.read()``:
the sync code calls the method without ``await``. Each said nothing and kept a
coroutine nobody awaits, exit 0. What the port can read (an ``async def``
there, a return annotation naming a class whose method is one) is refused with
its place; what it cannot is a located "cannot tell" (a warning).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

OUTSIDE = '''\
class Conn:
    async def query(self):
        return 1

    def plain(self):
        return 1

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        pass


async def connect() -> Conn:
    return Conn()


async def connect_anything():
    return Conn()


async def rows():
    yield 1


def opened() -> Conn:
    return Conn()


class Factory:
    @classmethod
    async def create(cls) -> "Conn":
        return Conn()


import contextlib


def _wrap(function):
    return function


@contextlib.asynccontextmanager
async def session():
    yield Conn()


@_wrap
async def wrapped():
    return 1


class Both(Conn):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


class Rows:
    def __aiter__(self):
        return self

    async def __anext__(self):
        raise StopAsyncIteration
'''


def _port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> list[
        tuple[int, int, bool, str]]:
    package = tmp_path / "site" / "outsideval"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(OUTSIDE)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    result = to_sync({"run.py": source}, table=DEFAULT_TABLE, renames={})
    return [(d.line, d.col, d.error, d.message) for d in result.diagnostics]


FROM_AN_ASYNC_DEF_UNAWAITED = '''\
import outsideval


async def run():
    g = outsideval.rows()
    await g.aclose()
    await outsideval.rows().aclose()
    c = outsideval.connect()
    await c.query()
    c.plain()
'''


def test_a_method_of_what_an_outside_async_def_gives_unawaited_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `outsideval.rows()` is an async generator, `outsideval.connect()` a coroutine:
    # what they give has methods to await, and the sync code calls them without
    # await. Before, the kept and the chained forms both said nothing, exit 0.
    # Each call without await is refused where it is made too
    # (test_an_outside_async_def_called_without_await_is_refused).
    found = _port(tmp_path, monkeypatch, FROM_AN_ASYNC_DEF_UNAWAITED)
    methods = [(line, col, error, message) for line, col, error, message in found
               if not message.startswith("calls ")]
    assert [(line, col, error) for line, col, error, _ in methods] == [
        (6, 11, True), (7, 11, True), (9, 11, True)], found
    assert "g is made by outsideval.rows()" in methods[0][3]
    assert "an async generator" in methods[0][3] and "__init__.py" in methods[0][3]
    assert "the receiver is made by outsideval.rows()" in methods[1][3]
    assert "a coroutine function" in methods[2][3]
    assert [(line, error) for line, _, error, message in found
            if message.startswith("calls ")] == [(5, True), (7, True), (8, True)], found


KEPT_FROM_AN_AWAIT = '''\
import outsideval
import somewhere_not_installed


async def run():
    c = await outsideval.connect()
    await c.query()
    c.plain()
    d = await outsideval.connect_anything()
    await d.query()
    e = await outsideval.Factory.create()
    await e.query()
    f = await somewhere_not_installed.connect()
    await f.query()
'''


def test_a_local_kept_from_an_awaited_outside_function_is_checked_through_its_annotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `c = await pkg.connect()` then `await c.query()`: the awaited line is refused
    # (or a warning) on its own, and `c.query()` said nothing, exit 0 when the
    # awaited line is only a warning. Now it is checked through what the async def
    # says it returns (an error: Conn.query is an async def), else "cannot tell".
    found = _port(tmp_path, monkeypatch, KEPT_FROM_AN_AWAIT)
    at_query = [(line, error, message) for line, _, error, message in found
                if line in (7, 10, 12, 14)]
    assert [(line, error) for line, error, _ in at_query] == [
        (7, True), (10, False), (12, True), (14, False)], found
    assert "c is returned by outsideval.connect()" in at_query[0][2]
    assert "outsideval.Conn.query is a coroutine function" in at_query[0][2]
    assert "cannot tell" in at_query[1][2]
    assert "outsideval.Conn.query is a coroutine function" in at_query[2][2]
    assert "cannot tell" in at_query[3][2] and "cannot be read" in at_query[3][2]
    assert 8 not in [line for line, *_ in found]


ENTERED = '''\
import outsideval


async def run():
    async with outsideval.opened() as c:
        await c.query()
    with outsideval.opened() as d:
        await d.query()
        d.plain()
    async with outsideval.Conn() as e:
        await e.query()
'''


def test_a_local_entered_from_an_outside_function_is_a_located_cannot_tell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `async with pkg.opened() as c`: c is what the value's __aenter__ gives, which
    # the port does not read. Before, `await c.query()` said nothing, exit 0.
    # (Conn has no __enter__: each `async with` over one is refused too,
    # test_an_outside_class_without_the_sync_protocol_in_async_with_or_for_is_refused.)
    found = [f for f in _port(tmp_path, monkeypatch, ENTERED)
             if not f[3].startswith("`async with` over")]
    assert [(line, col, error) for line, col, error, _ in found] == [
        (6, 15, False), (8, 15, False), (11, 15, True)], found
    assert "cannot tell" in found[0][3] and "outsideval.opened()" in found[0][3]
    assert "what entering outsideval.opened() gives" in found[0][3]


CALLED_WITHOUT_AWAIT = '''\
import outsideval


async def kept():
    pending = outsideval.connect()
    return pending


async def iterated():
    async for row in outsideval.rows():
        print(row)


async def returned():
    return outsideval.connect()


async def plain():
    return outsideval.opened()


async def managed():
    async with outsideval.session() as s:
        return await s.query()


async def decorated():
    return outsideval.wrapped()
'''


def test_an_outside_async_def_called_without_await_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `pending = outsideval.connect()`, `async for row in outsideval.rows()`,
    # `return outsideval.connect()`: the sync code called the outside async def
    # and got a coroutine (an async generator, which `for` cannot iterate) it never
    # runs, exit 0, no word; a coroutine function of the port is refused there.
    # An async def under a decorator the port does not know may give anything: said.
    found = _port(tmp_path, monkeypatch, CALLED_WITHOUT_AWAIT)
    assert [(line, col, error) for line, col, error, _ in found] == [
        (5, 15, True), (10, 22, True), (15, 12, True), (23, 16, True), (24, 22, False),
        (28, 12, False)], found
    assert found[0][3].startswith("calls outsideval.connect(), a coroutine function (async "
                                  "def in ")
    assert "an async generator function" in found[1][3]
    assert "gets an async context manager, which only async code can use" in found[3][3]
    assert "decorated with @_wrap" in found[5][3] and "cannot tell" in found[5][3]


ENTERED_AND_ITERATED = '''\
import outsideval


async def run():
    async with outsideval.Conn():
        pass
    async with outsideval.Both():
        pass
    async for row in outsideval.Rows():
        print(row)
    async with outsideval.opened():
        pass
'''


def test_an_outside_class_without_the_sync_protocol_in_async_with_or_for_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `async with outsideval.Conn()` became `with outsideval.Conn()`, and Conn (read
    # from source) has __aenter__ but no __enter__: the sync `with` fails, exit 0.
    # Likewise `async for` over a class with __aiter__ and no __iter__.
    found = _port(tmp_path, monkeypatch, ENTERED_AND_ITERATED)
    assert [(line, col, error) for line, col, error, _ in found] == [
        (5, 16, True), (9, 22, True), (11, 16, True)], found
    assert "outsideval.Conn has no __enter__" in found[0][3]
    assert "outsideval.Rows has no __iter__" in found[1][3]


STORED_ON = '''\
import outsideval


async def handle():
    resp = outsideval.Conn()
    resp.content_length = 5
    resp.headers["a"] = "b"
    await resp.query()
    return resp
'''


def test_a_local_made_by_an_outside_class_stays_typed_when_an_attribute_is_stored_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # sweep12's oracle, motor 3.7.1 aiohttp/__init__.py:224: `resp =
    # aiohttp.web.StreamResponse()`, `resp.content_length = ...`, `await
    # resp.prepare(request)`: the attribute store made `resp` untyped, so the
    # await was dropped unread, exit 0. Storing on an object does not rebind it.
    found = _port(tmp_path, monkeypatch, STORED_ON)
    assert [(line, col, error) for line, col, error, _ in found] == [(8, 11, True)], found
    assert "resp is made by outsideval.Conn()" in found[0][3]


KEPT_ON_SELF = '''\
import outsideval


class Executor:
    def __init__(self, conn: outsideval.Conn, other) -> None:
        self._conn = conn
        self._other = other

    async def run(self):
        await self._conn.query()
        return await self._other.query()
'''


def test_an_attribute_kept_from_a_parameter_annotated_with_an_outside_class_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # sweep12's oracle, redis 8.1.0 asyncio/multidb/command_executor.py:196:
    # `self._event_dispatcher = event_dispatcher` (a parameter annotated with an
    # outside class whose dispatch_async is an async def), then `await
    # self._event_dispatcher.dispatch_async(...)`: the await was dropped unread,
    # exit 0; on the parameter itself it was the located error.
    found = _port(tmp_path, monkeypatch, KEPT_ON_SELF)
    assert [(line, col, error) for line, col, error, _ in found] == [(10, 15, True)], found
    assert "outsideval.Conn.query is a coroutine function" in found[0][3]
    assert "self._conn is annotated outsideval.Conn" in found[0][3], found[0][3]
