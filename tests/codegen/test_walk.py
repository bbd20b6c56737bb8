"""The C walks (``ambidex._callgraph._walk``) give what their pure twins give:
``own_calls`` the same call nodes in the same order, ``used_names`` the same set,
on real sources (the standard library's and ambidex's own), as parsed and as the
lint's slim trees."""

from __future__ import annotations

import ast
import os
import re
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest

from ambidex._callgraph import _model
from ambidex._callgraph._slim import slim_tree
from ambidex.codegen import _imports
from ambidex.codegen._imports import used_names, used_names_pure

ROOT = Path(__file__).resolve().parents[2]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
SOURCES = sorted(
    [*(ROOT / "src" / "ambidex").rglob("*.py"), *(ROOT / "examples").rglob("*.py"),
     *(STDLIB / name for name in ("ftplib.py", "imaplib.py", "smtplib.py", "poplib.py",
                                  "asyncio/base_events.py", "asyncio/streams.py",
                                  "http/client.py", "email/_header_value_parser.py",
                                  "argparse.py", "typing.py", "dataclasses.py",
                                  "unittest/mock.py", "tarfile.py", "ast.py"))]
)

needs_c = pytest.mark.skipif(_model.c_walk() is None,
                             reason="ambidex._callgraph._walk was not built")


def _functions(tree: ast.AST) -> list[ast.AST]:
    return [tree, *(node for node in ast.walk(tree)
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                         ast.ClassDef)))]


@needs_c
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(p.parents[1]).as_posix())
def test_the_c_walks_find_what_the_pure_walks_find(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for tree in (ast.parse(text), slim_tree(ast.parse(text))):
        for function in _functions(tree):
            mine, theirs = _model.own_calls(function), _model.own_calls_pure(function)
            assert list(map(id, mine)) == list(map(id, theirs))
        if isinstance(tree, ast.Module):
            assert used_names(tree) == used_names_pure(tree)
            assert used_names(tree, re.compile(r"\w+")) == used_names_pure(
                tree, re.compile(r"\w+"))


@needs_c
def test_the_c_walks_read_odd_trees_as_the_pure_ones() -> None:
    # Nodes made by hand: a field missing, a field that is None, a list holding
    # non-nodes, a name without a ctx, a constant that is not text.
    call = ast.Call(func=ast.Name("f", ast.Load()), args=[ast.Constant("x")], keywords=[])
    call.args += [1, None]  # type: ignore[list-item]
    del call.keywords
    odd = ast.Module(body=[ast.Expr(call), ast.Expr(ast.Constant(b"bytes")),
                           ast.Expr(ast.Name("g"))], type_ignores=[])
    statement = odd.body[0]
    assert _model.own_calls(statement) == _model.own_calls_pure(statement) == [call]

    def outcome(walk: Callable[[ast.Module], set[str]]) -> object:
        try:
            return walk(odd)
        except AttributeError:  # (a Name without ctx, before Python 3.13's default)
            return AttributeError

    assert outcome(used_names) == outcome(used_names_pure)


@needs_c
def test_the_c_walks_are_used_exactly_when_they_were_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def built() -> bool:
        _model.c_walk.cache_clear()
        _imports._c_walk.cache_clear()
        return _model.c_walk() is not None and _imports._c_walk() is not None

    try:
        if os.environ.get("AMBIDEX_EXPECT_EXTENSIONS"):
            assert built(), "the test session was to build ambidex._callgraph._walk"
        monkeypatch.setenv("AMBIDEX_NO_EXTENSIONS", "1")
        assert not built()
        monkeypatch.delenv("AMBIDEX_NO_EXTENSIONS")
        # A module built from another version of the C file is not used.
        from ambidex._callgraph import _walk  # type: ignore[attr-defined]

        monkeypatch.setattr(_walk, "SOURCE_HASH", "0" * 16)
        assert not built()
        monkeypatch.undo()
        assert built()
    finally:
        _model.c_walk.cache_clear()
        _imports._c_walk.cache_clear()
