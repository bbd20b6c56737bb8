"""async -> sync, after the walk: imports the conversion left unused, and their order."""

from __future__ import annotations

import ast
from types import CodeType

from ambidex.codegen._imports import (
    import_section,
    isort_name_key,
    names_in_code,
    remove_aliases,
    statement_key,
)
from ambidex.codegen._to_sync.visit import SyncWalker


def type_checking_blocks(tree: ast.Module) -> list[list[ast.stmt]]:
    """The bodies of the module's top-level ``if TYPE_CHECKING:`` statements."""
    return [statement.body for statement in tree.body
            if isinstance(statement, ast.If) and not statement.orelse and (
                (isinstance(statement.test, ast.Name) and statement.test.id == "TYPE_CHECKING")
                or (isinstance(statement.test, ast.Attribute)
                    and statement.test.attr == "TYPE_CHECKING"))]


def module_imports(tree: ast.Module) -> list[ast.stmt]:
    """The module's top-level statements, then those of its ``if TYPE_CHECKING:``
    blocks (imports there are the module's too, only lazier)."""
    return [*tree.body, *(s for block in type_checking_blocks(tree) for s in block)]


def drop_unused_after_walk(walker: SyncWalker, output: str, code: CodeType) -> str:
    """Drop module-level imports the conversion left unused (they were used in the source).

    Only names whose uses the walk replaced or dropped are candidates; an
    import that was already unused in the source stays (a re-export, or
    imported for its side effects).
    """
    candidates = set(walker.touched)
    if walker.plan.replacements:
        candidates.update(walker.bindings)  # dropped statements may have held any use
    candidates &= walker.scan.used
    if not candidates:
        return output
    used = names_in_code(code) | walker.annotation_names
    blocks = {id(s): block for block in type_checking_blocks(walker.tree) for s in block}
    gone: set[int] = set()
    for statement in module_imports(walker.tree):
        if not isinstance(statement, (ast.Import, ast.ImportFrom)) \
                or id(statement) in walker.plan.skip:
            continue
        if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
            continue
        unused = []
        for alias in statement.names:
            local = alias.asname or alias.name.split(".")[0]
            if alias.name == "*" or local not in candidates:
                continue
            if id(alias) in walker.removed_aliases:
                continue
            if walker.local_renames.get(local, local) not in used:
                unused.append(alias)
        if unused:
            saved = walker.edits.checkpoint()
            try:
                removable = [*unused, *(a for a in statement.names
                                        if id(a) in walker.removed_aliases)]
                block = blocks.get(id(statement), [])
                if len(removable) == len(statement.names) and block and all(
                        id(s) in gone or s is statement for s in block):
                    # The last import of an `if TYPE_CHECKING:` block: it needs a statement.
                    walker.edits.replace_span(*walker.source.span(statement), "pass")
                else:
                    remove_aliases(walker.source, walker.edits, statement, removable)
                candidate = walker.edits.apply()
            except ValueError:
                walker.edits.restore(saved)  # keep the import: the safe side
                continue
            walker.removed_aliases.update(id(a) for a in unused)
            walker.import_touched.add(id(statement))
            if all(id(a) in walker.removed_aliases for a in statement.names):
                gone.add(id(statement))
            output = candidate
    return output


def sort_import_names(walker: SyncWalker) -> bool:
    """Re-sort the names of the ``from`` imports the conversion changed, as isort does.

    ``from typing import AsyncIterator, Awaitable, Callable`` becomes ``from
    typing import Iterator, Callable`` after the rewrite; sorted again it is
    ``from typing import Callable, Iterator``, which ruff's import sorting
    accepts. Only lists written one name per line or all on one line, with
    no comments among them, are touched.
    """
    changed = False
    for statement in module_imports(walker.tree):
        if not isinstance(statement, ast.ImportFrom) or id(statement) not in walker.import_touched:
            continue
        kept = [a for a in statement.names if id(a) not in walker.removed_aliases]
        if not kept or len(kept) == len(statement.names) == 1:
            continue
        first, last = statement.names[0], statement.names[-1]
        start = walker.source.span(first)[0]
        end = walker.source.span(last)[1]
        region = walker.source.text[start:end]
        if "#" in region or "\\" in region:
            continue
        lines = region.count("\n")
        if lines and lines != len(statement.names) - 1:
            continue  # several names on some lines: leave the layout alone
        spelled = []
        for alias in kept:
            name = walker.import_names.get(id(alias), alias.name)
            spelled.append(f"{name} as {alias.asname}" if alias.asname else name)
        spelled = sorted(dict.fromkeys(spelled), key=isort_name_key)  # renames may meet
        if lines:
            line = walker.source.lines[first.lineno - 1]
            indent = line[:len(line) - len(line.lstrip())]
            text = (",\n" + indent).join(spelled)
        else:
            text = ", ".join(spelled)
        if text != region:
            walker.edits.replace_span(start, end, text)
            changed = True
    return changed



def sort_import_statements(walker: SyncWalker) -> bool:
    """Move the import statements the conversion renamed to where isort (and ruff's
    default order) puts them, inside their run of imports.

    A run is consecutive top-level import lines of one section. Only runs the
    source had sorted, and in which the conversion changed a statement, are
    touched (``from ._async_base import X`` renamed to ``._sync_base`` moves
    after ``from ._models import Y``); each statement moves whole, its trailing
    comment with it.
    """
    source, edits = walker.source, walker.edits
    runs: list[list[ast.Import | ast.ImportFrom]] = [[]]
    for statement in walker.tree.body:
        previous = runs[-1][-1] if runs[-1] else None
        if not isinstance(statement, (ast.Import, ast.ImportFrom)) \
                or id(statement) in walker.plan.skip:
            runs.append([])
            continue
        if previous is not None and (
                statement.lineno != (previous.end_lineno or 0) + 1
                or import_section(statement) != import_section(previous)):
            runs.append([])
        runs[-1].append(statement)
    changed = False
    for run in runs:
        if len(run) < 2 or [statement_key(s) for s in run] != sorted(
                statement_key(s) for s in run):
            continue
        spans = [(source.offset(s.lineno, 0), source.offset((s.end_lineno or s.lineno) + 1, 0))
                 for s in run]
        if any(source.text[start:source.offset(s.lineno, s.col_offset)].strip()
               for s, (start, _) in zip(run, spans, strict=True)):
            continue  # another statement shares a line
        texts = [edits.render(start, end) for start, end in spans]
        if texts == [source.text[start:end] for start, end in spans]:
            continue
        keys = []
        for text in texts:
            try:
                parsed = ast.parse(text.strip()).body
            except SyntaxError:
                break
            if len(parsed) != 1 or not isinstance(parsed[0], (ast.Import, ast.ImportFrom)):
                break
            keys.append(statement_key(parsed[0]))
        else:
            order = sorted(range(len(run)), key=lambda i: keys[i])
            if order != list(range(len(run))):
                for (start, end), index in zip(spans, order, strict=True):
                    edits.replace_span(start, end, texts[index])
                changed = True
    return changed
