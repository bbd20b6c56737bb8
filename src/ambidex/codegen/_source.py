"""Byte-faithful edits of Python source, located by the AST.

The generator never re-prints a module: it parses it with :mod:`ast`, decides
what to change, and splices replacement text into the original string at the
nodes' positions. Everything it did not touch -- comments, blank lines,
layout, quoting -- stays byte for byte.

Both directions (async -> sync and sync -> async) use this, so it lives here
once.
"""

from __future__ import annotations

import ast
import bisect
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field

# Characters that ``str.splitlines`` ends a line at and Python does not: inside
# a comment or a string they are plain characters, and a form feed alone on a
# line is PEP 8's page break. ``ast`` counts lines as the tokenizer does.
_NOT_PYTHON_LINE_ENDS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_PYTHON_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def python_lines(text: str) -> list[str]:
    """``text`` split into lines the way Python's tokenizer counts them, ends kept.

    Only ``\\n``, ``\\r\\n`` and ``\\r`` end a line. Use this, never
    ``str.splitlines``, for anything indexed by an AST line number: a form feed
    in a comment would otherwise shift every later edit by one line.
    """
    if _NOT_PYTHON_LINE_ENDS.search(text) is None:
        return text.splitlines(keepends=True)  # the same answer, in C
    return _PYTHON_LINE.findall(text)


def python_tokens(text: str) -> Iterator[tokenize.TokenInfo]:
    """The tokens of ``text``, their lines numbered as the AST numbers them.

    ``tokenize`` reading through ``io.StringIO(text).readline`` gets one line
    for a whole file whose lines end in a lone ``\\r`` (``StringIO`` splits at
    ``\\n`` only), and every token of it lands on line 1. Fed
    :func:`python_lines`, it sees the lines Python sees. Raises what
    ``tokenize`` raises for text that does not tokenize.
    """
    lines = iter(python_lines(text))
    return tokenize.generate_tokens(lambda: next(lines, ""))


_BARE_LINE_FEED = re.compile(r"(?<!\r)\n")


def line_end_of(text: str) -> str:
    """The line end every line of ``text`` uses: ``"\\n"``, ``"\\r\\n"`` or ``"\\r"``.

    ``"\\n"`` for a file with no line end at all, and for a file whose lines
    end in more than one way: there is no one answer then, and what the
    generator writes stays as it is (the file was mixed before).
    """
    crlf = text.count("\r\n")
    cr = text.count("\r") - crlf
    if cr == 0 and crlf and text.count("\n") == crlf:
        return "\r\n"
    if crlf == 0 and cr and "\n" not in text:
        return "\r"
    return "\n"


def with_line_ends(output: str, end: str) -> str:
    """``output`` with every line the generator wrote ended by ``end``.

    The generator copies the lines it keeps, line ends and all, and writes the
    lines it adds (imports, ``pass``, blank lines, a moved ``__init__``'s new
    methods) with ``\\n``. In a file whose lines all end in ``end`` each ``\\n``
    that is not already part of a ``\\r\\n`` is one such written line end:
    a copied ``\\r`` followed by a written ``\\n`` is two line ends, not one.
    A line feed inside a string literal is a line end too (the tokenizer reads
    the literal's lines; the value of a literal never holds a raw ``\\r``
    from its source), so this is safe anywhere in the text.
    """
    if end == "\n" or "\n" not in output:
        return output
    if end == "\r":
        return output.replace("\n", "\r")
    return _BARE_LINE_FEED.sub("\r\n", output)


@dataclass(frozen=True)
class Diagnostic:
    """A located message about a source file: ``path:line:col: message``."""

    path: str
    line: int
    col: int
    message: str
    error: bool = True
    """An error stops the conversion (nothing is written); a warning does not."""
    same_as: str | None = field(default=None, compare=False)
    """For a warning said of many places alike (an annotation naming
    ``asyncio.Future``): what it says, so that the command line can print it
    once with a count (``-v`` lists each place)."""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class ConversionError(Exception):
    """The conversion cannot be done faithfully; ``diagnostics`` say where and why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


class SourceText:
    """A module's text with (line, column) -> offset conversion.

    ``ast`` gives 1-based lines and columns counted in UTF-8 bytes; string
    offsets are in characters. This bridges the two. ``lines`` are Python's
    lines (:func:`python_lines`), so that line ``n`` is the AST's line ``n``.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = python_lines(text)
        self._starts = [0]
        for line in self.lines:
            self._starts.append(self._starts[-1] + len(line))

    def offset(self, lineno: int, col_offset: int) -> int:
        """String offset of an AST position (1-based line, UTF-8 byte column)."""
        if lineno > len(self.lines):
            return len(self.text)
        line = self.lines[lineno - 1]
        if line.isascii():
            return self._starts[lineno - 1] + col_offset
        prefix = line.encode("utf-8")[:col_offset].decode("utf-8", errors="replace")
        return self._starts[lineno - 1] + len(prefix)

    def span(self, node: ast.AST) -> tuple[int, int]:
        """The (start, end) string offsets of a node that has an end position."""
        end_lineno = getattr(node, "end_lineno", None)
        end_col = getattr(node, "end_col_offset", None)
        if end_lineno is None or end_col is None:
            raise ValueError(f"{type(node).__name__} has no end position")
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        return start, self.offset(end_lineno, end_col)

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]


@dataclass(frozen=True, order=True)
class Edit:
    start: int
    end: int
    text: str


class Edits:
    """A set of non-overlapping replacements applied in one pass.

    Two edits that overlap are a bug in the caller, not something to guess
    about, so :meth:`apply` raises rather than picking one. Insertions at the
    same offset are kept in the order they were added.
    """

    def __init__(self, source: SourceText, tree: ast.Module | None = None) -> None:
        """``tree``, the parse of ``source`` when the caller has it, lets
        :meth:`apply` read only the statements whose alignment an edit may
        change (:func:`realigned`) instead of tokenizing the whole module."""
        self.source = source
        self.tree = tree
        self._edits: list[tuple[int, int, int, str]] = []

    def __len__(self) -> int:
        return len(self._edits)

    def replace(self, start: int, end: int, text: str) -> None:
        self._edits.append((start, end, len(self._edits), text))

    def replace_node(self, node: ast.AST, text: str) -> None:
        start, end = self.source.span(node)
        self.replace(start, end, text)

    def insert(self, offset: int, text: str) -> None:
        self.replace(offset, offset, text)

    def at(self, offset: int) -> list[Edit]:
        """The insertions at ``offset``, in the order they were added."""
        return [Edit(s, e, t) for s, e, _o, t in sorted(self._edits)
                if s == e == offset]

    def deleted_from(self, offset: int) -> int | None:
        """Where the deletion that starts at ``offset`` ends (None: no such edit)."""
        return next((e for s, e, _o, t in self._edits if s == offset < e and not t), None)

    def untouched(self, offset: int) -> bool:
        """No edit replaces the character at ``offset``."""
        return not any(s <= offset < e for s, e, _o, _t in self._edits)

    def removed(self) -> str:
        """The source's text that the edits replace (none for insertions), one
        span a line: what a name can have lost uses in."""
        text = self.source.text
        return "\n".join(text[start:end] for start, end, _order, _new in self._edits if end > start)

    def _inside(self, start: int, end: int) -> list[tuple[int, int, int, str]]:
        # Insertions exactly at a border belong to the outside: text spliced
        # before or after a node is not part of the node.
        return [
            e for e in self._edits
            if start <= e[0] and e[1] <= end and not (e[0] == e[1] and e[0] in (start, end))
        ]

    def render(self, start: int, end: int) -> str:
        """The text of ``[start, end)`` with the edits that lie inside it applied.

        Used when a node is replaced by text built from one of its children
        (``Awaitable[T]`` -> ``T``): the child's own edits must show in the
        replacement; :meth:`replace_span` then drops them so that they are not
        applied twice.
        """
        text = self.source.text
        pieces: list[str] = []
        position = start
        for e_start, e_end, _order, replacement in sorted(self._inside(start, end)):
            if e_start < position:
                raise ValueError(f"overlapping edits at offset {e_start}")
            pieces.append(text[position:e_start])
            pieces.append(replacement)
            position = e_end
        pieces.append(text[position:end])
        return "".join(pieces)

    def replace_span(self, start: int, end: int, text: str) -> None:
        """Replace ``[start, end)`` by ``text``, dropping the edits inside it.

        The caller has folded those edits into ``text`` (see :meth:`render`)
        or means to discard them (a branch of the other colour).
        """
        inside = set(self._inside(start, end))
        self._edits = [e for e in self._edits if e not in inside]
        self.replace(start, end, text)

    def truncate(self, count: int) -> None:
        """Forget the edits added after the first ``count`` (undo a failed attempt)."""
        del self._edits[count:]

    def checkpoint(self) -> list[tuple[int, int, int, str]]:
        """The current edits, for :meth:`restore` if an attempt fails."""
        return list(self._edits)

    def restore(self, checkpoint: list[tuple[int, int, int, str]]) -> None:
        self._edits = list(checkpoint)

    def spliced(self) -> str:
        """The text with every edit applied as it is, no line realigned: what
        :meth:`apply` gives when no continuation line had to move (a caller
        that knows how the edits move the text's nodes compares the two)."""
        text = self.source.text
        pieces: list[str] = []
        position = 0
        for start, end, _order, replacement in sorted(self._edits):
            pieces.append(text[position:start])
            pieces.append(replacement)
            position = end
        pieces.append(text[position:])
        return "".join(pieces)

    def apply(self) -> str:
        """The text with every edit applied, continuation lines kept aligned
        to their brackets (:func:`realigned`)."""
        text = self.source.text
        pieces: list[str] = []
        position = 0
        edits = realigned(self.source, sorted(self._edits), self.tree)
        for start, end, _order, replacement in edits:
            if start < position:
                raise ValueError(
                    f"overlapping edits at offset {start} (previous edit ended at {position})"
                )
            pieces.append(text[position:start])
            pieces.append(replacement)
            position = end
        pieces.append(text[position:])
        return "".join(pieces)


_OPENING = frozenset("([{")
_CLOSING = frozenset(")]}")
# Python 3.12+ tokenizes f-strings: a line whose first token is inside one
# starts inside a string. (Before 3.12 an f-string is one STRING token.)
_FSTRING_START = getattr(tokenize, "FSTRING_START", -1)
_FSTRING_END = getattr(tokenize, "FSTRING_END", -1)
_NOT_CODE = frozenset({tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT,
                       tokenize.DEDENT, tokenize.ENDMARKER})
_OPENING_AT = re.compile(r"[(\[{]")
_WINDOW = 12  # lines after an edit where a line aligned to its brackets is looked for

_Edit = tuple[int, int, int, str]


class _Bracket:
    __slots__ = ("col", "followed", "offset", "row")

    def __init__(self, row: int, col: int, offset: int) -> None:
        self.row, self.col, self.offset = row, col, offset
        self.followed = False  # something stands after it on its own line


def realigned(source: SourceText, edits: list[_Edit],
              tree: ast.Module | None = None) -> list[_Edit]:
    """``edits`` (sorted) plus the shifts that keep continuation lines aligned.

    PEP 8's visual indent lines a continuation line up under the first thing
    after an opening bracket::

        def fetch(sock: socket.socket,
                  size: int) -> bytes:

    An edit that makes the text before that bracket longer or shorter on its
    line (``async `` before ``def``, ``await `` before a call, a rename) moves
    the bracket by k columns; every line aligned to it moves by k too, and so,
    in turn, do the lines aligned to a bracket on a line that moved. Only a
    bracket with something after it on its own line counts (a hanging indent
    follows the statement, which did not move). A line never moves when it
    starts inside a string, has a tab before its first token or before the
    bracket, has its indent touched by an edit, or when an edit replaces the
    bracket or runs into its line from the line before. The result is sorted
    like ``edits``, and the shifts overlap none of them.

    The tokenizer reads only the logical lines (statements) that hold a line
    an edit changed before a bracket, when ``tree`` says where they start;
    the whole module otherwise.
    """
    if not edits:
        return edits
    rows = _rows_to_realign(source, edits)
    if not rows:
        return edits
    regions = None if tree is None else _logical_lines(source, tree, rows)
    shifts: list[_Edit] = []
    if regions is not None:
        for first, last in regions:
            tokens = _tokens_of(source, first, last)
            if tokens is None:
                regions = None
                shifts = []
                break
            shifts += _shifts(source, edits, tokens, first - 1)
    if regions is None:
        try:
            tokens = list(python_tokens(source.text))
        except (tokenize.TokenError, SyntaxError):
            return edits
        shifts = _shifts(source, edits, tokens)
    if not shifts:
        return edits
    return sorted(edits + shifts)


def _shifts(source: SourceText, edits: list[_Edit],
            tokens: list[tokenize.TokenInfo], rows_above: int = 0) -> list[_Edit]:
    """The shifts of the lines in ``tokens`` (whole logical lines), whose rows
    are numbered from the row after ``rows_above`` (the module's rows when 0)."""
    text, starts = source.text, source._starts
    edit_starts = [edit[0] for edit in edits]
    by_line: dict[int, list[_Edit]] = {}
    for edit in edits:
        by_line.setdefault(bisect.bisect_right(starts, edit[0]) - 1, []).append(edit)

    def crossed(offset: int) -> bool:
        """An edit starts before ``offset`` and ends after it."""
        index = bisect.bisect_left(edit_starts, offset) - 1
        return any(edits[i][1] > offset for i in range(max(index - 1, 0), index + 1))

    shift: dict[int, int] = {}  # by row (1-based): columns a line moved

    def column_in_output(bracket: _Bracket) -> int | None:
        line_start = starts[bracket.row - 1]
        if crossed(line_start):
            return None
        pieces: list[str] = []
        position = line_start
        for start, end, _order, replacement in by_line.get(bracket.row - 1, ()):
            if start > bracket.offset or (start == bracket.offset and end > start):
                break
            if end > bracket.offset:
                return None  # the edit replaces the bracket itself
            pieces.append(text[position:start])
            pieces.append(replacement)
            position = end
        pieces.append(text[position : bracket.offset])
        prefix = "".join(pieces)
        if "\t" in prefix:
            return None
        if "\n" in prefix or "\r" in prefix:  # an edit broke the line before the bracket
            return len(prefix) - max(prefix.rfind("\n"), prefix.rfind("\r")) - 1
        return len(prefix) + shift.get(bracket.row, 0)

    def shift_line(row: int, col: int) -> None:
        line_start = starts[row - 1]
        if text[line_start : line_start + col].strip(" ") or crossed(line_start):
            return  # a tab, or an edit running into the line
        if any(e[0] < line_start + col for e in by_line.get(row - 1, ())):
            return  # an edit touches the indent
        for bracket in reversed(stack):
            if bracket.followed and bracket.col + 1 == col:
                break
        else:
            return
        column = column_in_output(bracket)
        if column is None or column == bracket.col or col + column - bracket.col < 0:
            return
        moved = column - bracket.col
        shift[row] = moved
        if moved > 0:
            shifts.append((line_start, line_start, -1, " " * moved))
        else:
            shifts.append((line_start, line_start - moved, -1, ""))

    def followed(row: int) -> None:
        for bracket in reversed(stack):
            if bracket.row != row:
                break
            bracket.followed = True

    stack: list[_Bracket] = []
    shifts: list[_Edit] = []
    in_fstring = 0
    last_row = 0
    for kind, string, (row, col), (end_row, _), _line in tokens:
        row += rows_above
        end_row += rows_above
        if row > last_row and stack and not in_fstring and kind not in (
            tokenize.NL, tokenize.NEWLINE
        ):
            shift_line(row, col)
        last_row = end_row
        if kind == _FSTRING_START:
            if not in_fstring:
                followed(row)
            in_fstring += 1
        elif kind == _FSTRING_END:
            in_fstring -= 1
        elif in_fstring:
            continue  # a bracket of a replacement field: inside the string
        elif kind == tokenize.OP and string in _OPENING:
            followed(row)
            stack.append(_Bracket(row, col, starts[row - 1] + col))
        elif kind == tokenize.OP and string in _CLOSING:
            if stack:
                stack.pop()
            followed(row)
        elif kind not in _NOT_CODE:
            followed(row)
    return shifts


def _rows_to_realign(source: SourceText, edits: list[_Edit]) -> list[int]:
    """Cheaply, the rows (1-based) where an edit changes the length of the line
    before a bracket at column c, and a line soon after is indented by c + 1:
    nothing else can need a shift (most modules have none of them, and no
    tokenizer runs for those)."""
    lines, starts = source.lines, source._starts
    rows: list[int] = []
    for start, end, _order, replacement in edits:
        if end - start == len(replacement) and "\n" not in replacement:
            continue
        line = bisect.bisect_right(starts, end) - 1
        if line >= len(lines) - 1 or (rows and rows[-1] == line + 1):
            continue
        after = end - starts[line]
        columns = {match.start() + 1 for match in _OPENING_AT.finditer(lines[line], after)}
        if not columns:
            continue
        for later in lines[line + 1 : line + 1 + _WINDOW]:
            if len(later) - len(later.lstrip(" ")) in columns:
                rows.append(line + 1)
                break
    return rows


def _logical_lines(source: SourceText, tree: ast.Module,
                   rows: list[int]) -> list[tuple[int, int]] | None:
    """For each row, the first and last row of the statement line that holds it
    (a simple statement, or a compound one's header with its decorators), or
    None when some row's statement does not start its line (the tokenizer could
    then begin inside a string)."""
    regions: list[tuple[int, int]] = []
    for row in rows:
        if regions and regions[-1][0] <= row <= regions[-1][1]:
            continue
        region = _statement_rows(source, tree.body, row)
        if region is None:
            return None
        regions.append(region)
    return regions


_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")


def _statement_rows(source: SourceText, body: list[ast.stmt],
                    row: int) -> tuple[int, int] | None:
    while True:
        firsts = [_first_row(statement) for statement in body]
        index = bisect.bisect_right(firsts, row) - 1
        if index < 0:
            return None
        statement = body[index]
        first = firsts[index]
        last = statement.end_lineno or statement.lineno
        if row > last:
            return None  # a line between statements: no bracket of ours is there
        line = source.lines[first - 1]
        decorators: list[ast.expr] = getattr(statement, "decorator_list", None) or []
        start_col = decorators[0].col_offset - 1 if decorators else statement.col_offset
        if line[: len(line) - len(line.lstrip())] != line.encode("utf-8")[:start_col].decode(
                "utf-8", errors="replace"):
            return None  # another statement (or a string's end) before it on its line
        inner = [child for block in _BLOCKS for child in getattr(statement, block, None) or []]
        if not inner or row < _first_row(inner[0]):
            header_end = last if not inner else _first_row(inner[0]) - 1
            return first, max(header_end, row)
        body = []
        for block in _BLOCKS:
            for child in getattr(statement, block, None) or []:
                if isinstance(child, ast.stmt):
                    body.append(child)
                else:  # an except handler or a match case: its own header
                    header = getattr(child, "lineno", None) or child.pattern.lineno
                    if header <= row < _first_row(child.body[0]):
                        return header, _first_row(child.body[0]) - 1
                    body.extend(child.body)
        body.sort(key=_first_row)


def _first_row(node: ast.AST) -> int:
    decorators = getattr(node, "decorator_list", None)
    return decorators[0].lineno if decorators else node.lineno  # type: ignore[attr-defined,no-any-return]


def _tokens_of(source: SourceText, first: int, last: int) -> list[tokenize.TokenInfo] | None:
    """The tokens of rows ``first``..``last`` (a whole logical line), their rows
    numbered from ``first`` as 1 (:func:`_shifts` adds ``first - 1``); None when
    they do not tokenize on their own."""
    lines = iter(source.lines[first - 1 : last])
    try:
        return list(tokenize.generate_tokens(lambda: next(lines, "")))
    except (tokenize.TokenError, SyntaxError):
        return None


@dataclass
class Conversion:
    """What one direction's converter returns for a set of modules converted together.

    ``outputs`` is keyed by the same paths as the input mapping. When any
    diagnostic is an error, the caller writes nothing at all.
    """

    outputs: dict[str, str]
    diagnostics: list[Diagnostic]
    explanations: list[str]
    """For ``--explain``: one line per function that changed colour, with the
    chain of calls down to the primitive that forced it."""
    unused: list[str] = field(default_factory=list)
    """User renames and ``[[tool.ambidex.rules]]`` rows that matched nothing
    (``generate --check`` reports them)."""

    @property
    def failed(self) -> bool:
        return any(d.error for d in self.diagnostics)
