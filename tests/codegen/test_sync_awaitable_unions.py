"""``X | Awaitable[X]`` becomes ``X`` towards sync, not ``X | X``.

redis-py's ``keyspace_notifications.py`` declares a handler that may be sync or
async, at module level (a value, not an annotation, so evaluated on import
even under ``from __future__ import annotations``)::

    AsyncHandlerT = Callable[[KeyNotification], None | Awaitable[None]]

The sync twin said ``None | None``, which raises ``TypeError`` on import:
exit 0, and the whole package's import failed.
"""

from __future__ import annotations

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

SOURCE = '''\
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

Handler = Callable[[int], None | Awaitable[None]]
Either = Callable[[], Awaitable[int] | int | str]
Result = Callable[[], bytes | Coroutine[Any, Any, bytes]]
Kept = Callable[[], int | Awaitable[str]]
'''


def test_a_union_of_a_type_and_its_awaitable_becomes_the_type_towards_sync() -> None:
    result = to_sync({"m.py": SOURCE}, table=DEFAULT_TABLE, renames={})
    assert [str(d) for d in result.diagnostics] == []
    output = result.outputs["m.py"]
    assert "Handler = Callable[[int], None]\n" in output
    assert "Either = Callable[[], int | str]\n" in output
    assert "Result = Callable[[], bytes]\n" in output
    assert "Kept = Callable[[], int | str]\n" in output
    namespace: dict[str, object] = {}
    exec(output, namespace)  # the module imports: no `None | None`
