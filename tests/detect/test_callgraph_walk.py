"""The call graph's one walk of a module records every site and binding, in order.

The indexer (:mod:`ambidex._callgraph._index`) visits every statement and
expression of a module once and records, per function, its call sites
(``f()``), ``with`` and ``for`` sites, references handed on (a function passed,
returned or put in a container), and the bindings of its names; per class and
module, their attributes and symbols. The resolver reads those lists in their
order (the first binding that tells wins), so the order is part of the
result. These tests pin the walk's output on a module with every kind of
statement and expression that holds one (``tests/fixtures/walk``), for the
parser's tree and the lint's slim copy alike: a faster walk must record the
same things in the same order.
"""

from __future__ import annotations

import ast
from pathlib import Path

from ambidex._callgraph import CallGraph, build
from ambidex._rules import DEFAULT_TABLE

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "walk"


def _recorded(graph: CallGraph) -> list[str]:
    """What the walk recorded, one line per function, site, binding list, class and module."""
    lines: list[str] = []
    for fn in graph.functions.values():
        lines.append(f"F {fn.key} generator={fn.is_generator}")
        for pending in fn.sites():
            node = pending.node
            at: ast.expr | ast.stmt
            if isinstance(node, ast.withitem):
                at = node.context_expr
            elif isinstance(node, ast.comprehension):
                at = node.iter
            else:
                assert isinstance(node, (ast.expr, ast.stmt))
                at = node
            lines.append(
                f"  {pending.kind.value} {type(node).__name__} {at.lineno}:{at.col_offset}"
                f" tc={pending.type_checking} handed={pending.offload_parent is not None}"
                f" lambda={pending.lambda_node is not None}"
                f" container={pending.container is not None}"
            )
        for name, bindings in fn.locals.items():
            kinds = " ".join(f"{b.kind}@{getattr(b.expr, 'lineno', '-')}" for b in bindings)
            lines.append(f"  L {name} {kinds}")
    for cls in graph.classes.values():
        attrs = " ".join(f"{k}:" + ",".join(b.kind for b in v) for k, v in cls.attrs.items())
        lines.append(f"C {cls.key} {attrs}")
    for module in graph.modules.values():
        symbols = " ".join(f"{k}:" + ",".join(b.kind for b in v) for k, v in module.symbols.items())
        lines.append(f"S {symbols}")
        lines.append(f"I {len(module.imports)}")
    return lines


def test_the_walk_records_every_site_and_binding_of_every_kind_of_statement_in_order() -> None:
    text = (FIXTURE / "every_statement.py").read_text(encoding="utf-8")
    expected = (FIXTURE / "every_statement.sites").read_text(encoding="utf-8").splitlines()
    for slim in (False, True):
        graph = build({"pkg/sample.py": text}, DEFAULT_TABLE, keep_sites=True, lazy=True,
                      slim=slim)
        recorded = _recorded(graph)
        if slim:
            # A slim build keeps no import statements (their names are bound):
            # the walk met the same ones as the parser's tree's.
            assert [line for line in recorded if line.startswith("I ")] == ["I 0"]
            recorded = [line for line in recorded if not line.startswith("I ")]
            expected = [line for line in expected if not line.startswith("I ")]
        assert recorded == expected, f"slim={slim}"
