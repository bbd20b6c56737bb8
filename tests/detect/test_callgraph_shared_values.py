"""The call graph holds one object for a value it hands out many times.

On a site-packages the lint keeps ~50k resolved calls, answers ~40k questions
about builtins and indexes ~80k call sites by callee at the end of its run,
where its memory peaks: each of those was an object of its own (a name
string per call, a value per question, a pair per index entry). These tests
pin that they are shared, and that sharing changes no answer.
"""

from __future__ import annotations

import ast
import sys
import textwrap

from ambidex._callgraph import CallGraph, build
from ambidex._callgraph._resolve import _Resolver
from ambidex._rules import DEFAULT_TABLE

SOURCE = textwrap.dedent("""\
    def helper(sock):
        return len(sock)

    def first(sock):
        helper(sock)
        return open("a") , open("b"), "text", b"bytes"

    def second(sock):
        helper(sock)
        return open("c"), "other", b"more"
    """)


def _graph() -> CallGraph:
    return build({"pkg/mod.py": SOURCE}, DEFAULT_TABLE)


def test_every_call_of_a_function_names_it_with_one_string() -> None:
    graph = _graph()
    names = [c.name for c in graph.iter_calls() if c.callees and c.callees[0].name == "helper"]
    assert names == ["pkg.mod.helper", "pkg.mod.helper"]
    assert names[0] is names[1] is graph.functions["pkg.mod:helper"].dotted


def test_a_builtin_and_a_literals_type_are_one_value_each_however_often_asked() -> None:
    graph = _graph()
    values = {}
    for key in ("pkg.mod:first", "pkg.mod:second"):
        function = graph.functions[key]
        last = function.node.body[-1]
        assert isinstance(last, ast.Return) and isinstance(last.value, ast.Tuple)
        returned = last.value
        # ``open`` itself (the name), then the literals.
        values[key] = [
            graph.resolver.eval(e.func if isinstance(e, ast.Call) else e, function)
            for e in returned.elts
        ]
    opens = [values["pkg.mod:first"][0], values["pkg.mod:first"][1], values["pkg.mod:second"][0]]
    assert all(v is not None and v.dotted == "open" for v in opens)
    assert opens[0] is opens[1] is opens[2]
    texts = [values["pkg.mod:first"][2], values["pkg.mod:second"][1]]
    assert [v.instance for v in texts if v] == ["str", "str"] and texts[0] is texts[1]
    blobs = [values["pkg.mod:first"][3], values["pkg.mod:second"][2]]
    assert [v.instance for v in blobs if v] == ["bytes", "bytes"] and blobs[0] is blobs[1]


def test_the_parameter_index_holds_the_call_sites_own_pairs() -> None:
    graph = _graph()
    resolver = graph.resolver
    assert isinstance(resolver, _Resolver)
    helper = graph.functions["pkg.mod:helper"]
    resolver.param_type(helper, "sock")  # builds the index
    assert resolver._sites_by_callee is not None
    indexed = resolver._sites_by_callee[helper.key]
    assert len(indexed) == 2
    assert all(any(pair is site for site in resolver._sites) for pair in indexed)


def test_a_name_bound_once_holds_a_list_of_one_binding_with_no_room_for_more() -> None:
    # ~200k names of a site-packages are bound once: a list grown from empty
    # by append would hold room for four bindings each.
    graph = build(
        {"m.py": "X = 1\nY = 2\nY = 3\nclass C:\n    z = 1\ndef f():\n    w = 1\n    return w\n"},
        DEFAULT_TABLE,
    )
    one = sys.getsizeof([object()])
    module = graph.modules["m.py"]
    singles = [
        module.symbols["X"],
        graph.classes["m:C"].attrs["z"],
        graph.functions["m:f"].locals["w"],
    ]
    assert [len(b) for b in singles] == [1, 1, 1]
    assert all(sys.getsizeof(b) == one for b in singles)
    assert [b.expr.value for b in module.symbols["Y"]] == [2, 3]  # type: ignore[union-attr]
