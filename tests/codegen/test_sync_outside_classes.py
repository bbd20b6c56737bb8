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


MORE_MAKERS = '''\
import sys
from typing import Optional, Union

from typing_extensions import Self

from ._client import Client
from ._factories import make_client


class Other:
    def fetch(self):
        return 2


def maybe_client() -> Client | None:
    return Client()


def optional_client() -> Optional[Client]:
    return Client()


def union_client() -> "Union[None, Client]":
    return Client()


def either() -> Other | Client:
    return Other()


def maybe_other() -> "Other | None":
    return Other()


make = make_client


class Factory:
    @classmethod
    def create(cls) -> "Factory":
        return cls()

    @staticmethod
    def build() -> Client:
        return Client()

    @classmethod
    def new(cls) -> Self:
        return cls()

    async def fetch(self):
        return 3


Made = Factory

if sys.version_info >= (3, 99):
    class Versioned:
        def fetch(self):
            return 4
else:
    class Versioned:
        async def fetch(self):
            return 4

try:
    from somewhere_not_installed import Tried
except ImportError:
    class Tried:
        async def fetch(self):
            return 5
'''

MADE_BY_MORE = '''\
from outsidecls import _more


async def run():
    a = await _more.maybe_client().fetch()
    b = await _more.optional_client().fetch()
    c = await _more.union_client().fetch()
    d = await _more.either().fetch()
    e = await _more.make().fetch()
    f = await _more.Factory.create().fetch()
    g = await _more.Factory.build().fetch()
    h = await _more.Factory.new().fetch()
    i = await _more.Made().fetch()
    j = await _more.Versioned().fetch()
    k = await _more.Tried().fetch()
    m = await _more.maybe_other().fetch()
    return a + b + c + d + e + f + g + h + i + j + k + m
'''


def test_what_an_outside_maker_returns_is_read_through_unions_factories_and_aliases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A return annotation `Client | None` / `Optional[Client]` / a union of classes,
    # a factory method (`@classmethod def create(cls) -> "Factory"`, `-> Self`, a
    # staticmethod), an alias (`make = make_client`, `Made = Factory`), and a class
    # defined under `if`/`try` (every definition read): each names classes whose
    # `fetch` is an async def, so the sync code would call it without await and
    # keep a coroutine. Before, each was a "cannot tell" warning.
    package = tmp_path / "site" / "outsidecls"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "_client.py").write_text(CLIENT)
    (package / "_bases.py").write_text(BASES)
    (package / "_factories.py").write_text(FACTORIES)
    (package / "_more.py").write_text(MORE_MAKERS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    result = to_sync({"run.py": MADE_BY_MORE}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.error) for d in result.diagnostics]
    assert found == [(line, True) for line in range(5, 16)] + [(16, False)], \
        result.diagnostics
    assert all("async def" in d.message for d in result.diagnostics[:-1]), result.diagnostics
    # Other.fetch is a plain def: the warning that nothing here knows more.
    assert "cannot tell" not in result.diagnostics[-1].message, result.diagnostics


KEPT_FROM_MAKERS = '''\
import outsidecls
from outsidecls import _more


async def run():
    a = outsidecls.make_client()
    b = _more.maybe_client()
    c = _more.Factory.create()
    d = _more.maybe_other()
    first = await a.fetch()
    second = await b.fetch()
    third = await c.fetch()
    fourth = await d.fetch()
    return first + second + third + fourth
'''


def test_a_local_kept_from_what_an_outside_maker_returns_is_checked_as_the_chained_call_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `a = pkg.make_client()` then `await a.fetch()`: said nothing (the sync code
    # kept a coroutine nobody awaits, exit 0), where `await pkg.make_client().fetch()`
    # and `a = pkg.Client()` were refused.
    package = tmp_path / "site" / "outsidecls"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from ._factories import make_client\n")
    (package / "_client.py").write_text(CLIENT)
    (package / "_bases.py").write_text(BASES)
    (package / "_factories.py").write_text(FACTORIES)
    (package / "_more.py").write_text(MORE_MAKERS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    result = to_sync({"run.py": KEPT_FROM_MAKERS}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.error) for d in result.diagnostics]
    assert found == [(10, True), (11, True), (12, True), (13, False)], result.diagnostics
    assert "a is returned as outsidecls._client.Client" in result.diagnostics[0].message


KEPT_FROM_FUNCTIONS = '''\
import outsidecls
import somewhere_not_installed


async def run():
    a = outsidecls.make_anything()
    b = somewhere_not_installed.connect()
    first = await a.fetch()
    second = await b.fetch()
    third = a.plain()
    loop = somewhere_not_installed.get_loop()
    await loop.create_connection(object)
    return first + second + third
'''


def test_a_local_kept_from_an_outside_function_without_a_return_annotation_is_a_located_cannot_tell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `await pkg.make_anything().fetch()` was a located "cannot tell"; through a local,
    # `a = pkg.make_anything()` then `await a.fetch()`, it said nothing and the sync
    # code kept a coroutine nobody awaits, exit 0. The same warning now, at the await.
    package = tmp_path / "site" / "outsidecls"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from ._factories import make_anything\n")
    (package / "_client.py").write_text(CLIENT)
    (package / "_bases.py").write_text(BASES)
    (package / "_factories.py").write_text(FACTORIES)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    result = to_sync({"run.py": KEPT_FROM_FUNCTIONS}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.col, d.error) for d in result.diagnostics]
    # An event loop's method awaited: refused at the call, once (not also "cannot tell").
    assert found == [(8, 19, False), (9, 20, False), (12, 11, True)], result.diagnostics
    messages = [d.message for d in result.diagnostics]
    assert "outsidecls.make_anything()" in messages[0] and "cannot tell" in messages[0] \
        and "says no class it returns" in messages[0]
    assert "somewhere_not_installed.connect()" in messages[1] and "cannot tell" in messages[1] \
        and "cannot be read" in messages[1]
    assert "an event loop's method" in messages[2]


LOWER_CASE_CLASS = '''\
class client:
    async def fetch(self):
        return 1
'''

KEPT_FROM_A_LOWER_CASE_CLASS = '''\
import lowcls


async def run():
    first = await lowcls.client().fetch()
    c = lowcls.client()
    return first + await c.fetch()
'''


def test_a_local_kept_from_an_outside_class_named_in_lower_case_is_checked_as_the_chained_call_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `await pkg.client().fetch()` was refused (client.fetch an async def, read from
    # source); `c = pkg.client()` then `await c.fetch()` said nothing, exit 0.
    package = tmp_path / "site" / "lowcls"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(LOWER_CASE_CLASS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    result = to_sync({"run.py": KEPT_FROM_A_LOWER_CASE_CLASS}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.error) for d in result.diagnostics]
    assert found == [(5, True), (7, True)], result.diagnostics
    assert "c is made by lowcls.client()" in result.diagnostics[1].message
    assert "async def" in result.diagnostics[1].message
