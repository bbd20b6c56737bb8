"""sync -> async, step 3: after the edits -- unused imports and renames.

Both work on a second parse of the converted text, so they see the code as
converted and never collide with the conversion's own edits. Each hands back,
with its text, the syntax tree of that text when it has one (it parsed the
text and changed nothing): the next step, the compile check and the
verification (:func:`ambidex.codegen._to_async.verify`) then read that tree
instead of parsing the same text again.
"""

from __future__ import annotations

import ast
import re

from ambidex._names import is_package_path, module_name_for
from ambidex.codegen._imports import (
    unused_imports,
    used_names,
)
from ambidex.codegen._renames import Renames, apply_renames
from ambidex.codegen._source import Diagnostic, Edits, SourceText


def rename(
    path: str,
    text: str,
    table: Renames,
    diagnostics: list[Diagnostic],
    tree: ast.Module | None = None,
) -> tuple[str, ast.Module | None]:
    """The module-path segments (``_sync`` -> ``_async``) and the user's renames.

    A second parse of the converted text: the renames then see the code as
    converted (and never collide with the conversion's own edits). ``tree``
    is that parse when the caller has it. Returns the text and its tree (None
    when the renames changed it, or it does not parse).
    """
    if not table.may_apply(text):
        return text, tree
    if tree is None:
        try:
            tree = ast.parse(text, filename=path)
        except SyntaxError:
            return text, None  # reported by the compile check
    source = SourceText(text)
    edits = Edits(source)
    apply_renames(
        tree,
        source,
        edits,
        table,
        module_name_for(path),
        is_package=is_package_path(path),
    )
    if not len(edits):
        return text, tree
    try:
        return edits.apply(), None
    except ValueError as exc:
        diagnostics.append(Diagnostic(path, 1, 1, f"internal error while renaming: {exc}"))
        return text, tree


_CODE_STRING = re.compile(r"\s*[\w.]+(\s*[\[\],|]\s*[\w.]*)*\s*")
"""A string that may name code: ``"Client"``, ``"Optional[Conn]"``, ``"A | None"``.
Stricter than :mod:`._imports`' (no words separated by spaces alone), which
the names this converter drops depend on."""


def drop_unused_imports(
    original: ast.Module, text: str, removed: str | None = None
) -> tuple[str, ast.Module | None]:
    """Drop the imports the port left unused (``import time`` once it is ``asyncio.sleep``).

    Only names the source used are dropped: an import the source already had
    unused stays, it is not the port's business. A statement that loses some
    of its names is rewritten on one line; one that loses all of them goes.
    Returns the text and its tree (None when an import went, or it does not parse).

    ``removed``: the source's text that the edits replaced (``Edits.removed``).
    A name can lose its uses only where text was replaced, so when none of
    the source's imported names is spelled there, no import can go, and the
    text is not scanned for names.
    """
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text, None  # reported by the compile check
    if removed is not None and not _spells_an_import(original, removed):
        return text, tree
    after = used_names(tree, _CODE_STRING)
    if all(
        (alias.asname or alias.name.split(".")[0]) in after or alias.name == "*"
        for statement in tree.body
        if isinstance(statement, ast.Import)
        or (isinstance(statement, ast.ImportFrom) and statement.module != "__future__")
        for alias in statement.names
    ):
        return text, tree  # every import is still used: the source's uses are not needed
    before = used_names(original, _CODE_STRING)
    source = SourceText(text)
    edits = Edits(source)
    # Not _imports.remove_aliases: a statement that keeps some names is rewritten
    # on one line here, and one that loses all of them keeps a trailing comment
    # (as `pass`); the outputs of this converter depend on both.
    for statement, unused in unused_imports(tree, after, before):
        dropped = {id(alias) for alias in unused}
        kept = [alias for alias in statement.names if id(alias) not in dropped]
        start, end = source.span(statement)
        line_start = source.offset(statement.lineno, 0)
        assert statement.end_lineno is not None
        line_end = source.offset(statement.end_lineno + 1, 0)
        alone = not text[line_start:start].strip() and not text[end:line_end].strip()
        if not kept and alone:
            edits.replace(line_start, line_end, "")
            continue
        names = ", ".join(f"{a.name} as {a.asname}" if a.asname else a.name for a in kept)
        if not kept:
            edits.replace(start, end, "pass")
        elif isinstance(statement, ast.Import):
            edits.replace(start, end, f"import {names}")
        else:
            module = "." * statement.level + (statement.module or "")
            edits.replace(start, end, f"from {module} import {names}")
    if not len(edits):
        return text, tree
    output = edits.apply()
    if output[:1] in ("\n", "\r") and text[:1] not in ("\n", "\r"):
        # The first import went, and the blank line that followed it (before
        # the next group of imports) would open the module.
        output = output.lstrip("\r\n")
    return output, None


def _spells_an_import(tree: ast.Module, text: str) -> bool:
    """Whether ``text`` spells a name that a module-level import of ``tree`` binds."""
    names = {
        alias.asname or alias.name.split(".")[0]
        for statement in tree.body
        if isinstance(statement, (ast.Import, ast.ImportFrom))
        for alias in statement.names
    }
    names.discard("*")
    return any(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) for name in names)
