"""Towards sync, what is known of a local's or a parameter's type is checked as for
``self.x``.

gen6 checked a method call on ``self.x`` when every ``self.x = Q(...)`` of its
class made it: a method the table's sync twin lacks (``threading.Semaphore``
has no ``locked``) refused the port, and an awaited method of a class from
outside the port was a located warning. The same calls on a local made by
``x = Q(...)`` or ``async with Q() as x``, on a parameter annotated with the type
(``def f(sem: asyncio.Semaphore)``), or on the result of a function of the
module whose return type says it, were written as they were: an
``AttributeError`` when it runs, or a coroutine nobody awaits, with exit 0 and
no word.
"""

from __future__ import annotations

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

LOCKS = '''\
import asyncio


def make_semaphore() -> asyncio.Semaphore:
    return asyncio.Semaphore(2)


async def local():
    sem = asyncio.Semaphore(3)
    if sem.locked():
        return


async def parameter(sem: asyncio.Semaphore, other: "asyncio.Semaphore | None" = None):
    if sem.locked():
        return
    async with sem:
        pass


async def returned():
    sem = make_semaphore()
    return sem.locked()


async def rebound(flag):
    sem = asyncio.Semaphore(3)
    if flag:
        sem = object()
    return sem.locked()


async def fine():
    sem = asyncio.Semaphore(3)
    async with sem:
        sem.release()
'''


def test_a_method_the_sync_twin_lacks_called_on_a_typed_local_or_parameter_refuses_the_port(
) -> None:
    result = to_sync({"locks.py": LOCKS}, table=DEFAULT_TABLE, renames={})
    errors = {(d.line, d.col): d.message for d in result.diagnostics if d.error}
    assert sorted(errors) == [(10, 8), (15, 8), (23, 12)], result.diagnostics
    assert errors[(10, 8)].startswith("`sem.locked()`: threading.Semaphore (the sync twin of "
                                      "asyncio.Semaphore, which makes sem) has no `locked`")
    assert "annotated" in errors[(15, 8)]
    assert [d for d in result.diagnostics if not d.error] == []


CLIENT = '''\
import httpx
from httpx import AsyncClient


async def fetch(url):
    client = httpx.AsyncClient()
    response = await client.get(url)
    async with AsyncClient() as session:
        await session.get(url)
    return response


async def send(client: httpx.AsyncClient, url):
    await client.post(url)
'''


def test_an_awaited_method_of_a_local_or_parameter_typed_by_an_outside_class_is_a_warning(
) -> None:
    result = to_sync({"client.py": CLIENT}, table=DEFAULT_TABLE, renames={})
    warnings = {(d.line, d.col): d.message for d in result.diagnostics if not d.error}
    assert sorted(warnings) == [(7, 22), (9, 15), (14, 11)], result.diagnostics
    assert "client is made by httpx.AsyncClient()" in warnings[(7, 22)]
    assert "session is made by httpx.AsyncClient()" in warnings[(9, 15)]
    assert "client is annotated httpx.AsyncClient" in warnings[(14, 11)]
    assert not [d for d in result.diagnostics if d.error]


WALRUS = '''\
import asyncio


async def made_by_walrus(limit):
    if (sem := asyncio.Semaphore(limit)) and sem.locked():
        return


async def rebound_by_walrus(make):
    sem = asyncio.Semaphore(3)
    if (sem := make()) is not None:
        return sem.locked()


async def walrus_in_a_comprehension(makers):
    sem = asyncio.Semaphore(3)
    if any((sem := make()) for make in makers):
        return sem.locked()
'''


def test_a_walrus_binding_types_a_local_or_ends_what_was_known_of_it() -> None:
    """``(sem := asyncio.Semaphore(n))`` makes ``sem`` as ``sem = ...`` does (the
    sync twin's missing ``locked`` was written with no word); ``(sem := make())``
    rebinds it to a value of unknown type (it was refused as a Semaphore). A
    walrus in a comprehension binds in the function, as Python says."""
    result = to_sync({"walrus.py": WALRUS}, table=DEFAULT_TABLE, renames={})
    assert [(d.line, d.col, d.error) for d in result.diagnostics] == [(5, 46, True)], \
        result.diagnostics
    assert "threading.Semaphore" in result.diagnostics[0].message
