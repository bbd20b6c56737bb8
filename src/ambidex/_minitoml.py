"""A reader of the plain part of TOML, for a ``generate`` with nothing to do.

:mod:`tomllib` costs a fifth of an up-to-date ``ambidex generate``: importing
it imports :mod:`typing`, :mod:`datetime` and :mod:`string` and compiles its
regular expressions. A pyproject.toml is almost always written in a small
part of TOML (tables, arrays of tables, keys, strings, integers, booleans,
arrays, one-line inline tables), and that part is read here with nothing
imported.

:func:`loads` is exact or silent: it returns what ``tomllib.loads`` returns,
or None for any text it is not sure of, invalid or merely beyond its part
(floats, dates, multi-line strings, dotted keys inside an inline table,
escapes other than the common ones, a table defined twice, a key given
twice, a carriage return or another control character anywhere). None
means "ask tomllib", which then reads the text, or says exactly what is
wrong with it.

A dotted key (``lint.select = [...]`` under ``[tool.ruff]``) is read as
tomllib reads it: it makes (or goes into) tables below the current one,
which later lines of the same table may add to; once the next header
starts, those tables count as defined (no header may define them again, no
dotted key of another table may go into them), as a header's own table
does. A dotted key through an array of tables, an inline value or a
value is beyond.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_DIGITS = frozenset("0123456789")
_SPACE = " \t"
# What may follow a value: a scalar's text ends at one of these (a date, a float
# or a hexadecimal integer would go on with others: not this reader's).
_VALUE_END = frozenset(" \t\n#,]}")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
# Control characters TOML allows nowhere but as a line's end (and a tab).
_CONTROL = frozenset(chr(code) for code in (*range(0x20), 0x7F)) - frozenset("\t\n")


class _Beyond(Exception):
    """The text is invalid or beyond the part read here."""


def loads(text: str) -> dict[str, Any] | None:
    """``tomllib.loads(text)`` for a text in the plain part of TOML, else None."""
    if not _CONTROL.isdisjoint(text):
        return None
    try:
        return _Reader(text).document()
    except (_Beyond, IndexError, RecursionError):
        return None


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.root: dict[str, Any] = {}
        # Tables a header defined (a second header for one is an error), arrays
        # that [[headers]] made (the only arrays a header may go into), and the
        # values written inline (frozen: no header may add to them).
        self.defined: set[int] = set()
        self.table_arrays: set[int] = set()
        self.inline: set[int] = set()
        # Tables the current table's dotted keys made or went into: defined
        # from the next header on (tomllib's pending EXPLICIT_NEST).
        self.dotted: set[int] = set()

    # -- the document ----------------------------------------------------------

    def document(self) -> dict[str, Any]:
        text = self.text
        current = self.root
        while True:
            self.skip_space()
            if self.pos >= len(text):
                return self.root
            char = text[self.pos]
            if char == "\n":
                self.pos += 1
                continue
            if char == "#":
                self.skip_comment()
                continue
            if char == "[":
                self.defined |= self.dotted
                self.dotted.clear()
                current = self.header()
            else:
                key = self.key()
                self.skip_space()
                table = current
                while text[self.pos] == ".":
                    self.pos += 1
                    table = self.dotted_table(table, key)
                    key = self.spaced_key()
                self.expect("=")
                self.skip_space()
                if key in table:
                    raise _Beyond  # a key given twice (or a table's name as a key)
                table[key] = self.value()
            self.end_of_line()

    def header(self) -> dict[str, Any]:
        text = self.text
        array = text.startswith("[[", self.pos)
        self.pos += 2 if array else 1
        path = [self.spaced_key()]
        while text[self.pos] == ".":
            self.pos += 1
            path.append(self.spaced_key())
        self.expect("]]" if array else "]")
        table = self.root
        for name in path[:-1]:
            table = self.descend(table, name)
        name = path[-1]
        found = table.get(name)
        if array:
            if found is None:
                found = table[name] = []
                self.table_arrays.add(id(found))
            elif type(found) is not list or id(found) not in self.table_arrays:
                raise _Beyond
            element: dict[str, Any] = {}
            found.append(element)
            self.defined.add(id(element))
            return element
        if found is None:
            found = table[name] = {}
        elif type(found) is not dict or id(found) in self.defined or id(found) in self.inline:
            raise _Beyond  # a table defined twice, or a header for a value
        self.defined.add(id(found))
        return found

    def descend(self, table: dict[str, Any], name: str) -> dict[str, Any]:
        """The table ``name`` of ``table`` on a header's way (made if missing)."""
        found = table.get(name)
        if found is None:
            found = table[name] = {}
            return found
        if type(found) is list and id(found) in self.table_arrays:
            last: dict[str, Any] = found[-1]
            return last
        if type(found) is not dict or id(found) in self.inline:
            raise _Beyond
        return found

    def dotted_table(self, table: dict[str, Any], name: str) -> dict[str, Any]:
        """The table ``name`` of ``table`` on a dotted key's way (made if
        missing): not one a header defined (nor an earlier table's dotted
        keys), not an inline value, not an array of tables."""
        found = table.get(name)
        if found is None:
            found = table[name] = {}
        elif type(found) is not dict or id(found) in self.defined or id(found) in self.inline:
            raise _Beyond
        self.dotted.add(id(found))
        return found

    def end_of_line(self) -> None:
        self.skip_space()
        if self.pos < len(self.text):
            if self.text[self.pos] == "#":
                self.skip_comment()
            else:
                self.expect("\n")

    # -- keys --------------------------------------------------------------------

    def spaced_key(self) -> str:
        self.skip_space()
        key = self.key()
        self.skip_space()
        return key

    def key(self) -> str:
        text = self.text
        char = text[self.pos]
        if char == '"':
            key = self.basic_string()
        elif char == "'":
            key = self.literal_string()
        else:
            start = self.pos
            while self.pos < len(text) and text[self.pos] in _BARE_KEY:
                self.pos += 1
            if self.pos == start:
                raise _Beyond
            key = text[start : self.pos]
        return key  # (a dotted key in an inline table then fails to find its "=")

    # -- values ------------------------------------------------------------------

    def value(self) -> Any:
        text = self.text
        char = text[self.pos]
        if char == '"':
            return self.basic_string()
        if char == "'":
            return self.literal_string()
        if char == "[":
            return self.array()
        if char == "{":
            return self.inline_table()
        start = self.pos
        while self.pos < len(text) and text[self.pos] not in _VALUE_END:
            self.pos += 1
        word = text[start : self.pos]
        if word == "true":
            return True
        if word == "false":
            return False
        digits = word[1:] if word[:1] in ("+", "-") else word
        if digits == "0" or (
            digits[:1] in _DIGITS - {"0"} and not digits.endswith("_") and "__" not in digits
            and all(c in _DIGITS or c == "_" for c in digits)
        ):
            return int(word.replace("_", ""))
        raise _Beyond  # a float, a date, inf, nan, 0x..., or not TOML

    def basic_string(self) -> str:
        text = self.text
        if text.startswith('"""', self.pos):
            raise _Beyond
        self.pos += 1
        pieces = []
        start = self.pos
        while True:
            char = text[self.pos]
            if char == '"':
                pieces.append(text[start : self.pos])
                self.pos += 1
                return "".join(pieces)
            if char == "\n":
                raise _Beyond
            if char == "\\":
                pieces.append(text[start : self.pos])
                escaped = _ESCAPES.get(text[self.pos + 1])
                if escaped is None:
                    raise _Beyond  # \u, \U, or not an escape
                pieces.append(escaped)
                self.pos += 2
                start = self.pos
                continue
            self.pos += 1

    def literal_string(self) -> str:
        text = self.text
        if text.startswith("'''", self.pos):
            raise _Beyond
        end = text.find("'", self.pos + 1)
        if end < 0:
            raise _Beyond
        value = text[self.pos + 1 : end]
        if "\n" in value:
            raise _Beyond
        self.pos = end + 1
        return value

    def array(self) -> list[Any]:
        self.pos += 1
        items: list[Any] = []
        self.inline.add(id(items))
        while True:
            self.skip_space_and_lines()
            if self.text[self.pos] == "]":
                self.pos += 1
                return items
            items.append(self.value())
            self.skip_space_and_lines()
            if self.text[self.pos] == ",":
                self.pos += 1
            else:
                self.expect("]")
                return items

    def inline_table(self) -> dict[str, Any]:
        self.pos += 1
        table: dict[str, Any] = {}
        self.inline.add(id(table))
        self.skip_space()
        if self.text[self.pos] == "}":
            self.pos += 1
            return table
        while True:
            key = self.spaced_key()
            self.expect("=")
            self.skip_space()
            if key in table:
                raise _Beyond
            table[key] = self.value()
            self.skip_space()
            if self.text[self.pos] == ",":
                self.pos += 1
                self.skip_space()
                continue
            self.expect("}")
            return table

    # -- space -------------------------------------------------------------------

    def expect(self, token: str) -> None:
        if not self.text.startswith(token, self.pos):
            raise _Beyond
        self.pos += len(token)

    def skip_space(self) -> None:
        text = self.text
        while self.pos < len(text) and text[self.pos] in _SPACE:
            self.pos += 1

    def skip_comment(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end

    def skip_space_and_lines(self) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\n":
                self.pos += 1
            elif char == "#":
                self.skip_comment()
            else:
                return
