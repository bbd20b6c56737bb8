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
import builtins
import importlib.machinery
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

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
    refuses: bool = False
    """A plain ``def`` whose body only raises (aiohttp's ``ClientSession.__enter__``:
    ``raise TypeError("Use async with instead")``): there to refuse, not to serve
    (not ``raise NotImplementedError``, nor an ``@abstractmethod``: a subclass
    may fill those)."""


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


def only_raises(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the body of ``function`` is one ``raise`` (after a docstring): a
    guard that refuses its caller (``def __enter__(self): raise TypeError("Use
    async with instead")``), never one that serves it."""
    body = function.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) \
            and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    return len(body) == 1 and isinstance(body[0], ast.Raise)


def _refuses(function: ast.FunctionDef) -> bool:
    """A method there only to refuse its caller: its body only raises, and not
    a placeholder a subclass may fill (``raise NotImplementedError``, or
    ``@abstractmethod``): an instance the port knows by a base's name may be of
    such a subclass."""
    if not only_raises(function) or function.decorator_list:
        return False
    raised = function.body[-1]
    assert isinstance(raised, ast.Raise)
    exception = raised.exc.func if isinstance(raised.exc, ast.Call) else raised.exc
    return not (isinstance(exception, ast.Name) and exception.id == "NotImplementedError")


def _is_coroutine(statement: ast.stmt) -> bool:
    """An ``async def`` that is not a generator: its call gives a coroutine."""
    return isinstance(statement, ast.AsyncFunctionDef) and not _is_generator(statement)


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
        self._async_definitions: dict[str, AsyncDefinition | None] = {}
        self._module_bindings: dict[str, dict[str, str]] = {}
        self._base_names: dict[str, dict[str, str]] = {}
        self._classes: dict[tuple[str, bool], OutsideClass | None] = {}

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
        found = self._top_levels(qualified, steps)
        functions = [f for f in found if not isinstance(f[0], ast.ClassDef)]
        if not functions or len(functions) < len(found):
            return None  # a class, or a class in some branch: not a function's answer
        # Defined in several branches (`if sys.version_info ...:`), any may run:
        # the one that gives something to await answers first.
        answers: list[Definition] = []
        for statement, module, tree, path in functions:
            if isinstance(statement, ast.AsyncFunctionDef):
                answers.append(Definition(path, not _is_generator(statement), None))
            elif isinstance(statement, ast.FunctionDef):
                answers.append(Definition(path, False, self._awaitable_type(
                    statement.returns, tree, module, os.path.basename(path) == "__init__.py")))
        return next((a for a in answers if a.coroutine), None) \
            or next((a for a in answers if a.returns is not None), answers[0])

    def readable(self, qualified: str) -> bool:
        """Whether a ``def`` or ``class`` ``qualified`` names can be read (a
        top-level one, or a method of such a class)."""
        return bool(self._top_levels(qualified, 3)) or self._method(qualified) is not None

    def async_definition(self, qualified: str) -> AsyncDefinition | None:
        """What ``qualified`` (a top-level name, or a method of such a class) is
        when it may be an ``async def`` (in one of the branches that define it);
        else None."""
        if qualified in self._async_definitions:
            return self._async_definitions[qualified]
        answer = self._async_definitions[qualified] = self._async_definition(qualified)
        return answer

    def _async_definition(self, qualified: str) -> AsyncDefinition | None:
        found = self._top_levels(qualified, 3)
        if not found:
            method = self._method(qualified)
            found = [method] if method is not None else []
        for statement, module, tree, path in found:
            if not isinstance(statement, ast.AsyncFunctionDef):
                continue
            package = os.path.basename(path) == "__init__.py"
            decorators = [d for d in statement.decorator_list
                          if self._base_name(d.func if isinstance(d, ast.Call) else d,
                                             module, tree, package) not in _PLAIN_DECORATORS]
            if len(decorators) == 1 and self._base_name(
                    decorators[0], module, tree, package) in _ASYNC_CONTEXT_MANAGERS:
                return AsyncDefinition(path, "an async context manager function "
                                       "(@asynccontextmanager)", "an async context manager")
            if decorators:
                return AsyncDefinition(path, "an async def decorated with "
                                       f"@{ast.unparse(decorators[0])}", None)
            if _is_generator(statement):
                return AsyncDefinition(path, "an async generator function", "an async generator")
            return AsyncDefinition(path, "a coroutine function", "a coroutine")
        return None

    def returned_class(self, qualified: str, awaited: bool = False,
                       ) -> tuple[str, tuple[str, ...] | None] | None:
        """For the plain ``def`` ``qualified`` (``pkg.make_client``, or a factory
        method of an outside class, ``pkg.Client.create``): (its file, the dotted
        names of the classes its return annotation names, else None); None when
        no such ``def`` can be read. With ``awaited``, the same for an ``async
        def`` (not a generator): what awaiting its call gives.

        The annotation says a class (``-> Client``, ``-> "Client"``), a class or
        None (``Client | None``, ``Optional[Client]``, ``Union[Client, None]``:
        None has no method to call, in either colour), one of several classes
        (``A | B``), or the class of a factory method itself (``-> Self``);
        anything else (a subscripted generic, a call, a name that is not
        resolved) is None: the value may be something else. A function defined
        in several branches gives the classes of them all."""
        found = self._top_levels(qualified, 3)
        owner: str | None = None
        if not found:
            method = self._method(qualified)
            if method is None:
                return None
            owner = qualified.rpartition(".")[0]
            found = [method]
        if not all(_is_coroutine(f[0]) if awaited else isinstance(f[0], ast.FunctionDef)
                   for f in found):
            return None
        classes: list[str] = []
        path = found[0][3]
        for statement, module, tree, where in found:
            assert isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
            named = self._returned(statement.returns, module, tree,
                                   os.path.basename(where) == "__init__.py", owner)
            if named is None:
                return where, None
            classes.extend(n for n in named if n not in classes)
        return path, tuple(classes) if classes else None

    def _returned(self, annotation: ast.expr | None, module: str, tree: ast.Module,
                  package: bool, owner: str | None) -> list[str] | None:
        """The classes a return annotation names (see :meth:`returned_class`)."""
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value.strip(), mode="eval").body
            except SyntaxError:
                return None
        members: list[ast.expr] = []
        todo: list[ast.expr | None] = [annotation]
        while todo:
            node = todo.pop()
            if node is None:
                return None
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
                todo += [node.right, node.left]
                continue
            if isinstance(node, ast.Subscript):
                wrapper = self._base_name(node.value, module, tree, package)
                if wrapper in _OPTIONAL:
                    todo.append(node.slice)
                    continue
                if wrapper in _UNION:
                    todo += list(reversed(node.slice.elts)) \
                        if isinstance(node.slice, ast.Tuple) else [node.slice]
                    continue
                return None
            if isinstance(node, ast.Constant) and node.value is None:
                continue
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                try:
                    todo.append(ast.parse(node.value.strip(), mode="eval").body)
                except SyntaxError:
                    return None
                continue
            members.append(node)
        classes: list[str] = []
        for member in members:
            if not isinstance(member, (ast.Name, ast.Attribute)):
                return None
            dotted = self._base_name(member, module, tree, package)
            if dotted in _SELF:
                dotted = owner
            if dotted is None or dotted == "builtins.None":
                return None
            classes.append(dotted)
        return classes

    def _method(self, qualified: str) -> tuple[
            ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, str, ast.Module, str] | None:
        """``pkg.Client.create``: the method ``create`` the class ``pkg.Client``
        defines in its body (in one of its definitions), when it can be read."""
        owner, _, name = qualified.rpartition(".")
        if not owner:
            return None
        for statement, module, tree, path in self._top_levels(owner, 3):
            if not isinstance(statement, ast.ClassDef):
                continue
            for method in reversed(statement.body):
                if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                        and method.name == name:
                    return method, module, tree, path
        return None

    def _top_level(self, qualified: str, steps: int) -> tuple[
            ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, str, ast.Module, str] | None:
        """The first of :meth:`_top_levels`, or None."""
        found = self._top_levels(qualified, steps)
        return found[0] if found else None

    def _top_levels(self, qualified: str, steps: int) -> list[tuple[
            ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, str, ast.Module, str]]:
        """The ``def`` or ``class`` statements ``qualified`` names at the top of its
        module, (node, its module, tree, path) each: the last binding of the name
        that is one, ``from x import name`` and ``name = other`` (an alias: a name
        or an attribute) followed a few ``steps``; a binding under a top-level
        ``if`` or ``try`` gives every branch's definition, and the ones above it
        too unless every branch binds the name. A binding the reader cannot
        follow (any other value, ``import``) ends the search with what was found."""
        module, _, name = qualified.rpartition(".")
        if not module or steps == 0:
            return []
        found = self._source(module)
        if found is None:
            return []
        path, tree = found
        package = os.path.basename(path) == "__init__.py"
        results, _ = self._bound_in(tree.body, name, qualified, module, tree, path, package,
                                    steps)
        return results

    def _bound_in(self, body: list[ast.stmt], name: str, qualified: str, module: str,
                  tree: ast.Module, path: str, package: bool, steps: int,
                  ) -> tuple[list[tuple[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
                                        str, ast.Module, str]], bool]:
        """What ``body`` (read from its end) binds ``name`` to, and whether that
        binding is surely the one that holds (no earlier statement counts)."""
        results: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
                            str, ast.Module, str]] = []
        for statement in reversed(body):
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if statement.name == name:
                    return [*results, (statement, module, tree, path)], True
            elif isinstance(statement, ast.ImportFrom):
                for local, imported, _, _ in import_bindings(statement, module, package):
                    if local == name:
                        if imported == qualified:
                            return results, True
                        return [*results, *self._top_levels(imported, steps - 1)], True
            elif isinstance(statement, ast.Import):
                if any((a.asname or a.name).split(".")[0] == name for a in statement.names):
                    return results, True
            elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = statement.targets if isinstance(statement, ast.Assign) \
                    else [statement.target]
                if not any(isinstance(n, ast.Name) and n.id == name
                           for t in targets for n in ast.walk(t)):
                    continue
                value = statement.value
                if isinstance(statement, ast.AnnAssign) and value is None:
                    continue  # `name: T`: no value
                if isinstance(statement, ast.AugAssign) or len(targets) != 1 \
                        or not isinstance(targets[0], ast.Name) \
                        or not isinstance(value, (ast.Name, ast.Attribute)):
                    return results, True
                dotted = self._base_name(value, module, tree, package)
                if dotted is None or dotted == qualified:
                    return results, True
                return [*results, *self._top_levels(dotted, steps - 1)], True
            elif isinstance(statement, ast.If) or hasattr(statement, "handlers"):
                # if/else, try/except (try/except* too): each branch may be the one.
                handlers: list[ast.ExceptHandler] = getattr(statement, "handlers", [])
                first: list[ast.stmt] = getattr(statement, "body", [])
                branches = [first, statement.orelse] if isinstance(statement, ast.If) \
                    else [first, *(h.body for h in handlers)]
                surely = True
                for branch in branches:
                    inner, held = self._bound_in(branch, name, qualified, module, tree, path,
                                                 package, steps)
                    results.extend(inner)
                    surely = surely and held
                if surely:
                    return results, True
        return results, False

    def _awaitable_type(self, annotation: ast.expr | None, tree: ast.Module, module: str,
                        package: bool) -> str | None:
        if annotation is None:
            return None
        dotted = annotated_name(annotation, self._bindings(module, tree, package))
        if dotted is None:
            return None
        return FUTURE_TYPES.get(dotted) or (dotted if dotted in _AWAITABLE_TYPES else None)

    def _bindings(self, module: str, tree: ast.Module, package: bool) -> dict[str, str]:
        """What the module's top-level imports bind (under a top-level ``if`` or
        ``try`` too): local name -> dotted name."""
        if module in self._module_bindings:
            return self._module_bindings[module]
        bindings: dict[str, str] = {}
        todo: list[ast.stmt] = list(tree.body)
        while todo:
            statement = todo.pop(0)
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                for local, imported, _, _ in import_bindings(statement, module, package):
                    bindings.setdefault(local, imported)
            elif isinstance(statement, ast.If):
                todo.extend(statement.body)
                todo.extend(statement.orelse)
            elif isinstance(statement, ast.Try):
                todo.extend(statement.body)
                for handler in statement.handlers:
                    todo.extend(handler.body)
                todo.extend(statement.orelse)
        self._module_bindings[module] = bindings
        return bindings

    def outside_class(self, dotted: str, imported: Callable[[str], object | None] | None = None
                      ) -> OutsideClass | None:
        """The class ``dotted`` (``pkg.conn.Client``) as its source says, with
        every base it names followed, into other modules too, by reading them
        (never importing); None when the class itself cannot be read.

        ``imported``: for a class a caller may import safely (the standard
        library's, whose methods often come from C), a function that gives it,
        or None to read those from source as well."""
        key = (dotted, imported is not None)
        if key not in self._classes:
            self._classes[key] = self._outside_class(dotted, imported)
        return self._classes[key]

    def _outside_class(self, dotted: str,
                       imported: Callable[[str], object | None] | None) -> OutsideClass | None:
        methods: dict[str, Definition | None] = {}
        owners: dict[str, str] = {}
        classes: list[object] = []
        unread: list[str] = []
        seen: set[str] = set()
        pending = [dotted]
        while pending:
            current = pending.pop(0)  # breadth first: nearer bases answer first
            if current in seen or current == "builtins.object":
                continue
            seen.add(current)
            if len(seen) > _MOST_BASES:
                unread.append(current)
                continue
            if imported is not None:
                cls = imported(current)
                if cls is not None:
                    classes.append(cls)
                    continue
            if current.startswith("builtins."):
                unread.append(current)
                continue
            variants = [f for f in self._top_levels(current, 3) if isinstance(f[0], ast.ClassDef)]
            if not variants:
                if current == dotted:
                    return None
                unread.append(current)
                continue
            # A class defined in several branches (`if sys.version_info ...:`): any
            # may be the one; a method that gives something to await in one counts.
            own: dict[str, Definition | None] = {}
            for node, module, tree, path in variants:
                assert isinstance(node, ast.ClassDef)
                package = os.path.basename(path) == "__init__.py"
                for statement in node.body:
                    said: Definition | None
                    if isinstance(statement, ast.AsyncFunctionDef):
                        said = Definition(path, not _is_generator(statement), None)
                    elif isinstance(statement, ast.FunctionDef):
                        said = Definition(path, False, self._awaitable_type(
                            statement.returns, tree, module, package), _refuses(statement))
                    elif type(statement) is ast.Assign and type(statement.value) in (
                        ast.Name, ast.Attribute  # an alias: read = _read; not timeout = 5
                    ):
                        for target in statement.targets:
                            if type(target) is ast.Name:
                                own.setdefault(target.id, None)
                        continue
                    else:
                        continue
                    before = own.get(statement.name)
                    awaits = said.coroutine or said.returns is not None
                    awaited_before = before is not None and (
                        before.coroutine or before.returns is not None)
                    if statement.name not in own or (awaits and not awaited_before):
                        own[statement.name] = said
                for base in node.bases:
                    named = self._base_name(base, module, tree, package)
                    if named is None:
                        unread.append(ast.unparse(base))
                    else:
                        pending.append(named)
            for name, said in own.items():
                methods.setdefault(name, said)
                owners.setdefault(name, current)
        return OutsideClass(dotted, methods, tuple(classes), tuple(unread), owners)

    def _base_name(self, base: ast.expr, module: str, tree: ast.Module,
                   package: bool) -> str | None:
        """The dotted name a base expression spells in ``module`` (``Base``,
        ``other.Base``, ``Generic[T]``): through the module's imports, its own
        top-level classes, the builtins; None for anything else."""
        names = self._base_names.get(module)
        if names is None:
            names = {name: f"builtins.{name}" for name in _BUILTIN_CLASSES}
            names.update((defined, f"{module}.{defined}")
                         for defined in _defined_at_top(tree.body))
            names.update(self._bindings(module, tree, package))
            self._base_names[module] = names
        return annotated_name(base, names)


def _defined_at_top(body: list[ast.stmt]) -> Iterator[str]:
    """The names a module's top defines (a ``def``, a ``class``, an assignment to a
    name), under a top-level ``if`` or ``try`` too."""
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield statement.name
        elif isinstance(statement, ast.Assign):
            yield from (t.id for t in statement.targets if isinstance(t, ast.Name))
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None \
                and isinstance(statement.target, ast.Name):
            yield statement.target.id
        elif isinstance(statement, ast.If):
            yield from _defined_at_top(statement.body)
            yield from _defined_at_top(statement.orelse)
        elif isinstance(statement, ast.Try):
            yield from _defined_at_top(statement.body)
            for handler in statement.handlers:
                yield from _defined_at_top(handler.body)


#: What a return annotation wraps a class in to say "or None" / "one of".
_OPTIONAL = frozenset({"typing.Optional", "typing_extensions.Optional"})
_UNION = frozenset({"typing.Union", "typing_extensions.Union"})
#: The class a method is defined in, as its annotation says it.
_SELF = frozenset({"typing.Self", "typing_extensions.Self"})
#: How many classes one outside class's bases may add up to before the rest
#: count as not read (a bound on the work, not a limit any real class meets).
_MOST_BASES = 64
_BUILTIN_CLASSES = frozenset(name for name, value in vars(builtins).items()
                             if isinstance(value, type))


@dataclass(frozen=True)
class AsyncDefinition:
    """An ``async def`` outside the port, as its source says."""

    path: str
    """The file it is defined in."""
    what: str
    """What it is: "a coroutine function", "an async generator function", ..."""
    gives: str | None
    """What its call gives ("a coroutine", ...); None when a decorator the port
    does not know may make it anything."""


#: Decorators that leave what a method's call gives as it is.
_PLAIN_DECORATORS = frozenset({"builtins.classmethod", "builtins.staticmethod",
                               "abc.abstractmethod", "functools.wraps", "typing.overload",
                               "typing_extensions.overload", "typing.final"})
_ASYNC_CONTEXT_MANAGERS = frozenset({"contextlib.asynccontextmanager"})


@dataclass(frozen=True)
class OutsideClass:
    """A class outside the port, as the sources of it and of its bases say."""

    dotted: str
    methods: Mapping[str, Definition | None]
    """Every name the class or a base read from source defines as a method
    (the nearest definition), or as an alias (``read = _read``: None)."""
    imported: tuple[object, ...]
    """Bases given as classes instead (the standard library's, imported)."""
    unread: tuple[str, ...]
    """Bases that could not be read (not found, not source, not a name): a
    name neither :attr:`methods` nor :attr:`imported` has may come from one."""
    owners: Mapping[str, str] = field(default_factory=dict)
    """For each name in :attr:`methods`: the dotted name of the class (this one
    or a base) whose definition it is."""

    def has(self, name: str) -> bool:
        """Whether the class is known to have a method ``name``."""
        return name in self.methods or any(
            callable(getattr(cls, name, None)) for cls in self.imported)


__all__ = ["AsyncDefinition", "Definition", "OutsideClass", "OutsideReader", "only_raises",
           "source_on_sys_path"]
