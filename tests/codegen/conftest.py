"""Helpers for the codegen tests: convert a snippet, collect its diagnostics."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from ambidex._rules import DEFAULT_TABLE, RuleTable
from ambidex.codegen._source import Conversion, Diagnostic
from ambidex.codegen._to_sync import to_sync


def run_to_sync(source: str, *, path: str = "pkg/_async/mod.py",
                renames: Mapping[str, str] | None = None, async_prefix: bool | str = False,
                table: RuleTable = DEFAULT_TABLE, flags: Mapping[str, str] | None = None,
                rename_prose: bool = False, sort_imports: bool = True) -> Conversion:
    return to_sync({path: textwrap.dedent(source)}, table=table, renames=renames or {},
                   async_prefix=async_prefix, flags=flags, rename_prose=rename_prose,
                   sort_imports=sort_imports)


def sync_of(source: str, **kwargs: object) -> str:
    """The sync text of an async snippet; fails the test on any diagnostic."""
    result = run_to_sync(source, **kwargs)  # type: ignore[arg-type]
    assert result.diagnostics == [], [str(d) for d in result.diagnostics]
    (output,) = result.outputs.values()
    return output


def errors_of(source: str, **kwargs: object) -> list[Diagnostic]:
    result = run_to_sync(source, **kwargs)  # type: ignore[arg-type]
    assert result.failed, "expected the conversion to be refused"
    return [d for d in result.diagnostics if d.error]


def dedent(text: str) -> str:
    return textwrap.dedent(text)
