"""The port's own walks visit what the general ones do, in the same order.

Every function of a port is walked by :meth:`Planner.check_method_values`,
which looks for a socket method handed on as a value. It walks with its own
loop (no generator step per node, the leaves that hold no call left out);
this pins that the calls it looks at, and their order (the order of its
diagnostics), are those :func:`ambidex._callgraph.own_nodes` gives.

The editor asks for the parent of a call, a statement or a comprehension of
a function (where to put ``await``, which ``with`` goes async): it reads the
parent map of the outermost function holding it, not the whole module's;
the answer must be the module map's.
"""

from __future__ import annotations

import ast
import asyncio.base_events
import ftplib
import imaplib
import inspect
import smtplib
import typing
from pathlib import Path

from ambidex._callgraph import build, own_nodes
from ambidex._callgraph._model import branch_parents
from ambidex._rules import DEFAULT_TABLE
from ambidex._unawaited import calls_handed_generators
from ambidex.codegen._to_async.edit import ModuleEditor, type_twins
from ambidex.codegen._to_async.plan import Planner, _calls_handing_values

ROOT = Path(__file__).resolve().parents[2]


def _hands_values(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Name) and node.func.id == "getattr")
        or any(isinstance(arg, ast.Attribute) for arg in node.args)
        or any(isinstance(k.value, ast.Attribute) for k in node.keywords)
    )


TRICKY = '''
def outer(sock, data):
    partial(sock.sendall, data)
    executor.submit(sock.recv, 4)
    getattr(sock, "recv")
    f(key=sock.recv)
    lambda: g(sock.recv)
    @deco(sock.recv)
    def inner(x=h(sock.send)):
        k(sock.close)
    class Inner:
        m(sock.recv)
    [p(sock.recv) for _ in range(3)]
    q(r(sock.recv), s.t)(u.v)
    return w(sock.recv) if x.y else z(a.b, *c.d, **e.f)
'''


def test_the_value_check_walks_the_calls_own_nodes_gives_in_its_order() -> None:
    texts = [TRICKY] + [
        Path(module.__file__).read_text(encoding="utf-8")
        for module in (smtplib, ftplib, imaplib, inspect, typing, asyncio.base_events)
        if module.__file__ is not None
    ]
    functions = 0
    for text in texts:
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions += 1
                expected = [n for n in own_nodes(node) if _hands_values(n)]
                assert [id(n) for n in _calls_handing_values(node)] == [id(n) for n in expected]
    assert functions > 500


GENERATORS = """
async def outer(rows, sock):
    any(x async for x in rows)
    ", ".join(await f(x) for x in rows)(sum(y for y in rows))
    list(a for a in rows).join(b async for b in rows)
    lambda: all(z async for z in rows)
    @deco(max(d for d in rows))
    async def inner(x=min(e async for e in rows)):
        set(g async for g in rows)
    class Inner:
        tuple(h for h in rows)
    [sorted(i for i in rows) for _ in range(3)]
    return dict((k, v) for k, v in rows) if any(w for w in rows) else frozenset(rows)
"""


def test_the_async_generator_check_walks_the_calls_own_nodes_gives_in_its_order() -> None:
    # The never-awaited check looks for async generator expressions handed to
    # plain consumers among the calls of each function that loops: its own walk
    # gives the calls with a generator expression argument that own_nodes gives,
    # in the same order (the order of its findings).
    texts = [GENERATORS] + [
        Path(module.__file__).read_text(encoding="utf-8")
        for module in (smtplib, ftplib, imaplib, inspect, typing, asyncio.base_events)
        if module.__file__ is not None
    ]
    calls = 0
    for text in texts:
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                expected = [
                    n for n in own_nodes(node)
                    if isinstance(n, ast.Call)
                    and any(isinstance(a, ast.GeneratorExp) for a in n.args)
                ]
                found = calls_handed_generators(node)
                assert [id(n) for n in found] == [id(n) for n in expected]
                calls += len(found)
    assert calls > 40
    outer = ast.parse(GENERATORS).body[0]
    spelled = [ast.unparse(call.func) for call in calls_handed_generators(outer)]
    # Nested functions (their decorators and defaults too), lambdas and classes
    # are walked on their own.
    assert not {"set", "tuple", "all", "max", "min"} & set(spelled)
    assert {"any", "sum", "sorted", "dict", "list"} <= set(spelled)


def test_the_value_check_walk_leaves_out_nested_functions_and_classes() -> None:
    outer = ast.parse(TRICKY).body[0]
    spelled = [ast.unparse(call) for call in _calls_handing_values(outer)]
    assert "k(sock.close)" not in spelled  # inner's body: inner is walked on its own
    assert "m(sock.recv)" not in spelled  # a class body: not the function's
    assert "g(sock.recv)" not in spelled  # a lambda: not walked
    assert "deco(sock.recv)" not in spelled  # inner's decorator: walked with inner
    assert "partial(sock.sendall, data)" in spelled
    assert "getattr(sock, 'recv')" in spelled
    assert "f(key=sock.recv)" in spelled


def test_the_editors_parent_of_a_functions_node_is_the_modules_parent_map_answer() -> None:
    # ModuleEditor.parent_in reads the outermost function's parent map: for every
    # node of every function (nested ones, lambdas, decorators, defaults), the
    # answer is the whole module's map's.
    texts = {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for path in sorted(ROOT.glob("examples/*/_sync/*.py"))
    }
    texts["tricky.py"] = TRICKY
    graph = build(texts, DEFAULT_TABLE)
    planner = Planner(graph)
    planner.run()
    asked = 0
    for module in graph.modules.values():
        editor = ModuleEditor(planner, module, type_twins(DEFAULT_TABLE))
        whole = branch_parents(module.tree)
        for function in editor.functions:
            for node in ast.walk(function.node):
                if isinstance(node, (ast.expr_context, ast.operator, ast.cmpop, ast.Constant)):
                    continue
                assert editor.parent_in(node, function) is whole.get(id(node))
                asked += 1
    assert asked > 3000


def test_the_module_level_walks_read_the_children_iter_child_nodes_gives_but_the_leaves() -> None:
    # The walks of module-level code (the port's editor, and ambidex._modulecalls
    # for the port's check and the lint) read a node's children from its fields:
    # those of ast.iter_child_nodes, in its order, but the contexts and
    # operators (leaves: no call, no definition under them).
    from ambidex._modulecalls import child_nodes

    leaves = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)
    nodes = 0
    for module in (smtplib, ftplib, imaplib, inspect, typing, asyncio.base_events):
        assert module.__file__ is not None
        for node in ast.walk(ast.parse(Path(module.__file__).read_text(encoding="utf-8"))):
            expected = [c for c in ast.iter_child_nodes(node) if not isinstance(c, leaves)]
            assert [id(c) for c in child_nodes(node)] == [id(c) for c in expected]
            nodes += 1
    assert nodes > 40_000


def test_the_parents_found_among_statements_children_are_the_parent_maps() -> None:
    # ModuleEditor.parent_in first looks among the children of a function's
    # statements (where the calls it awaits and the `with` items it makes async
    # sit): what it finds there must be branch_parents' answer, for the children
    # of statements in nested blocks, except handlers and match cases too.
    from ambidex.codegen._to_async.edit import statement_parents

    found = 0
    sources = [
        Path(module.__file__).read_text(encoding="utf-8")
        for module in (smtplib, ftplib, imaplib, inspect, typing, asyncio.base_events)
        if module.__file__ is not None
    ]
    sources.append(TRICKY)
    sources.append(
        "def f(x):\n"
        "    try:\n        g(x)\n    except (A, B) as e:\n        h(e)\n"
        "    else:\n        pass\n    finally:\n        k()\n"
        "    match x:\n        case [1, y] if y(x):\n            m(y)\n"
        "    with a() as b, c():\n        pass\n"
        "    async def inner():\n        async with d():\n            await n()\n"
    )
    for text in sources:
        tree = ast.parse(text)
        for root in [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]:
            whole = branch_parents(root)
            near = statement_parents(root)
            for key, parent in near.items():
                assert whole[key] is parent
            found += len(near)
    assert found > 20_000


def test_the_type_pass_asks_only_for_the_names_it_can_rename() -> None:
    # The type pass evaluates every name and asks rewrite_type only when the
    # dotted name is one it can rename: its verdict on every other name is no.
    texts = {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for path in sorted(ROOT.glob("examples/*/_sync/*.py"))
    }
    for client in (smtplib, ftplib, imaplib):
        assert client.__file__ is not None
        texts[f"{client.__name__}.py"] = Path(client.__file__).read_text(encoding="utf-8")
    texts["caught.py"] = (
        "import queue, socket\n\n"
        "def get(q: queue.Queue, s: socket.socket) -> None:\n"
        "    try:\n        q.get()\n    except queue.Empty:\n        s.close()\n"
    )
    graph = build(texts, DEFAULT_TABLE)
    planner = Planner(graph)
    planner.run()
    renamed = asked = 0
    for module in graph.modules.values():
        gated = ModuleEditor(planner, module, type_twins(DEFAULT_TABLE))
        plain = ModuleEditor(planner, module, type_twins(DEFAULT_TABLE))
        scopes: list[tuple[ast.AST, object]] = [(module.tree, module)]
        scopes += [(f.node, f) for f in gated.functions]
        for root, scope in scopes:
            nodes = ast.walk(root) if scope is module else own_nodes(root)
            for node in nodes:
                if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
                    said = plain.rewrite_type(node, scope)  # type: ignore[arg-type]
                    assert gated.names_twin(node, scope) is said  # type: ignore[arg-type]
                    renamed += said
                    asked += 1
    assert asked > 10_000
    assert renamed > 20
