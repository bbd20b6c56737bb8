"""Byte-faithfulness, as a property: comments added anywhere survive untouched.

Hypothesis adds trailing comments to random lines of the corpus (every line
where a comment is legal: the end of a logical line, or a line break inside
brackets). Converting the decorated source and then deleting those comments
must give exactly the conversion of the plain source: the converter moved
nothing, reflowed nothing, and lost no comment on a line it kept.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

CORPUS = Path(__file__).parent / "corpus" / "_async"
NAMES = ("pool.py", "memory.py", "client.py")
SOURCES = {name: (CORPUS / name).read_text() for name in NAMES}
RENAMES = {"AsyncConnectionPool": "ConnectionPool", "AsyncMemoryStream": "MemoryStream",
           "AsyncClient": "Client"}


def comment_lines(text: str) -> list[int]:
    """0-based lines whose end may take a trailing comment (no comment there yet)."""
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type in (tokenize.NEWLINE, tokenize.NL) and token.line.strip():
            lines.add(token.start[0] - 1)
        if token.type == tokenize.COMMENT:
            lines.discard(token.start[0] - 1)
    return sorted(lines)


def decorate(text: str, chosen: set[int]) -> str:
    out = []
    for number, line in enumerate(text.splitlines(keepends=True)):
        if number in chosen:
            body = line.rstrip("\n")
            line = f"{body}  # c{number}\n"
        out.append(line)
    return "".join(out)


def convert(text: str, name: str) -> str:
    result = to_sync({f"corpus/_async/{name}": text}, table=DEFAULT_TABLE, renames=RENAMES)
    assert [d for d in result.diagnostics if d.error] == []
    return result.outputs[f"corpus/_async/{name}"]


@settings(max_examples=40, deadline=None)
@given(data=st.data(), name=st.sampled_from(NAMES))
def test_comments_added_anywhere_come_through_untouched(data: st.DataObject, name: str) -> None:
    text = SOURCES[name]
    eligible = comment_lines(text)
    chosen = data.draw(st.sets(st.sampled_from(eligible), max_size=len(eligible)))
    decorated = convert(decorate(text, chosen), name)
    assert re.sub(r"  # c\d+(?=\n)", "", decorated) == convert(text, name)
