"""Which methods of a blocking object block: the rule table's rows, per type.

:func:`~ambidex.offload.wrap` turns a method into a coroutine that runs on the
object's thread only when a row of the table says it ``blocks``; every other
attribute is read directly. The rows of a type are those of its classes,
nearest first, by dotted name (``sqlite3.Connection.execute``), falling back
to the generic DB-API 2.0 rows (``dbapi.Connection``, ``dbapi.Cursor``) for a
driver whose module says ``apilevel = "2.0"``. Looked up once per (table,
type), on every object a wrapped call returns, so it is cached; it lives apart
from the facade because it reads only the table and the type, never an object.
"""

from __future__ import annotations

import functools
import sys

from ambidex._rules import Rule, RuleTable


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@functools.lru_cache(maxsize=64)
def _methods_by_owner(table: RuleTable) -> dict[str, dict[str, Rule]]:
    owners: dict[str, dict[str, Rule]] = {}
    for sync, rule in table.by_sync.items():
        if rule.kind.value == "method":
            owner, _, method = sync.rpartition(".")
            owners.setdefault(owner, {})[method] = rule
    return owners


_rows_cache: dict[tuple[RuleTable, type], dict[str, Rule] | None] = {}


def rows_for(table: RuleTable, cls: type) -> dict[str, Rule] | None:
    """The rows of ``cls``'s methods (its base classes' too, the nearest first),
    falling back to the generic DB-API rows for a driver whose module says
    ``apilevel = "2.0"``. None when no row says a method of it blocks."""
    key = (table, cls)
    try:
        return _rows_cache[key]
    except KeyError:
        pass
    if len(_rows_cache) > 1024:
        _rows_cache.clear()
    rows = _rows_cache[key] = _find_rows(table, cls)
    return rows


def _find_rows(table: RuleTable, cls: type) -> dict[str, Rule] | None:
    owners = _methods_by_owner(table)
    rows: dict[str, Rule] = {}
    for klass in reversed(cls.__mro__):
        rows.update(owners.get(_type_name(klass), {}))
    module = sys.modules.get(cls.__module__.partition(".")[0])
    if getattr(module, "apilevel", None) == "2.0":
        generic = None
        if hasattr(cls, "cursor") and hasattr(cls, "commit"):
            generic = owners.get("dbapi.Connection")
        elif hasattr(cls, "execute") and hasattr(cls, "fetchone"):
            generic = owners.get("dbapi.Cursor")
        for method, rule in (generic or {}).items():
            rows.setdefault(method, rule)
    if not any(rule.blocks for rule in rows.values()):
        return None
    return rows
