"""async -> sync, outside the port: what a function the port calls but does not hold is.

``await util.fetch()`` where ``util`` is not one of the modules being ported:
the sync code calls ``util.fetch()`` without ``await``, which is right only if
``fetch`` is a plain function there. Reading its definition answers that
without importing anything (an import runs code): the module's source is
found next to the port's own files (a module left out of a partial port,
aiokafka's ``util.py``, by the module name the port's paths spell or in the
package that holds them) or on ``sys.path`` (an installed package), parsed,
and its top-level definition read:

* ``async def fetch`` (not a generator): a coroutine function, whose call
  the sync code leaves unawaited;
* ``def fetch(...) -> Awaitable[T]`` / ``Coroutine[...]`` / ``asyncio.Future``
  / ``asyncio.Task``: a plain function that says it gives something to await.

A name the module imports from elsewhere (``from ._core import fetch``) is
followed a few steps. Anything else (not found, not Python source, a class,
no annotation) is unknown, and the port keeps its warning.
"""

from __future__ import annotations

import ast
import importlib.machinery
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from ambidex._names import import_bindings, module_name_for
from ambidex.codegen._to_sync.futures import FUTURE_TYPES, annotated_name

_AWAITABLE_TYPES = frozenset({"typing.Awaitable", "collections.abc.Awaitable",
                              "typing.Coroutine", "collections.abc.Coroutine"})


@dataclass(frozen=True)
class Definition:
    """What a function outside the port is, as its source says."""

    path: str
    """The file it is defined in."""
    coroutine: bool
    """An ``async def`` (not a generator)."""
    returns: str | None
    """For a plain ``def``: the awaitable type its return annotation names
    (``typing.Awaitable``, ``asyncio.Future``, ...), else None."""


def _is_generator(function: ast.AsyncFunctionDef) -> bool:
    todo: list[ast.AST] = list(function.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                 ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))
    return False


def source_on_sys_path(module: str) -> str | None:
    """The ``.py`` file of ``module`` on ``sys.path``, found the way ``import``
    would find it but without importing anything: each package along the dotted
    name is searched in its own directories, and no ``__init__`` runs. None when
    there is no such file (not installed, a namespace package, an extension)."""
    parts = module.split(".")
    try:
        spec = importlib.machinery.PathFinder.find_spec(parts[0], sys.path)
        for index in range(1, len(parts)):
            if spec is None or not spec.submodule_search_locations:
                return None
            spec = importlib.machinery.PathFinder.find_spec(
                ".".join(parts[:index + 1]), list(spec.submodule_search_locations))
    except (ImportError, ValueError, OSError):
        return None
    origin = spec.origin if spec is not None else None
    return origin if origin is not None and origin.endswith(".py") else None


class OutsideReader:
    """Finds and reads modules outside the port, each at most once."""

    def __init__(self, port_paths: Iterable[str]) -> None:
        port_paths = list(port_paths)
        # Directories a module name is spelled from: a port module's display
        # path with its module name's parts taken off (pkg/sub/mod.py -> ".").
        roots: list[str] = []
        directories: set[str] = set()
        for path in port_paths:
            module = module_name_for(path)
            absolute = os.path.normpath(os.path.abspath(path))
            directories.add(os.path.dirname(absolute))
            if module is None:
                continue
            parts = absolute.split(os.sep)
            depth = len(module.split(".")) + (1 if parts[-1] == "__init__.py" else 0)
            root = os.sep.join(parts[:-depth]) or os.sep
            if root not in roots:
                roots.append(root)
        for directory in sorted(directories):
            # The directory above the outermost package holding the files: where
            # `import pkg.util` finds a module a partial port of pkg left out.
            if not os.path.isfile(os.path.join(directory, "__init__.py")):
                continue
            while os.path.isfile(os.path.join(os.path.dirname(directory), "__init__.py")):
                directory = os.path.dirname(directory)
            root = os.path.dirname(directory)
            if root not in roots:
                roots.append(root)
        self._roots = roots
        self._trees: dict[str, tuple[str, ast.Module] | None] = {}
        self._definitions: dict[str, Definition | None] = {}

    def _source(self, module: str) -> tuple[str, ast.Module] | None:
        if module in self._trees:
            return self._trees[module]
        found = self._trees[module] = None
        path = self._find(module)
        if path is not None:
            try:
                with open(path, encoding="utf-8") as file:
                    found = (path, ast.parse(file.read(), filename=path))
            except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
                found = None
            self._trees[module] = found
        return found

    def _find(self, module: str) -> str | None:
        """The source file of ``module``: beside the port's files first, then on
        ``sys.path`` (found, never imported)."""
        relative = module.replace(".", os.sep)
        for root in self._roots:
            for candidate in (os.path.join(root, relative + ".py"),
                              os.path.join(root, relative, "__init__.py")):
                if os.path.isfile(candidate):
                    return candidate
        return source_on_sys_path(module)

    def definition(self, qualified: str, steps: int = 3) -> Definition | None:
        """What the function ``qualified`` (``pkg.mod.fetch``) is, when its source
        can be read; None when it cannot."""
        if qualified not in self._definitions:
            self._definitions[qualified] = self._definition(qualified, steps)
        return self._definitions[qualified]

    def _definition(self, qualified: str, steps: int) -> Definition | None:
        module, _, name = qualified.rpartition(".")
        if not module or steps == 0:
            return None
        found = self._source(module)
        if found is None:
            return None
        path, tree = found
        package = os.path.basename(path) == "__init__.py"
        for statement in reversed(tree.body):
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and statement.name == name:
                if isinstance(statement, ast.AsyncFunctionDef):
                    return Definition(path, not _is_generator(statement), None)
                return Definition(path, False, self._awaitable_type(
                    statement.returns, tree, module, package))
            if isinstance(statement, ast.ClassDef) and statement.name == name:
                return None
            if isinstance(statement, ast.ImportFrom):
                for local, imported, _, _ in import_bindings(statement, module, package):
                    if local == name and imported != qualified:
                        return self.definition(imported, steps - 1)
        return None

    def _awaitable_type(self, annotation: ast.expr | None, tree: ast.Module, module: str,
                        package: bool) -> str | None:
        if annotation is None:
            return None
        bindings: dict[str, str] = {}
        for statement in tree.body:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                for local, imported, _, _ in import_bindings(statement, module, package):
                    bindings[local] = imported
        dotted = annotated_name(annotation, bindings)
        if dotted is None:
            return None
        return FUTURE_TYPES.get(dotted) or (dotted if dotted in _AWAITABLE_TYPES else None)


__all__ = ["Definition", "OutsideReader"]
