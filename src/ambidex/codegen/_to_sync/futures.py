"""async -> sync, futures: what the port can see making a future or a task.

A future (``loop.create_future()``) or a task (``asyncio.create_task(...)``) is
finished by someone else, later: awaiting one waits for that. Sync code has no
such value (no loop sets its result, nothing runs the task), and the port's
``await x`` -> ``x`` keeps the future itself and waits for nothing. When every
value a name or an attribute holds is made by one of these, the port knows it:
awaiting it is refused where it happens (:meth:`SyncWalker._check_awaited_value`).

This module reads, before the walk, which functions of the port say they
return one (aiokafka's ``def create_future(...) -> asyncio.Future[T]`` in
``aiokafka/util.py``): their annotations, resolved through their own module's
imports, so that a call in another module is known too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ambidex._names import import_bindings, is_package_path, module_name_for
from ambidex.codegen._imports import ModuleScan

#: The types of futures and tasks, by every dotted name they are imported by.
FUTURE_TYPES = {
    "asyncio.Future": "asyncio.Future", "asyncio.futures.Future": "asyncio.Future",
    "asyncio.Task": "asyncio.Task", "asyncio.tasks.Task": "asyncio.Task",
}
#: asyncio calls that give a future or a task (each one has no sync twin).
FUTURE_CALLS = frozenset({
    "asyncio.create_task", "asyncio.ensure_future", "asyncio.wrap_future",
    "asyncio.gather", "asyncio.shield", *FUTURE_TYPES,
})


@dataclass
class ReturnedFutures:
    """The port's functions and methods whose return annotation is a future or a task."""

    functions: dict[str, tuple[str, bool]] = field(default_factory=dict)
    """Dotted name of a top-level function -> (the type, whether it is ``async def``:
    then awaiting its call gives the future)."""
    methods: dict[str, tuple[str, bool]] = field(default_factory=dict)
    """Name of a method -> (the type, async), for a name every top-level class of the
    port that defines it annotates so, the same way."""


def _module_bindings(tree: ast.Module, module: str | None, path: str) -> dict[str, str]:
    """What the module's top-level imports (those under a top-level ``if`` too:
    ``if TYPE_CHECKING:``) bind: local name -> dotted name."""
    bindings: dict[str, str] = {}
    todo: list[ast.stmt] = list(tree.body)
    package = is_package_path(path)
    while todo:
        statement = todo.pop()
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            for local, qualified, _, _ in import_bindings(statement, module, package):
                bindings[local] = qualified
        elif isinstance(statement, (ast.If, ast.Try)):
            todo.extend(statement.body)
            todo.extend(statement.orelse)
    return bindings


def annotated_name(annotation: ast.expr | None, bindings: Mapping[str, str]) -> str | None:
    """The dotted name ``annotation`` spells (bare, subscripted, or as a string),
    resolved through the module's import ``bindings``; None for anything else."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value.strip(), mode="eval").body
        except SyntaxError:
            return None
    if isinstance(annotation, ast.Subscript):
        annotation = annotation.value
    parts: list[str] = []
    while isinstance(annotation, ast.Attribute):
        parts.append(annotation.attr)
        annotation = annotation.value
    if not isinstance(annotation, ast.Name):
        return None
    root = bindings.get(annotation.id)
    if root is None:
        return None
    return ".".join([root, *reversed(parts)])


def future_type(annotation: ast.expr | None, bindings: Mapping[str, str]) -> str | None:
    """``asyncio.Future`` / ``asyncio.Task`` when ``annotation`` names one (bare,
    subscripted, or as a string), resolved through ``bindings``."""
    dotted = annotated_name(annotation, bindings)
    return None if dotted is None else FUTURE_TYPES.get(dotted)


def _functions(body: list[ast.stmt]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield statement


def returned_futures(trees: Mapping[str, ast.Module], scans: Mapping[str, ModuleScan],
                     texts: Mapping[str, str]) -> ReturnedFutures:
    """Read every module's top-level functions and its top-level classes' methods
    for a return annotation that is a future or a task (generators left out). A
    module whose text says neither ``Future`` nor ``Task`` cannot name one: its
    methods only count as annotated otherwise."""
    found = ReturnedFutures()
    methods: dict[str, set[tuple[str, bool] | None]] = {}
    for path, tree in trees.items():
        text = texts[path]
        if "Future" not in text and "Task" not in text:
            for statement in tree.body:
                if isinstance(statement, ast.ClassDef):
                    for method in _functions(statement.body):
                        methods.setdefault(method.name, set()).add(None)
            continue
        module = module_name_for(path)
        bindings: dict[str, str] | None = None
        generators = scans[path].generators
        for statement in tree.body:
            if isinstance(statement, ast.ClassDef):
                for method in _functions(statement.body):
                    if method.returns is None or id(method) in generators:
                        methods.setdefault(method.name, set()).add(None)
                        continue
                    if bindings is None:
                        bindings = _module_bindings(tree, module, path)
                    typed = future_type(method.returns, bindings)
                    methods.setdefault(method.name, set()).add(
                        (typed, isinstance(method, ast.AsyncFunctionDef))
                        if typed is not None else None)
            elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and statement.returns is not None and module is not None \
                    and id(statement) not in generators:
                if bindings is None:
                    bindings = _module_bindings(tree, module, path)
                typed = future_type(statement.returns, bindings)
                if typed is not None:
                    found.functions[f"{module}.{statement.name}"] = (
                        typed, isinstance(statement, ast.AsyncFunctionDef))
    for name, kinds in methods.items():
        if len(kinds) == 1:
            (only,) = kinds
            if only is not None:
                found.methods[name] = only
    return found


__all__ = ["FUTURE_CALLS", "FUTURE_TYPES", "ReturnedFutures", "annotated_name", "future_type",
           "returned_futures"]
