"""``anext`` and ``aiter`` however a module spells them become ``next`` and ``iter``.

pymongo's async package reaches the builtins through its own module
(``anext = builtins.anext`` in ``helpers.py``, imported by ``cursor.py``): the
sync twin kept ``anext(cursor)`` on a cursor that now has ``__next__`` only, a
``TypeError`` when called, and the port said nothing (exit 0).
"""

from __future__ import annotations

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

HELPERS = "import builtins\n\nanext = builtins.anext\naiter = builtins.aiter\n"
CURSOR = '''\
import builtins
from builtins import anext as builtin_anext

from pkg.helpers import aiter, anext


class Cursor:
    def __aiter__(self):
        return self

    async def __anext__(self):
        return 1


async def through_an_alias(c: Cursor):
    return await anext(aiter(c))


async def through_the_module(c: Cursor):
    return await builtins.anext(builtins.aiter(c))


async def through_an_import(c: Cursor):
    return await builtin_anext(c)
'''


def test_anext_spelled_through_builtins_or_an_alias_becomes_next_towards_sync() -> None:
    result = to_sync({"pkg/helpers.py": HELPERS, "pkg/cursor.py": CURSOR},
                     table=DEFAULT_TABLE, renames={})
    assert [str(d) for d in result.diagnostics] == []
    helpers: dict[str, object] = {}
    exec(result.outputs["pkg/helpers.py"], helpers)
    assert helpers["anext"] is next and helpers["aiter"] is iter
    cursor = result.outputs["pkg/cursor.py"].replace(
        "from pkg.helpers import aiter, anext\n", "")
    namespace: dict[str, object] = {"aiter": helpers["aiter"], "anext": helpers["anext"]}
    exec(cursor, namespace)
    made = namespace["Cursor"]()  # type: ignore[operator]
    for name in ("through_an_alias", "through_the_module", "through_an_import"):
        assert namespace[name](made) == 1, name  # type: ignore[operator]
