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
import sysconfig
import textwrap
from pathlib import Path

import pytest

from ambidex._callgraph import CallGraph, CallKind, build, resolve_again
from ambidex._callgraph._model import NO_CALLS, _Binding
from ambidex._callgraph._resolve import _Resolver
from ambidex._rules import DEFAULT_TABLE, RuleTable
from ambidex._sourcefiles import read_source
from ambidex._unawaited import async_side

ROOT = Path(__file__).resolve().parents[2]

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


def test_every_call_that_runs_one_function_holds_the_same_one_tuple_of_callees() -> None:
    graph = _graph()
    helper = graph.functions["pkg.mod:helper"]
    runs = [c.callees for c in graph.iter_calls() if c.callees == (helper,)]
    assert len(runs) == 2
    assert runs[0] is runs[1] is helper.alone


def test_a_function_record_has_no_dict_of_its_own() -> None:
    # ~40k functions of a site-packages: a field set after __init__ (the
    # callees tuple above) made each instance's __dict__ a dict of ~880 bytes.
    graph = _graph()
    helper = graph.functions["pkg.mod:helper"]
    assert helper.alone == (helper,)
    assert not hasattr(helper, "__dict__")


def test_functions_without_calls_or_decorators_share_one_empty_list_and_tuple() -> None:
    source = SOURCE + textwrap.dedent("""\

        def quiet():
            return 1

        @staticmethod
        def decorated():
            pass
        """)
    graph = build({"pkg/mod.py": source}, DEFAULT_TABLE)
    quiet = graph.functions["pkg.mod:quiet"]
    assert quiet.calls is NO_CALLS and quiet._pending is NO_CALLS
    assert quiet.decorators == () and graph.functions["pkg.mod:decorated"].decorators == (
        "staticmethod",
    )
    assert [c.name for c in graph.functions["pkg.mod:helper"].calls] == ["len"]
    lazy = build({"pkg/mod.py": source}, DEFAULT_TABLE, keep_sites=True, lazy=True)
    assert [len(lazy.calls_of(f)) for f in lazy.functions.values()] == [1, 3, 2, 0, 0]
    again = resolve_again(lazy, DEFAULT_TABLE, keep=lambda call, _: call.name == "len")
    assert [len(f.calls) for f in again.functions.values()] == [1, 0, 0, 0, 0]
    assert all(f.calls is NO_CALLS for f in list(again.functions.values())[1:])
    assert all(f._pending is NO_CALLS for f in again.functions.values())
    assert NO_CALLS == []


def test_the_second_resolution_uses_the_first_ones_index_of_module_names() -> None:
    modules = {"pkg/__init__.py": "", "pkg/mod.py": SOURCE, "pkg/sub/other.py": "X = 1\n"}
    graph = build(modules, DEFAULT_TABLE, keep_sites=True, lazy=True)
    first = graph.resolver
    assert isinstance(first, _Resolver)
    by_name, by_suffix = first.by_name, first.by_suffix
    assert sorted(by_suffix) == ["mod", "other", "sub.other"]
    again = resolve_again(graph, DEFAULT_TABLE).resolver
    assert isinstance(again, _Resolver)
    assert again.by_name is by_name and again.by_suffix is by_suffix
    assert first.by_name == {} and first.by_suffix == {}  # the spent one lets go


def test_a_slim_build_keeps_no_import_statements_but_binds_their_names() -> None:
    source = "import os\nfrom socket import socket as sock\n" + SOURCE
    parsed = build({"pkg/mod.py": source}, DEFAULT_TABLE).modules["pkg/mod.py"]
    slim = build({"pkg/mod.py": source}, DEFAULT_TABLE, slim=True).modules["pkg/mod.py"]
    assert len(parsed.imports) == 2 and slim.imports == []
    assert slim.imported_as("os") == "os" and slim.imported_as("sock") == "socket.socket"


def test_a_slim_build_holds_a_name_bound_once_as_its_binding_and_more_in_a_tuple() -> None:
    # ~215k names of a site-packages are bound once: each held a tuple of one
    # (48 bytes); the binding is the sequence of itself alone.
    source = "X = 1\nX = 2\nclass C:\n    z = 1\n    def m(self, a):\n        self.y = a\n" + SOURCE
    parsed = build({"pkg/mod.py": source}, DEFAULT_TABLE)
    slim = build({"pkg/mod.py": source}, DEFAULT_TABLE, slim=True)
    scopes = [
        (parsed.modules["pkg/mod.py"].symbols, slim.modules["pkg/mod.py"].symbols),
        (parsed.classes["pkg.mod:C"].attrs, slim.classes["pkg.mod:C"].attrs),
        *((parsed.functions[key].locals, slim.functions[key].locals) for key in parsed.functions),
    ]
    for whole, frozen in scopes:
        assert all(type(b) is list for b in whole.values())
        assert all(
            type(b) is (_Binding if len(whole[name]) == 1 else tuple)
            for name, b in frozen.items()
        )
        assert {name: [b.kind for b in bindings] for name, bindings in whole.items()} == {
            name: [b.kind for b in bindings] for name, bindings in frozen.items()
        }
    assert [b.expr.value for b in slim.modules["pkg/mod.py"].symbols["X"]] == [1, 2]  # type: ignore[union-attr]
    (alone,) = slim.classes["pkg.mod:C"].attrs["z"]
    assert slim.classes["pkg.mod:C"].attrs["z"] is alone
    assert len(alone) == 1 and alone[0] is alone[-1] is alone and list(alone) == [alone]
    assert alone[:] == (alone,) and alone in alone


def test_a_binding_holds_its_function_or_its_class_in_one_slot() -> None:
    # ~310k bindings of a site-packages live until the lint ends: six slots
    # with the collector's header fit 80 bytes, seven took 96.
    class SixSlots:
        __slots__ = ("a", "b", "c", "d", "e", "f")

    graph = build({"m.py": "class C:\n    def m(self, x):\n        return x\n"}, DEFAULT_TABLE)
    module = graph.modules["m.py"]
    method = graph.functions["m:C.m"]
    (klass,) = module.symbols["C"]
    (self_,) = method.locals["self"]
    (param,) = method.locals["x"]
    (function,) = graph.classes["m:C"].attrs["m"]
    assert (klass.cls, klass.function) == (graph.classes["m:C"], None)
    assert (self_.cls, self_.function) == (graph.classes["m:C"], None)
    assert (param.function, param.cls, param.dotted) == (method, None, "x")
    assert (function.function, function.cls) == (method, None)
    assert all(sys.getsizeof(b) == sys.getsizeof(SixSlots()) for b in (klass, self_, param))


def test_a_value_holds_super_s_class_or_a_tuple_s_element_types_in_one_slot() -> None:
    # ~100k values per resolution: six slots fit 80 bytes (seven took 96),
    # the size of the call sites' records freed as the second resolution runs.
    class SixSlots:
        __slots__ = ("a", "b", "c", "d", "e", "f")

    source = textwrap.dedent("""\
        class Base:
            pass

        class Child(Base):
            def method(self):
                return super()

        def pair():
            return "text", b"bytes"
        """)
    graph = build({"m.py": source}, DEFAULT_TABLE)
    method, pair = graph.functions["m:Child.method"], graph.functions["m:pair"]
    values = []
    for function in (method, pair):
        returned = function.node.body[0]
        assert isinstance(returned, ast.Return) and returned.value is not None
        values.append(graph.resolver.eval(returned.value, function))
    sup, both = values
    assert sup is not None and both is not None
    assert (sup.bases_of, sup.elements) == (graph.classes["m:Child"], None)
    assert (both.bases_of, both.elements) == (None, ("str", "bytes"))
    same = type(both)(elements=("str", "bytes"))
    assert same == both and hash(same) == hash(both) and same != sup
    assert sys.getsizeof(sup) == sys.getsizeof(both) == sys.getsizeof(SixSlots())


def test_the_second_resolution_types_parameters_from_the_first_ones_index_of_call_sites() -> None:
    # Indexing every call site by callee evaluates every callee of the tree
    # (~0.6 s of a site-packages' lint): the lint's second resolution (the
    # table's async side) takes the first one's index instead of a second.
    graph = build({"pkg/mod.py": SOURCE}, DEFAULT_TABLE, keep_sites=True, lazy=True)
    first = graph.resolver
    assert isinstance(first, _Resolver)
    helper = graph.functions["pkg.mod:helper"]
    first.param_type(helper, "sock")  # builds the index
    index = first._sites_by_callee
    assert index is not None and len(index[helper.key]) == 2
    again = resolve_again(graph, async_side(DEFAULT_TABLE), kinds=(CallKind.CALL,)).resolver
    assert isinstance(again, _Resolver)
    assert again._sites_by_callee is index
    assert first._sites_by_callee is None  # the spent one lets go


def test_a_second_resolution_whose_first_built_no_index_builds_its_own() -> None:
    graph = build({"pkg/mod.py": SOURCE}, DEFAULT_TABLE, keep_sites=True, lazy=True)
    again = resolve_again(graph, async_side(DEFAULT_TABLE), kinds=(CallKind.CALL,)).resolver
    assert isinstance(again, _Resolver)
    assert again._sites_by_callee is None
    helper = graph.functions["pkg.mod:helper"]
    assert again.param_type(helper, "sock") is None  # (len(sock): nothing typed it)
    assert again._sites_by_callee is not None and len(again._sites_by_callee[helper.key]) == 2


#: Where the two tables would index a call site apart: ``run``'s first
#: binding that tells is a socket under the blocking table (a row's result)
#: and ``handler`` under its async side (no row for create_connection).
TABLES_APART = textwrap.dedent("""\
    import socket

    class Conn:
        pass

    def handler(conn):
        return conn

    def serve(address):
        run = socket.create_connection(address)
        run = handler
        run(Conn())
    """)


def test_the_handed_index_is_the_first_tables_where_the_tables_would_read_a_callee_apart() -> None:
    # What the hand-over gives up, pinned: each table's own index would type
    # `conn` differently here. On real code the two indexes are the same (the
    # test below); a site-packages' lint findings were byte-identical.
    side = async_side(DEFAULT_TABLE)
    own = build({"m.py": TABLES_APART}, side, keep_sites=True, lazy=True)
    assert isinstance(own.resolver, _Resolver)
    value = own.resolver.param_type(own.functions["m:handler"], "conn")
    assert value is not None and value.instance == "m:Conn"
    graph = build({"m.py": TABLES_APART}, DEFAULT_TABLE, keep_sites=True, lazy=True)
    assert isinstance(graph.resolver, _Resolver)
    assert graph.resolver.param_type(graph.functions["m:handler"], "conn") is None
    again = resolve_again(graph, side, kinds=(CallKind.CALL,)).resolver
    assert isinstance(again, _Resolver)
    assert again.param_type(graph.functions["m:handler"], "conn") is None


def _index(graph: CallGraph, table: RuleTable) -> dict[str, list[tuple[str, int, int]]]:
    """The call sites of ``graph``'s walk indexed by callee by a resolver of ``table``."""
    for cls in graph.classes.values():
        cls._bases = None  # (decided by each resolver anew, as resolve_again does)
    resolver = _Resolver(graph.modules, graph.functions, graph.classes, table)
    resolver.param_type(next(iter(graph.functions.values())), "x")  # builds the index
    assert resolver._sites_by_callee is not None
    return {
        key: [(fn.key, node.lineno, node.col_offset) for fn, node in sites]
        for key, sites in resolver._sites_by_callee.items()
    }


@pytest.mark.primary_only  # (a few seconds; what it compares is not the Python's)
def test_the_blocking_table_and_its_async_side_index_real_code_alike() -> None:
    # The premise of the hand-over: on real code, which function each call
    # site may call does not depend on the table (a row's result is an
    # outside type, whose members are no analysed function).
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    paths = [*sorted((stdlib / "asyncio").glob("*.py")), *sorted((stdlib / "http").glob("*.py")),
             *(stdlib / name for name in ("socketserver.py", "smtplib.py", "ftplib.py",
                                          "imaplib.py", "poplib.py")),
             *sorted((ROOT / "src/ambidex").rglob("*.py"))]
    modules = {str(p): read_source(p) for p in paths if p.exists()}
    graph = build(modules, DEFAULT_TABLE, keep_sites=True, lazy=True, slim=True)
    blocking = _index(graph, DEFAULT_TABLE)
    assert sum(map(len, blocking.values())) > 1000
    assert _index(graph, async_side(DEFAULT_TABLE)) == blocking


SITES = textwrap.dedent("""\
    import threading
    from typing import TYPE_CHECKING

    def work(*args, **kwargs):
        pass

    def plain(items, cb, obj):
        work(cb, obj.method, *items, key=cb, **kwargs)
        work(work(cb)(obj.attr), len(items))
        for item in items:
            pass
        with open("f") as handle:
            pass
        [x for x in items]
        threading.Thread(target=lambda x: work(cb))
        table = [cb, obj.method]
        if TYPE_CHECKING:
            work(cb)
        return cb
    """)

EXPECTED_SITES = [
    ('CALL', 'work(cb, obj.method, *items, key=cb, **kwargs)', None, False, False, False),
    ('REF', 'cb', 'work(cb, obj.method, *items, key=cb, **kwargs)', False, False, False),
    ('REF', 'obj.method', 'work(cb, obj.method, *items, key=cb, **kwargs)', False, False, False),
    ('REF', 'items', 'work(cb, obj.method, *items, key=cb, **kwargs)', False, False, False),
    ('REF', 'cb', 'work(cb, obj.method, *items, key=cb, **kwargs)', False, False, False),
    ('REF', 'kwargs', 'work(cb, obj.method, *items, key=cb, **kwargs)', False, False, False),
    ('CALL', 'work(work(cb)(obj.attr), len(items))', None, False, False, False),
    ('CALL', 'work(cb)(obj.attr)', None, False, False, False),
    ('CALL', 'work(cb)', None, False, False, False),
    ('REF', 'cb', 'work(cb)', False, False, False),
    ('REF', 'obj.attr', 'work(cb)(obj.attr)', False, False, False),
    ('CALL', 'len(items)', None, False, False, False),
    ('REF', 'items', 'len(items)', False, False, False),
    ('FOR', 'items', None, False, False, False),
    ('CALL', "open('f')", None, False, False, False),
    ('WITH', "open('f') as handle", None, False, False, False),
    ('FOR', 'items', None, False, False, False),
    ('CALL', 'threading.Thread(target=lambda x: work(cb))', None, False, False, False),
    ('CALL', 'work(cb)', 'threading.Thread(target=lambda x: work(cb))', False, True, False),
    ('REF', 'cb', 'work(cb)', False, True, False),
    ('REF', 'cb', None, False, False, True),
    ('REF', 'obj.method', None, False, False, True),
    ('CALL', 'work(cb)', None, True, False, False),
    ('REF', 'cb', 'work(cb)', True, False, False),
    ('REF', 'cb', None, False, False, False),
]


def _said(site) -> tuple[str, str, str | None, bool, bool, bool]:
    node = site.node
    text = ast.unparse(node.iter if isinstance(node, (ast.For, ast.comprehension)) else node)
    handed = site.offload_parent
    return (site.kind.name, text, None if handed is None else ast.unparse(handed),
            site.type_checking, site.lambda_node is not None, site.container is not None)


def test_a_site_with_nothing_to_say_but_its_node_is_held_as_the_node() -> None:
    # ~370k sites on a site-packages, nineteen in twenty of them plain: a
    # record each (80 bytes) was 30 MB, alive until the second resolution,
    # which left their blocks as holes among the nodes' and the bindings'.
    from ambidex._callgraph._model import _Pending

    graph = build({"pkg/mod.py": SITES}, DEFAULT_TABLE, keep_sites=True, lazy=True)
    function = graph.functions["pkg.mod:plain"]
    # Only a site that says more than its node keeps a record: in a lambda,
    # in a display, under TYPE_CHECKING, returned.
    records = [_said(s) for s in function._pending if type(s) is _Pending]
    assert records == [
        said for said in EXPECTED_SITES
        if said[3] or said[4] or said[5] or (said[0] == "REF" and said[2] is None)
    ]
    assert len(records) == 7
    # What the walk says of each site, in its order, is what the records said
    # (a bare reference is handed to the call that holds it, found again
    # from the sites before it).
    assert [_said(site) for site in function.sites()] == EXPECTED_SITES


def test_the_never_awaited_checks_parent_map_holds_the_nodes_not_a_number_each() -> None:
    # ~130k entries on a site-packages: an int per key (32 bytes) and the
    # constants nobody asks the parent of were 5 MB at the lint's peak.
    from ambidex._unawaited import _Checker, async_side

    source = textwrap.dedent("""\
        import asyncio

        async def fetch(url, retries=3):
            await asyncio.sleep(0.5)
            return "body"

        async def main():
            fetch("a", retries=2)
            return await fetch("b")
        """)
    graph = build({"pkg/mod.py": source}, async_side(DEFAULT_TABLE), slim=True)
    checker = _Checker(graph, DEFAULT_TABLE, set(), lenient=True)
    found = checker.run()
    assert [(f.line, f.message.split(":")[0]) for f in found] == [(8, "coroutine never awaited")]
    assert checker.parents
    assert all(isinstance(key, ast.AST) for key in checker.parents)
    assert not any(isinstance(key, ast.Constant) for key in checker.parents)
    (call,) = [c for c in graph.functions["pkg.mod:main"].calls if c.line == 8]
    assert isinstance(checker.parents[call.node], ast.Expr)


def test_a_slim_build_binds_every_import_of_one_dotted_name_to_one_binding_and_tuple() -> None:
    # `import os` in a thousand modules binds one value (an import's depends
    # on its dotted name alone): ~40k import bindings on a site-packages, a
    # third as many names.
    text = "import os\nfrom socket import socket as sock\n\ndef f():\n    import os\n"
    graph = build({"a.py": text, "b.py": text}, DEFAULT_TABLE, slim=True)
    first, second = graph.modules["a.py"], graph.modules["b.py"]
    inner = graph.functions["b:f"].locals["os"]
    assert first.symbols["os"] is second.symbols["os"] is inner
    assert first.symbols["sock"] is second.symbols["sock"]
    (binding,) = first.symbols["sock"]
    assert (binding.kind, binding.dotted) == ("import", "socket.socket")
    # The parser's build (the port's) keeps one per statement.
    parsed = build({"a.py": text, "b.py": text}, DEFAULT_TABLE)
    assert parsed.modules["a.py"].symbols["os"][0] is not parsed.modules["b.py"].symbols["os"][0]
    # What the resolver says of them is the same.
    for graph_ in (graph, parsed):
        module = graph_.modules["b.py"]
        value = graph_.resolver.eval(ast.parse("sock").body[0].value, module)  # type: ignore[attr-defined]
        assert value is not None and value.dotted == "socket.socket"
