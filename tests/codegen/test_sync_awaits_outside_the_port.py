"""Towards sync, an awaited function from outside the port is said, with its place.

pymongo's ``pool.py`` does ``await async_sendall(conn, message)`` with
``async_sendall`` imported from ``pymongo.network_layer``, a module the port of
``pymongo/asynchronous`` does not hold. The sync code called
``async_sendall(conn, message)``, a coroutine nobody awaits, and the port said
nothing (exit 0). Whether a function of another module is a coroutine function
cannot be known from here: it is a warning (an error with ``--strict``) unless
the port holds its module, the table names it, or a rename gives its twin.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

POOL = '''\
import asyncio

import other.net
from other.net import async_sendall
from pkg.helpers import send_twice


async def send(conn, message):
    await async_sendall(conn, message)
    await other.net.async_recv(conn)
    await send_twice(conn)
    await asyncio.sleep(0)
'''
HELPERS = "async def send_twice(conn):\n    pass\n"


def _messages(renames: dict[str, str] | None = None, *, strict: bool = False) -> list[str]:
    result = to_sync({"pkg/pool.py": POOL, "pkg/helpers.py": HELPERS}, table=DEFAULT_TABLE,
                     renames=renames or {}, strict=strict)
    return [f"{d.line}:{d.col}:{'E' if d.error else 'W'}:{d.message}" for d in result.diagnostics]


def test_an_awaited_function_imported_from_outside_the_port_is_a_located_warning() -> None:
    messages = _messages()
    assert [m[:10] for m in messages] == ["9:11:W:awa", "10:11:W:aw"]
    assert "awaits other.net.async_sendall(), which comes from outside the port" in messages[0]
    assert "--rename other.net.async_sendall=" in messages[0]
    assert "other.net.async_recv()" in messages[1]


def test_with_strict_an_awaited_function_from_outside_the_port_refuses_the_port() -> None:
    assert [m[:6] for m in _messages(strict=True)] == ["9:11:E", "10:11:"]


def test_a_rename_that_gives_the_sync_twin_of_an_outside_function_silences_it() -> None:
    assert _messages({"other.net.async_sendall": "other.net.sendall",
                      "other.net.async_recv": "other.net.recv"}) == []


TRANSPORT = '''\
import httpcore

from pkg.helpers import Local


class Transport:
    def __init__(self, proxy=None):
        if proxy is None:
            self._pool = httpcore.AsyncConnectionPool()
        else:
            self._pool = httpcore.AsyncHTTPProxy(proxy)
        self._local = Local()

    async def handle(self, request):
        response = await self._pool.handle_async_request(request)
        await self._local.run()
        return response
'''


def test_an_awaited_method_of_an_attribute_made_by_a_class_from_outside_is_read_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # httpx's _transports/default.py: `self._pool = httpcore.AsyncConnectionPool(...)`
    # and `await self._pool.handle_async_request(req)` became a call whose
    # coroutine nobody awaits in the sync code, exit 0. Then a warning; now the
    # class is read from its source (a stand-in for httpcore first on sys.path,
    # whichever httpcore the test's environment has), whose `async def` refuses
    # the port (test_sync_outside_classes.py).
    site = tmp_path / "site" / "httpcore"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text(
        "class AsyncConnectionPool:\n    async def handle_async_request(self, request):\n"
        "        pass\n\n\nclass AsyncHTTPProxy(AsyncConnectionPool):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    result = to_sync({"pkg/transport.py": TRANSPORT, "pkg/helpers.py":
                      "class Local:\n    async def run(self):\n        pass\n"},
                     table=DEFAULT_TABLE, renames={})
    messages = [f"{d.line}:{d.col}:{'E' if d.error else 'W'}: {d.message}"
                for d in result.diagnostics]
    assert len(messages) == 1, messages
    assert messages[0].startswith("15:26:E: `self._pool.handle_async_request(...)`: self._pool "
                                  "is made by httpcore.AsyncConnectionPool() or "
                                  "httpcore.AsyncHTTPProxy()")
    assert "httpcore.AsyncConnectionPool.handle_async_request is a coroutine function" \
        in messages[0]
