"""unasync's own test data as a differential suite: ambidex, with unasync's
``AsyncFoo -> SyncFoo`` prefix, makes the same sync code, except where it
differs by design (each difference named, with its reason)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen import to_sync

DATA = Path(__file__).parents[1] / "fixtures" / "unasync"

#: Where ambidex's output differs on purpose, and the text it writes instead.
BY_DESIGN = {
    # typing.Generator takes three arguments: unasync's Generator[bytes] is an
    # error for type checkers; ambidex writes the complete Generator[Y, None, None].
    "typing": ("typing.Generator[bytes]", "typing.Generator[bytes, None, None]"),
}


def tree(text: str) -> str:
    return ast.dump(ast.parse(text))


@pytest.mark.parametrize("name", ["acontext", "aiter", "classes", "fstring", "simple", "typing"])
def test_ambidex_makes_unasyncs_sync_code_from_its_test_data(name: str) -> None:
    source = (DATA / "async" / f"{name}.py").read_text(encoding="utf-8")
    expected = (DATA / "sync" / f"{name}.py").read_text(encoding="utf-8")
    result = to_sync({f"{name}.py": source}, table=DEFAULT_TABLE, renames={},
                     async_prefix="Sync")
    assert not result.failed, [str(d) for d in result.diagnostics]
    (output,) = result.outputs.values()
    if name in BY_DESIGN:
        theirs, ours = BY_DESIGN[name]
        assert theirs in expected and ours in output
        expected = expected.replace(theirs, ours)
    assert tree(output) == tree(expected)


def test_without_the_prefix_async_classes_lose_it_instead() -> None:
    source = (DATA / "async" / "classes.py").read_text(encoding="utf-8")
    result = to_sync({"classes.py": source}, table=DEFAULT_TABLE, renames={}, async_prefix=True)
    (output,) = result.outputs.values()
    assert "class Lock:" in output and "class Socket:" in output
    assert "Sync" not in output
