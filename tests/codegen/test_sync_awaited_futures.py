"""Towards sync, awaiting a future or a task the port sees being made is refused.

``waiter = loop.create_future()`` then ``await waiter``: the sync code keeps
``waiter``, the future itself, and waits for nothing (nobody in sync code will
ever set its result). The same for a task (``asyncio.create_task``), for a
future a function of the port says it returns (aiokafka 0.14.0's
``def create_future(...) -> asyncio.Future[T]`` in ``aiokafka/util.py``, kept
by ``TransactionManager`` in ``self._pid_waiter`` and awaited in another
method), and for an attribute every assignment in its class gives such a
value. These have no sync meaning at all, so they are errors with their place,
not the warning a value made elsewhere gets (session 8): a value the port
cannot see being made may be a finished result in sync code, these cannot.

What is not proven stays the located warning: a name bound to a future by one
path and to something else by another, an attribute someone outside the class
also sets.
"""

from __future__ import annotations

import warnings
from typing import Any

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

UTIL = '''\
from __future__ import annotations

import asyncio
from typing import TypeVar

T = TypeVar("T")


def create_future(loop: asyncio.AbstractEventLoop) -> asyncio.Future[T]:
    return loop.create_future()


def create_task(loop, coro) -> "asyncio.Task[T]":
    return loop.create_task(coro)


def make_value() -> int:
    return 1
'''

MANAGER = '''\
import asyncio

from .util import create_future, create_task, make_value


class Manager:
    def __init__(self, loop):
        self._loop = loop
        self._pid_waiter = create_future(loop)
        self._task = None

    def start(self):
        self._task = create_task(self._loop, self.run())

    async def run(self):
        return 1

    async def wait_for_pid(self):
        await self._pid_waiter

    async def stop(self):
        await self._task


async def wait(loop):
    waiter = loop.create_future()
    loop.call_soon(waiter.set_result, 1)
    return await waiter


async def spawn(coro):
    task = asyncio.create_task(coro)
    return await task


async def either(loop, conn, quick):
    if quick:
        value = make_value()
    else:
        value = loop.create_future()
    return await value


async def direct(loop):
    return await create_future(loop)
'''


def diagnostics_of(modules: dict[str, str]) -> list[tuple[str, int, int, bool, str]]:
    result = to_sync(modules, table=DEFAULT_TABLE, renames={})
    return [(d.path, d.line, d.col, d.error, d.message) for d in result.diagnostics]


def test_awaiting_a_future_or_task_the_port_sees_being_made_refuses_the_port() -> None:
    found = diagnostics_of({"pkg/__init__.py": "", "pkg/util.py": UTIL,
                            "pkg/manager.py": MANAGER})
    refused = [(path, line, col) for path, line, col, error, message in found
               if error and message.startswith("awaits `")]
    assert refused == [("pkg/manager.py", 19, 9), ("pkg/manager.py", 22, 9),
                       ("pkg/manager.py", 28, 12), ("pkg/manager.py", 33, 12)]
    messages = {line: message for path, line, _, error, message in found
                if error and path == "pkg/manager.py"}
    assert messages[19].startswith(
        "awaits `self._pid_waiter`, a future or a task: every value the class gives "
        "it is made by pkg.util.create_future() (which returns asyncio.Future)")
    assert "the sync code keeps the future itself and waits for nothing" in messages[19]
    assert "pkg.util.create_task() (which returns asyncio.Task)" in messages[22]
    assert "loop.create_future() (an event loop's method)" in messages[28]
    assert "asyncio.create_task()" in messages[33]
    # A call of a function of the port that returns a future, awaited where it is
    # made: its sync twin returns the future too.
    assert messages[45].startswith(
        "awaits pkg.util.create_future(), which returns asyncio.Future (its return "
        "annotation): its sync twin returns the future itself")
    # Bound to a future on one path only: not proven, the warning stays.
    assert [(line, error) for path, line, _, error, message in found
            if "made elsewhere" in message] == [(41, False)]


OUTSIDE = '''\
class Waiter:
    def __init__(self, loop):
        self._waiter = loop.create_future()

    async def wait(self):
        return await self._waiter


def finish(waiter: Waiter, value):
    waiter._waiter = value
'''


def test_an_attribute_also_set_outside_its_class_stays_a_warning() -> None:
    found = diagnostics_of({"m.py": OUTSIDE})
    assert [(line, error) for _, line, _, error, message in found
            if message.startswith("awaits `")] == [(6, False)]


QUIET = '''\
class Conn:
    async def fetch(self):
        return 41


async def total(conn: Conn):
    pending = conn.fetch()
    return await pending + 1
'''


def test_a_coroutine_of_the_port_kept_for_later_still_ports_and_runs() -> None:
    result = to_sync({"m.py": QUIET}, table=DEFAULT_TABLE, renames={})
    assert result.diagnostics == []
    namespace: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        exec(compile(result.outputs["m.py"], "m.py", "exec"), namespace)
        assert namespace["total"](namespace["Conn"]()) == 42


def test_a_package_unpacked_under_a_folder_with_a_hyphen_is_read_across_its_modules() -> None:
    # An sdist unpacked as aiokafka-0.14.0/aiokafka/: no module had a name, so
    # `from .util import create_future` resolved to nothing and the awaited
    # futures were the warning a value made elsewhere gets.
    root = "/tmp/dl/pkg-0.14.0/pkg"
    found = diagnostics_of({f"{root}/__init__.py": "", f"{root}/util.py": UTIL,
                            f"{root}/manager.py": MANAGER})
    refused = [(line, col) for path, line, col, error, message in found
               if error and message.startswith("awaits `")]
    assert refused == [(19, 9), (22, 9), (28, 12), (33, 12)], found
