"""async -> sync, the guarantee for what the markers leave out: nothing kept names it.

``# ambidex: async-only`` (or ``--async-only QUALNAME``, or the branch of a
colour flag that only async code runs) leaves a definition out of the sync
twin. The code the twin keeps must not name it: ``await helper()`` became
``helper()`` on a function the twin no longer has, a ``NameError`` when it
runs, and the port said nothing (exit 0). Towards async the call graph
answers the same question (:mod:`ambidex.codegen._to_async.leftout`); here,
without one, what can be known by reading is checked:

* a left-out function or class of a module named by that module's kept code,
  or imported by another module of the port;
* a left-out method called through ``self``/``cls`` in its own class, or
  through the class's name, when the class keeps no other definition of it.

Each is an error at its place.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping

from ambidex._names import absolute_module, is_package_path, module_name_for
from ambidex.codegen._source import Diagnostic

__all__ = ["names_of_left_out"]

_BLOCKS = (ast.If, ast.Try, ast.With)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def names_of_left_out(trees: Mapping[str, ast.Module],
                      skips: Mapping[str, set[int]]) -> list[Diagnostic]:
    """The places the kept code names a definition the markers left out.

    ``skips``: per module, the ids of the statements the flavour plan drops
    (:attr:`ambidex.codegen._to_sync.flavour.Plan.skip`).
    """
    functions: dict[str, set[str]] = {}
    """Module name -> its top-level definitions left out."""
    methods: dict[tuple[str, str], set[str]] = {}
    """(path, class name) -> its methods left out."""
    for path, skip in skips.items():
        if not skip:
            continue
        dropped, kept = _split(trees[path].body, skip)
        gone = {s.name for s in dropped if isinstance(s, _DEFINITIONS)} - _bound(kept)
        name = module_name_for(path)
        if gone and name is not None:
            functions[name] = gone
        for statement in kept:
            if isinstance(statement, ast.ClassDef):
                out, stays = _split(statement.body, skip)
                lost = {s.name for s in out if isinstance(s, _DEFINITIONS)} - _bound(stays)
                if lost:
                    methods[(path, statement.name)] = lost
    if not functions and not methods:
        return []
    found: list[Diagnostic] = []
    for path, tree in trees.items():
        found.extend(sorted(_places(path, tree, skips.get(path, set()), functions, methods),
                            key=lambda d: (d.line, d.col)))
    return found


def _split(body: list[ast.stmt], skip: set[int]) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """The statements of ``body`` (and of its top-level ``if``/``try``/``with``
    blocks) that the plan drops, and the ones it keeps."""
    dropped: list[ast.stmt] = []
    kept: list[ast.stmt] = []
    for statement in body:
        if id(statement) in skip:
            dropped.extend(_flat([statement]))
            continue
        kept.append(statement)
        if isinstance(statement, _BLOCKS):
            for inner in _inner_bodies(statement):
                out, stays = _split(inner, skip)
                dropped.extend(out)
                kept.extend(stays)
    return dropped, kept


def _flat(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for statement in body:
        yield statement
        if isinstance(statement, _BLOCKS):
            for inner in _inner_bodies(statement):
                yield from _flat(inner)


def _inner_bodies(statement: ast.stmt) -> Iterator[list[ast.stmt]]:
    for field in ("body", "orelse", "finalbody"):
        yield getattr(statement, field, [])
    for handler in getattr(statement, "handlers", []):
        yield handler.body


def _bound(statements: list[ast.stmt]) -> set[str]:
    """The names these (kept) statements bind at their level."""
    names: set[str] = set()
    for statement in statements:
        if isinstance(statement, _DEFINITIONS):
            names.add(statement.name)
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in statement.names)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) \
                else [statement.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _places(path: str, tree: ast.Module, skip: set[int], functions: dict[str, set[str]],
            methods: dict[tuple[str, str], set[str]]) -> Iterator[Diagnostic]:
    module = module_name_for(path)
    own = set(functions.get(module or "", ()))
    for statement in tree.body:  # and the ones imported here (reported at the import too)
        if isinstance(statement, ast.ImportFrom):
            source = absolute_module(module, is_package_path(path), statement.module,
                                     statement.level)
            own.update(a.asname or a.name for a in statement.names
                       if a.name in functions.get(source or "", ()))
    classes = {cls: names for (where, cls), names in methods.items() if where == path}
    # (node, the class whose methods it is in): the kept code only.
    todo: list[tuple[ast.AST, str | None]] = [(tree, None)]
    while todo:
        node, cls = todo.pop()
        if isinstance(node, ast.ImportFrom):
            source = absolute_module(module, is_package_path(path), node.module, node.level)
            for alias in node.names:
                if alias.name in functions.get(source or "", ()):
                    yield _error(path, alias, f"{alias.name}()", "imported here")
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in own:
                yield _error(path, node, f"{node.id}()", "named here")
        elif isinstance(node, ast.Attribute) and cls is not None \
                and isinstance(node.value, ast.Name) \
                and node.value.id in ("self", "cls", cls) and node.attr in classes[cls]:
            yield _error(path, node, f"{cls}.{node.attr}()", "named here")
        for child in ast.iter_child_nodes(node):
            if id(child) in skip:
                continue
            inner = cls
            if isinstance(child, ast.ClassDef):
                inner = child.name if child.name in classes else None
            todo.append((child, inner))


def _error(path: str, node: ast.alias | ast.expr, name: str, how: str) -> Diagnostic:
    return Diagnostic(
        path, node.lineno, node.col_offset + 1,
        f"{name} is left out of the sync twin ('# ambidex: async-only', --async-only or "
        f"a flag's async branch) but {how}: the sync code would fail here; leave this "
        "code out too, or keep the definition")
