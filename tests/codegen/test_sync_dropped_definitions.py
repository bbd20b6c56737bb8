"""Towards sync, a definition left out of the twin is not named by the code it keeps.

``async def helper():  # ambidex: async-only`` and ``await helper()`` in a
method the twin keeps gave ``helper()`` on a function the twin does not have
(a ``NameError`` when it runs), exit 0, no word. The port is refused at each
place that still names what it left out (the same guarantee as towards async,
tests/codegen/test_port_dropped_definitions.py).
"""

from __future__ import annotations

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

CLIENT = '''\
import asyncio

IS_ASYNC = True


async def helper():  # ambidex: async-only
    await asyncio.sleep(1)


if IS_ASYNC:
    async def wake():
        await asyncio.sleep(0)


class Client:
    async def _poll(self):  # ambidex: async-only
        await asyncio.sleep(0)

    async def go(self):
        await helper()
        await self._poll()
        await wake()
'''
OTHER = "from pkg.client import Client, helper\n\n\nasync def run():\n    await helper()\n"


def _errors(modules: dict[str, str]) -> list[str]:
    result = to_sync(modules, table=DEFAULT_TABLE, renames={})
    return [f"{d.path}:{d.line}:{d.col}: {d.message}" for d in result.diagnostics if d.error]


def test_a_left_out_function_or_method_still_called_refuses_the_sync_twin() -> None:
    errors = _errors({"pkg/client.py": CLIENT})
    assert [e.split(": ")[0] for e in errors] == [
        "pkg/client.py:20:15", "pkg/client.py:21:15", "pkg/client.py:22:15"]
    assert "helper() is left out of the sync twin ('# ambidex: async-only'" in errors[0]
    assert "Client._poll() is left out of the sync twin" in errors[1]
    assert "wake() is left out of the sync twin" in errors[2]


def test_a_left_out_function_imported_by_another_module_refuses_the_sync_twin() -> None:
    errors = _errors({"pkg/client.py": CLIENT, "pkg/other.py": OTHER})
    assert sorted(e.split(": ")[0] for e in errors if e.startswith("pkg/other.py")) == [
        "pkg/other.py:1:32", "pkg/other.py:5:11"]


def test_a_left_out_definition_nobody_names_is_a_clean_sync_twin() -> None:
    source = CLIENT.split("    async def go")[0]
    assert _errors({"pkg/client.py": source}) == []


CONN = '''\
import asyncio


class Conn:
    async def fetch(self):  # ambidex: async-only
        await asyncio.sleep(0)

    async def close(self):
        await asyncio.sleep(0)
'''
USER = '''\
from pkg.conn import Conn


class Pool:
    def __init__(self, conn):
        self.conn = conn

    async def get(self, other: Conn):
        made = Conn()
        await made.fetch()
        await other.fetch()
        await Conn().fetch()
        await self.conn.fetch()
        await self.conn.close()
'''


def test_a_left_out_method_reached_through_another_object_is_refused_or_said() -> None:
    # Only self/cls/the class were read: `made.fetch()` on a `made = Conn()`
    # was written as is, an AttributeError in the sync twin, exit 0.
    result = to_sync({"pkg/conn.py": CONN, "pkg/user.py": USER}, table=DEFAULT_TABLE,
                     renames={})
    found = [(d.path, d.line, d.col, d.error) for d in result.diagnostics]
    assert found == [("pkg/user.py", 10, 15, True), ("pkg/user.py", 11, 15, True),
                     ("pkg/user.py", 12, 15, True), ("pkg/user.py", 13, 15, False)]
    messages = [d.message for d in result.diagnostics]
    assert messages[0].startswith("Conn.fetch() is left out of the sync twin")
    assert "no class the twin keeps defines `fetch`" in messages[3]


ALIASED = '''\
import pkg.conn
import pkg.conn as c
from pkg import conn as connmod


async def get(other: c.Conn):
    made = c.Conn()
    await made.fetch()
    await other.fetch()
    await connmod.Conn().fetch()
    await pkg.conn.Conn().fetch()
    unbound = c.Conn.fetch
    return unbound
'''


def test_a_left_out_method_of_a_class_reached_through_a_module_alias_is_refused() -> None:
    # `import pkg.conn as c; c.Conn()` was read as an object of unknown type: a
    # warning, where `from pkg.conn import Conn` was an error.
    result = to_sync({"pkg/conn.py": CONN, "pkg/user.py": ALIASED}, table=DEFAULT_TABLE,
                     renames={})
    found = [(d.path, d.line, d.col, d.error) for d in result.diagnostics]
    assert found == [("pkg/user.py", 8, 11, True), ("pkg/user.py", 9, 11, True),
                     ("pkg/user.py", 10, 11, True), ("pkg/user.py", 11, 11, True),
                     ("pkg/user.py", 12, 15, True)]
    messages = [d.message for d in result.diagnostics]
    assert messages[0].startswith("Conn.fetch() is left out of the sync twin")
