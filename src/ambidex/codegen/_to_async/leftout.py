"""sync -> async, the guarantee for what the markers leave out: nothing kept calls it.

``# ambidex: sync-only`` (or ``--sync-only QUALNAME``, or the branch of a
colour flag that only sync code runs) leaves a definition out of the port:
a function, a class, a method. The code the port keeps must not call it: the
output would fail where it does (a ``NameError``, an ``ImportError``, an
``AttributeError``, "object is not callable") with nothing said before.
kazoo's ``KazooRetry.__call__`` sleeps and cannot become a coroutine; left
out with ``--sync-only``, every ``self._retry(...)`` of the client called an
object that is no longer callable.

A definition is left out when the source defines it and the text the port
works on (the markers applied) does not. Each place the kept code still names
it is an error:

* a left-out function or class of a module, called or named there, or
  imported by another module of the port (``from pkg.retry import helper``);
* a left-out method or property, called or read on an object whose class
  the analysis knows (``self._retry.copy()``, ``Retry.copy(r)``,
  ``response.data``), or ``__call__`` by calling the object, when nothing
  else of the class's analysed bases defines it;
* a left-out method called on an object of unknown type, when no class the
  port keeps has a method of that name: a warning (it is likely that one).
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Iterator, Mapping

from ambidex._callgraph import CallGraph, CallKind, Class, Function, Module, own_nodes
from ambidex._names import absolute_module
from ambidex.codegen._source import Diagnostic

__all__ = ["calls_of_left_out"]

_BLOCKS = (ast.If, ast.Try, ast.With)


def calls_of_left_out(originals: Mapping[str, str], trees: Mapping[str, ast.Module],
                      graph: CallGraph) -> list[Diagnostic]:
    """The places the kept code names a definition the markers left out.

    ``trees`` are the modules whose markers changed something, as the port
    reads them (:func:`~ambidex.codegen._to_async.flavour.markers_applied`);
    ``originals`` their texts before.
    """
    functions: dict[str, set[str]] = {}
    """Module name -> the names of its top-level definitions left out."""
    methods: dict[str, set[str]] = {}
    """Class key -> the names of its methods left out."""
    for path, tree in trees.items():
        module = graph.modules.get(path)
        if module is None:
            continue
        try:
            original = ast.parse(originals[path])
        except SyntaxError:
            continue
        before_top, before_methods = _definitions(original)
        after_top, after_methods = _definitions(tree)
        if before_top - after_top:
            functions[module.name] = before_top - after_top
        for name, defined in before_methods.items():
            gone = defined - after_methods.get(name, defined)
            if gone:
                methods[f"{module.name}:{name}"] = gone
    if not functions and not methods:
        return []
    return list(_Finder(graph, functions, methods).run())


def _definitions(tree: ast.Module) -> tuple[set[str], dict[str, set[str]]]:
    """A module's top-level functions and classes (inside a top-level ``if``,
    ``try`` or ``with`` too: a flag's branches), and each class's methods."""
    top: set[str] = set()
    methods: dict[str, set[str]] = {}
    for statement in _statements(tree.body):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            top.add(statement.name)
        if isinstance(statement, ast.ClassDef):
            names = methods.setdefault(statement.name, set())
            names.update(s.name for s in _statements(statement.body)
                         if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)))
    return top, methods


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for statement in body:
        yield statement
        if isinstance(statement, _BLOCKS):
            for field in ("body", "orelse", "finalbody"):
                yield from _statements(getattr(statement, field, []))
            for handler in getattr(statement, "handlers", []):
                yield from _statements(handler.body)


class _Finder:
    def __init__(self, graph: CallGraph, functions: dict[str, set[str]],
                 methods: dict[str, set[str]]) -> None:
        self.graph = graph
        self.functions = functions
        self.methods = methods
        self.dotted = {f"{module}.{name}": (module, name)
                       for module, names in functions.items() for name in names}
        self.method_names = {name for names in methods.values() for name in names}
        self.kept_methods = {name for cls in graph.classes.values() for name in cls.methods}
        self._outside: dict[str, type | None] = {}

    def run(self) -> Iterator[Diagnostic]:
        for module in self.graph.modules.values():
            yield from self.imports(module)
        for function in self.graph.functions.values():
            for call in self.graph.calls_of(function):
                if call.kind is CallKind.CALL and isinstance(call.node, ast.Call):
                    found = self.called(function, call.node)
                    if found is not None:
                        yield found
            if self.method_names:
                yield from self.read(function)

    def read(self, function: Function) -> Iterator[Diagnostic]:
        """A left-out method or property read without a call (``response.data``)."""
        nodes = list(own_nodes(function.node))
        called = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
        for node in nodes:
            if isinstance(node, ast.Attribute) and node.attr in self.method_names \
                    and isinstance(node.ctx, ast.Load) and id(node) not in called:
                value = self.graph.resolver.eval(node.value, function)
                cls = None if value is None else value.cls or self.class_of(value.instance)
                if cls is not None and self.left_out(cls, node.attr):
                    yield self.error(function.module, node, f"{cls.qualname}.{node.attr}",
                                     "read here")

    def imports(self, module: Module) -> Iterator[Diagnostic]:
        for statement in module.imports:
            if not isinstance(statement, ast.ImportFrom):
                continue
            source = absolute_module(module.name, module.path.endswith("__init__.py"),
                                     statement.module, statement.level)
            names = self.functions.get(source or "")
            for alias in statement.names:
                if names and alias.name in names:
                    yield self.error(module, alias, f"{alias.name}()", "imported here")

    def called(self, function: Function, node: ast.Call) -> Diagnostic | None:
        resolver = self.graph.resolver
        module = function.module
        func = node.func
        if isinstance(func, ast.Name):
            value = resolver.eval(func, function)
            dotted = value.dotted if value is not None and value.function is None \
                and value.cls is None else None
            if dotted == func.id and func.id in self.functions.get(module.name, ()):
                dotted = f"{module.name}.{func.id}"
            if dotted in self.dotted:
                return self.error(module, node, f"{self.dotted[dotted][1]}()", "called here")
        if isinstance(func, ast.Attribute) and func.attr in self.method_names:
            value = resolver.eval(func.value, function)
            cls = None if value is None else value.cls or self.class_of(value.instance)
            if cls is not None:
                if self.left_out(cls, func.attr):
                    return self.error(module, node, f"{cls.qualname}.{func.attr}()",
                                      "called here")
            elif value is None and func.attr not in self.kept_methods:
                owners = sorted(key.split(":")[1] for key, names in self.methods.items()
                                if func.attr in names)
                return Diagnostic(
                    module.path, node.lineno, node.col_offset + 1,
                    f"`{ast.unparse(func)}(...)`: the type of `{ast.unparse(func.value)}` "
                    f"is unknown, and {' and '.join(o + '.' + func.attr for o in owners)}() "
                    "is left out of the port ('# ambidex: sync-only'); if it is one of "
                    "those, this call fails in the output", error=False)
        if "__call__" in self.method_names:
            value = resolver.eval(func, function)
            cls = None if value is None else self.class_of(value.instance)
            if cls is not None and self.left_out(cls, "__call__"):
                return self.error(module, node, f"{cls.qualname}.__call__()",
                                  "called here (the object is called)")
        return None

    def class_of(self, key: str | None) -> Class | None:
        return None if key is None else self.graph.classes.get(key)

    def left_out(self, cls: Class, name: str) -> bool:
        """Whether calling ``name`` on ``cls`` reaches a method the markers left
        out, and nothing the analysis knows of defines it instead."""
        resolver = self.graph.resolver
        if not any(name in self.methods.get(k.key, ()) for k in resolver.mro(cls)):
            return False
        if resolver.method(cls, name) is not None:
            return False
        # A base the analysis does not know may define it (or a class attribute):
        # every base of every class on the way must be analysed, or be a class
        # of the standard library (importable here, so asked) that lacks it.
        seen = list(resolver.mro(cls))
        if any(name in k.attrs for k in seen):
            return False
        analysed = {k.key for k in seen}
        for klass in seen:
            for base in klass.node.bases:
                value = resolver.eval(base, klass.module)
                if value is not None and value.cls is not None and value.cls.key in analysed:
                    continue
                outside = self.outside_base(base, klass.module)
                if outside is None or hasattr(outside, name):
                    return False
        return True

    def outside_base(self, base: ast.expr, module: Module) -> type | None:
        """The class a base the port does not analyse names, when it is a builtin
        or a class of the standard library (``threading.local``,
        ``Generic[T]``): imported to be asked, never a third-party module."""
        if isinstance(base, ast.Subscript):  # Generic[T], Mapping[str, int]
            base = base.value
        dotted = self.graph.dotted_name(base, module)
        if dotted is None:
            return None
        if dotted not in self._outside:
            self._outside[dotted] = _stdlib_class(dotted)
        return self._outside[dotted]

    @staticmethod
    def error(module: Module, node: ast.alias | ast.expr, name: str, how: str) -> Diagnostic:
        return Diagnostic(
            module.path, node.lineno, node.col_offset + 1,
            f"{name} is left out of the port ('# ambidex: sync-only', --sync-only or a "
            f"flag's sync branch) but {how}: the output would fail here; leave this "
            "code out too, or keep the definition and let it become async")


_NOT_IMPORTED = frozenset({"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo"})
"""Standard-library modules with effects on import (a browser, a window, a poem)."""


def _stdlib_class(dotted: str) -> type | None:
    """``dotted`` as a class of the builtins or the standard library, else None."""
    module_name, _, name = dotted.rpartition(".")
    module_name = module_name or "builtins"
    top = module_name.split(".")[0]
    if top != "builtins" and (top not in sys.stdlib_module_names or top in _NOT_IMPORTED):
        return None
    try:
        found = getattr(importlib.import_module(module_name), name, None)
    except Exception:  # not importable on this Python: cannot tell
        return None
    return found if isinstance(found, type) else None
