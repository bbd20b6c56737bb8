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
  through the class's name, when the class keeps no other definition of it;
* a left-out method reached through another object whose class is known by
  reading the function (``x = Conn()``, a parameter annotated ``Conn``,
  ``Conn().fetch()``), the class named directly or through a module
  (``import pkg.conn as c; c.Conn()``, ``from pkg import conn``).

Each is an error at its place. Through an object of unknown type
(``self.conn.fetch()``), a left-out method's name is a warning when no class
the twin keeps defines or sets that name (else the object may be one of
those: nothing is said, as towards async).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping

from ambidex._names import absolute_module, import_bindings, is_package_path, module_name_for
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
    lost_by_name: dict[str, set[str]] = {}
    """A left-out method's name -> the classes that left it out."""
    dotted: dict[str, str] = {}
    """The dotted name of each class that left a method out -> its name."""
    for (where, cls), names in methods.items():
        for name in names:
            lost_by_name.setdefault(name, set()).add(cls)
        module = module_name_for(where)
        if module is not None:
            dotted[f"{module}.{cls}"] = cls
    kept_names = _names_kept_classes_have(trees, skips) if lost_by_name else set()
    found: list[Diagnostic] = []
    for path, tree in trees.items():
        found.extend(sorted(_places(path, tree, skips.get(path, set()), functions, methods,
                                    lost_by_name, kept_names, dotted),
                            key=lambda d: (d.line, d.col)))
    return found


def _names_kept_classes_have(trees: Mapping[str, ast.Module],
                             skips: Mapping[str, set[int]]) -> set[str]:
    """Every name a class the twin keeps defines or binds in its body, and every
    attribute the kept code sets (``self.fetch = ...``): what an object of
    unknown type may have."""
    names: set[str] = set()
    for path, tree in trees.items():
        skip = skips.get(path, set())
        todo: list[ast.AST] = [tree]
        while todo:
            node = todo.pop()
            if isinstance(node, ast.ClassDef):
                names.update(_bound(_split(node.body, skip)[1]))
            elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
                names.add(node.attr)
            todo.extend(child for child in ast.iter_child_nodes(node) if id(child) not in skip)
    return names


def _typed_by_reading(function: ast.FunctionDef | ast.AsyncFunctionDef,
                      class_of: Callable[[ast.expr | None], str | None]) -> dict[str, str]:
    """The locals and parameters of ``function`` whose every binding makes one of
    the classes ``class_of`` names: ``x = Conn(...)``, ``x: Conn``, a parameter
    ``x: Conn`` (``c.Conn`` through a module alias too)."""
    typed: dict[str, str] = {}
    other: set[str] = set()
    arguments = function.args
    for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
        annotated = class_of(arg.annotation)
        if annotated is not None:
            typed[arg.arg] = annotated
        else:
            other.add(arg.arg)
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call):
            made = class_of(node.value.func)
            if made is not None:
                name = node.targets[0].id
                if typed.setdefault(name, made) != made:
                    other.add(name)
                continue
        if isinstance(node, ast.Assign):
            targets: list[ast.expr] = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor,
                               ast.NamedExpr)):
            targets = [node.target]
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            targets = [node.optional_vars]
        else:
            continue
        for target in targets:
            other.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return {name: cls for name, cls in typed.items() if name not in other}


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


def _module_aliases(tree: ast.Module, module: str | None, path: str) -> dict[str, str]:
    """The names the module's top-level imports bind to modules or names (those
    inside top-level ``if``/``try`` too): ``import pkg.conn as c`` binds ``c`` to
    ``pkg.conn``, ``from pkg import conn`` binds ``conn`` to ``pkg.conn``."""
    aliases: dict[str, str] = {}
    package = is_package_path(path)
    for statement in _flat(tree.body):
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            for local, qualified, _, _ in import_bindings(statement, module, package):
                aliases[local] = qualified
    return aliases


def _class_reader(losing: set[str], dotted: dict[str, str], aliases: dict[str, str],
                  ) -> Callable[[ast.expr | None], str | None]:
    """A function from an expression to the class that left a method out which it
    names: ``Conn`` by its name, ``c.Conn`` / ``pkg.conn.Conn`` through the
    module's imports (a dotted name of such a class)."""
    def class_of(node: ast.expr | None) -> str | None:
        if isinstance(node, ast.Name):
            return node.id if node.id in losing else None
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not parts or not isinstance(node, ast.Name) or node.id not in aliases \
                or parts[0] not in losing:
            return None
        return dotted.get(".".join([aliases[node.id], *reversed(parts)]))
    return class_of


def _places(path: str, tree: ast.Module, skip: set[int], functions: dict[str, set[str]],
            methods: dict[tuple[str, str], set[str]], lost_by_name: dict[str, set[str]],
            kept_names: set[str], dotted: dict[str, str]) -> Iterator[Diagnostic]:
    module = module_name_for(path)
    own = set(functions.get(module or "", ()))
    for statement in tree.body:  # and the ones imported here (reported at the import too)
        if isinstance(statement, ast.ImportFrom):
            source = absolute_module(module, is_package_path(path), statement.module,
                                     statement.level)
            own.update(a.asname or a.name for a in statement.names
                       if a.name in functions.get(source or "", ()))
    classes = {cls: names for (where, cls), names in methods.items() if where == path}
    losing = {c for names in lost_by_name.values() for c in names}
    class_of = _class_reader(losing, dotted, _module_aliases(tree, module, path)) \
        if losing else (lambda node: None)
    # (node, the class whose methods it is in, the typed locals of the function
    # it is in): the kept code only.
    nothing: dict[str, str] = {}
    todo: list[tuple[ast.AST, str | None, dict[str, str]]] = [(tree, None, nothing)]
    while todo:
        node, cls, typed = todo.pop()
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
        elif isinstance(node, ast.Attribute) and node.attr in lost_by_name:
            yield from _through_another_object(path, node, cls, typed, lost_by_name,
                                               kept_names, class_of)
        for child in ast.iter_child_nodes(node):
            if id(child) in skip:
                continue
            inner = cls
            if isinstance(child, ast.ClassDef):
                inner = child.name if child.name in classes else None
            inner_typed = typed
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner_typed = _typed_by_reading(child, class_of) if losing else nothing
            todo.append((child, inner, inner_typed))


def _through_another_object(path: str, node: ast.Attribute, cls: str | None,
                            typed: dict[str, str],
                            lost_by_name: dict[str, set[str]], kept_names: set[str],
                            class_of: Callable[[ast.expr | None], str | None],
                            ) -> Iterator[Diagnostic]:
    """``x.fetch`` where ``fetch`` is a left-out method: an error when ``x`` is
    surely an object of a class that left it out, a warning when its type is
    unknown and no class the twin keeps has the name."""
    owners = lost_by_name[node.attr]
    value = node.value
    known = None
    if isinstance(value, ast.Call) and class_of(value.func) in owners:
        known = class_of(value.func)
    elif isinstance(value, ast.Attribute) and class_of(value) in owners:
        known = class_of(value)  # c.Conn.fetch
    elif isinstance(value, ast.Name):
        if value.id in ("self", "cls", cls) and cls in owners:
            return  # through its own class: read above, with the class's own definitions
        if value.id in owners:
            known = value.id
        elif value.id not in ("self", "cls") and typed.get(value.id) in owners:
            known = typed[value.id]
    if known is not None:
        yield _error(path, node, f"{known}.{node.attr}()", "called here")
        return
    if node.attr in kept_names:
        return
    spelled = " or ".join(f"{c}.{node.attr}()" for c in sorted(owners))
    yield Diagnostic(
        path, node.lineno, node.col_offset + 1,
        f"`{ast.unparse(node)}` may be {spelled}, which is left out of the sync twin "
        "('# ambidex: async-only', --async-only or a flag's async branch): no class the "
        f"twin keeps defines `{node.attr}`, so if it is, the sync code would fail here; "
        "leave this code out too, or keep the definition", False)


def _error(path: str, node: ast.alias | ast.expr, name: str, how: str) -> Diagnostic:
    return Diagnostic(
        path, node.lineno, node.col_offset + 1,
        f"{name} is left out of the sync twin ('# ambidex: async-only', --async-only or "
        f"a flag's async branch) but {how}: the sync code would fail here; leave this "
        "code out too, or keep the definition")
