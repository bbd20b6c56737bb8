"""sync -> async, step 0: the flavour markers, applied before the analysis.

``# ambidex: sync-only`` statements (read by :mod:`ambidex.codegen._markers`)
are dropped with their block; ``IS_ASYNC = False`` becomes ``True``; ``if
IS_ASYNC:`` / ``if not IS_ASYNC:`` become the branch for async code. Every line
keeps its number, so diagnostics point into the source.

The analysis needs the syntax tree of the text this step returns. Since no
line moves, the tree of the source, parsed here to find the markers, serves
for it once the statements this step changed are parsed again from their
new lines and put in their place (:func:`markers_applied`): a text that has
flags is not parsed a second time whole.
"""

from __future__ import annotations

import ast
import bisect
import itertools
from collections.abc import Mapping

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
from ambidex.codegen._markers import colour_marker, marker_comments
from ambidex.codegen._source import python_lines

DROPPED = "# ambidex-internal: dropped line"
"""Stands in for a line the markers drop, so line numbers (and diagnostics)
still match the source during the conversion; removed from the output."""


def apply_markers(text: str, flags: Mapping[str, Colour] = DEFAULT_FLAGS) -> str:
    """The flavour markers, towards async, keeping every line where it was:
    see :func:`markers_applied`."""
    return markers_applied(text, flags)[0]


def markers_applied(
    text: str, flags: Mapping[str, Colour] = DEFAULT_FLAGS
) -> tuple[str, ast.Module | None]:
    """The flavour markers, towards async, keeping every line where it was;
    and the syntax tree of the text returned, when this step parsed one (None
    when the text has no marker or flag to look at, or does not parse).
    See :func:`markers_step`."""
    output, tree, _dropped = markers_step(text, flags)
    return output, tree


def markers_step(
    text: str, flags: Mapping[str, Colour] = DEFAULT_FLAGS
) -> tuple[str, ast.Module | None, bool]:
    """The flavour markers, towards async, keeping every line where it was;
    the syntax tree of the text returned, when this step parsed one (None
    when the text has no marker or flag to look at, or does not parse); and
    whether it dropped lines. Only then can a statement have gone (a flag's
    value flipped, or a test folded in place, keeps every statement): the
    port looks for calls of what went (:mod:`.leftout`) in those texts only.

    ``# ambidex: sync-only`` statements go (their block too); ``IS_ASYNC = False``
    becomes ``True``; ``if IS_ASYNC:`` / ``if not IS_ASYNC:`` statements become the
    branch that applies to async code, dedented. Dropped lines become a marker
    line that the end of the conversion removes.

    The tree is the source's, where the statements that changed (and, when
    that moved where a block ends, the statement holding the block) are
    parsed again from their new lines: the same tree as parsing the whole
    text returned, node for node and position for position.
    """
    if "sync-only" not in text and "ASYNC" not in text and not any(flag in text for flag in flags):
        return text, None, False
    values = values_in(flags, "async")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text, None, False  # reported by the analysis
    lines = python_lines(text)
    text_lines = list(lines)  # as written: ``lines`` is edited in place
    markers = marker_comments(text, tree)
    # A block none of whose lines holds a marker or spells a flag has nothing
    # this step changes: it is not looked into (None: every block is).
    look_at = _lines_to_look_at(text, text_lines, markers, flags)
    changed: set[int] = set()
    """The ids of the statements whose lines this step rewrote."""
    changed_lines: list[int] = []
    """And the lines they start on."""
    dropped: list[int] = []
    """The first line of each span of lines dropped."""

    def touch(node: ast.stmt) -> None:
        changed.add(id(node))
        changed_lines.append(node.lineno)

    def drop(first: int, last: int) -> None:
        dropped.append(first)
        for index in range(first - 1, last):
            line = lines[index].rstrip("\r\n")  # a blank line has no indent
            indent = len(line) - len(line.lstrip())
            lines[index] = line[:indent] + DROPPED + "\n"

    def first_line(node: ast.stmt) -> int:
        decorators: list[ast.expr] = getattr(node, "decorator_list", [])
        return min([node.lineno, *(d.lineno for d in decorators)])

    def elif_first(orelse: list[ast.stmt]) -> bool:
        """An ``if``'s ``else`` block is an ``elif`` clause."""
        return bool(orelse) and text_lines[orelse[0].lineno - 1].lstrip().startswith("elif")

    def drop_blank_lines_after(body: list[ast.stmt], index: int) -> None:
        """A block's first statements went: so do the blank lines below them.

        Else the block would open on a blank line (``class C:`` then a blank
        line, then the first method kept). Only inside a block, and only when a
        statement of the block follows; the module's own top keeps its layout.
        """
        if body is tree.body or index + 1 == len(body):
            return
        line = body[index].end_lineno or 0
        while line < first_line(body[index + 1]) - 1 and not text_lines[line].strip():
            drop(line + 1, line + 1)
            line += 1

    def visit(body: list[ast.stmt], chained: bool = False) -> None:
        """``chained``: ``body`` is an ``else`` whose ``if`` is written ``elif``."""
        gone = 0
        for index, node in enumerate(body):
            assert node.end_lineno is not None
            if markers and colour_marker(markers, node) == "sync-only":
                if chained and isinstance(node, ast.If):
                    # Only this clause goes; what follows it (``else``, ``elif``)
                    # now follows the clause before it.
                    body_end = node.body[-1].end_lineno
                    assert body_end is not None
                    drop(node.lineno, body_end)
                    touch(node)
                    visit(node.orelse, chained=elif_first(node.orelse))
                    continue
                drop(first_line(node), node.end_lineno)
                touch(node)
                if gone == index:
                    drop_blank_lines_after(body, index)
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
                    touch(node)
                continue
            folded = fold(flag_test(node, markers), values) if isinstance(node, ast.If) else None
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
                    touch(node)
            if isinstance(node, ast.If) and isinstance(folded, bool) and not chained:
                # An ``elif`` decided by a flag is left as written: folding it as
                # an ``if`` would move its branch out of the chain. The flag's
                # assignment says the target colour, so the test is still right.
                flag = folded
                keep = node.body if flag else node.orelse
                if (
                    node.orelse
                    and isinstance(node.orelse[0], ast.If)
                    and lines[node.orelse[0].lineno - 1].lstrip().startswith("elif")
                ):
                    continue  # `if IS_ASYNC: ... elif ...:` is left alone
                drop(node.lineno, node.end_lineno)
                touch(node)
                if not keep:
                    if gone == index:
                        drop_blank_lines_after(body, index)
                    gone += 1
                else:
                    first, last = first_line(keep[0]), keep[-1].end_lineno
                    assert last is not None
                    original = text_lines
                    shift = keep[0].col_offset - node.col_offset
                    for index in range(first - 1, last):
                        line = original[index]
                        if not line.strip():  # blank: keeps its line end
                            lines[index] = line[len(line.rstrip("\r\n")) :]
                        elif line[:shift].strip() == "":
                            lines[index] = line[shift:]
                        else:
                            lines[index] = line
                    visit(keep)
                continue
            if look_at is not None and not _holds_line(node, look_at):
                continue
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    statements = [n for n in inner if isinstance(n, ast.stmt)]
                    visit(
                        statements,
                        chained=field == "orelse"
                        and isinstance(node, ast.If)
                        and elif_first(statements),
                    )
                    for handler in inner:
                        if isinstance(handler, (ast.ExceptHandler, ast.match_case)):
                            visit(handler.body)
        if body and gone == len(body):
            # Every statement of the block went: Python needs one.
            first = first_line(body[0])
            indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
            lines[first - 1] = indent + "pass\n"

    visit(tree.body)
    output = "".join(lines)
    if output == text:
        return text, tree, bool(dropped)
    if len(python_lines(output)) != len(lines):
        # A dropped blank line gains a line (its "indent" is its line end): the
        # lines moved, so the source's tree does not serve. Parsed whole.
        return output, None, bool(dropped)
    try:
        _reparse_changed(tree, lines, changed, sorted(changed_lines))  # a module has no end
    except SyntaxError:
        return output, None, bool(dropped)  # reported by the analysis, which parses the text
    return output, tree, bool(dropped)


def _lines_to_look_at(
    text: str, lines: list[str], markers: Mapping[int, object], flags: Mapping[str, Colour]
) -> list[int] | None:
    """The lines (sorted) where the markers step can find something to do: a
    marker comment's, and each line that spells a flag's name. Every statement
    it changes has one of them among its lines: a ``sync-only`` marker sits on
    the statement's first line or a decorator's, a flag's assignment and a
    test the flags decide spell the flag (a psycopg-style ``if True:  # ASYNC``
    is a marker's line). So a statement whose lines hold none of them is not
    looked into. None when the text is not ASCII: the parser reads a name
    written in other characters (``IS_ASYNC`` in full-width letters) as its
    NFKC form, which a search of the text for the flag would miss."""
    if not text.isascii():
        return None
    starts = [0, *itertools.accumulate(map(len, lines))]
    found = set(markers)
    for flag in flags:
        at = text.find(flag)
        while at != -1:
            found.add(bisect.bisect_right(starts, at))  # the 1-based line of offset `at`
            at = text.find(flag, at + 1)
    return sorted(found)


_BLOCKS = ("body", "handlers", "orelse", "finalbody", "cases")
"""The fields of a node that hold a block, in the order they are written."""


def _reparse_changed(
    owner: ast.AST, lines: list[str], changed: set[int], starts: list[int]
) -> bool:
    """Put in each block of ``owner`` the statements that ``changed`` parsed again
    from ``lines`` (the text as rewritten, with the source's line numbers).

    A run of statements sharing lines (``a = 1; b = 2``) is parsed together.
    Returns whether where ``owner`` ends moved (its last statement was parsed
    again, or one that holds it): its end is then set to that statement's.
    Raises SyntaxError when that cannot be done here (changed lines that do
    not parse on their own, such as an ``elif``, which is an ``if`` in the
    ``else`` of another; a block that ends at a ``;``): the caller then
    parses ``owner`` again whole. ``starts``: the first lines of the changed
    statements, sorted (a statement with none inside is not looked into).
    """
    fields = [f for f in _BLOCKS if getattr(owner, f, None)]
    moved = False
    for field in fields:
        block = getattr(owner, field)
        last_block = field == fields[-1]
        if field in ("handlers", "cases"):  # except / case clauses: not statements
            for part in block:
                ended = _reparse_changed(part, lines, changed, starts)
                if ended and last_block and part is block[-1]:
                    moved = True
            continue
        again = []
        for statement in block:
            if id(statement) in changed:
                again.append(True)
                continue
            if _holds_blocks(statement) and _holds_line(statement, starts):
                try:
                    ended = _reparse_changed(statement, lines, changed, starts)
                except SyntaxError:
                    again.append(True)  # parsed again whole, here
                    continue
                if ended and last_block and statement is block[-1]:
                    moved = True
            again.append(False)
        if not any(again):
            continue
        if field == "orelse" and _is_elif(owner, block[0]):
            raise SyntaxError("an elif")  # the whole if statement is parsed again
        statements: list[ast.stmt] = []
        index = 0
        while index < len(block):
            end = index
            last = block[index].end_lineno or block[index].lineno
            while end + 1 < len(block) and _first_line(block[end + 1]) <= last:
                end += 1
                last = max(last, block[end].end_lineno or block[end].lineno)
            if any(again[index : end + 1]):
                statements += _parsed(lines, block[index], last)
                if last_block and end == len(block) - 1:
                    moved = True
            else:
                statements += block[index : end + 1]
            index = end + 1
        if not statements:
            raise SyntaxError("a block left empty")
        block[:] = statements
    if moved and not isinstance(owner, ast.Module):
        _end_with_last_statement(owner, lines)
    return moved


def _end_with_last_statement(owner: ast.AST, lines: list[str]) -> None:
    """Set where ``owner`` ends: where its last statement ends, as the parser
    does (a ``;`` after that statement would be the end: SyntaxError here)."""
    last: ast.AST = owner
    while not isinstance(last, ast.stmt) or last is owner:
        blocks = [b for f in _BLOCKS if (b := getattr(last, f, None))]
        last = blocks[-1][-1]
        if isinstance(last, ast.excepthandler):
            break  # an except clause has an end of its own, already set
    end_line = getattr(last, "end_lineno", None)
    end_col = getattr(last, "end_col_offset", None)
    if end_line is None or end_col is None:
        raise SyntaxError("no end position")
    if lines[end_line - 1].encode()[end_col:].lstrip().startswith(b";"):
        raise SyntaxError("a block that ends at a semicolon")
    if "end_lineno" in owner._attributes:  # not a `case` clause
        owner.end_lineno = end_line  # type: ignore[attr-defined]
        owner.end_col_offset = end_col  # type: ignore[attr-defined]


def _is_elif(owner: ast.AST, statement: ast.stmt) -> bool:
    """``statement``, first of ``owner``'s ``else``, is the ``if`` of an ``elif``:
    it starts in ``owner``'s column (a block's statements are indented deeper)."""
    return (
        isinstance(owner, ast.If)
        and isinstance(statement, ast.If)
        and statement.col_offset == owner.col_offset
    )


def _holds_line(statement: ast.stmt, starts: list[int]) -> bool:
    """Whether one of the (sorted) line numbers ``starts`` is within ``statement``."""
    at = bisect.bisect_left(starts, statement.lineno)
    return at < len(starts) and starts[at] <= (statement.end_lineno or statement.lineno)


_HOLDS_BLOCKS: dict[type, bool] = {}


def _holds_blocks(statement: ast.stmt) -> bool:
    kind = type(statement)
    holds = _HOLDS_BLOCKS.get(kind)
    if holds is None:
        holds = _HOLDS_BLOCKS[kind] = any(field in kind._fields for field in _BLOCKS)
    return holds


def _first_line(node: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _parsed(lines: list[str], first: ast.stmt, last: int) -> list[ast.stmt]:
    """The statements of the lines from ``first``'s to ``last`` (1-based),
    numbered as in the text. SyntaxError when they do not parse on their own,
    or ``first`` shares its line with what holds it (``else: x = 1``)."""
    start = _first_line(first)
    chunk = "".join(lines[start - 1 : last])
    head = lines[start - 1]
    indent = head[: len(head) - len(head.lstrip())]
    code = head[len(indent) :]
    if not (code.startswith("@") if start < first.lineno else len(indent) == first.col_offset):
        raise SyntaxError("not the first statement of its line")
    if not indent:
        statements = ast.parse(chunk).body
        shift = start - 1
    else:
        # An indented run parses inside `if 1:`, its columns unchanged; the
        # `pass` after it keeps the block valid when every statement went.
        if not chunk.endswith(("\n", "\r")):
            chunk += "\n"
        wrapper = ast.parse(f"if 1:\n{chunk}{indent}pass\n").body[0]
        assert isinstance(wrapper, ast.If)
        statements = wrapper.body[:-1]
        shift = start - 2
    for statement in statements:
        ast.increment_lineno(statement, shift)
    return statements
