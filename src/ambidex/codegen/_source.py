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


@dataclass(frozen=True)
class Diagnostic:
    """A located message about a source file: ``path:line:col: message``."""

    path: str
    line: int
    col: int
    message: str
    error: bool = True
    """An error stops the conversion (nothing is written); a warning does not."""

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

    def __init__(self, source: SourceText) -> None:
        self.source = source
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

    def apply(self) -> str:
        text = self.source.text
        pieces: list[str] = []
        position = 0
        for start, end, _order, replacement in sorted(self._edits):
            if start < position:
                raise ValueError(
                    f"overlapping edits at offset {start} (previous edit ended at {position})"
                )
            pieces.append(text[position:start])
            pieces.append(replacement)
            position = end
        pieces.append(text[position:])
        return "".join(pieces)


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
