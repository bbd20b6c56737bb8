"""The lint's slim build prunes function bodies, and finds what a whole build finds.

After the call graph's walk, a slim build (:func:`ambidex._callgraph.build`
with ``slim=True``, the lint's) keeps of each function's body only what the
walk's records refer to (call sites, what names are bound to), the
``return``/``await``/``yield`` nodes that readers of a whole function look
for, and what holds them (:func:`ambidex._callgraph._slim.prune_bodies`); the
never-awaited check puts the rest back from the source before it walks a
function's parents (:class:`ambidex._callgraph.WholeBodies`). These tests lint
the same sources with and without the pruning, show that each rule of what
is kept is needed (the fixture's findings change without it), and compare
the C pruning with the Python one and a definition put back with the
unpruned one.
"""

from __future__ import annotations

import ast
import gc
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambidex._callgraph import WholeBodies, _slim, build
from ambidex._callgraph._slim import (
    PRUNED,
    copied_in_c,
    has_pruned,
    pruned_definitions,
    slim_tree,
)
from ambidex._rules import DEFAULT_TABLE
from ambidex.detect import lint_sources
from tests.detect.test_slim_copy import _expressions, _statements

ROOT = Path(__file__).resolve().parents[2]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
FIXTURE = ROOT / "tests/fixtures/pruned_bodies.py"


def _texts(paths: list[Path]) -> dict[str, str]:
    return {path.as_posix(): path.read_text(encoding="utf-8") for path in paths}


def _findings(modules: dict[str, str]) -> list[tuple[str, int, int, str, str]]:
    result = lint_sources(modules, strict=True)
    return [(f.path, f.line, f.col, f.code, f.message) for f in
            [*result.findings, *result.syntax_errors]]


def _whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds that prune nothing."""
    monkeypatch.setattr("ambidex._callgraph.prune_bodies", lambda tree, refs: None)


def _in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pruning in Python (whose rules a test can change), even when the C module is there."""
    monkeypatch.setattr(_slim, "_c_prune", lambda: None)


def test_a_slim_build_prunes_function_bodies_and_keeps_what_its_records_refer_to() -> None:
    graph = build(_texts([FIXTURE]), DEFAULT_TABLE, keep_sites=True, lazy=True, slim=True)
    functions = {f.qualname: f for f in graph.functions.values()}
    assert has_pruned(functions["start"].node)  # `if task.cr_frame:`'s test
    for function in functions.values():
        for pending in function.sites():
            assert not has_pruned(pending.node)
        for bindings in function.locals.values():
            assert all(b.expr is None or not has_pruned(b.expr) for b in bindings)
    # What the readers of a whole function look for stays.
    assert any(isinstance(n, ast.Return) for n in ast.walk(functions["pick"].node))
    awaits = [n for n in ast.walk(functions["wait_for_it"].node) if isinstance(n, ast.Await)]
    assert len(awaits) == 2


def test_the_lint_finds_with_pruned_bodies_what_it_finds_with_whole_ones(monkeypatch) -> None:
    # The fixture, the project's code, the lint's fixture project, and stdlib
    # clients and asyncio (which await, store and hand on coroutines).
    paths = [
        FIXTURE,
        *sorted((ROOT / "src/ambidex").rglob("*.py")),
        *sorted((ROOT / "examples").rglob("*.py")),
        *sorted((ROOT / "tests/detect/lint_project").rglob("*.py")),
        *(STDLIB / name for name in ("ftplib.py", "imaplib.py", "poplib.py", "smtplib.py")),
        *sorted((STDLIB / "asyncio").glob("*.py")),
    ]
    modules = _texts(paths)
    pruned = _findings(modules)
    _whole(monkeypatch)
    assert pruned == _findings(modules)
    fixture = [(line, code) for path, line, _, code, _ in pruned if path == FIXTURE.as_posix()]
    assert fixture == [(17, "AMB101"), (41, "AMB301")]


@pytest.mark.parametrize("rule", ["return kept", "await kept", "body put back"])
def test_each_rule_of_what_the_pruning_keeps_is_needed(monkeypatch, rule) -> None:
    # Break one rule on purpose: the fixture's findings change.
    modules = _texts([FIXTURE])
    whole = _findings(modules)
    _in_python(monkeypatch)
    assert _findings(modules) == whole
    if rule == "return kept":  # pick()'s return: what it returns is unknown
        monkeypatch.setattr(_slim, "_WHOLE", _slim._WHOLE - {_slim._SLIM[ast.Return]})
        expected = {"gone": [(17, "AMB101")], "new": []}
    elif rule == "await kept":  # wait_for_it()'s second await: "async only in name"
        monkeypatch.setattr(_slim, "_WHOLE", _slim._WHOLE - {_slim._SLIM[ast.Await]})
        expected = {"gone": [], "new": [(24, "AMB201")]}
    else:  # start()'s if: the coroutine stored looks unused
        monkeypatch.setattr(WholeBodies, "restore", lambda self, function: None)
        expected = {"gone": [], "new": [(35, "AMB301")]}
    broken = _findings(modules)
    assert {
        "gone": [(f[1], f[3]) for f in whole if f not in broken],
        "new": [(f[1], f[3]) for f in broken if f not in whole],
    } == expected


# Read from the call up (never awaited: no put-back), down (a coroutine stored
# and used in an if's test, which the pruning took), and sideways (a `raise`
# before the call, in the block of the earlier `if not isinstance(...)`).
READ_THREE_WAYS = textwrap.dedent(
    """\
    import ssl

    from ambidex.io import AsyncSocket


    async def fetch() -> int:
        return 1


    def fire(flag) -> None:
        fetch()  # never awaited
        if flag:
            pass


    def start(flag) -> None:
        task = fetch()
        if task.cr_frame and flag:
            pass


    async def send(sock: AsyncSocket, f) -> None:
        if not isinstance(sock, ssl.SSLSocket):
            raise TypeError
        sock.sendfile(f)  # a branch for another type: no finding
    """
)


def test_the_never_awaited_check_puts_back_only_the_bodies_it_reads_down_or_sideways(
    monkeypatch,
) -> None:
    modules = {"m.py": READ_THREE_WAYS}
    put_back: list[str] = []
    restore = WholeBodies.restore

    def counted(self: WholeBodies, function) -> bool:
        if has_pruned(function.node):
            put_back.append(function.qualname)
        return restore(self, function)

    monkeypatch.setattr(WholeBodies, "restore", counted)
    found = _findings(modules)
    assert [(line, code) for _, line, _, code, _ in found] == [(11, "AMB301")]
    # fire() is read up from its call only: its pruned `if` stays out.
    assert sorted(put_back) == ["send", "start"]
    _whole(monkeypatch)
    assert _findings(modules) == found


def _never_pruned(text: str) -> ast.Module:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _whole(monkeypatch)
        return build({"m.py": text}, DEFAULT_TABLE, keep_sites=True, slim=True).modules["m.py"].tree


def _same_definition(mine: ast.AST, theirs: ast.AST) -> None:
    """The same fields everywhere, and the same positions but for constants':
    a slim build holds one constant node per value in what its functions keep
    (:func:`ambidex._callgraph._slim.pool_constants`), placed where it was first met."""
    assert ast.dump(mine) == ast.dump(theirs)

    def places(tree: ast.AST) -> list[tuple[str, object, object]]:
        return [
            (type(n).__name__, getattr(n, "lineno", None), getattr(n, "col_offset", None))
            for n in ast.walk(tree) if not isinstance(n, ast.Constant)
        ]

    assert places(mine) == places(theirs)


def _sources() -> list[Path]:
    return [*sorted((ROOT / "src/ambidex").rglob("*.py")), *sorted(STDLIB.glob("*.py"))[::6]]


@pytest.mark.primary_only
def test_a_definition_put_back_is_the_definition_never_pruned() -> None:
    restored = 0
    for path in _sources():
        text = path.read_text(encoding="utf-8", errors="replace")
        graph = build({"m.py": text}, DEFAULT_TABLE, keep_sites=True, slim=True)
        if graph.syntax_errors:  # a test file of the stdlib's that must not parse
            continue
        whole_definitions = pruned_definitions(_never_pruned(text))
        bodies = WholeBodies()
        for function in graph.functions.values():
            if function.parent is None and has_pruned(function.node):
                bodies.restore(function)
                assert not has_pruned(function.node)
                twin = whole_definitions[function.node.lineno, function.node.col_offset]
                _same_definition(function.node, twin)
                restored += 1
    assert restored > 1000


needs_c = pytest.mark.skipif(not copied_in_c(), reason="the C module was not built")


def _same_pruning(text: str) -> None:
    """The C pruning and the Python one leave the same tree."""
    def pruned(pure: bool) -> ast.Module:
        captured: list[tuple[ast.Module, set[ast.AST]]] = []
        with pytest.MonkeyPatch.context() as monkeypatch:
            monkeypatch.setattr(
                "ambidex._callgraph.prune_bodies", lambda tree, refs: captured.append((tree, refs))
            )
            build({"m.py": text}, DEFAULT_TABLE, keep_sites=True, slim=True)
        ((tree, refs),) = captured
        _slim.prune_bodies(tree, refs, pure=pure)
        return tree

    mine, theirs = pruned(False), pruned(True)
    _identical(mine, theirs)


def _identical(mine: object, theirs: object) -> None:
    assert type(mine) is type(theirs)
    if isinstance(mine, list):
        assert isinstance(theirs, list) and len(mine) == len(theirs)
        if mine and all(item is PRUNED for item in mine):
            # Every list whose items were all pruned is the one shared list of its length.
            assert mine is theirs is _slim._PRUNED_LISTS[len(mine)]
        for one, other in zip(mine, theirs, strict=True):
            _identical(one, other)
    elif isinstance(mine, ast.AST) and type(mine) in _slim._TWINS:
        for name in vars(type(mine))["__slots__"]:
            assert hasattr(mine, name) == hasattr(theirs, name), name
            if hasattr(mine, name):
                _identical(getattr(mine, name), getattr(theirs, name))
    elif isinstance(mine, ast.AST):
        assert mine is theirs or type(mine) in (type(PRUNED),)  # PRUNED, shared operators
    else:
        assert mine == theirs or (mine != mine and theirs != theirs)  # NaN


@pytest.mark.primary_only
@needs_c
def test_the_c_pruning_leaves_the_python_prunings_tree() -> None:
    for path in _sources():
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            ast.parse(text)
        except SyntaxError:
            continue
        _same_pruning(text)


@needs_c
def test_the_c_pruning_leaks_no_memory_and_stops_at_its_depth_limit() -> None:
    found = _slim._c_pruning()
    assert found is not None
    module, table = found
    prune = module.prune
    text = (ROOT / "src/ambidex/_callgraph/_index.py").read_text(encoding="utf-8")

    def prune_twice() -> None:
        tree = slim_tree(ast.parse(text))
        calls: set[ast.AST] = {node for node in ast.walk(tree) if isinstance(node, ast.Call)}
        _slim.prune_bodies(tree, calls)
        # Deeper than a limit of 3: RecursionError, and what was made is freed.
        tree = slim_tree(ast.parse(text))
        definition = next(s for s in tree.body if isinstance(s, ast.ClassDef))
        with pytest.raises(RecursionError):
            prune(definition, set(), table, PRUNED, _slim._PRUNED_LISTS, 3)

    for _ in range(3):
        prune_twice()
    gc.collect()
    before = sys.getallocatedblocks()
    for _ in range(10):
        prune_twice()
    gc.collect()
    assert sys.getallocatedblocks() - before < 500


@needs_c
@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(_expressions, st.integers(0, 11), st.integers(0, 300)), min_size=1, max_size=6
    )
)
def test_any_body_pruned_in_c_and_in_python_is_the_same_and_is_put_back_whole(parts) -> None:
    # The statements test_slim_copy.py generates, as the body of a method and of a function.
    body = "".join(_statements(expression, kind, gap) for expression, kind, gap in parts)
    text = (
        "class K:\n    def method(self, a, b):\n" + textwrap.indent(body, "        ")
        + "\n\ndef function(a, b):\n" + textwrap.indent(body, "    ")
    )
    try:
        ast.parse(text)
    except SyntaxError:
        return  # a combination the grammar refuses (`global a` of a parameter...)
    _same_pruning(text)
    graph = build({"m.py": text}, DEFAULT_TABLE, keep_sites=True, slim=True)
    whole = pruned_definitions(_never_pruned(text))
    bodies = WholeBodies()
    for function in graph.functions.values():
        if function.parent is None:
            bodies.restore(function)
            twin = whole[function.node.lineno, function.node.col_offset]
            _same_definition(function.node, twin)


POOLED = textwrap.dedent("""\
    import socket

    def send(sock, data=b"", retries=3):
        sock.sendall(b"HELO", 3)
        sock.send(b"HELO", flags=3)
        limit = 3
        for ch in "abc":
            sock.send(ch)
        with "lock":
            sock.send(b"HELO")
        return "done"

    class Client:
        async def other(self, sock):
            sock.sendall(b"HELO", 3)
            return "done"
    """)


def _constants(graph, value: object) -> list[ast.Constant]:
    """The constant nodes of ``value`` (and of its type) the functions of ``graph`` hold."""
    found: dict[int, ast.Constant] = {}
    for function in graph.functions.values():
        for node in ast.walk(function.node):
            if (isinstance(node, ast.Constant) and type(node.value) is type(value)
                    and node.value == value):
                found.setdefault(id(node), node)
    return list(found.values())


@pytest.mark.parametrize("pure", [pytest.param(False, marks=needs_c), True])
def test_a_slim_build_holds_one_constant_node_per_value_in_what_its_functions_keep(
    monkeypatch, pure
) -> None:
    # A site-packages' functions keep ~190k constants (arguments, defaults,
    # return values) of ~43k values: 11 MB of nodes at the lint's peak.
    if pure:
        monkeypatch.setattr(_slim, "_c_pool", lambda: None)
    graph = build({"m.py": POOLED}, DEFAULT_TABLE, keep_sites=True, lazy=True, slim=True)
    # b"HELO" four times, "done" twice, 3 as a default and twice as an argument: one node each.
    for value, count in ((b"HELO", 4), ("done", 2)):
        (node,) = _constants(graph, value)
        assert sum(node is n for f in graph.functions.values() for n in ast.walk(f.node)) == count
    threes = _constants(graph, 3)
    # ``limit = 3`` keeps its own: a name is bound to it (the walk's records refer to it).
    (bound,) = [b.expr for b in graph.functions["m:send"].locals["limit"]]
    assert bound in threes and len(threes) == 2
    assert bound.lineno == 6
    # A `for`'s iterable and a `with` item's expression keep theirs: a site is placed at them.
    loop = next(n for n in ast.walk(graph.functions["m:send"].node) if isinstance(n, ast.For))
    item = next(n for n in ast.walk(graph.functions["m:send"].node) if isinstance(n, ast.With))
    assert (loop.iter.lineno, item.items[0].context_expr.lineno) == (7, 9)
    # A constant is never pooled with an equal one of another type (3 == 3.0 == True).
    assert [type(n.value) for n in threes] == [int, int]


def test_the_lint_finds_with_pooled_constants_what_it_finds_without(monkeypatch) -> None:
    paths = [
        FIXTURE,
        *sorted((ROOT / "src/ambidex").rglob("*.py")),
        *sorted((ROOT / "tests/detect/lint_project").rglob("*.py")),
        *(STDLIB / name for name in ("ftplib.py", "imaplib.py", "poplib.py", "smtplib.py")),
        *sorted((STDLIB / "asyncio").glob("*.py")),
    ]
    modules = _texts(paths)
    pooled = _findings(modules)
    monkeypatch.setattr("ambidex._callgraph.pool_constants", lambda tree, refs, pool: None)
    assert pooled == _findings(modules)


def _pooled_tree(text: str, pure: bool) -> ast.Module:
    with pytest.MonkeyPatch.context() as monkeypatch:
        if pure:
            monkeypatch.setattr(_slim, "_c_pool", lambda: None)
        graph = build({"m.py": text}, DEFAULT_TABLE, keep_sites=True, slim=True)
    return graph.modules["m.py"].tree


def _sharing(tree: ast.Module) -> list[int]:
    """Per constant node met walking ``tree``, the index of the first place it was met."""
    first: dict[int, int] = {}
    order: list[int] = []
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Constant):
                order.append(first.setdefault(id(child), len(order)))
    return order


@pytest.mark.primary_only
@needs_c
def test_the_c_pooling_shares_the_constants_the_python_pooling_shares() -> None:
    for path in _sources():
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            ast.parse(text)
        except SyntaxError:
            continue
        mine, theirs = _pooled_tree(text, False), _pooled_tree(text, True)
        _identical(mine, theirs)
        assert _sharing(mine) == _sharing(theirs), path


@needs_c
def test_the_c_pooling_leaks_no_memory() -> None:
    text = (ROOT / "src/ambidex/_callgraph/_index.py").read_text(encoding="utf-8")

    def pool_twice() -> None:
        for _ in range(2):
            tree = slim_tree(ast.parse(text))
            _slim.pool_constants(tree, set(), {})

    for _ in range(3):
        pool_twice()
    gc.collect()
    before = sys.getallocatedblocks()
    for _ in range(10):
        pool_twice()
    gc.collect()
    assert sys.getallocatedblocks() - before < 500
