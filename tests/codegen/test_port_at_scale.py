"""The port's shortcuts for large trees keep its answers (issue 13, section 4).

``port --to async`` over 100k lines walks every syntax tree many times; the
shortcuts that make it cheaper must not change what it finds or writes:

* each text is parsed once: the tree of a converted text goes from the
  unused-import step to the renames, the compile check and the verification
  (which reads the output's own tree, never the source's); an output that
  only lost imports is not parsed at all: its tree is the one before the drop,
  moved (the same tree, tests/codegen/test_port_drop_imports.py);
* the compile check compiles that tree, and reports what compiling the text
  reports;
* marker comments are looked for with the tokenizer only in a text that can
  hold one, and the markers step looks into a block only when its lines hold
  a marker or spell a flag;
* the walks (``own_nodes``, the parent map) read each node's fields
  themselves, and visit what :func:`ast.iter_child_nodes` would, in its order;
  the port's parent maps leave out only leaves nobody asks about;
* the verification resolves the output's calls only, and looks for async
  generator expressions only in functions whose lines spell ``for`` and
  ``async``/``await``.

No timings here (the machine is shared): ``tools/bench/lint.py --scale`` has them.
"""

from __future__ import annotations

import ast
import ftplib
import inspect
import smtplib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ambidex._callgraph import build, own_nodes
from ambidex._callgraph._model import branch_parents, parent_map
from ambidex._rules import DEFAULT_TABLE
from ambidex._unawaited import _Checker, async_side, find_unawaited
from ambidex.codegen import _to_async as to_async_step
from ambidex.codegen._markers import marker_comments
from ambidex.codegen._renames import Renames, apply_renames
from ambidex.codegen._source import Diagnostic, Edits, SourceText, python_lines
from ambidex.codegen._to_async import compiled, to_async
from tests.codegen.test_to_async import SAMPLE

ROOT = Path(__file__).resolve().parents[2]

_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_port_parses_each_text_once_the_verification_reads_the_outputs_trees(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed: Counter[str] = Counter()
    real_parse = ast.parse

    def counting_parse(source: str | bytes, *args: Any, **kwargs: Any) -> Any:
        assert isinstance(source, str)
        parsed[source] += 1
        return real_parse(source, *args, **kwargs)

    monkeypatch.setattr(ast, "parse", counting_parse)
    read: dict[str, ast.Module] = {}
    real_verify = to_async_step.verify

    def reading_verify(*args: Any, trees: dict[str, ast.Module], **kwargs: Any) -> Any:
        read.update(trees)
        return real_verify(*args, trees=trees, **kwargs)

    monkeypatch.setattr(to_async_step, "verify", reading_verify)
    conversion = to_async(SAMPLE, table=DEFAULT_TABLE, renames={})
    assert not conversion.failed
    assert "import time" not in conversion.outputs["blocking/client.py"]  # a step changed it
    twice = {text[:60]: count for text, count in parsed.items() if count > 1}
    assert twice == {}
    for path, output in conversion.outputs.items():
        # The verification read the output itself: parsed from it, or (an output
        # that only lost imports) the tree before the drop, moved, which is its parse.
        assert parsed[output] == 1 or ast.dump(read[path], include_attributes=True) == (
            ast.dump(real_parse(output), include_attributes=True)
        )
    assert parsed[conversion.outputs["blocking/client.py"]] == 0  # (that was the moved tree)


BAD_OUTPUTS = [
    pytest.param("def f():\n    await g()\n", id="await-outside-async-def"),
    pytest.param("x = 1\nreturn x\n", id="return-outside-function"),
    pytest.param("nonlocal x\n", id="nonlocal-at-module-level"),
    pytest.param("async def f():\n    yield from g()\n", id="yield-from-in-async-def"),
    pytest.param("def f(x, x):\n    pass\n", id="duplicate-argument"),
    pytest.param("from __future__ import braces\n", id="future-feature"),
    pytest.param("def f(:\n    pass\n", id="does-not-parse"),
]


@pytest.mark.parametrize("text", BAD_OUTPUTS)
def test_the_compile_check_of_a_tree_reports_what_compiling_the_text_reports(text: str) -> None:
    with pytest.raises(SyntaxError) as expected:
        compile(text, "m.py", "exec", dont_inherit=True)
    try:
        tree: ast.Module | None = ast.parse(text, filename="m.py")
    except SyntaxError:
        tree = None  # the check parses it itself, and reports the parser's error
    diagnostics: list[Diagnostic] = []
    assert compiled("m.py", text, tree, diagnostics) is None
    assert diagnostics == [
        Diagnostic(
            "m.py",
            expected.value.lineno or 1,
            expected.value.offset or 1,
            f"internal error: the converted module does not compile ({expected.value.msg})",
        )
    ]


def test_the_compile_check_hands_back_the_tree_of_a_module_that_compiles() -> None:
    text = "async def f():\n    await g()\n"
    tree = ast.parse(text)
    diagnostics: list[Diagnostic] = []
    assert compiled("m.py", text, tree, diagnostics) is tree
    assert diagnostics == []
    parsed = compiled("m.py", text, None, diagnostics)
    assert parsed is not None and ast.dump(parsed) == ast.dump(tree)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x = 1  # ambidex: sync-only\r\ny = 2\r\n", {1: "sync-only"}),
        ("x = 1\ny = 2  # ambidex: allow-blocking (why)", {2: "allow-blocking"}),
        ("x = 1  # noqa: E501  # ambidex : sync-only\n", {1: "sync-only"}),
        ("x = '# ambidex: sync-only'\n", {}),
        ("x = 1  # ambidex: sync-only-ish\n", {}),
        ("# Generated by ambidex from a/_async/m.py: do not edit.\nx = 1\n", {}),
        ("x = 1  # ambidex:\n# sync-only\n", {}),
    ],
)
def test_markers_are_found_with_any_line_ending_and_only_in_comments(
    text: str, expected: dict[int, str]
) -> None:
    assert {line: marker.kind for line, marker in marker_comments(text).items()} == expected


def _stdlib_trees() -> Iterator[ast.AST]:
    for module in (smtplib, ast, inspect):
        yield ast.parse(inspect.getsource(module))


def test_own_nodes_visits_what_iter_child_nodes_reaches_in_the_same_order() -> None:
    def reference(function: ast.AST) -> Iterator[ast.AST]:
        todo = list(ast.iter_child_nodes(function))
        while todo:
            node = todo.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            yield node
            todo.extend(ast.iter_child_nodes(node))

    compared = 0
    for tree in _stdlib_trees():
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.Lambda, ast.ClassDef)):
                assert [id(n) for n in own_nodes(node)] == [id(n) for n in reference(node)]
                compared += 1
    assert compared > 300


def test_the_parent_map_is_the_breadth_first_walks_map() -> None:
    for tree in _stdlib_trees():
        reference: dict[int, ast.AST] = {}
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                reference[id(child)] = parent
        found = parent_map(tree)
        assert found.keys() == reference.keys()
        # ast.Load() and ast.Store() are shared by every name: the last parent wins.
        assert all(found[key] is reference[key] for key in reference)


def test_the_renames_walk_is_skipped_only_where_no_rename_can_apply() -> None:
    segments_only = Renames.build({}, to="async")
    assert not segments_only.may_apply("import os\n\nos.getcwd()\n")
    assert segments_only.may_apply("from pkg._sync.client import Client\n")
    assert segments_only.may_apply("from . import _sync\n")
    # A user's rename may apply where its key is not written (a relative import
    # resolved against a renamed package): never skipped.
    assert Renames.build({"pkg.old": "pkg.new"}, to="async").may_apply("import os\n")
    assert Renames.build({"Client": "AsyncClient"}, to="async").may_apply("import os\n")


def test_the_port_still_renames_the_sync_segments_it_must() -> None:
    modules = {
        "pkg/_sync/client.py": "from pkg._sync.conn import Conn\nfrom . import conn\n",
        "pkg/_sync/conn.py": "import time\n\n\nclass Conn:\n    def wait(self) -> None:\n"
        "        time.sleep(1)\n",
    }
    conversion = to_async(modules, table=DEFAULT_TABLE, renames={})
    assert not conversion.failed, conversion.diagnostics
    assert conversion.outputs["pkg/_sync/client.py"].startswith(
        "from pkg._async.conn import Conn\n"
    )


def test_the_ports_parent_maps_leave_out_only_constants_contexts_and_operators() -> None:
    leaves = (ast.Constant, ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
    for tree in _stdlib_trees():
        full = parent_map(tree)
        found = branch_parents(tree)
        assert found.keys() <= full.keys()
        assert all(found[key] is full[key] for key in found)
        missing = full.keys() - found.keys()
        left_out = {id(n): n for n in ast.walk(tree) if id(n) in missing}
        assert left_out and all(isinstance(n, leaves) for n in left_out.values())
        assert not any(isinstance(n, ast.Constant) for n in ast.walk(tree) if id(n) in found)


def test_an_async_generator_expression_is_found_however_its_for_is_spelled() -> None:
    # The check walks a function only if its lines spell `for` (and async or
    # await): `)for(` and a `for` alone on a continuation line count.
    source = """\
async def tight(items):
    return any(await(x)for(x)in(items))


async def spread(items):
    return sum(
        await x
        for
        x in items
    )


async def plain(items):
    \"\"\"Waits for nothing: a format, a forum, before and after.\"\"\"
    return await items.format()
"""
    findings = find_unawaited({"m.py": source}, DEFAULT_TABLE, lenient=True)
    assert [(f.line, f.col) for f in findings] == [(2, 12), (6, 12)]
    graph = build({"m.py": source}, async_side(DEFAULT_TABLE))
    checker = _Checker(graph, DEFAULT_TABLE, set(), lenient=True)
    walked = {f.name: checker.may_hold_async_genexp(f) for f in graph.functions.values()}
    assert walked == {"tight": True, "spread": True, "plain": True}  # "for" in the docstring
    graph = build({"m.py": source.replace("Waits for", "Waits on")}, async_side(DEFAULT_TABLE))
    checker = _Checker(graph, DEFAULT_TABLE, set(), lenient=True)
    assert not checker.may_hold_async_genexp(graph.functions["m:plain"])


_FLAVOURED = {
    "a flag and a dropped method, last of its class": """\
IS_ASYNC = False


class C:
    def a(self):
        return 1

    @staticmethod  # ambidex: sync-only
    def b():
        return 2
""",
    "branches kept and dropped, last in nested blocks": """\
IS_ASYNC = False


class C:
    def f(self, x):
        if x:
            y = 1
        else:
            y = 2
        if IS_ASYNC:
            return "async"
        else:
            return "sync"


def g():
    try:
        pass
    except ValueError:
        if not IS_ASYNC:
            print("sync")
""",
    "an elif, a one-line block, semicolons, a partly folded test": """\
IS_ASYNC = False
x = 1; IS_ASYNC = False


def f(a):
    if a:
        pass
    elif IS_ASYNC:
        return 1
    for i in a: IS_ASYNC = False
    if IS_ASYNC and a:
        return 2
    while a:
        a -= 1; b = 2  # ambidex: sync-only
""",
    "a block that ends at a semicolon": """\
IS_ASYNC = False


def f():
    if not IS_ASYNC:
        return 1
    else:
        g();
""",
    "every statement of a block dropped": """\
def f():
    x = 1  # ambidex: sync-only
    y = 2  # ambidex: sync-only


class D:
    def f(self):  # ambidex: sync-only
        pass
""",
    "a match statement": """\
IS_ASYNC = False


def f(c):
    match c:
        case 1:
            pass
        case _:
            if IS_ASYNC:
                return 1
            else:
                return 2
""",
    "a dropped statement with a blank line in it": """\
class C:
    def f(self):  # ambidex: sync-only

        return 1

    def g(self):
        return 2
""",
}


@pytest.mark.parametrize("name", list(_FLAVOURED))
def test_the_markers_steps_tree_is_the_parse_of_the_text_it_returns(name: str) -> None:
    # The source's tree, with what the markers changed parsed again in place,
    # stands for the whole text's parse: node for node, position for position.
    from ambidex.codegen._to_async.flavour import markers_applied

    source = _FLAVOURED[name]
    output, tree = markers_applied(source)
    assert output != source
    if tree is not None:
        expected = ast.dump(ast.parse(output), include_attributes=True)
        assert ast.dump(tree, include_attributes=True) == expected
    elif name != "a dropped statement with a blank line in it":  # that one gains a line
        pytest.fail("the tree was not kept")


_LOOKED_INTO = {
    "a marker deep in a method": """\
class C:
    def f(self, x):
        for i in x:
            with open(i) as f:
                if f:
                    y = 2  # ambidex: sync-only
        return x
""",
    "a flag deep in an except clause and a match case": """\
IS_ASYNC = False


class C:
    def f(self, x):
        while x:
            try:
                pass
            except ValueError:
                match x:
                    case 1:
                        if IS_ASYNC:
                            a()
                        else:
                            b()
""",
    "a flag on a continuation line": """\
IS_ASYNC = False


def f(x):
    if x:
        if (x and
                not IS_ASYNC):
            return 1
""",
    "a psycopg-style comment deep in a method": """\
class C:
    def f(self):
        if self:
            if True:  # ASYNC
                return 1
            else:
                return 2
""",
    # The parser reads a name in other characters as its NFKC form: this
    # `if` tests IS_ASYNC though the text never spells it in ASCII.
    "a flag written in full-width letters": """\
\uff29\uff33_ASYNC = False


def f(x):
    while x:
        if not \uff29\uff33_ASYNC:
            return 1
        return 2
""",
}


def _texts_with_markers_or_flags() -> Iterator[tuple[str, str]]:
    yield from _FLAVOURED.items()
    yield from _LOOKED_INTO.items()
    for path in sorted(ROOT.glob("examples/*/_sync/*.py")):
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
    for module in (smtplib, ftplib):
        yield module.__name__, inspect.getsource(module).replace("if ", "if IS_ASYNC and ")


def test_the_markers_step_looks_into_a_block_only_when_its_lines_hold_a_marker_or_a_flag(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What it returns (text, tree with positions, whether lines went) is what
    # looking into every block returns.
    from ambidex.codegen._to_async import flavour

    def result(text: str) -> tuple[str, str | None, bool]:
        output, tree, dropped = flavour.markers_step(text)
        dump = ast.dump(tree, include_attributes=True) if tree is not None else None
        return output, dump, dropped

    texts = dict(_texts_with_markers_or_flags())
    pruned = {name: result(text) for name, text in texts.items()}
    monkeypatch.setattr(flavour, "_lines_to_look_at", lambda *args: None)
    whole = {name: result(text) for name, text in texts.items()}
    assert pruned == whole
    for name in _LOOKED_INTO:
        assert pruned[name][0] != texts[name], name  # something deep changed
    changed = [name for name, text in texts.items() if pruned[name][0] != text]
    assert len(changed) > len(_FLAVOURED) + len(_LOOKED_INTO)  # the examples and stdlib too


def test_the_lines_the_markers_step_looks_at_are_the_markers_and_the_flags_lines() -> None:
    from ambidex.codegen._to_async.flavour import _lines_to_look_at

    text = "x = 1\n\nif IS_ASYNC:\r\n    y = 2  # ambidex: sync-only\rz = IS_ASYNC\n"
    lines = python_lines(text)
    markers = marker_comments(text, ast.parse(text))
    assert _lines_to_look_at(text, lines, markers, {"IS_ASYNC": "async"}) == [3, 4, 5]
    assert _lines_to_look_at("\u00e9 = 1\n", ["\u00e9 = 1\n"], {}, {"IS_ASYNC": "async"}) is None

def test_renames_of_module_segments_alone_visit_the_imports_and_change_what_the_full_walk_does(
) -> None:
    # With no --rename, the port's renames are the `_sync` -> `_async` segments,
    # which only import statements can spell: those alone are visited, wherever
    # they stand, and the edits are the ones the walk over every node makes.
    from ambidex.codegen._renames import RenameWalker, apply_renames
    from ambidex.codegen._source import Edits, SourceText

    nested = """\
from pkg._sync import client
import pkg._sync.conn as conn


def f():
    from ._sync import helper
    try:
        import pkg._sync.x
    except ImportError:
        from . import _sync
    else:
        from .._sync.y import z
    finally:
        import other._sync
    match helper:
        case 1:
            from pkg._sync import case_import
    with open("pkg._sync.txt"):
        x: "pkg._sync.Client" = pkg._sync.x
    return [_sync for _sync in ()]


class C:
    if True:
        from pkg._sync import in_class
"""
    renames = Renames.build({}, to="async")
    assert renames.in_imports_only
    sources = [nested, *(path.read_text() for path in _EXAMPLES.glob("*/_sync/*.py"))]
    for text in sources:
        tree = ast.parse(text)
        fast, full = Edits(SourceText(text)), Edits(SourceText(text))
        apply_renames(tree, SourceText(text), fast, renames, "pkg._sync.m")
        RenameWalker(SourceText(text), full, renames, "pkg._sync.m").visit(tree)
        assert fast.apply() == full.apply()
    out = Edits(SourceText(nested))
    apply_renames(ast.parse(nested), SourceText(nested), out, renames, "pkg._sync.m")
    assert out.apply().count("_async") == 9  # the nine imports; no other spelling
    assert not Renames.build({"Client": "AsyncClient"}, to="async").in_imports_only


IMPORT_SHAPES = [
    "from pkg._sync import client\n",
    "import pkg._sync.conn as conn\n",
    "import _sync\n",
    "from . import _sync\n",
    "from .. import _sync as s\n",
    "from ._sync import helper\n",
    "from .._sync.y import z\n",
    "def f():\n    try:\n        pass\n    except ImportError:\n        import other._sync\n",
    "match x:\n    case 1:\n        from pkg._sync import m\n",
    "class C:\n    if True:\n        from pkg._sync import in_class\n",
    # No rename: the segment is not a part of a module path the walker renames.
    "from pkg import _sync\n",
    "from .client import Client\n",
    "from . import client\n",
    "from __future__ import annotations\n",
    "import pkg_sync, a._syncing\n",
    "from x import _sync_helper\n",
    '"""The _sync twin, generated from pkg._sync."""\nimport os\n',
    "x = '_sync'\nfrom pkg.sync import y  # _sync\n",
]


@pytest.mark.parametrize("text", IMPORT_SHAPES)
def test_a_module_is_skipped_by_the_segment_renames_only_when_they_would_change_nothing(
    text: str,
) -> None:
    # The port skips the renames of a module whose imports spell no segment
    # to rename (`_sync` in a docstring): the walk would make no edit there,
    # whatever the module's own package (relative imports in a `_sync` one).
    renames = Renames.build({}, to="async")
    tree = ast.parse(text)
    for module, package in (("pkg._sync.m", False), ("pkg._sync", True), ("m", False)):
        edits = Edits(SourceText(text))
        apply_renames(tree, SourceText(text), edits, renames, module, is_package=package)
        assert renames.renames_an_import(tree) == bool(len(edits)), module


def test_the_examples_twins_are_renamed_the_same_with_the_import_check() -> None:
    from ambidex.codegen._to_async.finish import rename

    renames = Renames.build({}, to="async")
    checked = 0
    for path in sorted(_EXAMPLES.glob("*/_sync/*.py")):
        text = path.read_text()
        tree = ast.parse(text)
        edits = Edits(SourceText(text))
        apply_renames(tree, SourceText(text), edits, renames, "pkg._sync." + path.stem)
        output, kept = rename(f"pkg/_sync/{path.name}", text, renames, [], tree)
        assert output == (edits.apply() if len(edits) else text)
        assert (kept is tree) == (not len(edits))
        checked += renames.may_apply(text) and not renames.renames_an_import(tree)
    assert checked >= 5  # docstrings that spell `_sync`, no import that does
