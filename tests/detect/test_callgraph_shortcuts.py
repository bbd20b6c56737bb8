"""The resolver's shortcuts find what the long way found, in the same order.

What an unannotated function returns is the first of its ``return``
statements that tells, in the order :func:`ambidex._callgraph.own_nodes`
meets them; :func:`ambidex._callgraph._model.own_returns` walks the
statements alone (a ``return`` is never inside an expression), so it must
meet the same returns in the same order -- through every kind of block, and
never into a nested function, class or lambda.
"""

from __future__ import annotations

import ast
import sys
import sysconfig
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ambidex._callgraph as _callgraph
from ambidex._callgraph import (
    CallGraph,
    CallKind,
    Class,
    Function,
    WholeBodies,
    _slim,
    build,
    own_nodes,
)
from ambidex._callgraph._callables import _code_default
from ambidex._callgraph._model import _FOR, _LINE_END, _Val, async_and_for_lines, own_returns
from ambidex._callgraph._resolve import _Resolver
from ambidex._callgraph._slim import has_pruned, slim_tree
from ambidex._modulecalls import unused_results
from ambidex._rules import DEFAULT_TABLE
from ambidex._sourcefiles import read_source
from tests.detect.conftest import parsed

ROOT = Path(__file__).resolve().parents[2]

EVERY_BLOCK = '''
def f(x):
    if x:
        return 1
    elif x > 2:
        return 2
    else:
        for i in x:
            if i:
                return i
        else:
            return 3
    while x:
        return 4
    else:
        return 5
    try:
        return 6
    except ValueError:
        return 7
    except (KeyError, OSError) as exc:
        if exc:
            return 8
    else:
        return 9
    finally:
        return 10
    with x as y, x:
        return y
    match x:
        case 1:
            return 11
        case [a, *_] if a:
            return a
        case _:
            pass
    def g():
        return 12
    class C:
        def m(self):
            return 13
        z = 14
    h = lambda: 15
    async def k():
        async with x:
            return 16
        async for _ in x:
            return 17
    return [lambda: 18 for _ in x]


async def outer(x):
    async with x:
        async for _ in x:
            return 19
    if x:
        pass
    elif x:
        try:
            pass
        finally:
            return 20
    return
'''

EVERY_STAR_BLOCK = '''
def f(x):
    try:
        return 1
    except* ValueError:
        return 2
    except* KeyError:
        if x:
            return 3
    else:
        return 4
    finally:
        return 5
'''


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _assert_same_returns(tree: ast.AST) -> int:
    checked = 0
    for function in _functions(tree):
        expected = [n for n in own_nodes(function) if isinstance(n, ast.Return)]
        assert list(own_returns(function)) == expected, ast.unparse(function)[:200]
        checked += len(expected)
    return checked


def test_own_returns_meets_every_kind_of_blocks_returns_in_the_order_of_own_nodes() -> None:
    texts = [EVERY_BLOCK]
    if sys.version_info >= (3, 11):
        texts.append(EVERY_STAR_BLOCK)
    for text in texts:
        tree = ast.parse(text)
        assert _assert_same_returns(tree) >= 5
        assert _assert_same_returns(slim_tree(ast.parse(text))) >= 5
    # The order is not the text's: a later block comes off the stack first.
    outer = next(f for f in _functions(ast.parse(EVERY_BLOCK)) if f.name == "f")
    values: list[int] = []
    for returned in own_returns(outer):
        if isinstance(returned.value, ast.Constant) and isinstance(returned.value.value, int):
            values.append(returned.value.value)
    assert values != sorted(values) and set(values) == set(range(1, 12))


@pytest.mark.primary_only
def test_own_returns_meets_the_returns_of_own_nodes_on_real_code() -> None:
    paths = [
        *sorted((ROOT / "src" / "ambidex").rglob("*.py")),
        *sorted((ROOT / "examples").rglob("*.py")),
    ]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    paths += [stdlib / name for name in ("smtplib.py", "imaplib.py", "ftplib.py", "tarfile.py")]
    paths += sorted((stdlib / "asyncio").glob("*.py"))
    checked = 0
    for path in paths:
        checked += _assert_same_returns(ast.parse(path.read_text(encoding="utf-8")))
    assert checked > 1000


# --- what the resolver's fast paths must keep -------------------------------------
# Each of these is a path the resolver takes for most names (one binding, a
# name found in a function, a call without a local of that name...); a
# shortcut there must give what the general code gave.


def _graph(text: str) -> CallGraph:
    return build({"m.py": textwrap.dedent(text)}, DEFAULT_TABLE)


def _callees(graph: CallGraph, function: str, line: int) -> list[str]:
    """The callees (and a table row's name) of the calls at ``line`` of ``function``."""
    found: list[str] = []
    for call in graph.functions[f"m:{function}"].calls:
        if call.line == line and call.kind is CallKind.CALL:
            found += [c.qualname for c in call.callees] or [str(call.name)]
    return found


def test_a_name_bound_once_to_an_empty_list_is_a_list_and_a_later_binding_that_tells_wins() -> None:
    graph = _graph(
        """
        class Conn:
            def send(self): ...

        def once():
            pool = []
            pool.append(1)

        def twice():
            pool = []
            pool = [Conn()]
            pool[0].send()

        POOL = []
        POOL = [Conn()]

        def module_level():
            POOL[0].send()
            Conn.send(POOL[0])
        """
    )
    assert _callees(graph, "once", 7) == ["list.append"]
    assert _callees(graph, "twice", 12) == ["Conn.send"]
    assert _callees(graph, "module_level", 18) == ["Conn.send"]
    assert _callees(graph, "module_level", 19) == ["Conn.send"]


def test_a_binding_that_reads_itself_is_cut_instead_of_followed_forever() -> None:
    graph = _graph(
        """
        def walk(node):
            node = node.parent
            node = Node()
            node.visit()

        class Node:
            parent: "Node"
            def visit(self): ...
        """
    )
    # node.parent reads `node`, whose first binding that tells is node.parent
    # itself: cut there, the next binding (Node()) tells.
    assert _callees(graph, "walk", 5) == ["Node.visit"]


def test_functools_partial_of_a_function_is_called_as_the_function_under_both_spellings() -> None:
    graph = _graph(
        """
        import functools
        from functools import partial

        def target(a, b): ...

        def spelled_in_full():
            functools.partial(target, 1)(2)

        def imported():
            partial(target, 1)(2)
        """
    )
    assert _callees(graph, "spelled_in_full", 8) == ["target", "functools.partial"]
    assert _callees(graph, "imported", 11) == ["target", "functools.partial"]


def test_a_name_in_a_class_body_is_looked_up_in_its_module() -> None:
    graph = _graph(
        """
        class Connection:
            def send(self): ...

        class Client:
            conn = Connection()

            def go(self):
                self.conn.send()
        """
    )
    assert _callees(graph, "Client.go", 9) == ["Connection.send"]


def test_a_local_bound_to_two_functions_calls_both_and_one_bound_to_anything_else_neither() -> None:
    graph = _graph(
        """
        def a(x): ...
        def b(x): ...

        def both(flag):
            run = a
            if flag:
                run = b
            run(1)

        def not_only_functions(flag):
            run = a
            run = flag.handler
            run(1)

        def also_a_loop_variable(flag):
            run = a
            run = b
            for run in flag:
                pass
            run(1)

        class Holder:
            def __init__(self):
                self.run = a
                self.run = b

            def go(self):
                self.run(1)
        """
    )
    assert _callees(graph, "both", 9) == ["a", "b"]
    assert _callees(graph, "not_only_functions", 14) == ["a"]
    assert _callees(graph, "also_a_loop_variable", 21) == ["a", "b"]
    assert _callees(graph, "Holder.go", 29) == ["a", "b"]


# --- what a slim build's shortcuts must keep ---------------------------------------

TOP_LEVEL = '''
import os, sys as system
from . import sibling
from .pkg import (a, b as c)
global_name = 1
pass
main()
kept = make()
dropped_here = make()[0]
TABLE = {"a": [1, 2, (3, "x")], "b": {4: None}, **OTHER}
dropped_in_a_table = {"a": [1, {"b": make()}]}
dropped_in_an_f_string = f"{make()!r:>{width}}"
if __name__ == "__main__":
    import runpy
    pass
    run()


class K:
    import json
    pass
    attribute = make()
    dropped = make().value

    def method(self):
        global global_name
        return global_name
'''


def _kept_top_level(text: str, shortcut: bool, monkeypatch: pytest.MonkeyPatch) -> str:
    if not shortcut:
        monkeypatch.setattr(_slim, "_NO_EXPRESSION", ())
        monkeypatch.setattr(_slim, "_may_hold_call", lambda statement: True)
    tree = slim_tree(ast.parse(text))
    _slim.keep_definitions(tree, unused_results(tree.body, text))
    monkeypatch.undo()
    return ast.dump(tree, include_attributes=True)


def test_a_slim_build_keeps_the_same_top_level_statements_without_walking_imports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # keep_definitions drops a statement that holds no expression (import,
    # pass, global) or no call (a table of literals) without asking
    # module_level_calls: the same statements stay.
    # A parser's tree (not slotted twins) is not scanned: the long way decides.
    assert _slim._may_hold_call(ast.parse("TABLE = {1: 2}").body[0])
    assert not _slim._may_hold_call(slim_tree(ast.parse("TABLE = {1: 2}")).body[0])
    fast = _kept_top_level(TOP_LEVEL, True, monkeypatch)
    assert fast == _kept_top_level(TOP_LEVEL, False, monkeypatch)
    assert fast.count("Import(") == 1 and fast.count("Pass(") == 1  # in the __main__ block
    assert "'main'" in fast and "'run'" in fast and "'dropped'" in fast
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in [*sorted(stdlib.glob("*.py"))[::5], *sorted((ROOT / "src/ambidex").rglob("*.py"))]:
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            fast = _kept_top_level(text, True, monkeypatch)
        except SyntaxError:  # a test file of the stdlib's that must not parse
            continue
        assert fast == _kept_top_level(text, False, monkeypatch), path


DEFINITIONS_TO_PUT_BACK = '''
import asyncio


class Client:
    async def fetch(self):
        await asyncio.sleep(0)

    def start(self):
        self.task = asyncio.ensure_future(self.fetch())
        value = [1, 2, 3]
        return value


async def main(client):
    pending = client.fetch()
    other = 1 + 2
    await pending
'''


@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
def test_a_pruned_definition_is_put_back_whole_at_its_lines_whatever_the_line_ends(
    line_end: str,
) -> None:
    # WholeBodies parses a definition's own lines, after as many blank lines
    # as come before it (the line numbers come out right without shifting
    # the tree), and splits the text on \n alone when it holds no \r.
    text = DEFINITIONS_TO_PUT_BACK.replace("\n", line_end)
    graph = build({"m.py": text}, DEFAULT_TABLE, keep_sites=True, slim=True)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(_callgraph, "prune_bodies", lambda tree, refs: None)
        whole = build({"m.py": text}, DEFAULT_TABLE, keep_sites=True, slim=True)
    bodies = WholeBodies()
    restored = 0
    for key, function in graph.functions.items():
        if function.parent is None and has_pruned(function.node):
            with pytest.MonkeyPatch.context() as monkeypatch:
                # Its own lines parse alone: the whole module is never parsed again.
                monkeypatch.setattr(_callgraph, "pruned_definitions", None)
                bodies.restore(function)
            assert ast.dump(function.node, include_attributes=True) == ast.dump(
                whole.functions[key].node, include_attributes=True
            )
            restored += 1
    assert restored == 2  # Client.start, main


def _mro_the_long_way(cls: Class) -> list[Class]:
    """The breadth-first walk of the (complete) base lists, each class once."""
    seen: set[str] = set()
    order: list[Class] = []
    todo = [cls]
    while todo:
        current = todo.pop(0)
        if current.key not in seen:
            seen.add(current.key)
            order.append(current)
            todo.extend(current._bases or ())
    return order


def test_a_class_mro_asked_again_is_the_walk_of_its_bases() -> None:
    # The resolver remembers an MRO walked to the end; asked again, it must be
    # the walk itself (on real code with deep hierarchies: asyncio, http, src).
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    paths = [*sorted((stdlib / "asyncio").glob("*.py")), stdlib / "http" / "client.py",
             stdlib / "socketserver.py", *sorted((ROOT / "src/ambidex").rglob("*.py"))]
    modules = {str(p): p.read_text(encoding="utf-8") for p in paths}
    graph = build(modules, DEFAULT_TABLE, trees=parsed(modules))
    resolver = graph.resolver
    with_bases = 0
    for cls in graph.classes.values():
        first = list(resolver.mro(cls))
        assert list(resolver.mro(cls)) == first == _mro_the_long_way(cls)
        with_bases += len(first) > 2
    assert with_bases > 20


def test_a_class_mro_read_while_its_bases_are_evaluated_is_not_remembered() -> None:
    # Evaluating K's bases asks for K.missing, which walks K's MRO while K's
    # base list holds only Base: that walk is partial and must not be the
    # answer once Other is there too.
    graph = build(
        {"m.py": textwrap.dedent(
            """
            class Base:
                pass

            class Other:
                def run(self):
                    pass

            class K(Base, K.missing, Other):
                pass
            """
        )},
        DEFAULT_TABLE,
        lazy=True,
    )
    resolver = graph.resolver
    k = graph.classes["m:K"]
    run = resolver.method(k, "run")
    assert run is not None and run.key == "m:Other.run"
    assert [c.key for c in resolver.mro(k)] == ["m:K", "m:Base", "m:Other"]
    assert [c.key for c in resolver.mro(k)] == ["m:K", "m:Base", "m:Other"]


def _code_default_the_long_way(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    with_defaults = positional[len(positional) - len(args.defaults) :]
    pairs = [
        *zip(with_defaults, args.defaults, strict=True),
        *zip(args.kwonlyargs, args.kw_defaults, strict=True),
    ]
    return any(
        arg.arg == name and default is not None and not isinstance(default, ast.Constant)
        for arg, default in pairs
    )


def test_which_parameters_have_a_default_that_names_code_is_read_as_the_long_way_did() -> None:
    # Asked for every name a function hands on (~150k questions on a
    # site-packages, ~1.5% of its lint the long way).
    source = textwrap.dedent("""\
        import socket
        def f(a, b=1, /, c=socket, *args, d, e=None, g=socket.socket, h=(1, 2), **kw): pass
        def g(x=len, y=-1, z=b"", *, w): pass
        def h(): pass
        """)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    trees = [ast.parse(source)] + [
        ast.parse(path.read_text(encoding="utf-8"))
        for path in [stdlib / "socket.py", stdlib / "subprocess.py",
                     *sorted((stdlib / "asyncio").glob("*.py"))]
    ]
    checked = found = 0
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                names = [p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
                for name in [*names, *(p.arg for p in (a.vararg, a.kwarg) if p), "missing"]:
                    function = Function.__new__(Function)
                    function.node = node
                    expected = _code_default_the_long_way(node, name)
                    assert _code_default(function, name) is expected, (node.name, name)
                    checked += 1
                    found += expected
    assert checked > 3000 and found > 20


def _async_and_for_lines_line_by_line(text: str) -> tuple[list[int], list[int]]:
    found: tuple[list[int], list[int]] = ([], [])
    if "async" in text or "await" in text:
        for number, line in enumerate(_LINE_END.split(text), start=1):
            if "async" in line or "await" in line:
                found[0].append(number)
            if "for" in line and _FOR.search(line):
                found[1].append(number)
    return found


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_the_lines_that_spell_async_await_or_for_are_those_read_line_by_line(end: str) -> None:
    # Read once per module with async code (~300 on a site-packages, the
    # large ones): a search of the whole text, not a loop over its lines.
    source = textwrap.dedent("""\
        async def f(xs):
            for x in xs: await x
            format(before, fortune); forx = 1
            y = [a async for a in g()] if 1for else 0
        await_me = async_thing
        for
        x.for_ = "for async"  # await
        """).replace("\n", end)
    assert async_and_for_lines(source) == _async_and_for_lines_line_by_line(source)
    assert async_and_for_lines(source) == ([1, 2, 4, 5, 7], [2, 4, 6, 7])
    assert async_and_for_lines("for x in y: pass" + end) == ([], [])
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in [*sorted((stdlib / "asyncio").glob("*.py")), stdlib / "contextlib.py"]:
        text = read_source(path).replace("\n", end)
        assert async_and_for_lines(text) == _async_and_for_lines_line_by_line(text), path


def _dotted_part_by_part(resolver: Any, dotted: str) -> Any:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        module = resolver.module_named(".".join(parts[:i]))
        if module is None:
            continue
        value = _Val(module=module)
        for part in parts[i:]:
            value = resolver.member(value, part) if value is not None else None
        return value if value is not None else _Val(dotted=dotted)
    return _Val(dotted=dotted)


def test_a_dotted_name_is_the_longest_analysed_module_it_starts_with_then_its_members() -> None:
    # Asked for every import a tree binds (~70k on a site-packages): the
    # prefixes found in the string, not joined again from its parts.
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    paths = [*sorted((stdlib / "asyncio").glob("*.py")), *sorted((stdlib / "email").glob("*.py")),
             *sorted((ROOT / "src/ambidex/io").rglob("*.py"))]
    modules = {str(p): read_source(p) for p in paths}
    graph = build(modules, DEFAULT_TABLE, trees=parsed(modules), keep_sites=True, lazy=True)
    resolver = graph.resolver
    assert isinstance(resolver, _Resolver)
    names = {b.dotted for m in graph.modules.values() for bs in m.symbols.values() for b in bs
             if b.kind == "import" and b.dotted}
    names |= {"", ".", "..x", "a..b", "asyncio.", ".events", "asyncio..events",
              "asyncio.events.AbstractEventLoop.run_until_complete.missing",
              "src.ambidex.io", "ambidex.io._backends", "io._backends._sync.SyncStream.read",
              "events.get_event_loop"}
    assert len(names) > 150
    for name in sorted(names):
        assert resolver.dotted(name) == _dotted_part_by_part(resolver, name), name
    found = resolver.dotted("asyncio.events.AbstractEventLoop")
    assert found.cls is not None and found.cls.dotted.endswith("asyncio.events.AbstractEventLoop")
