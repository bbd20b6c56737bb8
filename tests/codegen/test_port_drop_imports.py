"""After the port drops the imports it left unused, the output's tree is the
one the port had, moved: not a second parse of the output.

:func:`ambidex.codegen._to_async.finish.drop_unused_imports` hands back, with
the output, the tree that the compile check, the renames and the
verification read. When imports went, that tree is the parse of the text
before the drop with those statements taken out (or rewritten in place) and
every node below moved up: it must be, node for node and position for
position, what ``ast.parse`` gives for the output. These tests compare the two
on made-up modules with every way an import can go, and on modules of the
standard library whose imported names lose their uses.
"""

from __future__ import annotations

import ast
import ftplib
import imaplib
import smtplib
import typing
from pathlib import Path

import pytest

from ambidex.codegen._to_async.finish import drop_unused_imports


def _same_length_name(name: str) -> str:
    return ("Q" * len(name)) if not name.startswith("Q") else ("Z" * len(name))


def _without_uses(text: str, names: set[str]) -> str:
    """``text`` with every loaded use of ``names`` spelled otherwise (same length,
    so nothing else moves): their imports are left unused."""
    lines = text.splitlines(keepends=True)
    encoded = [line.encode("utf-8") for line in lines]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Name) and node.id in names and isinstance(node.ctx, ast.Load):
            row = encoded[node.lineno - 1]
            new = _same_length_name(node.id).encode()
            encoded[node.lineno - 1] = row[: node.col_offset] + new + row[node.end_col_offset:]
    return b"".join(encoded).decode("utf-8")


def _check(source: str, names: set[str]) -> bool:
    """Drop the imports of ``names`` as the port would; whether a tree came back
    (it did not when the drop moved text in a way the tree cannot follow)."""
    original = ast.parse(source)
    text = _without_uses(source, names)
    output, tree = drop_unused_imports(original, text)
    if tree is None or output == text:  # (a name still used in a string: nothing went)
        return False
    assert ast.dump(tree, include_attributes=True) == ast.dump(
        ast.parse(output), include_attributes=True
    )
    return True


CASES = {
    "a whole statement": ("import os\nimport time\n\n\ndef f():\n    time.sleep(os.sep)\n",
                          {"time"}),
    "some names of one": ("from os import path, sep, getcwd\n\n\ndef f():\n"
                          "    return path, sep, getcwd\n", {"sep"}),
    "a parenthesised import over lines": (
        '"""doc"""\nfrom os import (\n    path,\n    sep,\n)\nx = 1\n\n\ndef f():\n'
        "    return path, sep, x\n", {"sep"}),
    "all names of one over lines": (
        '"""doc"""\nfrom os import (\n    path,\n    sep,\n)\nx = f"""a\n{1 +\n 2}"""\n'
        "y = path + sep\n", {"sep", "path"}),
    "a trailing comment kept as pass": (
        '"""doc"""\nimport time  # for sleep\nimport os\n\n\ndef f():\n    time.sleep(os.sep)\n',
        {"time"}),
    "a statement after a semicolon": (
        '"""doc"""\nx = 1; import time\nimport os\n\n\ndef f():\n    time.sleep(os.sep)\n',
        {"time"}),
    "a statement before a semicolon": (
        '"""doc"""\nimport time; x = 1\nimport os\n\n\ndef f():\n    time.sleep(os.sep)\n',
        {"time"}),
    "several statements, with f-strings below": (
        '"""doc"""\nimport a\nimport b, c\nfrom d import (e,\n               f)\n\n'
        'def g():\n    return f"{a}{b!r:>{c}}" f"""\n{e}\n{f}"""\n', {"a", "c", "e"}),
    "the last line, no line end": ("import os\nx = os.sep\nimport time", {"time", "os"}),
    "non-ASCII names after it": ('"""doc"""\nimport os, time\nnäme = "é"\n'
                                 "def f(): return os, time, näme\n", {"time"}),
    "a module's first statement": ("import time\n\nimport os\nx = os.sep + time.x\n",
                                   {"time"}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_tree_after_an_import_drop_is_the_parse_of_the_output(name: str) -> None:
    source, names = CASES[name]
    _check(source, names)


def test_the_tree_after_an_import_drop_is_moved_not_parsed_when_it_can_be() -> None:
    moved = {name: _check(*CASES[name]) for name in sorted(CASES)}
    # Text after the statement on its line would move sideways: parsed again.
    assert not moved["a statement before a semicolon"]
    # The blank line below the module's first import goes too: parsed again.
    assert not moved["a module's first statement"]
    assert moved["a whole statement"] and moved["a parenthesised import over lines"]
    assert moved["several statements, with f-strings below"]
    assert moved["a trailing comment kept as pass"] and moved["non-ASCII names after it"]


@pytest.mark.parametrize("module", [smtplib, ftplib, imaplib, typing])
def test_the_tree_after_dropping_a_stdlib_modules_imports_is_its_parse(module: object) -> None:
    path = getattr(module, "__file__", None)
    assert path is not None
    source = Path(path).read_text(encoding="utf-8")
    imported = [
        alias.asname or alias.name.split(".")[0]
        for statement in ast.parse(source).body
        if isinstance(statement, (ast.Import, ast.ImportFrom))
        and getattr(statement, "module", None) != "__future__"
        for alias in statement.names
        if alias.name != "*"
    ]
    assert imported
    moved = 0
    # The first names alone, every other one, and all of them.
    for names in [{n} for n in imported[:3]] + [set(imported[::2]), set(imported)]:
        original = ast.parse(source)
        if not any(
            isinstance(n, ast.Name) and n.id in names for n in ast.walk(original)
        ):
            continue  # not used: nothing to drop
        moved += _check(source, names)
    assert moved
