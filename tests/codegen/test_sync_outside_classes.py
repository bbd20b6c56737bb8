"""Towards sync, what a method of a class outside the port is, is read.

``await outsidecls.Client().fetch()``, or ``client = outsidecls.Client()``
then ``await client.fetch()``: the sync code calls ``fetch`` without
``await``. Before, the port said (at best) that nothing here knows what
``fetch`` is. The class's source can be read without importing it, as an
outside function's is (``test_sync_outside_returns.py``), with its bases,
into the modules they come from: a method that is ``async def`` there, or a
plain ``def`` annotated to return something to await, gives the sync code a
coroutine or a future it never waits for: refused with its place. A method
the class does not say (a base that cannot be read, a plain ``def`` with
nothing said) keeps the warning.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

BASES = '''\
from typing import Awaitable


class Transport:
    async def close(self):
        pass

    def later(self) -> Awaitable[int]:
        return self.close()
'''

CLIENT = '''\
from ._bases import Transport
from somewhere_not_installed import Mixin


class Client(Transport):
    async def fetch(self):
        return 1

    def plain(self):
        return 1


class Mixed(Client, Mixin):
    pass
'''

PORTED = '''\
import outsidecls
from outsidecls import Mixed


async def run():
    a = await outsidecls.Client().fetch()
    client = outsidecls.Client()
    b = await client.later()
    await client.close()
    c = await client.plain()
    mixed = Mixed()
    d = await mixed.unknown()
    e = await mixed.fetch()
    return a + b + c + d + e
'''


def test_awaiting_a_coroutine_method_of_a_class_outside_the_port_refuses_the_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    package = tmp_path / "site" / "outsidecls"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from ._client import Client, Mixed\n")
    (package / "_client.py").write_text(CLIENT)
    (package / "_bases.py").write_text(BASES)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    result = to_sync({"run.py": PORTED}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.col, d.error) for d in result.diagnostics]
    assert found == [(6, 15, True), (8, 15, True), (9, 11, True), (10, 15, False),
                     (12, 15, False), (13, 15, True)], result.diagnostics
    messages = [d.message for d in result.diagnostics]
    assert "outsidecls.Client.fetch" in messages[0] and "_client.py" in messages[0]
    assert "async def" in messages[0]
    assert "typing.Awaitable" in messages[1] and "_bases.py" in messages[1]
    assert "somewhere_not_installed.Mixin" in messages[4]
    assert result.failed


FACTORIES = '''\
from ._client import Client


def make_client() -> Client:
    return Client()


def make_quoted() -> "Client":
    return Client()


def make_anything():
    return Client()
'''

MADE_BY_FUNCTIONS = '''\
from typing import cast

import outsidecls
from outsidecls._factories import make_quoted


async def run():
    a = await outsidecls.make_client().fetch()
    b = await make_quoted().fetch()
    c = await outsidecls.make_client().plain()
    d = await outsidecls.make_anything().fetch()
    e = await cast(outsidecls.Client, d).fetch()
    f = await cast(int, e).bit_length()
    return a + b + c + d + e + f
'''


def test_a_method_of_what_an_outside_function_returns_is_checked_through_its_annotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `await pkg.make_client().fetch()`: the receiver comes from a function, not a
    # class; its return annotation names the class whose `fetch` is read. Before,
    # the port said nothing and the sync code kept a coroutine nobody awaits.
    package = tmp_path / "site" / "outsidecls"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "from ._client import Client, Mixed\n"
        "from ._factories import make_anything, make_client\n")
    (package / "_client.py").write_text(CLIENT)
    (package / "_bases.py").write_text(BASES)
    (package / "_factories.py").write_text(FACTORIES)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    result = to_sync({"run.py": MADE_BY_FUNCTIONS}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.col, d.error) for d in result.diagnostics]
    # cast(T, x).m(): T's m is read (asyncssh 2.24.1 connection.py:2571 casts to a
    # class of its own: nothing to say there).
    assert found == [(8, 15, True), (9, 15, True), (10, 15, False), (11, 15, False),
                     (12, 15, True)], result.diagnostics
    messages = [d.message for d in result.diagnostics]
    assert "outsidecls.make_client()" in messages[0] and "outsidecls._client.Client.fetch" \
        in messages[0] and "async def" in messages[0]
    assert "make_quoted()" in messages[1]
    assert "outsidecls.make_anything()" in messages[3] and "cannot tell" in messages[3]
    assert "cast to outsidecls.Client" in messages[4]
    assert result.failed


UNREADABLE_MAKER = '''\
import somewhere_not_installed


async def run():
    return await somewhere_not_installed.connect().fetch()
'''


def test_a_method_of_what_an_unreadable_outside_callable_makes_is_a_located_cannot_tell() -> None:
    # Class or function, nothing says what `fetch` gives: said at its place.
    result = to_sync({"run.py": UNREADABLE_MAKER}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.col, d.error) for d in result.diagnostics]
    assert found == [(5, 18, False)], result.diagnostics
    assert "cannot be read" in result.diagnostics[0].message
    assert "somewhere_not_installed.connect()" in result.diagnostics[0].message
