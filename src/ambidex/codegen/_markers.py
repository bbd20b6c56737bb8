"""``# ambidex:`` markers: found once, the same way, for every reader.

A marker is a comment that tells ambidex something about the statement it
stands on:

* ``# ambidex: sync-only`` -- the statement exists only in sync code; the
  sync -> async port drops it (its block too).
* ``# ambidex: async-only`` -- the mirror image; async -> sync drops it.
* ``# ambidex: allow-blocking`` -- the lint does not report blocking calls on
  this line (say why after the marker; ``--strict`` asks for a reason).
* ``# ASYNC`` on ``if True:`` / ``if False:`` -- psycopg's spelling of a colour
  flag (its ``tools/async_to_sync.py`` reads the comment): ``if True:  # ASYNC``
  means ``if IS_ASYNC:``, ``if False:  # ASYNC`` means ``if not IS_ASYNC:``. Read
  here as kind ``async-flag``; :func:`ambidex.codegen._flags.flag_test` turns
  the ``if``'s test into the flag, so both converters fold it like any flag.

Both converters and the lint read markers through this module, so they agree
on every spelling: ``#ambidex:sync-only``, ``# ambidex: sync-only (reason)``,
``# noqa: E501  # ambidex: sync-only`` are all the same marker, wherever the
statement stands (a ``match`` case, a ``try``, a class body). Markers are
found with the tokenizer (or, when the caller has the parsed tree, from the
strings on the lines that may hold one): the words inside a string literal are
not a marker, and lines are counted as the AST counts them (a file whose lines end in a
lone ``\\r`` too).

A colour marker belongs to the statement whose first line carries it: the
line of its first decorator, or the line of the statement itself.
"""

from __future__ import annotations

import ast
import math
import re
import tokenize
from dataclasses import dataclass
from typing import Literal

from ._source import python_tokens

__all__ = ["MarkerComment", "MarkerKind", "colour_marker", "marker_comments"]

MarkerKind = Literal["sync-only", "async-only", "allow-blocking", "async-flag"]

_MARKER = re.compile(
    r"#\s*ambidex\s*:\s*(?P<kind>sync-only|async-only|allow-blocking)(?![\w-])(?P<reason>.*)$"
)

_ASYNC_FLAG = re.compile(r"#\s*ASYNC\b")

_MAYBE_MARKER = re.compile(
    r"#\s*(?:ambidex\s*:\s*(?:sync-only|async-only|allow-blocking)(?![\w-])|ASYNC\b)"
)
"""What every marker comment contains, searched in the whole text before the
tokenizer runs: a text without it has no marker (a generated file names ambidex
in its header, and tokenizing it just to find none cost the port a third of a
second per 100k lines)."""


@dataclass(frozen=True)
class MarkerComment:
    """One marker: where its comment starts (1-based line and column), which
    marker it is, and the reason written after it (``""`` when none)."""

    line: int
    col: int
    kind: MarkerKind
    reason: str


def marker_comments(text: str, tree: ast.Module | None = None) -> dict[int, MarkerComment]:
    """The markers of a module's text, by line (one per line: the first).

    Text that does not tokenize has no markers: the converters and the lint
    report the syntax error themselves. ``tree``, the text's parse when the
    caller has it, spares the tokenizer (:func:`_read_with_tree`): the same
    markers, found in a few lines instead of the whole text.
    """
    if ("ambidex" not in text and "ASYNC" not in text) or _MAYBE_MARKER.search(text) is None:
        return {}
    if tree is not None:
        read = _read_with_tree(text, tree)
        if read is not None:
            return read
    found: dict[int, MarkerComment] = {}
    try:
        for token in python_tokens(text):
            if token.type != tokenize.COMMENT:
                continue
            match = _MARKER.search(token.string)
            if match is None:
                if _ASYNC_FLAG.match(token.string):
                    line, col = token.start
                    found.setdefault(line, MarkerComment(line, col + 1, "async-flag", ""))
                continue
            line, col = token.start
            kind: MarkerKind = match.group("kind")  # type: ignore[assignment]
            reason = match.group("reason").strip(" :-\t")
            if reason.startswith("(") and reason.endswith(")"):
                reason = reason[1:-1].strip()
            found.setdefault(line, MarkerComment(line, col + 1, kind, reason))
    except (tokenize.TokenError, SyntaxError):
        return {}
    return found


def _read_with_tree(text: str, tree: ast.Module) -> dict[int, MarkerComment] | None:
    """:func:`marker_comments` of a text that parsed into ``tree``, or None
    when only the tokenizer can tell.

    In Python source a ``#`` outside every string literal starts a comment,
    and string literals are the tree's ``Constant`` and ``JoinedStr`` nodes.
    So on each line where a marker's words appear, the comment starts at the
    first ``#`` that no string on that line covers, and only the statements
    spanning those lines need a look. A string spanning lines is one
    triple-quoted literal (a docstring: :func:`_one_literal`) or literals
    joined across lines with maybe a comment between them (``("a"  # note``
    newline ``"b")``): a candidate line inside the latter, or inside an
    f-string spanning lines, goes to the tokenizer, and so does a text with a
    carriage return (the lines are split at ``\n`` here).
    """
    if "\r" in text:
        return None
    candidates: set[int] = set()
    line, searched = 1, 0
    for maybe in _MAYBE_MARKER.finditer(text):
        line += text.count("\n", searched, maybe.start())
        searched = maybe.start()
        candidates.add(line)
    lines = text.split("\n")
    # String literals on the candidate lines: line -> [(first byte, end byte)].
    covered: dict[int, list[tuple[int, float]]] = {}
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Constant, ast.JoinedStr)):
            if isinstance(node, ast.JoinedStr) or isinstance(node.value, (str, bytes)):
                first, last = node.lineno, node.end_lineno or node.lineno
                start, end = node.col_offset, node.end_col_offset or 0
                if not any(first <= number <= last for number in candidates):
                    continue
                if last > first:
                    if isinstance(node, ast.JoinedStr) or not _one_literal(
                        lines, first, start, last, end
                    ):
                        return None
                    covered.setdefault(first, []).append((start, math.inf))
                    for number in range(first + 1, last):
                        covered.setdefault(number, []).append((0, math.inf))
                    covered.setdefault(last, []).append((0, end))
                else:
                    covered.setdefault(first, []).append((start, end))
            continue
        for child in ast.iter_child_nodes(node):
            top: int | None = getattr(child, "lineno", None)
            if top is not None:
                for decorator in getattr(child, "decorator_list", ()):
                    top = min(top, decorator.lineno)
                bottom: int = getattr(child, "end_lineno", None) or top
                if not any(top <= number <= bottom for number in candidates):
                    continue  # no candidate line in it: no string to look at there
            todo.append(child)
    found: dict[int, MarkerComment] = {}
    for number in sorted(candidates):
        written = lines[number - 1]
        encoded = written.encode("utf-8")
        spans = covered.get(number, ())
        start = encoded.find(b"#")
        while start != -1 and any(a <= start < b for a, b in spans):
            start = encoded.find(b"#", start + 1)
        if start == -1:
            continue
        col = len(encoded[:start].decode("utf-8"))
        comment = written[col:]
        match = _MARKER.search(comment)
        if match is None:
            if _ASYNC_FLAG.match(comment):
                found[number] = MarkerComment(number, col + 1, "async-flag", "")
            continue
        kind: MarkerKind = match.group("kind")  # type: ignore[assignment]
        reason = match.group("reason").strip(" :-\t")
        if reason.startswith("(") and reason.endswith(")"):
            reason = reason[1:-1].strip()
        found[number] = MarkerComment(number, col + 1, kind, reason)
    return found


def _one_literal(lines: list[str], first: int, start: int, last: int, end: int) -> bool:
    """Whether the string from byte ``start`` of line ``first`` to byte
    ``end`` of line ``last`` is one triple-quoted literal (a docstring), not
    literals joined across lines, where a comment may stand between them."""
    segment = "\n".join(
        [lines[first - 1].encode("utf-8")[start:].decode("utf-8"), *lines[first:last - 1],
         lines[last - 1].encode("utf-8")[:end].decode("utf-8")]
    )
    body = segment.lstrip("rbuRBU")
    quote = body[:3]
    if quote not in ('"""', "'''"):
        return False
    index = 3
    while True:
        close = body.find(quote, index)
        if close == -1:
            return False
        escape = body.find("\\", index, close)
        if escape == -1:
            return close == len(body) - 3
        index = escape + 2


def colour_marker(
    markers: dict[int, MarkerComment], statement: ast.stmt
) -> Literal["sync-only", "async-only"] | None:
    """The colour marker (``sync-only`` / ``async-only``) on ``statement``'s
    first line or on its first decorator's line, or None."""
    decorators: list[ast.expr] = getattr(statement, "decorator_list", None) or []
    for line in sorted({statement.lineno, *(d.lineno for d in decorators)}):
        marker = markers.get(line)
        if marker is not None and marker.kind in ("sync-only", "async-only"):
            return marker.kind
    return None
