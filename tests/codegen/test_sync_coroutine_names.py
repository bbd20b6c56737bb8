"""Towards sync, a bare ``fetch()`` is a coroutine of the port only where it means one.

The port's module-level coroutine functions were joined by bare name across its
modules: ``async def fetch`` in one module made every ``fetch()`` of every other
module a coroutine call, including a module's own plain ``def fetch``, which was
then refused ("the coroutine of fetch() is not awaited where it is made") for
nothing. A name is now the port's coroutine in a module that defines it so, or
imports it from a module that defines or re-exports it (anywhere in the module, or
with ``*``).
"""

from __future__ import annotations

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

ASYNC_FETCH = '''\
async def fetch():
    return 1
'''

PLAIN_FETCH = '''\
def fetch():
    return 2


async def run():
    return fetch()
'''

IMPORTED = '''\
from pkg.remote import fetch


async def run():
    return fetch()
'''

IMPORTED_IN_A_FUNCTION = '''\
async def run():
    from pkg.remote import fetch
    return fetch()
'''

REEXPORTED = '''\
from pkg import fetch


async def run():
    return fetch()
'''

STARRED = '''\
from pkg.remote import *


async def run():
    return fetch()
'''


def test_a_module_s_own_plain_function_is_not_another_module_s_coroutine() -> None:
    modules = {"pkg/__init__.py": "from .remote import fetch\n", "pkg/remote.py": ASYNC_FETCH,
               "pkg/local.py": PLAIN_FETCH, "pkg/imported.py": IMPORTED,
               "pkg/inner.py": IMPORTED_IN_A_FUNCTION,
               "pkg/starred.py": STARRED, "pkg/reexported.py": REEXPORTED}
    result = to_sync(modules, table=DEFAULT_TABLE, renames={})
    found = sorted((d.path, d.line) for d in result.diagnostics)
    # pkg/local.py's fetch is its own plain def: nothing to say there.
    assert found == [("pkg/imported.py", 5), ("pkg/inner.py", 3), ("pkg/reexported.py", 5),
                     ("pkg/starred.py", 5)], \
        result.diagnostics
    assert all("the coroutine of fetch()" in d.message for d in result.diagnostics)
