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
    if table.in_imports_only and not table.renames_an_import(tree):
        return text, tree  # `_sync` is spelled, but in no import (a docstring)
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
    Returns the text and its tree (None when it does not parse, or when the
    drop moved lines in a way the tree cannot follow: then the caller parses).

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
    # What each statement became (None: its lines went), for the output's tree.
    changes: dict[int, str | None] = {}
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
            changes[id(statement)] = None
            continue
        names = ", ".join(f"{a.name} as {a.asname}" if a.asname else a.name for a in kept)
        if not kept:
            new = "pass"
        elif isinstance(statement, ast.Import):
            new = f"import {names}"
        else:
            module = "." * statement.level + (statement.module or "")
            new = f"from {module} import {names}"
        edits.replace(start, end, new)
        # Text after it on its last line (`; x = 1`) would move: parsed again then.
        rest = text[end:line_end].strip()
        changes[id(statement)] = new if not rest or rest.startswith("#") else ""
    if not len(edits):
        return text, tree
    output = edits.apply()
    if output[:1] in ("\n", "\r") and text[:1] not in ("\n", "\r"):
        # The first import went, and the blank line that followed it (before
        # the next group of imports) would open the module.
        return output.lstrip("\r\n"), None
    if output != edits.spliced() or "\r" in text or tree.type_ignores:
        return output, None  # the edits moved other lines (realigned): parsed again
    return output, _tree_without(tree, changes)


def _tree_without(tree: ast.Module, changes: dict[int, str | None]) -> ast.Module | None:
    """The parse of the output, made from ``tree`` (the parse of the text the
    imports were dropped from) instead of parsing the output again.

    ``changes``: per module-level import statement, what it became: None when
    its whole lines went, else its one-line text in place (``pass``, the
    names it keeps), "" when that cannot be done here (None is returned, and
    the caller parses). The statements that went leave the module's body; a
    rewritten one is parsed alone and put at its place; every node after a
    change moves up by the lines that went before it. Nothing else in the
    text moved (the caller checked that no continuation line was realigned),
    so this is the tree ``ast.parse`` gives for the output, node for node
    (tests/codegen/test_port_drop_imports.py compares the two).
    """
    body: list[ast.stmt] = []
    gone = 0  # lines that went above the statement at hand
    for statement in tree.body:
        change = changes.get(id(statement), False)
        assert statement.end_lineno is not None
        lines = statement.end_lineno - statement.lineno + 1
        if change is None:
            gone += lines
            continue
        if change == "":
            return None
        if change is not False:
            assert isinstance(change, str)
            try:
                (replacement,) = ast.parse(change).body
            except (SyntaxError, ValueError):
                return None
            _move(replacement, statement.lineno - gone - 1, statement.col_offset)
            body.append(replacement)
            gone += lines - 1
            continue
        if gone:
            _move(statement, -gone, 0)
        body.append(statement)
    tree.body = body
    return tree


_POSITIONED: dict[type, tuple[tuple[str, ...], bool]] = {}
"""Per node class: its fields that may hold nodes, and whether it has a position."""


def _move(node: ast.AST, lines: int, columns: int) -> None:
    """Move ``node`` and everything under it ``lines`` down (up when negative);
    ``columns`` right too, for a node that is all on one line (a statement
    parsed alone, put at its column)."""
    todo = [node]
    node_type = ast.AST
    while todo:
        node = todo.pop()
        kind = type(node)
        known = _POSITIONED.get(kind)
        if known is None:
            known = _POSITIONED[kind] = (
                tuple(f for f in kind._fields if f not in ("ctx", "op", "ops")),
                "lineno" in kind._attributes,
            )
        fields, positioned = known
        if positioned:
            node.lineno += lines  # type: ignore[attr-defined]
            node.end_lineno += lines  # type: ignore[attr-defined]
            if columns:
                node.col_offset += columns  # type: ignore[attr-defined]
                node.end_col_offset += columns  # type: ignore[attr-defined]
        for name in fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, node_type):
                        todo.append(item)
            elif isinstance(value, node_type):
                todo.append(value)


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
