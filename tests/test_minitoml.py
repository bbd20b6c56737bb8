"""ambidex._minitoml: tomllib's answer for the plain part of TOML, else None."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambidex._minitoml import loads

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def typed(value: Any) -> Any:
    """``value`` with every scalar's type beside it (True == 1 in Python, not in TOML)."""
    if type(value) is dict:
        return {key: typed(item) for key, item in value.items()}
    if type(value) is list:
        return [typed(item) for item in value]
    return (type(value).__name__, value)


def agrees(text: str) -> dict[str, Any] | None:
    """loads(text), checked against tomllib: the same document, or None."""
    found = loads(text)
    try:
        expected = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        assert found is None, text
        return None
    if found is not None:
        assert typed(found) == typed(expected), text
    return found


def test_this_projects_pyproject_is_read_as_tomllib_reads_it() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert agrees(text) is not None


PLAIN = [
    '[project]\nname = "x"\n\n[[tool.ambidex.generate]]\nsource = "a"\ntarget = "b"\n',
    "a = [\n  1, # one\n  'two',\n  [true, false],\n]\nb = { c = 1, 'd' = \"e\" }\n",
    '[a.b]\nc = 1\n[a]\nd = 2\n[[x]]\n[x.y]\nz = 3\n[[x]]\n[x.y]\nz = 4\n',
    '"quoted key" = "tab\\tand \\"quote\\" and \\\\"\n\'lit\' = \'C:\\path\'\n',
    "[ a . 'b' . \"c\" ]  # spaced\nk = -0\nl = +1_000\nm = ''\n",
    "# only a comment",
    "",
    # Dotted keys: ruff's `lint.select` under [tool.ruff], tables made on the way,
    # added to by the same table's later lines, and a header below them.
    '[tool.ruff]\nline-length = 100\nlint.select = ["E", "F"]\nlint.ignore = []\n'
    'lint.isort.known-first-party = ["x"]\n[tool.ruff.lint.per-file-ignores]\n'
    '"tests/*" = ["S101"]\n',
    "a.b.c = 1\na . 'b' . \"d\" = 2\na.e = { f = 3 }\n[x]\ny.z = []\n",
    "[a.b.c]\n[a]\nb.d = 1\n",  # into a table a header made on its way
    "[[t]]\nx.y = 1\n[[t]]\nx.y = 2\n[t.x.z]\n",
]


@pytest.mark.parametrize("text", PLAIN)
def test_the_plain_part_of_toml_is_read_as_tomllib_reads_it(text: str) -> None:
    assert agrees(text) is not None


BEYOND = [
    "a = 1\na = 2\n",  # a key twice
    "[a]\n[a]\n",  # a table twice
    "[a]\nb = 1\n[a.b]\n",  # a header for a value
    "a = {}\n[a.b]\n",  # into an inline table
    "a = []\n[[a]]\n",  # into a static array
    "[[a]]\n[a]\n",
    "[a.b]\n[[a]]\n",
    "a = { b.c = 1 }\n",  # a dotted key in an inline table: beyond
    "[a]\nb.c = 1\n[a.b]\n",  # a table its dotted keys defined, defined again
    "a.b = 1\n[a]\n",
    "[a.b.c]\n[a]\nb.d = 1\n[a.b]\n",
    "[a.b]\nc = 1\n[a]\nb.d = 2\n",  # into a table a header defined
    "[a]\nb.c = 1\n[x]\n[a]\n",
    "a.b = 1\na.b.c = 2\n", "a = 1\na.b = 2\n", "a.b = 1\na = 2\n",
    "a = { x = 1 }\na.y = 2\n",  # into an inline table
    "a.b = 1\na.b = 2\n",
    "[[t.a]]\n[t]\na.b = 1\n",  # through an array of tables
    "a = 1.5\n", "a = 1e3\n", "a = 0x1f\n", "a = inf\n", "a = 1979-05-27\n",
    "a = 01\n", "a = 1__0\n", "a = 1_\n", "a = True\n",
    'a = """x"""\n', "a = '''x'''\n", 'a = "\\u00e9"\n', 'a = "\\e"\n', 'a = "\\/"\n',
    "a = { b = 1, }\n", "a = { b = 1,\n c = 2 }\n", "a = [1,,2]\n", "a = [,]\n",
    "a = 1 2\n", "[a] b = 1\n", "a =\n", "= 1\n", "[a\n", "[[a]\n", "\ufeffa = 1\n",
    "a = 1\r\n", "a = 'x\x01'\n", "# \x7f\n", 'a = "x\n',
]


@pytest.mark.parametrize("text", BEYOND)
def test_a_text_beyond_the_plain_part_or_invalid_is_left_to_tomllib(text: str) -> None:
    assert loads(text) is None
    agrees(text)


_keys = st.sampled_from(["a", "b", "c", '"a"', "'b'", '"a.b"', "a.b", "a . b", "", "1",
                         "-_", '""', "\u00e9", '"\u00e9"', "a b"])
_scalars = st.sampled_from([
    '"x"', "'y'", '"es\\"c\\\\"', '"\\u00e9"', '"\\e"', '"\\n\\t\\r\\b\\f"', "1", "-0", "+1",
    "01", "1_000", "1__0", "1_", "_1", "1.5", "1e3", "0x1f", "true", "false", "True", "inf",
    "nan", "1979-05-27", "07:32:00", '"""m"""', "'''m'''", '""', "''", "", "'it''s'",
    '"\t"', "'\t'", '"\\"', "x", "-", "+", "truefalse", "1 2",
])


def _values(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return _scalars
    inner = _values(depth - 1)
    separators = st.sampled_from([", ", ",", " , ", ",\n", ", # c\n", "\n,", ",,"])
    arrays = st.tuples(st.lists(st.tuples(inner, separators), max_size=3),
                       st.sampled_from(["", ",", "\n", " # c\n"])).map(
        lambda parts: "[" + "".join(v + s for v, s in parts[0])[:-1] + parts[1] + "]")
    tables = st.lists(st.tuples(_keys, inner), max_size=3).map(
        lambda pairs: "{" + ", ".join(f"{k} = {v}" for k, v in pairs) + "}")
    return st.one_of(inner, arrays, tables)


_headers = st.tuples(st.lists(_keys, min_size=1, max_size=3),
                     st.sampled_from(["[{}]", "[[{}]]", "[ {} ]", "[[ {} ]]", "[{}"])).map(
    lambda parts: parts[1].format(".".join(parts[0])))
_pairs = st.tuples(_keys, st.sampled_from(["=", " = ", "\t=\t", " ="]), _values(2)).map(
    "".join)
_lines = st.tuples(
    st.one_of(_headers, _pairs, st.sampled_from(["", "# c", "  # c", "x", "=", "\x01"])),
    st.sampled_from(["", " # c", "  ", "\t#", " x"]),
).map("".join)


@settings(max_examples=600, deadline=None)
@given(st.lists(_lines, max_size=8), st.sampled_from(["\n", "\r\n"]),
       st.sampled_from(["", "\n"]))
def test_every_answer_is_tomllibs(lines: list[str], end: str, last: str) -> None:
    agrees(end.join(lines) + last)


_names = st.sampled_from(["a", "b", "'a'", '"b"', "a . b"])
_paths = st.lists(_names, min_size=1, max_size=3).map(".".join)
_dotted_lines = st.one_of(
    _paths.map("[{}]".format),
    _paths.map("[[{}]]".format),
    st.tuples(_paths, st.sampled_from(["1", "{}", "[]", "{ a = 1 }", "[{ b = 2 }]"])).map(
        " = ".join),
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_dotted_lines, max_size=8))
def test_dotted_keys_among_headers_are_read_as_tomllib_reads_them(lines: list[str]) -> None:
    # Few names, so dotted keys, headers and arrays of tables keep meeting:
    # a table made by dotted keys, defined again, added to from another table.
    agrees("\n".join(lines) + "\n")
