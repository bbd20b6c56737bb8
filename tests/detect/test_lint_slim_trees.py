"""The lint holds slim syntax trees, and they read as the parser's do.

On a venv's site-packages the syntax trees were most of the lint's memory
(900 MB of 1.3 GB): a node of :func:`ast.parse` keeps a dict of its fields.
The lint's call graph keeps copies whose nodes are slotted twins of the
parser's classes (:mod:`ambidex._callgraph._slim`). These tests pin that the
copy is the same tree (fields, positions, unparsed text), that the call
graph resolves every call of it as it resolves the parser's tree, that the
lint really keeps no node dict, and that a module too deep to copy is linted
from the parser's tree.
"""

from __future__ import annotations

import ast
import os
import sysconfig
import textwrap
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ambidex import _sourcefiles
from ambidex._callgraph import (
    CallGraph,
    CallKind,
    Function,
    async_and_for_lines,
    build,
    resolve_again,
)
from ambidex._callgraph._slim import slim_tree
from ambidex._modulecalls import uses_a_result_on_the_spot
from ambidex._rules import DEFAULT_TABLE
from ambidex._sourcefiles import SourceFiles
from ambidex._unawaited import async_side
from ambidex.detect import _lint
from ambidex.detect._lint import _analyse, lint_paths, lint_sources
from tests.detect.conftest import parsed

ROOT = Path(__file__).resolve().parents[2]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
#: Shared by the parser (``ast.Load()``...): not copied.
_SHARED = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)


def _modules() -> dict[str, str]:
    modules: dict[str, str] = {}
    for folder in ("src/ambidex", "examples"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            modules[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    for name in ("ftplib.py", "smtplib.py", "poplib.py", "imaplib.py", "http/client.py",
                 "asyncio/streams.py", "asyncio/base_events.py"):
        modules[f"stdlib/{name}"] = (STDLIB / name).read_text(encoding="utf-8")
    return modules


def _slotted(node: ast.AST) -> bool:
    """A slim node: its class keeps its fields in slots (``__dict__`` stays unmade)."""
    return "__slots__" in vars(type(node))


def _same_tree(slim: object, parsed: object) -> None:
    if not isinstance(parsed, ast.AST) or isinstance(parsed, _SHARED):
        assert slim == parsed
        return
    assert isinstance(slim, type(parsed)) and type(slim).__name__ == type(parsed).__name__
    assert _slotted(slim)
    definition = isinstance(parsed, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    for name in (*parsed._fields, *parsed._attributes):
        mine, theirs = getattr(slim, name), getattr(parsed, name)
        if name in ("end_lineno", "end_col_offset") and not definition:
            assert mine is None  # only definitions keep where they end
            continue
        if isinstance(theirs, list):
            assert isinstance(mine, list) and len(mine) == len(theirs)
            for one, other in zip(mine, theirs, strict=True):
                _same_tree(one, other)
        else:
            _same_tree(mine, theirs)


def test_a_slim_tree_has_the_parsers_nodes_fields_positions_and_text() -> None:
    # Positions: where each node starts; where a definition ends (the lint reads no other end).
    modules = _modules()
    some = [p for p in modules if p.startswith(("stdlib/", "src/ambidex/_callgraph/"))]
    for path in some:
        text = modules[path]
        slim = slim_tree(ast.parse(text, filename=path))
        parsed = ast.parse(text, filename=path)
        _same_tree(slim, parsed)
        assert ast.unparse(slim) == ast.unparse(parsed), path


def _calls(graph: CallGraph) -> list[tuple[object, ...]]:
    """Every call the graph resolved, spelled without node identities."""
    return [
        (
            function.key, call.kind, call.line, call.col, call.name,
            tuple(c.key for c in call.callees), tuple(c.key for c in call.overrides),
            call.cls.key if call.cls else None, call.rule.sync if call.rule else None,
            call.instance_type, call.slot, call.offloaded, call.type_checking,
            (call.passed_to[0].key, call.passed_to[1]) if call.passed_to else None,
            call.stored_in is not None,
        )
        for function in graph.functions.values()
        for call in graph.calls_of(function)
    ]


def test_the_call_graph_of_slim_trees_resolves_every_call_as_that_of_parsed_trees() -> None:
    modules = _modules()
    slim = build(modules, DEFAULT_TABLE, keep_sites=True, slim=True)
    whole = build(modules, DEFAULT_TABLE, trees=parsed(modules), keep_sites=True)
    slim_calls, parsed_calls = _calls(slim), _calls(whole)
    assert len(slim_calls) > 5_000
    assert slim_calls == parsed_calls
    # ... and through the table's async side, as the never-awaited check reads them.
    side = async_side(DEFAULT_TABLE)
    slim_calls = _calls(resolve_again(slim, side, kinds=(CallKind.CALL,)))
    parsed_calls = _calls(resolve_again(whole, side, kinds=(CallKind.CALL,)))
    assert len(slim_calls) > 5_000
    assert slim_calls == parsed_calls


def test_the_lint_keeps_no_node_dict_of_the_trees_it_analyses() -> None:
    modules = {path: text for path, text in _modules().items() if path.startswith("src/")}
    graph, _blocking, _unawaited = _analyse(modules, DEFAULT_TABLE, ())
    nodes = [n for m in graph.modules.values() for n in ast.walk(m.tree)
             if not isinstance(n, _SHARED)]
    assert len(nodes) > 50_000
    assert all(_slotted(n) for n in nodes)
    # Of a module's and a class's body it keeps the definitions (the walk has
    # read the rest: bindings keep their values, functions their nodes), and
    # what the never-awaited check at module level reads: a statement holding
    # a call whose result it drops or uses on the spot (ambidex._toplevel), or
    # binds to a name nothing reads (the module's `unused`).
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    bodies = [(m.tree.body, m) for m in graph.modules.values()]
    bodies += [(c.node.body, c.module) for c in graph.classes.values()
               if "<locals>" not in c.qualname]
    assert all(isinstance(s, definitions) or uses_a_result_on_the_spot(s, m.unused_results())
               for body, m in bodies for s in body)
    assert sum(len(body) for body, _ in bodies) > 1_000


def test_the_lints_graph_keeps_no_text_only_the_lines_the_never_awaited_check_reads() -> None:
    modules = {path: text for path, text in _modules().items() if path.startswith("stdlib/")}
    graph = build(modules, DEFAULT_TABLE, keep_sites=True, lazy=True, slim=True)
    assert graph.modules.keys() == modules.keys()
    for path, module in graph.modules.items():
        assert module.text == ""
        assert module.async_lines == async_and_for_lines(modules[path])
    # The asyncio modules spell both words; the blocking clients spell neither.
    assert all(graph.modules[f"stdlib/asyncio/{name}.py"].lines_of_async_and_for()[0]
               for name in ("streams", "base_events"))
    assert graph.modules["stdlib/poplib.py"].lines_of_async_and_for() == ([], [])
    # A graph that keeps its texts answers the same from the text.
    kept = build(modules, DEFAULT_TABLE, trees=parsed(modules))
    assert all(kept.modules[p].text == modules[p] and kept.modules[p].async_lines is None
               for p in modules)
    assert all(kept.modules[p].lines_of_async_and_for() == graph.modules[p].async_lines
               for p in modules)


def test_lint_paths_holds_no_text_and_reads_each_file_as_lint_sources_does(
    tmp_path, monkeypatch
) -> None:
    sources = {
        "a.py": "import time\n\nasync def f():\n    time.sleep(1)  # ambidex: allow-blocking\n",
        "b.py": "import time\n\nasync def g():\n    time.sleep(1)  # ambidex: allow-blocking why\n"
                "    time.sleep(2)\n",
        "c.py": "def broken(:\n",
        "d.py": "x = 1  # ambidex: allow-blocking for nothing\n",
    }
    for name, text in sources.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "e.py").write_bytes(b"\xff\xfe not utf-8\n")
    monkeypatch.chdir(tmp_path)
    held: list[Mapping[str, str]] = []
    real = _lint._analyse

    def spy(modules: Mapping[str, str], *args: Any) -> Any:
        held.append(modules)
        return real(modules, *args)

    monkeypatch.setattr(_lint, "_analyse", spy)
    from_paths = lint_paths([str(tmp_path)], strict=True)
    (modules,) = held
    assert isinstance(modules, SourceFiles)  # reads a file when asked, keeps nothing
    # The files that read, each read once, as the analysis parses it.
    assert dict(modules.items()) == {name: text for name, text in sources.items()}
    from_sources = lint_sources(sources, strict=True)
    assert [(f.path, f.line, f.code) for f in from_paths.findings] == [
        (f.path, f.line, f.code) for f in from_sources.findings
    ]
    assert [f.code for f in from_paths.findings] == ["AMB103", "AMB101", "AMB102"]
    assert [(f.path, f.message[:12]) for f in from_paths.syntax_errors] == [
        ("e.py", "cannot read:"), ("c.py", "cannot parse"),
    ]


def test_lint_paths_reads_each_file_once(tmp_path: Path, monkeypatch: Any) -> None:
    # Each text was read twice: for its allow comments (and to know it reads),
    # then again as the analysis parsed it.
    sources = {
        "a.py": "import time\n\nasync def f():\n    time.sleep(1)  # ambidex: allow-blocking\n",
        "b.py": "import time\n\nasync def g():\n    time.sleep(2)\n",
        "c.py": "def broken(:\n",
    }
    for name, text in sources.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "e.py").write_bytes(b"\xff\xfe not utf-8\n")
    monkeypatch.chdir(tmp_path)
    reads: Counter[str] = Counter()
    real = _sourcefiles.read_source

    def counted(path: str | os.PathLike[str]) -> str:
        reads[Path(path).name] += 1
        return real(path)

    monkeypatch.setattr(_sourcefiles, "read_source", counted)
    monkeypatch.setattr(_lint, "read_source", counted, raising=False)
    result = lint_paths([str(tmp_path)], strict=True)
    assert reads == {"a.py": 1, "b.py": 1, "c.py": 1, "e.py": 1}
    assert [(f.path, f.line, f.code) for f in result.findings] == [
        ("a.py", 4, "AMB103"), ("b.py", 4, "AMB101"),
    ]
    assert [(f.path, f.message[:12]) for f in result.syntax_errors] == [
        ("e.py", "cannot read:"), ("c.py", "cannot parse"),
    ]


def test_a_file_that_does_not_read_takes_no_module_name(tmp_path: Path, monkeypatch: Any) -> None:
    # `lint a b`, each with pkg/util.py: the names collide, and every module is
    # named by its display path instead; not when one of the two does not read.
    for root in ("a-1", "b-1"):
        (tmp_path / root / "pkg").mkdir(parents=True)
        (tmp_path / root / "pkg" / "util.py").write_text("x = 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    named: list[Mapping[str, str] | None] = []
    real = _lint._analyse

    def spy(modules: Mapping[str, str], table: Any, blocking: Any,
            names: Mapping[str, str] | None = None) -> Any:
        named.append(names)
        return real(modules, table, blocking, names)

    monkeypatch.setattr(_lint, "_analyse", spy)
    lint_paths(["a-1", "b-1"])
    assert named.pop() == {}  # (each module named by its display path)
    (tmp_path / "b-1" / "pkg" / "util.py").write_bytes(b"\xff\xfe not utf-8\n")
    result = lint_paths(["a-1", "b-1"])
    names = named.pop()
    assert names is not None and names["a-1/pkg/util.py"] == "pkg.util"
    assert [(f.path, f.message[:12]) for f in result.syntax_errors] == [
        ("b-1/pkg/util.py", "cannot read:"),
    ]


def test_a_module_too_deep_to_rebuild_is_linted_from_the_parsers_tree() -> None:
    # An annotation the walk never enters, nested deeper than the copy can recurse.
    deep = "x: " + ".".join(["a"] * 1500) + "\n"
    blocking = textwrap.dedent("""
        import time

        async def handler():
            time.sleep(1)
    """)
    modules = {"deep.py": deep + blocking, "plain.py": blocking}
    graph = build(modules, DEFAULT_TABLE, slim=True)
    assert not _slotted(graph.modules["deep.py"].tree)  # the parser's
    assert _slotted(graph.modules["plain.py"].tree)
    result = lint_sources(modules)
    assert not result.syntax_errors
    assert [(f.path, f.line, f.code) for f in result.findings] == [
        ("deep.py", 6, "AMB101"), ("plain.py", 5, "AMB101"),
    ]


def test_the_lint_reports_an_async_generator_expression_handed_to_any_in_its_slim_trees() -> None:
    # The lint's trees are slotted twins of the parser's classes: a check that
    # tests `type(node) is ast.Call` finds nothing in them (main 1e95ed6 lost
    # this finding that way; the port, on the parser's trees, kept it).
    result = lint_sources({"m.py": textwrap.dedent("""\
        async def agen():
            yield 1


        async def main():
            return any(x async for x in agen())
        """)})
    assert [(f.line, f.code, f.message.split(" is handed")[0]) for f in result.findings] == [
        (6, "AMB301", "`any`")
    ]


def test_the_lints_build_holds_one_object_per_line_number_and_string_constant_of_all_modules() -> (
    None
):
    text = "\n" * 300 + textwrap.dedent("""\
        def f():
            return "a string constant every module repeats" + "!"
        """)
    graph = build({"a.py": text, "b.py": text}, DEFAULT_TABLE, slim=True)
    found = [
        [
            value
            for node in ast.walk(module.tree)
            for value in (getattr(node, "lineno", None), getattr(node, "value", None))
            if type(value) is str or (type(value) is int and value > 256)
        ]
        for module in graph.modules.values()
    ]
    assert found[0] == found[1] and len(found[0]) == 7  # 5 line numbers, 2 constants
    assert all(a is b for a, b in zip(*found, strict=True))


def test_the_lints_build_holds_one_constant_node_per_value_in_the_literal_tables_names_hold() -> (
    None
):
    # A site-packages binds names to tables of literals (lexers' token lists,
    # code pages, option tuples): 250k constants the lint reads only through
    # their values' types. Equal constants in them are one node.
    text = textwrap.dedent("""\
        TABLE = ("utf-8", "latin-1", "utf-8", 7, 7, u"utf-8", (b"x", b"x"))

        class Codec:
            names = {"utf-8": "a", "b": ["a", None]}

            def __init__(self):
                self.order = ["latin-1", "utf-8"]
        """)
    graph = build({"m.py": text, "n.py": text}, DEFAULT_TABLE, slim=True)
    constants: dict[tuple[type, object, object], set[int]] = {}
    bindings = [
        *(b for module in graph.modules.values() for bs in module.symbols.values() for b in bs),
        *(b for cls in graph.classes.values() for bs in cls.attrs.values() for b in bs),
    ]
    in_functions = [b for b in bindings if isinstance(b.scope, Function)]
    # What a function keeps of its constants is one node per value too
    # (pool_constants, before the module's tables): the first module's.
    assert len(in_functions) == 2
    first, second = (b.expr.elts for b in in_functions)  # type: ignore[union-attr]
    assert [c.lineno for c in first] == [7, 7] and len({id(c) for c in first}) == 2
    assert all(a is b for a, b in zip(first, second, strict=True))
    for binding in bindings:
        if binding.kind == "value" and binding.expr is not None and binding not in in_functions:
            for node in ast.walk(binding.expr):
                if isinstance(node, ast.Constant):
                    constants.setdefault(
                        (type(node.value), node.value, node.kind), set()
                    ).add(id(node))
    assert len(constants) == 8
    assert all(len(ids) == 1 for ids in constants.values()), constants
    # What the resolver says of them is what it says of the parser's tree.
    parsed = build({"m.py": text, "n.py": text}, DEFAULT_TABLE)
    for graph_ in (graph, parsed):
        module = graph_.modules["m.py"]
        table = module.symbols["TABLE"][0].expr
        assert table is not None
        value = graph_.resolver.eval(table, module)
        assert value is not None
        assert value.elements == ("str", "str", "str", None, None, "str", None)
