"""ambidex.codegen: one source, both colours.

The generator converts Python modules between the two colours of a network
client: async -> sync (what unasync does, with the AST's knowledge of the
code) and sync -> async (what a person does by hand when porting a blocking
client). It rewrites with the one rule table of :mod:`ambidex._rules`, so a
new primitive is a new row, and it keeps every byte it did not change.

The command line is the usual way in (``ambidex port``, ``ambidex
generate``); from Python::

    from ambidex.codegen import to_sync
    result = to_sync({"client.py": text}, table=DEFAULT_TABLE, renames={})
    if result.failed:
        for diagnostic in result.diagnostics: print(diagnostic)
    else:
        print(result.outputs["client.py"])

A build hook (:mod:`ambidex.codegen._hatch`) runs ``generate`` while a wheel
is built.
"""

from __future__ import annotations

# Not typing's TYPE_CHECKING: importing typing is a tenth of a `generate` with
# nothing to do (see ambidex.codegen._noop); type checkers read any name so spelt.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ambidex._rules import RuleTable
    from ambidex.codegen._source import Conversion, ConversionError, Diagnostic

__all__ = ["Conversion", "ConversionError", "Diagnostic", "to_async", "to_sync"]


def to_sync(modules: Mapping[str, str], *, table: RuleTable, renames: Mapping[str, str],
            async_prefix: bool | str = False, flags: Mapping[str, str] | None = None,
            rename_prose: bool = False, strict: bool = False,
            sort_imports: bool = True) -> Conversion:
    """Convert async modules to sync; see :mod:`ambidex.codegen._to_sync`."""
    from ambidex.codegen._to_sync import to_sync as convert

    return convert(modules, table=table, renames=renames, async_prefix=async_prefix,
                   flags=flags, rename_prose=rename_prose, strict=strict,
                   sort_imports=sort_imports)


def to_async(modules: Mapping[str, str], *, table: RuleTable, renames: Mapping[str, str],
             async_prefix: bool | str = False, flags: Mapping[str, str] | None = None,
             rename_prose: bool = False, strict: bool = False,
             sort_imports: bool = True) -> Conversion:
    """Convert sync modules to async; see :mod:`ambidex.codegen._to_async`."""
    from ambidex.codegen._to_async import to_async as convert

    return convert(modules, table=table, renames=renames, async_prefix=async_prefix,
                   flags=flags, rename_prose=rename_prose, strict=strict,
                   sort_imports=sort_imports)


def __getattr__(name: str) -> Any:
    # The result types come from the converters' module when first asked for:
    # `ambidex generate` on an up-to-date tree imports this package (for
    # ._generate) and must not pay for the syntax-tree machinery it never uses.
    if name in ("Conversion", "ConversionError", "Diagnostic"):
        from ambidex.codegen import _source

        return getattr(_source, name)
    raise AttributeError(f"module 'ambidex.codegen' has no attribute {name!r}")
