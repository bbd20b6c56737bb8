"""The calls a module makes outside its functions, and what becomes of each result.

One walk for the two readers of module-level code (:mod:`ambidex._toplevel`):
the port's check of its output, which asks about every call, and the lint's
``AMB301``, which asks about the calls whose result is dropped or used on the
spot, and keeps of a module's statements only the ones holding such a call
(:func:`ambidex._callgraph._slim.keep_definitions`). Pure :mod:`ast`: the
call graph's layer imports it.

A call's result is *kept for later* when it is bound to a name, an attribute
or an item (``coro = main()``), held in a list, tuple, set, dict or
comprehension (``tasks = [a(), b()]``): a coroutine kept may be run later,
which reading the module cannot follow. Anything else uses it on the spot: a
statement of its own drops it (``main()``), and an operand, a test, an
iterable, a ``with`` item, a decorator, an unpacking (``a, b = fetch()``) or
an attribute or item of it treats a coroutine as the value it would return.
A call handed to another call (``asyncio.run(main())``) or written in a lambda
is left out: what receives it takes care of it.

A result bound to a name that nothing names again (``forgotten = main()``,
in a class body too), or held in a container so bound (``batch = [a(), b()]``),
is not kept for anything: :func:`unused_results` finds those names from the
module's text (a word said once, where it is bound), and the readers hand them
to the walk.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from typing import NamedTuple

__all__ = ["ModuleCall", "bound_to_an_unused_name", "child_nodes", "held_calls",
           "is_main_block", "module_level_calls", "unused_results",
           "uses_a_result_on_the_spot"]

_CONTAINERS = (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp, ast.SetComp,
               ast.GeneratorExp, ast.DictComp)
_PLAIN_TARGETS = (ast.Name, ast.Attribute, ast.Subscript)


class ModuleCall(NamedTuple):
    call: ast.Call
    in_main: bool
    """In an ``if __name__ == "__main__":`` block."""
    statement: ast.stmt
    """The module's (or class body's) statement the call is in."""
    kept_for_later: bool
    """Its result is bound or held in a container (see the module's doc)."""


def is_main_block(statement: ast.stmt) -> bool:
    """``if __name__ == "__main__":`` (either way round)."""
    if not isinstance(statement, ast.If) or not isinstance(statement.test, ast.Compare):
        return False
    test = statement.test
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
        isinstance(s, ast.Constant) and s.value == "__main__" for s in sides
    )


def uses_a_result_on_the_spot(statement: ast.stmt,
                              unused: AbstractSet[str] = frozenset()) -> bool:
    """Whether a module's (or class body's) statement holds a call whose result
    it drops or uses at once: what the lint keeps of module-level code.
    ``unused``: :func:`unused_results` of the module."""
    return any(not found.kept_for_later for found in module_level_calls([statement],
                                                                        unused=unused))


def unused_results(body: list[ast.stmt], text: str) -> frozenset[str]:
    """The names that module-level code (class bodies and blocks included) binds
    to a call's result, ``name = f(...)``, or to a container holding calls
    (``name = [f(), g()]``, :func:`held_calls`), and that ``text``, the module's
    source, says only once: nothing reads them (a name in a string or a
    comment counts as read). Reads statements only, and the text at each
    such name: cheap next to the walk."""
    candidates: set[str] = set()
    todo = list(body)
    while todo:
        statement = todo.pop()
        if isinstance(statement, ast.Assign):
            targets = statement.targets
            if len(targets) == 1 and isinstance(targets[0], ast.Name) \
                    and _holds_a_call(statement.value):
                candidates.add(targets[0].id)
        elif isinstance(statement, ast.AnnAssign):
            if isinstance(statement.target, ast.Name) and statement.value is not None \
                    and _holds_a_call(statement.value):
                candidates.add(statement.target.id)
        elif not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for field in ("body", "orelse", "finalbody"):
                todo.extend(getattr(statement, field, ()))
            for inner in getattr(statement, "handlers", ()):
                todo.extend(inner.body)
            for case in getattr(statement, "cases", ()):
                todo.extend(case.body)
    return frozenset(name for name in candidates if _said_once(text, name))


def _holds_a_call(value: ast.expr) -> bool:
    return isinstance(value, ast.Call) or (isinstance(value, _CONTAINERS)
                                           and next(held_calls(value), None) is not None)


def held_calls(container: ast.expr) -> Iterator[ast.Call]:
    """The calls ``container`` holds as its elements, itself or through the
    containers it holds (a comprehension's element, not its iterables or tests)."""
    todo = [container]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            elements: list[ast.expr | None] = [*node.elts]
        elif isinstance(node, ast.Dict):
            elements = [*node.keys, *node.values]
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            elements = [node.elt]
        elif isinstance(node, ast.DictComp):
            elements = [node.key, node.value]
        else:
            continue
        for element in elements:
            if isinstance(element, ast.Call):
                yield element
            elif isinstance(element, _CONTAINERS):
                todo.append(element)


def _said_once(text: str, name: str) -> bool:
    """Whether ``name`` occurs in ``text`` as a whole word at most once."""
    seen = 0
    start = 0
    size = len(name)
    while True:
        at = text.find(name, start)
        if at < 0:
            return True
        end = at + size
        before = text[at - 1] if at else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before == "_" or after.isalnum() or after == "_"):
            seen += 1
            if seen > 1:
                return False
        start = end


def module_level_calls(body: list[ast.stmt], in_main: bool = False,
                       unused: AbstractSet[str] = frozenset()) -> Iterator[ModuleCall]:
    """The calls in ``body`` outside every function and lambda (the bodies of
    classes, blocks and ``__main__`` blocks included, decorators and default
    values of functions too); a call handed to another call is left out.
    ``unused``: names whose binding keeps nothing (:func:`unused_results`)."""
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for expression in [*statement.decorator_list, *statement.args.defaults,
                               *(d for d in statement.args.kw_defaults if d is not None)]:
                yield from _calls_in(expression, statement, in_main, statement, unused)
            continue
        main = in_main or is_main_block(statement)
        for field, value in ast.iter_fields(statement):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield from module_level_calls(value, main if field == "body" else in_main,
                                              unused)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.ExceptHandler):
                        if item.type is not None:
                            yield from _calls_in(item.type, item, in_main, statement, unused)
                        yield from module_level_calls(item.body, in_main, unused)
                    elif isinstance(item, ast.match_case):
                        yield from module_level_calls(item.body, in_main, unused)
                    elif isinstance(item, ast.AST):
                        yield from _calls_in(item, statement, in_main, statement, unused)
            elif isinstance(value, ast.AST):
                yield from _calls_in(value, statement, in_main, statement, unused)


def bound_to_an_unused_name(statement: ast.stmt, call: ast.Call,
                            unused: AbstractSet[str]) -> str | None:
    """The name ``statement`` binds ``call``'s result to, itself or held in a
    container (``batch = [f(), g()]``, :func:`held_calls`), when it is in ``unused``."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target: ast.expr = statement.targets[0]
    elif isinstance(statement, ast.AnnAssign):
        target = statement.target
    else:
        return None
    if not (isinstance(target, ast.Name) and target.id in unused):
        return None
    value = statement.value
    if value is call or (isinstance(value, _CONTAINERS)
                         and any(held is call for held in held_calls(value))):
        return target.id
    return None


def _held_by_an_unused_name(statement: ast.stmt, unused: AbstractSet[str]) -> set[int]:
    """The ids of the calls a container bound to a name in ``unused`` holds."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target: ast.expr = statement.targets[0]
    elif isinstance(statement, ast.AnnAssign):
        target = statement.target
    else:
        return set()
    value = statement.value
    if isinstance(target, ast.Name) and target.id in unused and isinstance(value, _CONTAINERS):
        return {id(call) for call in held_calls(value)}
    return set()


def _kept_for_later(parent: ast.AST, call: ast.Call, unused: AbstractSet[str],
                    held: AbstractSet[int]) -> bool:
    if unused and isinstance(parent, ast.stmt) and bound_to_an_unused_name(parent, call,
                                                                           unused):
        return False
    if id(call) in held:  # `batch = [f(), g()]`, nothing naming batch again
        return False
    if isinstance(parent, _CONTAINERS):
        return not (isinstance(parent, (ast.ListComp, ast.SetComp, ast.GeneratorExp))
                    and parent.elt is not call) and not (
                        isinstance(parent, ast.DictComp) and call not in (parent.key,
                                                                          parent.value))
    if isinstance(parent, ast.NamedExpr):
        return True
    if isinstance(parent, ast.Assign):
        return all(isinstance(t, _PLAIN_TARGETS) for t in parent.targets)
    if isinstance(parent, ast.AnnAssign):
        return isinstance(parent.target, _PLAIN_TARGETS)
    return False


def _calls_in(node: ast.AST, parent: ast.AST, in_main: bool,
              statement: ast.stmt, unused: AbstractSet[str]) -> Iterator[ModuleCall]:
    # A loop, not recursion: an annotation or an expression nested a thousand
    # deep (the lint reads such a module from the parser's tree) is walked too.
    todo: list[tuple[ast.AST, ast.AST]] = [(node, parent)]
    held = _held_by_an_unused_name(statement, unused) if unused else set()
    while todo:
        node, parent = todo.pop()
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Call):
            yield ModuleCall(node, in_main, statement,
                             _kept_for_later(parent, node, unused, held))
            todo.append((node.func, node))
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                # Handed to the call (asyncio.run(main())): the receiver's business.
                if not isinstance(argument, ast.Call):
                    todo.append((argument, node))
                else:
                    todo.append((argument.func, argument))
                    todo.extend((a, argument) for a in
                                [*argument.args, *(k.value for k in argument.keywords)])
            continue
        for child in child_nodes(node):
            todo.append((child, node))


_NO_CHILDREN = frozenset({"ctx", "op", "ops"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
"""Per node class: its fields but :data:`_NO_CHILDREN`, in order."""


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """:func:`ast.iter_child_nodes` of ``node`` as a list, in its order, without
    the leaves that the fields ``ctx``, ``op`` and ``ops`` hold (``Load``,
    ``Add``, ``Eq``: nothing is under them, nor is any a call or a definition).

    For the walks of module-level code (here and the port's editor), which
    visit every node outside the functions of every module: a list read from
    the fields is a third of the cost of the two generators of
    ``iter_child_nodes``.
    """
    kind = type(node)
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(f for f in kind._fields if f not in _NO_CHILDREN)
    children: list[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            children.append(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, ast.AST):
                    children.append(item)
    return children
