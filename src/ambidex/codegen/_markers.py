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
found with the tokenizer: the words inside a string literal are not a marker,
and lines are counted as the AST counts them (a file whose lines end in a
lone ``\\r`` too).

A colour marker belongs to the statement whose first line carries it: the
line of its first decorator, or the line of the statement itself.
"""

from __future__ import annotations

import ast
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


def marker_comments(text: str) -> dict[int, MarkerComment]:
    """The markers of a module's text, by line (one per line: the first).

    Text that does not tokenize has no markers: the converters and the lint
    report the syntax error themselves.
    """
    if ("ambidex" not in text and "ASYNC" not in text) or _MAYBE_MARKER.search(text) is None:
        return {}
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
