"""Syntax trees in a third of the memory, for analyses that only read them.

A node made by :func:`ast.parse` is a small object with a ``__dict__`` of its
six or seven fields: 48 bytes, plus a 272-byte dict table, plus a 32-byte
``int`` for each line number above 256. A venv's site-packages parses into
about 2.4 million such nodes: 900 MB, most of what ``ambidex lint`` held at
its peak. The same node as an instance of a subclass of its own class with
``__slots__`` for those fields keeps no dict (120 bytes for a call);
positions share one ``int`` per value; empty lists share one list.

:func:`slim_tree` rebuilds a tree that way. Every node of the copy is an
instance of (a subclass of) the original node's class, named like it, with
the same fields and positions, so ``isinstance``, :func:`ast.walk`,
:func:`ast.iter_child_nodes` and :func:`ast.unparse` read it unchanged. Three
differences, all harmless to a reader that only looks:

* the copy is **read-only**: empty lists are one shared list (appending to
  ``node.keywords`` of one node would add a keyword to all of them);
* only definitions (``def``, ``async def``, ``class``) keep where they **end**
  (``end_lineno``, ``end_col_offset``): the lint asks where a definition ends
  (which lines an allow by name covers, which lines a function spans) and
  never where an expression or another statement does; other nodes read
  ``None`` there, as a node the parser did not place does (16 bytes a node,
  40 MB on a site-packages);
* ``type(node) is ast.Name`` is false (it is a subclass): test with
  ``isinstance``, or with :data:`NAME_OR_CONSTANT`; and :func:`ast.dump`
  prints ``None`` fields it would leave out (class defaults are shadowed).

Rebuilding costs about a microsecond per node in Python, once; the lint pays
it for the memory (the port edits its trees and keeps :func:`ast.parse`'s).
When the optional C module ``_slimcopy`` was built (with ``ambidex.io``'s
accelerator, by the same build hook and switch: ``AMBIDEX_BUILD_EXTENSIONS``),
the copy runs there, a tenth of that, into the same tree; without it, with
``AMBIDEX_NO_EXTENSIONS=1``, or when it was built from another version of its
source, the Python copy below runs. :func:`copied_in_c` says which.
"""

from __future__ import annotations

import ast
import functools
import sys
from typing import Any

from ambidex._compiled import load
from ambidex._modulecalls import uses_a_result_on_the_spot

#: Classes kept by :mod:`ast` for old code (``ast.Num``...): never produced by the parser.
_DEPRECATED = frozenset(
    {"Num", "Str", "Bytes", "NameConstant", "Ellipsis", "Index", "ExtSlice", "Suite",
     "AugLoad", "AugStore", "Param", "slice"}
)
#: Nodes without fields that the parser shares (``ast.Load()``, ``ast.Add()``): kept as they are.
_SHARED = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)


def _concrete(base: type[ast.AST]) -> list[type[ast.AST]]:
    found: list[type[ast.AST]] = []
    for sub in base.__subclasses__():
        if sub.__name__ in _DEPRECATED or sub.__module__ != "ast" or issubclass(sub, _SHARED):
            continue
        below = _concrete(sub)
        found.extend(below if below else [sub])
    return found


#: The nodes whose end positions the copy keeps (see the module's doc).
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
#: The end positions every other node leaves out.
_ENDS = ("end_lineno", "end_col_offset")


def _slim_class(kind: type[ast.AST]) -> type[ast.AST]:
    slots = tuple(dict.fromkeys((*kind._fields, *kind._attributes)))
    if not issubclass(kind, _DEFINITIONS):
        slots = tuple(name for name in slots if name not in _ENDS)
    return type(kind.__name__, (kind,), {"__slots__": slots, "__module__": kind.__module__,
                                        "__qualname__": kind.__qualname__})


#: Each node class the parser makes -> its slotted twin.
_SLIM: dict[type, type[ast.AST]] = {kind: _slim_class(kind) for kind in _concrete(ast.AST)}

#: ``ast.Name``, ``ast.Constant`` and their slotted twins: the leaves a walk can skip.
NAME_OR_CONSTANT = frozenset(
    {ast.Name, ast.Constant, _SLIM[ast.Name], _SLIM[ast.Constant]}
)


#: Fields that hold a name, a number or a flag, never a node or a list of nodes.
PLAIN_FIELDS = frozenset(
    {"ctx", "op", "id", "attr", "arg", "asname", "module", "level", "is_async", "conversion",
     "kind", "type_comment", "simple", "tag"}
)


#: How deep the C copy goes before it gives up as the Python copy does (RecursionError).
_C_DEPTH = 1000


@functools.cache
def _c_copy() -> Any:
    """The C module's copy with its per-class plans, or None (see the module's doc)."""
    _slimcopy: Any = load("ambidex._callgraph._slimcopy")
    if _slimcopy is None:
        return None
    plans: dict[type, Any] = {}
    for kind, twin in _SLIM.items():
        definition = issubclass(kind, _DEFINITIONS)
        slots = []
        for name in vars(twin)["__slots__"]:
            if name in twin._fields and name not in PLAIN_FIELDS:
                treatment = _slimcopy.CHILD
            elif name == "lineno" or (name == "end_lineno" and definition):
                treatment = _slimcopy.LINE
            else:
                treatment = _slimcopy.PLAIN
            slots.append((name, treatment))
        plans[kind] = _slimcopy.plan(twin, tuple(slots))
    copy = _slimcopy.copy

    def c_copy(tree: ast.Module, limit: int) -> Any:
        return copy(tree, plans, {}, [], limit)

    return c_copy


def copied_in_c() -> bool:
    """Whether :func:`slim_tree` copies in C in this process (see the module's doc)."""
    return _c_copy() is not None


def slim_tree(tree: ast.Module, *, pure: bool = False) -> ast.Module:
    """``tree`` with its nodes replaced by slotted twins (see the module's doc).

    The nodes of ``tree`` are taken apart on the way (their children move to
    the twins): use the result, never ``tree`` again. Raises :class:`RecursionError` for
    a tree nested too deep to copy (a few hundred levels): parse the text
    again then. ``pure`` copies in Python even when the C copy is there.
    """
    c_copy = None if pure else _c_copy()
    if c_copy is not None:
        limit = min(sys.getrecursionlimit(), _C_DEPTH)
        result: ast.AST = c_copy(tree, limit)
        assert isinstance(result, ast.Module)
        return result
    numbers: dict[int, int] = {}
    shared_number = numbers.setdefault
    empty: list[ast.AST] = []
    slim = _SLIM
    # Per class: the fields that may hold nodes, and whether it keeps its end.
    classes: dict[type, tuple[tuple[str, ...], bool]] = {}

    def copy(node: ast.AST) -> ast.AST:
        kind = type(node)
        values = node.__dict__
        known = classes.get(kind)
        if known is None:
            known = classes[kind] = (
                tuple(n for n in kind._fields if n not in PLAIN_FIELDS),
                issubclass(kind, _DEFINITIONS),
            )
        names, keeps_end = known
        for name in names:
            value = values[name]
            if type(value) is list:
                if value:
                    for index, item in enumerate(value):
                        if type(item) in slim:
                            value[index] = copy(item)
                else:
                    values[name] = empty
            elif type(value) in slim:
                values[name] = copy(value)
        line = values.get("lineno")
        if line is not None:
            if line > 256:  # smaller ones are shared by CPython already
                values["lineno"] = shared_number(line, line)
            if not keeps_end:
                del values["end_lineno"], values["end_col_offset"]
            else:
                end = values["end_lineno"]
                if end is not None and end > 256:
                    values["end_lineno"] = shared_number(end, end)
        return slim[kind](**values)

    result = copy(tree)
    assert isinstance(result, ast.Module)
    return result


def keep_definitions(tree: ast.Module, unused: frozenset[str] = frozenset()) -> None:
    """Drop from the bodies of ``tree`` and of its classes every statement but
    the definitions (``def``, ``async def``, ``class``), once the call graph's
    walk has read them: the lint reads a module's statements through what the
    walk recorded (a binding keeps its value, a function its node), and its
    bodies only for the definitions in them (an allow by name). A module's
    top-level code is a twentieth of a site-packages' nodes. What the
    never-awaited check at module level reads stays too
    (:mod:`ambidex._toplevel`): a statement holding a call whose result it
    drops or uses on the spot (``main()``, ``a, b = fetch()``, a loop or a
    ``try`` around them, the ``if __name__ == "__main__":`` block), not one that
    only keeps results (``log = getLogger(__name__)``); a result bound to a
    name in ``unused`` (:func:`ambidex._modulecalls.unused_results`: nothing
    reads it) is kept nowhere, so its statement stays."""
    todo: list[ast.Module | ast.ClassDef] = [tree]
    while todo:
        node = todo.pop()
        kept: list[ast.stmt] = [
            s for s in node.body
            if isinstance(s, _DEFINITIONS) or uses_a_result_on_the_spot(s, unused)
        ]
        if len(kept) != len(node.body):
            node.body = kept
        todo.extend(s for s in kept if isinstance(s, ast.ClassDef))


