"""One name model: the call graph, both converters and the lint agree on what a
file is called and what its imports bind."""

from __future__ import annotations

import ast
import inspect

import pytest

from ambidex._callgraph import build
from ambidex._names import absolute_module, import_bindings, module_label, module_name_for
from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen import to_async, to_sync


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("src/pkg/_async/x.py", "pkg._async.x"),
        ("pkg/__init__.py", "pkg"),
        ("./pkg/mod.py", "pkg.mod"),
        ("pkg\\sub\\mod.py", "pkg.sub.mod"),
        ("notes.txt", None),
        # No import passes through a folder whose name is not an identifier: the
        # name starts below it (an unpacked sdist: aiohttp-3.14.5/aiohttp/client.py).
        ("my-dir/mod.py", "mod"),
        ("/tmp/dl/aiohttp-3.14.5/aiohttp/client.py", "aiohttp.client"),
        ("dl/aiofiles-25.1.0/src/aiofiles/__init__.py", "aiofiles"),
        ("dl/pkg-1.0/my-notes.py", None),
    ],
)
def test_a_path_has_one_module_name(path: str, name: str | None) -> None:
    assert module_name_for(path) == name


def test_the_call_graph_names_modules_as_an_import_would() -> None:
    # The call graph's key for a module stays unique: under a folder whose name is
    # not an identifier it is the whole path (a-1/util.py and b-2/util.py are two).
    graph = build({"src/pkg/a.py": "def f(): pass\n", "my-dir/b.py": "", "a-1/u.py": "",
                   "b-2/u.py": ""}, DEFAULT_TABLE)
    assert [m.name for m in graph.modules.values()] == ["pkg.a", "my-dir.b", "a-1.u", "b-2.u"]
    assert module_label("") == "__main__"


def test_relative_imports_resolve_against_the_package() -> None:
    assert absolute_module("pkg.sub.mod", False, "util", 2) == "pkg.util"
    assert absolute_module("pkg.sub", True, None, 1) == "pkg.sub"
    assert absolute_module("pkg.mod", False, None, 3) is None
    (node,) = ast.parse("from ..util import x as y").body
    assert isinstance(node, ast.ImportFrom)
    assert [b[:2] for b in import_bindings(node, "pkg.sub.mod", False)] == [("y", "pkg.util.x")]


def test_a_relative_import_into_a_src_layout_resolves_in_the_call_graph() -> None:
    graph = build(
        {
            "src/pkg/util.py": "import time\n\ndef nap() -> None:\n    time.sleep(1)\n",
            "src/pkg/client.py": "from .util import nap\n\ndef run() -> None:\n    nap()\n",
        },
        DEFAULT_TABLE,
    )
    run = graph.functions["pkg.client:run"]
    assert [c.callees[0].dotted for c in run.calls if c.callees] == ["pkg.util.nap"]


def test_the_call_graph_is_built_whole_with_its_resolver() -> None:
    graph = build({"m.py": "import time\nx = time.sleep\n"}, DEFAULT_TABLE)
    (module,) = graph.modules.values()
    value = module.tree.body[1]
    assert isinstance(value, ast.Assign)
    assert graph.dotted_name(value.value, module) == "time.sleep"


def test_both_converters_take_the_same_arguments() -> None:
    assert inspect.signature(to_sync) == inspect.signature(to_async)
