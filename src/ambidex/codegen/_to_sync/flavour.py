"""async -> sync, flavour: the ``# ambidex: async-only`` markers and ``IS_ASYNC``.

Before the walk, :class:`FlavourPlanner` finds the statements to drop
(marked ``async-only``, read by :mod:`ambidex.codegen._markers`) and the ``if
IS_ASYNC:`` branches to replace by the branch for sync code; after the walk
it splices those replacements in, with the walk's edits inside kept
branches.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ambidex.codegen._flags import (
    DEFAULT_FLAGS,
    Colour,
    flag_assignment,
    flag_test,
    fold,
    originals,
    render,
    values_in,
)
from ambidex.codegen._imports import ModuleScan
from ambidex.codegen._markers import MarkerComment, colour_marker, marker_comments
from ambidex.codegen._renames import Renames
from ambidex.codegen._source import SourceText, python_lines
from ambidex.codegen._to_sync.resolve import Resolver, Tables


@dataclass
class Plan:
    """Statements the flavour markers remove or replace, found before the walk."""

    skip: set[int] = field(default_factory=set)
    """ids of statements (and discarded branches) not converted at all."""
    replacements: list[tuple[int, int, ast.If | None, list[ast.stmt], str]] = \
        field(default_factory=list)
    """(start, end, if-node, kept statements, how): applied after the walk."""
    conditions: list[tuple[ast.expr, ast.expr]] = field(default_factory=list)
    """(condition, what it folds to) where flags drop out of a condition that stays."""


def _line_start(source: SourceText, lineno: int) -> int:
    return source.offset(lineno, 0)


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", None) or []
    return int(min([node.lineno, *(d.lineno for d in decorators)]))


def _bodies(node: ast.AST) -> Iterator[list[ast.stmt]]:
    for name in ("body", "orelse", "finalbody"):
        value = getattr(node, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            yield value
    for handler in getattr(node, "handlers", ()) or ():
        yield handler.body
    for case in getattr(node, "cases", ()) or ():
        yield case.body


class FlavourPlanner(Resolver):
    """The flavour markers and ``IS_ASYNC`` branches: found before the walk, applied after."""

    def __init__(
        self,
        path: str,
        tree: ast.Module,
        source: SourceText,
        tables: Tables,
        renames: Renames,
        qualified_renames: Mapping[str, str],
        coroutine_functions: frozenset[str],
        scan: ModuleScan,
        *,
        flags: Mapping[str, Colour] = DEFAULT_FLAGS,
    ) -> None:
        self.plan = Plan()
        self._markers: dict[int, MarkerComment] | None = None
        self.flags = flags
        self.values = values_in(flags, "sync")
        """Each flag's value in the output."""
        self.source_values = values_in(flags, "async")
        """Each flag's value in the source."""
        self.target_only: set[int] = set()
        """ids of statements that only the target colour runs (kept by a flag)."""
        super().__init__(path, tree, source, tables, renames, qualified_renames,
                         coroutine_functions, scan)

    # --- the plan: flavour markers -------------------------------------------------
    def make_plan(self) -> None:
        for statement in self.tree.body:
            constant = flag_assignment(statement, self.flags)
            if constant is not None:
                # The output is sync whatever the source said: a fixed point, not a toggle.
                target = statement.targets[0] if isinstance(statement, ast.Assign) \
                    else statement.target  # type: ignore[attr-defined]
                assert isinstance(target, ast.Name)
                value = self.values[target.id]
                if constant.value is not value:
                    self.edits.replace_node(constant, str(value))
        text = self.source.text
        if "ambidex" in text or "ASYNC" in text or any(flag in text for flag in self.flags):
            self._plan_body(self.tree.body)

    def _is_elif(self, statement: ast.If) -> bool:
        offset = self.source.offset(statement.lineno, statement.col_offset)
        return self.source.text.startswith("elif", offset)

    def _pragma(self, statement: ast.stmt) -> str | None:
        return colour_marker(self._all_markers(), statement)

    def _all_markers(self) -> dict[int, MarkerComment]:
        if self._markers is None:
            self._markers = marker_comments(self.source.text)
        return self._markers

    def _test(self, statement: ast.If) -> ast.expr:
        """The condition the flags fold (psycopg's ``if True:  # ASYNC`` is a flag)."""
        return flag_test(statement, self._all_markers())

    def _plan_body(self, body: list[ast.stmt]) -> None:
        removed = 0
        for index, statement in enumerate(body):
            # The block's first statements go with the blank lines below them,
            # or the block would open on a blank line (`class C:`, blank, ...).
            opening = removed == index and body is not self.tree.body \
                and index + 1 < len(body)
            folded = fold(self._test(statement), self.values) \
                if isinstance(statement, ast.If) else None
            if isinstance(statement, ast.If) and self._is_elif(statement):
                if self._pragma(statement) == "async-only":
                    # Only this clause goes; what follows it moves up the chain.
                    self._plan_elif(statement, False)
                    continue
                if isinstance(folded, bool):
                    self._plan_elif(statement, folded)
                    continue
            if self._pragma(statement) == "async-only":
                self._drop(statement, body[index + 1] if opening else None)
                removed += 1
                continue
            if folded is not None and isinstance(statement, ast.If):
                before = fold(self._test(statement), self.source_values)
                if not isinstance(folded, bool):
                    # Flags folded out of the condition; the rest of it stays.
                    self.plan.conditions.append((statement.test, folded))
                    if before is False:
                        self.target_only.update(id(s) for s in statement.body)
                    elif before is True:
                        self.target_only.update(id(s) for s in statement.orelse)
                    self._plan_statement(statement)
                    continue
                keep = statement.body if folded else statement.orelse
                discard = statement.orelse if folded else statement.body
                if isinstance(before, bool) and before is not folded:
                    self.target_only.update(id(s) for s in keep)
                for dropped in discard:
                    self.plan.skip.add(id(dropped))
                self.plan.skip.add(id(statement.test))
                if not keep:
                    self._drop(statement, body[index + 1] if opening else None)
                    removed += 1
                    continue
                start = _line_start(self.source, _first_line(statement))
                end = _line_start(self.source, statement.end_lineno + 1)  # type: ignore[operator]
                self.plan.replacements.append((start, end, statement, keep, "branch"))
                for kept in keep:
                    self._plan_statement(kept)
                continue
            self._plan_statement(statement)
        if body and removed == len(body):
            # Every statement of the block went: Python needs one.
            first = body[0]
            start = self._drop_start(first)
            indent = self._indent(first)
            self.plan.replacements.append((start, start, None, [], indent + "pass\n"))

    def _plan_elif(self, statement: ast.If, folded: bool) -> None:
        """``elif FLAG:`` decided by the flags, inside an ``if`` chain that stays.

        True: the clause becomes the chain's ``else:`` (what followed it goes).
        False: the clause goes, and what followed it (``else:`` / ``elif``) moves up.
        """
        before = fold(self._test(statement), self.source_values)
        keep = statement.body if folded else statement.orelse
        discard = statement.orelse if folded else statement.body
        if isinstance(before, bool) and before is not folded:
            self.target_only.update(id(s) for s in keep)
        for dropped in discard:
            self.plan.skip.add(id(dropped))
        self.plan.skip.add(id(statement.test))
        text = self.source.text
        elif_start = self.source.offset(statement.lineno, statement.col_offset)
        clause_start = _line_start(self.source, statement.lineno)
        end = _line_start(self.source, statement.end_lineno + 1)  # type: ignore[operator]
        rest = self._orelse_start(statement)
        if folded:
            colon = text.index(":", self.source.span(statement.test)[1])
            self.plan.replacements.append((elif_start, colon + 1, None, [], "else:"))
            if rest is not None:
                self.plan.replacements.append((rest, end, None, [], ""))
        else:
            self.plan.replacements.append((clause_start, rest if rest is not None else end,
                                           None, [], ""))
        for kept in keep:
            self._plan_statement(kept)

    def _orelse_start(self, statement: ast.If) -> int | None:
        """Where the ``else:`` / ``elif`` line after an ``if`` clause's body starts."""
        if not statement.orelse:
            return None
        last = statement.body[-1].end_lineno or statement.lineno
        for lineno in range(last + 1, _first_line(statement.orelse[0]) + 1):
            if re.match(r"\s*(else\s*:|elif\b)", self.source.lines[lineno - 1]):
                return _line_start(self.source, lineno)
        return None

    def _plan_statement(self, statement: ast.stmt) -> None:
        for body in _bodies(statement):
            self._plan_body(body)

    def _drop(self, statement: ast.stmt, following: ast.stmt | None = None) -> None:
        """Plan a statement's removal; ``following``: the next statement of a
        block that this one opens, the blank lines up to which go too."""
        self.plan.skip.add(id(statement))
        last = statement.end_lineno or statement.lineno
        if following is None:
            start = self._drop_start(statement)
        else:
            start = _line_start(self.source, _first_line(statement))
            while last + 1 < _first_line(following) and not self.source.lines[last].strip():
                last += 1
        end = _line_start(self.source, last + 1)
        self.plan.replacements.append((start, end, None, [], ""))

    def _drop_start(self, statement: ast.stmt) -> int:
        """Where a dropped statement's text starts: its first line, and the blank
        lines above it when a blank line (or the end) also follows it, so that
        dropped methods leave no runs of blank lines while a dropped import keeps
        the blank line that ends its section."""
        lineno = _first_line(statement)
        after = statement.end_lineno or lineno
        if after < len(self.source.lines) and self.source.lines[after].strip():
            return _line_start(self.source, lineno)
        while lineno > 1 and not self.source.lines[lineno - 2].strip():
            lineno -= 1
        return _line_start(self.source, lineno)

    def _indent(self, statement: ast.stmt) -> str:
        """The indentation of a statement's line, as written (spaces or tabs)."""
        line = self.source.lines[statement.lineno - 1]
        return line[:len(line) - len(line.lstrip(" \t"))]

    def apply_plan(self) -> None:
        # Conditions first: a kept branch around them renders them as folded.
        for test, folded in self.plan.conditions:
            segments = {id(part): self.edits.render(*self.source.span(part))
                        for part in originals(folded, test)}
            self.edits.replace_span(*self.source.span(test), render(folded, segments))
        # Innermost first, so that an outer branch's text includes the inner result.
        for start, end, statement, keep, how in sorted(
            self.plan.replacements, key=lambda r: (r[1] - r[0], r[0])
        ):
            if how != "branch":
                if start == end:
                    self.edits.insert(start, how)
                else:
                    self.edits.replace_span(start, end, how)
                continue
            assert statement is not None
            first = keep[0]
            if first is statement.orelse[0] if statement.orelse else False:
                # `elif` chain: the kept part starts with `elif`, at the if's indentation.
                elif_start = self.source.offset(first.lineno, first.col_offset)
                if self.source.text.startswith("elif", elif_start) and isinstance(first, ast.If):
                    indent = self._indent(statement)
                    self.edits.replace_span(start, elif_start + 4, indent + "if")
                    continue
            # Comment lines above the first kept statement belong to the branch.
            keep_start = _line_start(self.source, _first_line(first))
            if keep is statement.body:
                header_end = statement.lineno + 1
            else:
                header_end = _first_line(first)
                for lineno in range(statement.body[-1].end_lineno or 0, _first_line(first)):
                    if re.match(r"\s*else\s*:", self.source.lines[lineno - 1]):
                        header_end = lineno + 1
            if header_end < _first_line(first):
                keep_start = _line_start(self.source, header_end)
            keep_end = _line_start(self.source, keep[-1].end_lineno + 1)  # type: ignore[operator]
            if _first_line(first) == statement.lineno:
                # `if IS_ASYNC: x` on one line.
                text = self.edits.render(self.source.offset(first.lineno, first.col_offset),
                                         keep_end)
                self.edits.replace_span(start, end, self._indent(statement) + text)
                continue
            text = self.edits.render(keep_start, keep_end)
            width = first.col_offset - statement.col_offset
            lines = python_lines(text)
            dedented = "".join(
                line[width:] if line[:width].isspace() and len(line) > width else
                (line.lstrip(" \t") if not line.strip() else line)
                for line in lines
            )
            self.edits.replace_span(start, end, dedented)
