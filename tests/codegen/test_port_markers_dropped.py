"""The markers step says whether it dropped lines; only then can a definition
have gone, and only those modules are compared with their source.

The port refuses a call of a definition the markers left out
(:mod:`ambidex.codegen._to_async.leftout`), which parses each source again to
list what it defined. A module whose markers only flipped a flag's value, or
folded a test in place, keeps every statement: its source is not parsed
again. These tests pin that whenever a definition went, the step said it
dropped lines -- a block emptied to ``pass`` included -- and that the refusal
is the same with the shortcut.
"""

from __future__ import annotations

import ast

import pytest

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_async import to_async
from ambidex.codegen._to_async.flavour import markers_step
from ambidex.codegen._to_async.leftout import _definitions

SHAPES = {
    "a method alone in its class": (
        "class C:\n    def f(self): return 1  # ambidex: sync-only\n", True),
    "a method among others": (
        "class C:\n    def f(self):  # ambidex: sync-only\n        return 1\n\n"
        "    def g(self):\n        return self.f()\n", True),
    "a function in a flag's sync branch": (
        "IS_ASYNC = False\nif not IS_ASYNC:\n    def f():\n        return 1\n", True),
    "a flag's two branches, one def each": (
        "IS_ASYNC = False\nif IS_ASYNC:\n    def f():\n        return 1\nelse:\n"
        "    def f():\n        return 2\n", False),
    "a flag's value flipped": ("IS_ASYNC = False\n\n\ndef f():\n    return IS_ASYNC\n", False),
    "a test folded in place": (
        "IS_ASYNC = False\n\n\ndef f(x):\n    if IS_ASYNC and x:\n        return 1\n", False),
    "a one-line flag branch": ("IS_ASYNC = False\nif not IS_ASYNC: f = 1\n", False),
    "a class on one line": ("class C: pass  # ambidex: sync-only\nx = 1\n", True),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_a_definition_goes_only_where_the_markers_step_dropped_lines(name: str) -> None:
    text, definition_goes = SHAPES[name]
    output, tree, dropped = markers_step(text)
    after = tree if tree is not None else ast.parse(output)
    went = _definitions(ast.parse(text)) != _definitions(after)
    assert went == definition_goes
    if went:
        assert dropped


def test_a_method_left_out_alone_in_its_class_and_still_called_is_refused() -> None:
    source = (
        "import time\n\n\nclass C:\n    def f(self):  # ambidex: sync-only\n"
        "        time.sleep(1)\n\n\ndef g(c: C):\n    time.sleep(1)\n    return c.f()\n"
    )
    result = to_async({"m.py": source}, table=DEFAULT_TABLE, renames={})
    assert any("C.f() is left out of the port" in d.message and d.error
               for d in result.diagnostics)
