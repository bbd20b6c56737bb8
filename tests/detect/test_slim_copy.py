"""The C copy of a syntax tree (``_callgraph._slimcopy``) makes the Python copy's tree.

The lint copies every node it parses into a slotted twin
(:mod:`ambidex._callgraph._slim`). When the optional C module was built (the
test sessions build it and set ``AMBIDEX_EXPECT_EXTENSIONS=1``), the copy
runs in C; otherwise in Python. These tests copy the same sources both ways
and compare the trees node by node: the same classes (the very twin
classes), the same slots set to equal values of the same types, the same
shared empty list where the parser made an empty one, and the same line
numbers shared above 256.
"""

from __future__ import annotations

import ast
import os
import sys
import sysconfig
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambidex._callgraph import _slim
from ambidex._callgraph._slim import copied_in_c, slim_tree

ROOT = Path(__file__).resolve().parents[2]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
_SHARED = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)

needs_c = pytest.mark.skipif(
    not copied_in_c() and not os.environ.get("AMBIDEX_EXPECT_EXTENSIONS"),
    reason="the C copy was not built for this install",
)


def _identical(mine: Any, theirs: Any, empties: tuple[object, object]) -> None:
    """``mine`` (C) and ``theirs`` (Python) are the same copy of one tree."""
    assert type(mine) is type(theirs)
    if isinstance(mine, list):
        if not theirs:
            # Every empty list is the one shared list of its copy.
            assert (mine is empties[0]) == (theirs is empties[1])
        assert len(mine) == len(theirs)
        for one, other in zip(mine, theirs, strict=True):
            _identical(one, other, empties)
        return
    if not isinstance(mine, ast.AST) or isinstance(mine, _SHARED):
        assert mine == theirs or (mine != mine and theirs != theirs)  # NaN
        return
    assert "__slots__" in vars(type(mine))
    assert not getattr(mine, "__dict__", None)  # no dict made
    for name in vars(type(mine))["__slots__"]:
        assert hasattr(mine, name) == hasattr(theirs, name), name
        if hasattr(mine, name):
            _identical(getattr(mine, name), getattr(theirs, name), empties)


def _empty_of(tree: ast.AST) -> object:
    """An empty list of ``tree`` (a module's ``type_ignores`` is one)."""
    assert isinstance(tree, ast.Module) and tree.type_ignores == []
    return tree.type_ignores


def _lines(tree: ast.AST) -> dict[int, set[int]]:
    """Each line number above 256 -> the ids of the int objects that hold it."""
    found: dict[int, set[int]] = {}
    for node in ast.walk(tree):
        for name in ("lineno", "end_lineno"):
            line = getattr(node, name, None)
            if line is not None and line > 256:
                found.setdefault(line, set()).add(id(line))
    return found


def _assert_same_copies(text: str) -> None:
    mine = slim_tree(ast.parse(text))
    theirs = slim_tree(ast.parse(text), pure=True)
    empties = (_empty_of(mine), _empty_of(theirs))
    _identical(mine, theirs, empties)
    assert ast.unparse(mine) == ast.unparse(theirs)
    # One int per line number: the copies share them as the Python one does.
    assert all(len(ids) == 1 for ids in _lines(mine).values())
    assert _lines(mine).keys() == _lines(theirs).keys()


@needs_c
def test_the_c_copy_is_used_exactly_when_it_was_built(monkeypatch) -> None:
    if os.environ.get("AMBIDEX_EXPECT_EXTENSIONS"):
        assert copied_in_c(), "the test session was to build ambidex._callgraph._slimcopy"
    _slim._c_copy.cache_clear()
    try:
        monkeypatch.setenv("AMBIDEX_NO_EXTENSIONS", "1")
        assert not copied_in_c()
        monkeypatch.delenv("AMBIDEX_NO_EXTENSIONS")
        _slim._c_copy.cache_clear()
        # A module built from another version of the C file is not used.
        from ambidex._callgraph import _slimcopy

        monkeypatch.setattr(_slimcopy, "SOURCE_HASH", "0" * 16)
        assert not copied_in_c()
    finally:
        _slim._c_copy.cache_clear()
    monkeypatch.undo()
    assert copied_in_c()


@pytest.mark.primary_only
@needs_c
def test_the_c_copy_makes_the_python_copys_tree_of_the_projects_and_the_stdlibs_sources() -> None:
    # The project's own code, and a third of the stdlib's modules (every third
    # by name: a spread of styles and ages) -- the whole of it takes minutes.
    paths = [*sorted((ROOT / "src/ambidex").rglob("*.py")), *sorted(STDLIB.glob("*.py"))[::3]]
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            ast.parse(text)
        except SyntaxError:  # a test file of the stdlib's that must not parse
            continue
        _assert_same_copies(text)


# Sources made of the constructs whose fields the copy treats differently:
# lists (empty and not), optional children, plain fields, definitions (which keep
# their ends), and line numbers on both sides of 256.
_names = st.sampled_from(["a", "b", "self", "sock", "_x"])
_leaves = st.one_of(
    _names,
    st.integers(-5, 10**20).map(str),
    st.sampled_from(["None", "...", "'s'", "b'b'", "1.5", "float('nan')", "1j"]),
)


def _composite(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, _names).map(lambda p: f"({p[0]}).{p[1]}"),
        st.tuples(inner, st.lists(inner, max_size=3)).map(
            lambda p: f"{p[0]}({', '.join(p[1])})"
        ),
        st.tuples(inner, inner).map(lambda p: f"{p[0]}(*{p[1]}, k={p[1]}, **{p[0]})"),
        st.tuples(inner, st.sampled_from(["+", "*", "and", "<", "is not", "if 1 else"]), inner)
        .map(lambda p: f"({p[0]} {p[1]} {p[2]})"),
        st.lists(inner, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
        st.lists(inner, max_size=2).map(
            lambda items: "{" + ", ".join(f"{i}: {i}" for i in items) + "}"
        ),
        st.tuples(inner, inner).map(lambda p: f"[{p[0]} for a in {p[1]} if a]"),
        st.tuples(inner, inner).map(lambda p: f"(lambda a, *b, c=1: {p[0]})({p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"{p[0]}[{p[1]}:]"),
        st.tuples(_names, inner).map(lambda p: f"(f'{{{p[0]}!r:>3}}', {p[1]})"),
        inner.map(lambda e: f"(not {e})"),
    )


_expressions = st.recursive(_leaves, _composite, max_leaves=12)


def _statements(expression: str, kind: int, gap: int) -> str:
    blank = "\n" * gap
    return [
        f"{expression}\n",
        f"a = b = {expression}\n",
        f"a: int = {expression}\n",
        f"a += {expression}\n",
        f"{blank}@{expression}\ndef f(a, /, b: int = 1, *c, d, **e) -> None:\n"
        f"    global a\n    return {expression}\n",
        f"{blank}async def g():\n    async with {expression} as a, b:\n"
        f"        await a\n    async for a in {expression}:\n        yield a\n",
        f"{blank}class C({expression}, metaclass=type):\n    x = 1\n    def m(self): pass\n",
        f"if {expression}:\n    pass\nelif a:\n    del a\nelse:\n    raise {expression}\n",
        f"try:\n    import os, sys as s\nexcept (A, B) as e:\n    pass\nfinally:\n"
        f"    from .x import {'y'} as z\n",
        f"while {expression}:\n    break\nelse:\n    continue\n",
        f"with {expression}:\n    assert {expression}, 'm'\n",
        f"for a, *b in {expression}:\n    nonlocal_ = 1\n",
    ][kind]


@needs_c
@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(_expressions, st.integers(0, 11), st.integers(0, 300)), min_size=1, max_size=6
    )
)
def test_the_c_copy_makes_the_python_copys_tree_of_any_source(parts) -> None:
    text = "".join(_statements(expression, kind, gap) for expression, kind, gap in parts)
    try:
        ast.parse(text)
    except SyntaxError:
        return  # a combination the grammar refuses (a lambda's default in a decorator...)
    _assert_same_copies(text)


@needs_c
def test_the_c_copy_of_a_tree_too_deep_raises_recursion_error_as_the_python_copy_does() -> None:
    deep = "x: " + ".".join(["a"] * 1500) + "\n"
    with pytest.raises(RecursionError):
        slim_tree(ast.parse(deep))
    with pytest.raises(RecursionError):
        slim_tree(ast.parse(deep), pure=True)
    # Below the limit, the same tree both ways.
    _assert_same_copies("x: " + ".".join(["a"] * 300) + "\n")


@needs_c
def test_the_c_copy_leaks_no_memory() -> None:
    text = (ROOT / "src/ambidex/_callgraph/_index.py").read_text(encoding="utf-8")
    deep = "x: " + ".".join(["a"] * 1500) + "\n"

    def copy_both() -> None:
        slim_tree(ast.parse(text))
        with pytest.raises(RecursionError):  # the failure path frees what it made
            slim_tree(ast.parse(deep))

    for _ in range(5):
        copy_both()
    before = sys.getallocatedblocks()
    for _ in range(30):
        copy_both()
    assert sys.getallocatedblocks() - before < 500


def test_a_slim_tree_is_copied_in_python_on_request_and_keeps_no_dict() -> None:
    tree = slim_tree(ast.parse(textwrap.dedent("""\
        def f(a):
            return [b for b in a]
        """)), pure=True)
    assert all(not getattr(node, "__dict__", None) for node in ast.walk(tree))


def _constants_and_lines(tree: ast.AST) -> list[object]:
    """The string constants and the line numbers above 256 of ``tree``'s nodes."""
    found: list[object] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) in (str, int):
            found.append(node.value)
        line = getattr(node, "lineno", None)
        if line is not None and line > 256:
            found.append(line)
    return found


@pytest.mark.parametrize("pure", [False, True], ids=["c", "python"])
def test_slim_copies_sharing_a_pool_hold_one_object_per_string_constant_and_line_number(
    pure,
) -> None:
    # A site-packages repeats its string constants ("utf-8", "name", ...) and
    # line numbers in every module: the lint's build copies its modules with
    # one pool, so each value is one object, not one per module.
    text = "\n" * 300 + textwrap.dedent("""\
        def f():
            return {"utf-8": 100000, "name": "a longer string constant" + "!"}
        """)
    pool: dict[object, object] = {}
    one = slim_tree(ast.parse(text), pure=pure, shared=pool)
    two = slim_tree(ast.parse(text), pure=pure, shared=pool)
    mine, theirs = _constants_and_lines(one), _constants_and_lines(two)
    assert mine == theirs and len(mine) == 14  # 9 line numbers, 5 constants
    assert all(a is b for a, b in zip(mine, theirs, strict=True))


@pytest.mark.parametrize("pure", [True, pytest.param(False, marks=needs_c)])
def test_a_slim_assignment_argument_loop_and_with_keep_no_type_comment(pure) -> None:
    # The parser gives type comments only when asked (no analysis here asks):
    # without the slot an assignment, an argument and a `with` are 80 bytes,
    # not 96 (~180k of them on a site-packages), a `for` 96, not 112.
    text = "x = 1\nfor a in b:\n    pass\nwith c:\n    pass\n\ndef f(y):\n    pass"
    tree = slim_tree(ast.parse(text), pure=pure)
    body: list[Any] = tree.body
    assign, loop, with_, function = body
    (argument,) = function.args.args
    name = assign.targets[0]
    for node in (assign, loop, with_, argument, function):
        assert node.type_comment is None
        assert "type_comment" not in vars(type(node))["__slots__"]
        assert not hasattr(node, "__dict__") or not vars(node)
    assert sys.getsizeof(assign) == sys.getsizeof(argument) == sys.getsizeof(with_)
    assert sys.getsizeof(assign) == sys.getsizeof(name)
    assert ast.unparse(tree) == text
