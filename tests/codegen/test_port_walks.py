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
    assert asked > 5000
