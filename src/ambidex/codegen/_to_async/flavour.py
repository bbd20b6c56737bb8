"""sync -> async, step 0: the flavour markers, applied before the analysis.

``# ambidex: sync-only`` statements (read by :mod:`ambidex.codegen._markers`)
are dropped with their block; ``IS_ASYNC = False`` becomes ``True``; ``if
IS_ASYNC:`` / ``if not IS_ASYNC:`` become the branch for async code. Every line
keeps its number, so diagnostics point into the source.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from ambidex.codegen._flags import (
    DEFAULT_FLAGS,
    Colour,
    flag_assignment,
    fold,
    originals,
    render,
    values_in,
)
from ambidex.codegen._markers import colour_marker, marker_comments
from ambidex.codegen._source import python_lines

DROPPED = "# ambidex-internal: dropped line"
"""Stands in for a line the markers drop, so line numbers (and diagnostics)
still match the source during the conversion; removed from the output."""


def apply_markers(text: str, flags: Mapping[str, Colour] = DEFAULT_FLAGS) -> str:
    """The flavour markers, towards async, keeping every line where it was.

    ``# ambidex: sync-only`` statements go (their block too); ``IS_ASYNC = False``
    becomes ``True``; ``if IS_ASYNC:`` / ``if not IS_ASYNC:`` statements become the
    branch that applies to async code, dedented. Dropped lines become a marker
    line that the end of the conversion removes.
    """
    if "sync-only" not in text and not any(flag in text for flag in flags):
        return text
    values = values_in(flags, "async")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text  # reported by the analysis
    lines = python_lines(text)
    markers = marker_comments(text)

    def drop(first: int, last: int) -> None:
        for index in range(first - 1, last):
            indent = len(lines[index]) - len(lines[index].lstrip())
            lines[index] = lines[index][:indent] + DROPPED + "\n"

    def first_line(node: ast.stmt) -> int:
        decorators: list[ast.expr] = getattr(node, "decorator_list", [])
        return min([node.lineno, *(d.lineno for d in decorators)])

    def visit(body: list[ast.stmt]) -> None:
        gone = 0
        for node in body:
            assert node.end_lineno is not None
            start = first_line(node)
            if colour_marker(markers, node) == "sync-only":
                drop(start, node.end_lineno)
                gone += 1
                continue
            constant = flag_assignment(node, flags)
            if constant is not None:
                target = node.targets[0] if isinstance(node, ast.Assign) else node.target  # type: ignore[attr-defined]
                assert isinstance(target, ast.Name)
                value = values[target.id]
                if constant.value is not value:
                    line = lines[constant.lineno - 1]
                    col = constant.col_offset  # ASCII: the flag line is plain code
                    old = str(constant.value)
                    lines[constant.lineno - 1] = line[:col] + str(value) + line[col + len(old) :]
                continue
            folded = fold(node.test, values) if isinstance(node, ast.If) else None
            if isinstance(node, ast.If) and folded is not None and not isinstance(folded, bool):
                test = node.test
                if test.lineno == test.end_lineno:  # one line: the rest of the condition stays
                    # Offsets are in UTF-8 bytes; an outer branch may have dedented the line.
                    written = text.splitlines(keepends=True)[test.lineno - 1].encode()
                    current = lines[test.lineno - 1].encode()
                    shift = len(written) - len(current)
                    parts = {
                        id(part): written[part.col_offset : part.end_col_offset].decode()
                        for part in originals(folded, test)
                    }
                    start, end = test.col_offset - shift, (test.end_col_offset or 0) - shift
                    lines[test.lineno - 1] = (
                        current[:start].decode() + render(folded, parts) + current[end:].decode()
                    )
            if isinstance(node, ast.If) and isinstance(folded, bool):
                flag = folded
                keep = node.body if flag else node.orelse
                if (
                    node.orelse
                    and isinstance(node.orelse[0], ast.If)
                    and lines[node.orelse[0].lineno - 1].lstrip().startswith("elif")
                ):
                    continue  # `if IS_ASYNC: ... elif ...:` is left alone
                drop(node.lineno, node.end_lineno)
                if not keep:
                    gone += 1
                else:
                    first, last = first_line(keep[0]), keep[-1].end_lineno
                    assert last is not None
                    original = python_lines(text)
                    shift = keep[0].col_offset - node.col_offset
                    for index in range(first - 1, last):
                        line = original[index]
                        lines[index] = line[shift:] if line[:shift].strip() == "" else line
                    visit(keep)
                continue
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    visit([n for n in inner if isinstance(n, ast.stmt)])
                    for handler in inner:
                        if isinstance(handler, (ast.ExceptHandler, ast.match_case)):
                            visit(handler.body)
        if body and gone == len(body):
            # Every statement of the block went: Python needs one.
            first = first_line(body[0])
            indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
            lines[first - 1] = indent + "pass\n"

    visit(tree.body)
    return "".join(lines)
