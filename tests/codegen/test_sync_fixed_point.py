"""Converting sync code to sync changes nothing: the output is a fixed point.

A generator that keeps rewriting its own output (renaming twice, adding an
import twice, eating a blank line each run) makes `generate --check` flap.
"""

from __future__ import annotations

from pathlib import Path

import redis.asyncio

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

CORPUS = Path(__file__).parent / "corpus" / "_async"
REDIS = Path(redis.asyncio.__file__).parent


def test_the_sync_output_converts_to_itself() -> None:
    modules = {f"corpus/_async/{p.name}": p.read_text() for p in sorted(CORPUS.glob("*.py"))}
    modules.update({f"redis/asyncio/{p.relative_to(REDIS).as_posix()}": p.read_text()
                    for p in sorted(REDIS.rglob("*.py"))})
    renames = {"AsyncClient": "Client", "AsyncConnectionPool": "ConnectionPool"}
    first = to_sync(modules, table=DEFAULT_TABLE, renames=renames)
    converted = {path: text for path, text in first.outputs.items()
                 if not any(d.error and d.path == path for d in first.diagnostics)}
    assert len(converted) >= 15
    second = to_sync(converted, table=DEFAULT_TABLE, renames=renames)
    assert [str(d) for d in second.diagnostics if d.error] == []
    changed = [path for path, text in converted.items() if second.outputs[path] != text]
    assert changed == []
