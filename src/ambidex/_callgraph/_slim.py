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
:func:`ast.iter_child_nodes` and :func:`ast.unparse` read it unchanged. Four
differences, all harmless to a reader that only looks:

* the copy is **read-only**: empty lists are one shared list (appending to
  ``node.keywords`` of one node would add a keyword to all of them);
* only definitions (``def``, ``async def``, ``class``) keep where they **end**
  (``end_lineno``, ``end_col_offset``): the lint asks where a definition ends
  (which lines an allow by name covers, which lines a function spans) and
  never where an expression or another statement does; other nodes read
  ``None`` there, as a node the parser did not place does (16 bytes a node,
  40 MB on a site-packages);
* no **type comment** is kept (``# type: int`` after an assignment, an
  argument, a ``for``, a ``with``, a ``def``): the parser gives them only when
  asked (``type_comments=True``), which nothing here does, and a twin reads
  ``None`` there as the parser's nodes do; without that slot, an assignment,
  an argument or a ``with`` is 80 bytes, not 96 (~3 MB of a site-packages);
* ``type(node) is ast.Name`` is false (it is a subclass): test with
  ``isinstance``, or with :data:`NAME_OR_CONSTANT`; and :func:`ast.dump`
  prints ``None`` fields it would leave out (class defaults are shadowed).

After the call graph's walk, a slim build also **prunes function bodies**
(:func:`prune_bodies`): the walk recorded what the analysis reads again (call
sites, what each name is bound to, the definitions), so a body keeps only
the subtrees that hold one of those nodes, or a ``return``, ``await`` or
``yield`` (what :func:`ambidex._callgraph.own_nodes` readers look for), and
what holds them; every other place holds the one :data:`PRUNED` node (a list
whose items all went becomes one shared list of as many). An ``if``'s test
without a call, an assignment's targets, an ``except``'s type go: about a
seventh of a site-packages' nodes. A reader that needs all of a function (the
never-awaited check's parent map) asks :class:`ambidex._callgraph.WholeBodies`
to put the pruned places back from the source, into the same nodes.

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
#: Statements that hold no expression, so no call (a third of a module's
#: top-level statements are imports): :func:`keep_definitions` drops them
#: without walking them.
_NO_EXPRESSION = (ast.Import, ast.ImportFrom, ast.Pass, ast.Global, ast.Nonlocal)
#: The end positions every other node leaves out.
_ENDS = ("end_lineno", "end_col_offset")


#: What no twin keeps: the parser gives a type comment only when asked
#: (``type_comments=True``), which no analysis here does (see the module's doc).
_NOT_KEPT = ("type_comment",)


def _slim_class(kind: type[ast.AST]) -> type[ast.AST]:
    slots = tuple(dict.fromkeys((*kind._fields, *kind._attributes)))
    slots = tuple(name for name in slots if name not in _NOT_KEPT)
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


#: ``ast.Constant`` and its slotted twin.
CONSTANTS = frozenset({ast.Constant, _SLIM[ast.Constant]})


#: Fields that hold a name, a number or a flag, never a node or a list of nodes.
PLAIN_FIELDS = frozenset(
    {"ctx", "op", "id", "attr", "arg", "asname", "module", "level", "is_async", "conversion",
     "kind", "type_comment", "simple", "tag"}
)


#: How deep the C copy goes before it gives up as the Python copy does (RecursionError).
_C_DEPTH = 1000


def _c_plans() -> tuple[Any, dict[type, Any]] | None:
    """The C module and its per-class plans (node class -> Plan), or None
    (made anew at each call: the copy and the pruning cache what they use)."""
    _slimcopy: Any = load("ambidex._callgraph._slimcopy")
    if _slimcopy is None:
        return None
    plans: dict[type, Any] = {}
    for kind, twin in _SLIM.items():
        definition = issubclass(kind, _DEFINITIONS)
        slots = []
        for name in vars(twin)["__slots__"]:
            if kind is ast.Constant and name == "value":
                treatment = _slimcopy.VALUE
            elif name in twin._fields and name not in PLAIN_FIELDS:
                treatment = _slimcopy.CHILD
            elif name == "lineno" or (name == "end_lineno" and definition):
                treatment = _slimcopy.LINE
            else:
                treatment = _slimcopy.PLAIN
            slots.append((name, treatment))
        plans[kind] = _slimcopy.plan(twin, tuple(slots))
    return _slimcopy, plans


@functools.cache
def _c_copy() -> Any:
    """The C module's copy with its per-class plans, or None (see the module's doc)."""
    found = _c_plans()
    if found is None:
        return None
    _slimcopy, plans = found
    copy = _slimcopy.copy

    def c_copy(tree: ast.Module, limit: int, shared: dict[object, object]) -> Any:
        return copy(tree, plans, shared, [], limit)

    return c_copy


def copied_in_c() -> bool:
    """Whether :func:`slim_tree` copies in C in this process (see the module's doc)."""
    return _c_copy() is not None


def slim_tree(
    tree: ast.Module, *, pure: bool = False, shared: dict[object, object] | None = None
) -> ast.Module:
    """``tree`` with its nodes replaced by slotted twins (see the module's doc).

    The nodes of ``tree`` are taken apart on the way (their children move to
    the twins): use the result, never ``tree`` again. Raises :class:`RecursionError` for
    a tree nested too deep to copy (a few hundred levels): parse the text
    again then. ``pure`` copies in Python even when the C copy is there.
    ``shared`` is the pool of values the copies of one analysis share (the
    lint's build passes one for all its modules): a line number above 256
    and a string constant (or an int one above 256) is one object per value
    in all of them (a site-packages' 1.3 million such line numbers are 17k
    values, its 270k string constants 127k: 22 MB less); without it, per tree.
    """
    numbers: dict[object, object] = {} if shared is None else shared
    c_copy = None if pure else _c_copy()
    if c_copy is not None:
        limit = min(sys.getrecursionlimit(), _C_DEPTH)
        result: ast.AST = c_copy(tree, limit, numbers)
        assert isinstance(result, ast.Module)
        return result
    shared_number = numbers.setdefault
    constant = ast.Constant
    empty: list[ast.AST] = []
    slim = _SLIM
    # Per class: the fields that may hold nodes, whether it keeps its end, and
    # whether it has a type comment (never a slot).
    classes: dict[type, tuple[tuple[str, ...], bool, bool]] = {}

    def copy(node: ast.AST) -> ast.AST:
        kind = type(node)
        values = node.__dict__
        known = classes.get(kind)
        if known is None:
            known = classes[kind] = (
                tuple(n for n in kind._fields if n not in PLAIN_FIELDS),
                issubclass(kind, _DEFINITIONS),
                "type_comment" in kind._fields,
            )
        names, keeps_end, commented = known
        if commented:
            del values["type_comment"]  # (not a slot: the class's None is read)
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
        if kind is constant:
            value = values["value"]
            if type(value) is str or (type(value) is int and value > 256):
                values["value"] = shared_number(value, value)
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
            if isinstance(s, _DEFINITIONS)
            or (
                not isinstance(s, _NO_EXPRESSION)
                and _may_hold_call(s)
                and uses_a_result_on_the_spot(s, unused)
            )
        ]
        if len(kept) != len(node.body):
            node.body = kept
        todo.extend(s for s in kept if isinstance(s, ast.ClassDef))




def _may_hold_call(statement: ast.stmt) -> bool:
    """False when no call is written anywhere in ``statement`` (a slim tree),
    so that no result can be dropped there: what :func:`keep_definitions`
    asks first, since a site-packages binds ~15k names to tables of literals
    at module level, and this scan is a third of the cost of
    :func:`ambidex._modulecalls.module_level_calls`' walk, which finds no call
    in them either. True when it finds one, or meets a node that is not a
    slotted twin (a parser's tree: the long way decides)."""
    todo: list[object] = [statement]
    children = _CHILDREN
    call = _CALL
    while todo:
        node = todo.pop()
        kind = type(node)
        if kind is call:
            return True
        fields = children.get(kind)
        if fields is None:
            if isinstance(node, ast.AST):
                return True
            continue  # None, a str, a constant's value
        for name in fields:
            value = getattr(node, name)
            if type(value) is list:
                todo.extend(value)
            else:
                todo.append(value)
    return False


class _Pruned(ast.AST):
    """What stands where :func:`prune_bodies` took a subtree out (one node for all)."""

    __slots__ = ()
    _fields = ()
    _attributes = ()


#: The one node every pruned place holds (see :func:`prune_bodies`).
PRUNED = _Pruned()

_TWINS = frozenset(_SLIM.values())
#: Kept whole wherever they are: what the readers that walk a function's own
#: nodes without its parents look for (``return`` values, ``await``, ``yield``).
_WHOLE = frozenset(_SLIM[kind] for kind in (ast.Return, ast.Await, ast.Yield, ast.YieldFrom))
#: Definitions: their signatures (arguments, decorators, bases, returns) are kept
#: whole, their bodies pruned.
_BODIES_ONLY = frozenset(_SLIM[kind] for kind in (*_DEFINITIONS,))
#: Loops the walk records as a site (``for x in items:``): kept with their
#: target and what they iterate, their blocks pruned.
_LOOPS = frozenset(_SLIM[kind] for kind in (ast.For, ast.AsyncFor))
_BLOCKS: dict[type, tuple[str, ...]] = {
    **{kind: ("body",) for kind in _BODIES_ONLY},
    **{kind: ("body", "orelse") for kind in _LOOPS},
}


def _child_fields(kind: type) -> tuple[str, ...]:
    return tuple(name for name in getattr(kind, "_fields", ()) if name not in PLAIN_FIELDS)


_CHILDREN: dict[type, tuple[str, ...]] = {twin: _child_fields(twin) for twin in _TWINS}
_CALL = _SLIM[ast.Call]


def prune_bodies(tree: ast.Module, refs: set[ast.AST], *, pure: bool = False) -> None:
    """Take out of the bodies of ``tree``'s functions every subtree that
    holds nothing in ``refs`` (the nodes the call graph's walk kept a
    reference to) and no ``return``/``await``/``yield``, putting
    :data:`PRUNED` in its place (see the module's doc). The definitions
    pruned are those of the module's body and of its classes' (the
    statements around them, which :func:`keep_definitions` chose, stay).
    ``pure`` prunes in Python even when the C module is there. Raises
    :class:`RecursionError` for a body nested too deep (what was pruned
    until then stays pruned, and the rest whole)."""
    c_prune = None if pure else _c_prune()
    keep = _keep if c_prune is None else c_prune
    todo: list[ast.Module | ast.ClassDef] = [tree]
    while todo:
        node = todo.pop()
        for statement in node.body:
            kind = type(statement)
            if kind is _CLASS:
                todo.append(statement)  # type: ignore[arg-type]
            elif kind in _BODIES_ONLY:
                keep(statement, refs)


@functools.cache
def _c_pruning() -> tuple[Any, dict[type, tuple[int, Any, int]]] | None:
    """The C module (its ``prune`` and ``pool``) and their table: each twin ->
    (its role, its plan, the mask of its block slots); None without the C
    module (see :func:`prune_bodies`)."""
    found = _c_plans()
    if found is None:
        return None
    _slimcopy, plans = found
    table: dict[type, tuple[int, Any, int]] = {}
    for kind, twin in _SLIM.items():
        if twin in _WHOLE:
            role = _slimcopy.WHOLE
        elif twin in _BODIES_ONLY:
            role = _slimcopy.BODIES
        elif twin in _LOOPS:
            role = _slimcopy.LOOP
        else:
            role = _slimcopy.OTHER
        blocks = _BLOCKS.get(twin, ())
        slots = vars(twin)["__slots__"]
        mask = sum(1 << index for index, name in enumerate(slots) if name in blocks)
        table[twin] = (role, plans[kind], mask)
    return _slimcopy, table


def _c_prune() -> Any:
    """The C module's pruning of one definition, or None (see :func:`prune_bodies`)."""
    found = _c_pruning()
    if found is None:
        return None
    _slimcopy, table = found
    prune = _slimcopy.prune
    limit = min(sys.getrecursionlimit(), _C_DEPTH)

    def c_prune(node: ast.AST, refs: set[ast.AST]) -> bool:
        return bool(prune(node, refs, table, PRUNED, _PRUNED_LISTS, limit))

    return c_prune


_CLASS = _SLIM[ast.ClassDef]
#: Per length, the one list of that many :data:`PRUNED` that stands for every
#: list whose items were all pruned (read-only, as the shared empty list).
_PRUNED_LISTS: dict[int, list[ast.AST]] = {}


def _keep(node: ast.AST, refs: set[ast.AST]) -> bool:
    """Whether ``node`` stays, once what it holds was pruned (see :func:`prune_bodies`)."""
    kind = type(node)
    if kind in _WHOLE:
        return True
    fields = _BLOCKS.get(kind)
    if fields is None or (kind in _LOOPS and node not in refs):
        if node in refs:
            return True
        fields = _CHILDREN[kind]
        kept = False
    else:
        kept = True
    twins = _TWINS
    for name in fields:
        value = getattr(node, name)
        if type(value) is list:
            some = other = False
            for index, item in enumerate(value):
                if type(item) not in twins:
                    other = True  # an operator, a None (``{**rest}``'s key)
                elif _keep(item, refs):
                    some = True
                else:
                    value[index] = PRUNED
            if some:
                kept = True
            elif value and not other:  # all pruned: one list of PRUNED serves all such places
                shared = _PRUNED_LISTS.get(len(value))
                if shared is None:
                    shared = _PRUNED_LISTS[len(value)] = [PRUNED] * len(value)
                setattr(node, name, shared)
        elif type(value) in twins:
            if _keep(value, refs):
                kept = True
            else:
                setattr(node, name, PRUNED)
    return kept


#: The displays a table of literals is written with (the slotted twins).
DISPLAYS = frozenset(_SLIM[kind] for kind in (ast.Tuple, ast.List, ast.Set, ast.Dict))
_DICT = _SLIM[ast.Dict]
_CONSTANT = _SLIM[ast.Constant]


def share_constants(display: ast.expr, pool: dict[object, ast.AST]) -> None:
    """Put in ``display`` (a slim tuple, list, set or dict display, and those
    nested in it) one constant node per value: the first of ``pool`` with the
    same type, value and kind (the pool of one build, for all its modules).

    For the values a module or a class binds names to, once the call graph's
    walk has read them: a site-packages binds names to tables of literals
    (token lists, code pages, option tuples: 250k constants, 96k values),
    which the resolver reads only for what each constant is (its type; the
    value where one is asked). The shared node stands where each was, with
    the first one's position: use it only where no reader asks a constant
    where it is or what holds it (the bodies of functions are not such a
    place: the never-awaited check maps their parents)."""
    displays = DISPLAYS
    if type(display) not in displays:
        return
    todo: list[ast.AST] = [display]
    while todo:
        node = todo.pop()
        places = (node.keys, node.values) if type(node) is _DICT else (node.elts,)  # type: ignore[attr-defined]
        for items in places:
            for index, item in enumerate(items):
                kind = type(item)
                if kind is _CONSTANT:
                    value = item.value
                    # A str (most of them) is its own key: no other key equals it.
                    key = (
                        value
                        if type(value) is str and item.kind is None
                        else (type(value), value, item.kind)
                    )
                    shared = pool.setdefault(key, item)
                    if shared is not item:
                        items[index] = shared
                elif kind in displays:
                    todo.append(item)


#: Sites whose position is that of their child: a ``for``'s (or a
#: comprehension's) iterable, a ``with`` item's expression. A constant there
#: keeps its own node (:func:`pool_constants`).
_FIXED = frozenset(_SLIM[kind] for kind in (ast.For, ast.AsyncFor, ast.comprehension, ast.withitem))


def pool_constants(
    tree: ast.Module, refs: set[ast.AST], pool: dict[object, ast.AST], *, pure: bool = False
) -> None:
    """Put in the definitions :func:`prune_bodies` pruned (their signatures
    and what their bodies kept) one constant node per value: the first of
    ``pool`` (the build's, which :func:`share_constants` fills too) with the
    same type, value and kind. A site-packages' functions keep ~190k
    constants of ~43k values: 11 MB of nodes, at the lint's peak.

    A constant keeps its own node where a reader may ask where it is or
    what holds it: when the walk's records refer to it (``refs``: a name is
    bound to it) or when its parent is a site placed at it (:data:`_FIXED`).
    The never-awaited check's parent maps leave constants out
    (:func:`ambidex._callgraph._model.parents_by_node`); every other reader
    asks a constant what it is (its type, its value), which the shared node
    answers alike. ``pure`` pools in Python even when the C module is there.
    Raises :class:`RecursionError` for a definition nested too deep (what was
    pooled until then stays pooled; a tree the copy made is never that deep)."""
    c_pool = None if pure else _c_pool()
    todo: list[ast.Module | ast.ClassDef] = [tree]
    while todo:
        node = todo.pop()
        for statement in node.body:
            kind = type(statement)
            if kind is _CLASS:
                todo.append(statement)  # type: ignore[arg-type]
            elif kind in _BODIES_ONLY:
                if c_pool is not None:
                    c_pool(statement, refs, pool)
                else:
                    _pool(statement, refs, pool)


def _c_pool() -> Any:
    """The C module's pooling of one definition, or None (see :func:`pool_constants`)."""
    found = _c_pruning()
    if found is None:
        return None
    _slimcopy, table = found
    pool = _slimcopy.pool
    limit = min(sys.getrecursionlimit(), _C_DEPTH)

    def c_pool(node: ast.AST, refs: set[ast.AST], shared: dict[object, ast.AST]) -> None:
        pool(node, refs, table, shared, _FIXED, _CONSTANT, limit)

    return c_pool


def _pool(node: ast.AST, refs: set[ast.AST], pool: dict[object, ast.AST]) -> None:
    """:func:`pool_constants` of one definition, in Python: depth first, the
    fields and the items of lists in order, as the C walk goes (the first
    constant of a value met is the one kept)."""
    fixed = type(node) in _FIXED
    for name in _CHILDREN.get(type(node), ()):
        value = getattr(node, name)
        if type(value) is list:
            for index, item in enumerate(value):
                if type(item) is _CONSTANT:
                    shared = _pooled(item, refs, pool)
                    if shared is not item:
                        value[index] = shared
                elif type(item) in _CHILDREN:
                    _pool(item, refs, pool)
        elif type(value) is _CONSTANT:
            if not fixed:
                shared = _pooled(value, refs, pool)
                if shared is not value:
                    setattr(node, name, shared)
        elif type(value) in _CHILDREN:
            _pool(value, refs, pool)


def _pooled(item: ast.AST, refs: set[ast.AST], pool: dict[object, ast.AST]) -> ast.AST:
    """The node ``pool`` keeps for the value of ``item`` (a slim constant), or
    ``item`` itself when the walk's records refer to it."""
    if item in refs:
        return item
    value = item.value  # type: ignore[attr-defined]
    kind = item.kind  # type: ignore[attr-defined]
    key = value if type(value) is str and kind is None else (type(value), value, kind)
    return pool.setdefault(key, item)


def has_pruned(node: ast.AST) -> bool:
    """Whether :func:`prune_bodies` took something out under ``node``."""
    todo = [node]
    pruned = PRUNED
    while todo:
        node = todo.pop()
        for name in node._fields:
            value = getattr(node, name, None)
            if value is pruned:
                return True
            if type(value) is list:
                for item in value:
                    if item is pruned:
                        return True
                    if isinstance(item, ast.AST):
                        todo.append(item)
            elif isinstance(value, ast.AST):
                todo.append(value)
    return False


def graft(kept: ast.AST, whole: ast.AST) -> None:
    """Put back into ``kept`` (a pruned definition) what :func:`prune_bodies`
    took out, from ``whole``: the same definition parsed and copied again.
    The nodes ``kept`` still has stay (they are the ones the call graph
    refers to); each :data:`PRUNED` is replaced by its twin from ``whole``."""
    pruned = PRUNED
    children = _CHILDREN  # (PRUNED is never put in a plain field: no need to look there)
    todo = [(kept, whole)]
    while todo:
        mine, theirs = todo.pop()
        fields = children.get(type(mine))
        for name in mine._fields if fields is None else fields:
            value = getattr(mine, name, None)
            if value is pruned:
                setattr(mine, name, getattr(theirs, name))
            elif type(value) is list:
                if value and all(item is pruned for item in value):
                    setattr(mine, name, getattr(theirs, name))  # (maybe a shared list)
                elif value:
                    other = getattr(theirs, name)
                    for index, item in enumerate(value):
                        if item is pruned:
                            value[index] = other[index]
                        elif isinstance(item, ast.AST):
                            todo.append((item, other[index]))
            elif isinstance(value, ast.AST):
                todo.append((value, getattr(theirs, name)))


def pruned_definitions(tree: ast.Module) -> dict[tuple[int, int], ast.AST]:
    """The definitions :func:`prune_bodies` prunes in ``tree`` (those of the
    module's body and of its classes'), by (line, column)."""
    found: dict[tuple[int, int], ast.AST] = {}
    todo: list[ast.Module | ast.ClassDef] = [tree]
    while todo:
        node = todo.pop()
        for statement in node.body:
            if isinstance(statement, ast.ClassDef):
                todo.append(statement)
            elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[statement.lineno, statement.col_offset] = statement
    return found
