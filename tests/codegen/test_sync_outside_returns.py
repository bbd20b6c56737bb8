"""Towards sync, what a function the port calls but does not hold returns is read.

``await outsidepkg.fetch()`` became ``outsidepkg.fetch()`` with a warning
("which is right only if it is a sync function there"): the port did not look.
The function's source can be read without importing it, beside the port's
files (a module a partial port leaves out: aiokafka 0.14.0's ``util.py``,
whose ``create_future() -> asyncio.Future[T]`` ``TransactionManager`` awaits in
``self._pid_waiter``) or on ``sys.path`` (an installed package). An ``async
def`` there, or a plain ``def`` annotated to return ``Awaitable`` /
``Coroutine`` / ``asyncio.Future`` / ``asyncio.Task``, gives the sync code
something it never waits for: refused with its place. A plain function with
nothing said keeps the warning. And a coroutine function of another module of
the port, called through its module (``u.fetch()``) and not awaited where it
is made, is refused as one called by its bare name is.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

CORE = '''\
import asyncio
from typing import Awaitable


async def fetch():
    return 1


def later() -> Awaitable[int]:
    return fetch()


def waiter(loop) -> "asyncio.Future[int]":
    return loop.create_future()


def plain():
    return 1
'''

PORTED = '''\
import outsidepkg
from outsidepkg import _core
from outsidepkg._core import waiter


async def run(loop):
    a = await outsidepkg.fetch()
    b = await _core.later()
    c = await _core.plain()
    w = waiter(loop)
    d = await w
    return a + b + c + d
'''


def _install_outsidepkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``outsidepkg`` (CORE, re-exporting ``fetch``) installed on sys.path, outside the port."""
    package = tmp_path / "site" / "outsidepkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from ._core import fetch\n")
    (package / "_core.py").write_text(CORE)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))


def test_awaiting_what_an_installed_package_says_is_awaitable_refuses_the_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _install_outsidepkg(tmp_path, monkeypatch)
    result = to_sync({"run.py": PORTED}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.col, d.error) for d in result.diagnostics]
    assert found == [(7, 15, True), (8, 15, True), (9, 15, False), (11, 9, True)], \
        result.diagnostics
    messages = [d.message for d in result.diagnostics]
    assert messages[0].startswith("awaits outsidepkg.fetch(), a coroutine function (async "
                                  "def in ")
    assert "_core.py" in messages[0]
    assert messages[1].startswith("awaits outsidepkg._core.later(), which says it returns "
                                  "typing.Awaitable")
    assert "which is right only if it is a sync function there" in messages[2]
    assert "outsidepkg._core.waiter() (which returns asyncio.Future)" in messages[3]
    # Nothing was imported to know it.
    assert "outsidepkg" not in sys.modules


UTIL = '''\
import asyncio


async def fetch():
    return 1


def create_future(loop) -> asyncio.Future:
    return loop.create_future()
'''

MANAGER = '''\
from . import util as u
from .util import create_future


class Manager:
    def __init__(self, loop):
        self._pid_waiter = create_future(loop)

    async def wait_for_pid(self):
        await self._pid_waiter

    async def kept(self):
        pending = u.fetch()
        return await pending
'''


def test_a_module_a_partial_port_leaves_out_is_read_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "util.py").write_text(UTIL)
    (tmp_path / "pkg" / "manager.py").write_text(MANAGER)
    monkeypatch.chdir(tmp_path)
    result = to_sync({"pkg/manager.py": MANAGER}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.col, d.error) for d in result.diagnostics]
    assert found[0] == (10, 9, True), result.diagnostics
    assert "pkg.util.create_future() (which returns asyncio.Future)" in \
        result.diagnostics[0].message
    # Ported together, u.fetch() kept for later is a coroutine of the port.
    together = to_sync({"pkg/__init__.py": "", "pkg/util.py": UTIL,
                        "pkg/manager.py": MANAGER}, table=DEFAULT_TABLE, renames={})
    errors = [(d.path, d.line, d.col) for d in together.diagnostics if d.error]
    assert ("pkg/manager.py", 13, 19) in errors, together.diagnostics
    message = next(d.message for d in together.diagnostics if d.line == 13)
    assert message.startswith("the coroutine of u.fetch() is not awaited where it is made")


SAME_NAMES = '''\
import outsidepkg
from outsidepkg import _core


def fetch():
    return 2


class later:
    pass


async def run():
    a = await outsidepkg.fetch()
    b = await _core.later()
    return a + b + fetch()
'''


def test_an_outside_function_is_read_though_the_port_defines_the_same_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The port's own `fetch` and `later` made `outsidepkg.fetch` and
    # `outsidepkg._core.later` count as the port's (any part of a dotted name the
    # port defined): their awaits were dropped unread, exit 0. The databases 0.9.0
    # port read `aiosqlite.core.Connection` as its own (it defines a Connection).
    _install_outsidepkg(tmp_path, monkeypatch)
    result = to_sync({"run.py": SAME_NAMES}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.col, d.error) for d in result.diagnostics]
    assert found == [(14, 15, True), (15, 15, True)], result.diagnostics
    assert result.diagnostics[0].message.startswith("awaits outsidepkg.fetch(), a coroutine")
