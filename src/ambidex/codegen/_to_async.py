"""sync -> async: what a person does when porting a blocking client, automated.

The steps, on the call graph of all the modules converted together
(:mod:`ambidex._callgraph`, the same analysis the lint uses):

1. Find the blocking primitives the table has an awaited twin for, methods of
   tracked objects included: ``sock.recv(n)`` on a socket that came from
   ``socket.create_connection``; ``time.sleep``; ``with lock:`` on a
   ``threading.Lock``.
2. Replace each with its twin (``await sock.recv(n)``, the socket now an
   :class:`ambidex.io.AsyncSocket` from ``await AsyncSocket.create_connection``;
   ``await asyncio.sleep``; ``async with lock:`` on an ``asyncio.Lock``), and
   make the enclosing function ``async def``.
3. Await that function at every call site, and repeat for every caller, up
   the call graph, to a fixed point: methods through ``self``/``cls``,
   functions and classes across modules. A generator that must await becomes
   an async generator and the loops over it ``async for`` (comprehensions
   too); ``with`` over an object whose ``__enter__``/``__exit__`` must await
   becomes ``async with`` and that class gets ``__aenter__``/``__aexit__``;
   ``__iter__``/``__next__`` become ``__aiter__``/``__anext__`` (and
   ``StopIteration`` ``StopAsyncIteration``); ``Iterator[T]`` becomes
   ``AsyncIterator[T]`` and ``Generator[Y, S, R]`` ``AsyncGenerator[Y, S]``.
   A function made async keeps its return annotation (``-> T`` is right for
   ``async def``). Functions that do no I/O stay plain.
4. Add the imports the output needs (``import asyncio``,
   ``from ambidex.io import AsyncSocket``) where isort would put them, drop
   the ones the port left unused (``import time``), then apply the renames
   (:mod:`ambidex.codegen._renames`: the ``_sync`` -> ``_async`` module
   segments and the user's table).

A function handed as a callable to analysed code (``Pool(self._connect)``)
that goes async is awaited where that code calls it -- through the parameter
or the ``self.`` attribute it was stored in -- and ``Callable[..., R]``
becomes ``Callable[..., Awaitable[R]]`` there.

What cannot be converted is an error, located, and nothing is written: an
``__init__`` (or a property, a ``__del__``, a lambda, a function handed to
code that is not analysed or never calls it, a ``with`` statement that would
mix an async and a plain context manager) that would have to await. Python
cannot await there, and guessing would produce code that runs but never does
the I/O.
A blocking call with no twin (``open``, ``subprocess.run``, ``requests.get``)
reached from converted code is a warning with the table's advice: the output
is valid, but that call still blocks the loop.

Edits are spliced into the original text at AST positions, so comments and
layout survive byte for byte where nothing changed; the output is compiled
before it is returned, and a failure to compile is reported, never written.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from ambidex._callgraph import Call, CallGraph, CallKind, Function, Module, build, own_nodes
from ambidex._rules import Kind, Rule, RuleTable
from ambidex.codegen._imports import (
    import_section,
    import_sort_key,
    statement_key,
    unused_imports,
    used_names,
)
from ambidex.codegen._markers import colour_marker, marker_comments
from ambidex.codegen._renames import Renames, apply_renames, module_name_for
from ambidex.codegen._source import Conversion, Diagnostic, Edits, SourceText

#: Dunders that become their async twins when they must await.
_DUNDER_TWINS = {"__enter__": "__aenter__", "__exit__": "__aexit__", "__next__": "__anext__"}

#: Functions Python calls without awaiting: they can never be async.
_NEVER_ASYNC = {
    "__init__": "move the I/O into an async classmethod `create()` or an `async def "
    "connect()` called after construction",
    "__new__": "move the I/O into an async classmethod `create()`",
    "__del__": "close explicitly: an `async def close()` or `async with`",
    "__repr__": "do not do I/O in __repr__",
    "__str__": "do not do I/O in __str__",
    "__len__": "make it an `async def` method with a name",
    "__bool__": "make it an `async def` method with a name",
    "__hash__": "do not do I/O in __hash__",
    "__eq__": "do not do I/O in __eq__",
    "__contains__": "make it an `async def` method with a name",
    "__getitem__": "make it an `async def get()` method",
    "__setitem__": "make it an `async def set()` method",
    "__delitem__": "make it an `async def delete()` method",
    "__getattr__": "make it an `async def` method with a name",
    "__call__": "make it a named `async def` method",
}
_PROPERTY_FIX = "make it an `async def` method and await it where the property was read"

_ITERATOR_TWINS = {
    "typing.Iterator": "typing.AsyncIterator",
    "typing.Iterable": "typing.AsyncIterable",
    "typing.Generator": "typing.AsyncGenerator",
    "collections.abc.Iterator": "collections.abc.AsyncIterator",
    "collections.abc.Iterable": "collections.abc.AsyncIterable",
    "collections.abc.Generator": "collections.abc.AsyncGenerator",
}
_CONTEXTMANAGER = {"contextlib.contextmanager": "contextlib.asynccontextmanager"}


@dataclass(frozen=True)
class _Reason:
    """Why a function must be async: the call in it that awaits."""

    call: Call
    callee: Function | None
    """The analysed function that became async, or None for a table primitive."""
    primitive: str
    """The table name at the bottom (``socket.socket.recv``) when ``callee`` is None."""


def _where(call: Call) -> str:
    return f"{call.caller.module.path}:{call.line}:{call.col + 1}"


def _is_property(function: Function) -> bool:
    return any(
        d in ("property", "functools.cached_property", "cached_property")
        or d.endswith((".setter", ".getter", ".deleter"))
        for d in function.decorators
    )


def _type_twins(table: RuleTable) -> dict[str, str]:
    """Types the port replaces everywhere: ``socket.socket`` -> ``ambidex.io.AsyncSocket``."""
    twins: dict[str, str] = {}
    for rule in table.rules:
        if rule.sync is None or rule.async_ is None or "." not in rule.sync:
            continue
        if rule.kind is Kind.CALL and rule.returns == rule.sync and not rule.awaited:
            twins[rule.sync] = rule.async_
        elif rule.kind is Kind.NAME and rule.sync.split(".")[0] not in (
            "typing",
            "collections",
            "contextlib",
        ):
            twins[rule.sync] = rule.async_
    return twins


class _Planner:
    """Decides which functions change colour, and why (the fixed point)."""

    def __init__(self, graph: CallGraph) -> None:
        self.graph = graph
        self.reasons: dict[str, _Reason] = {}
        self.diagnostics: list[Diagnostic] = []
        self.callers: dict[str, list[Call]] = {}
        self.slot_calls: dict[tuple[str, str, str], list[Call]] = {}
        self.handed_params: set[tuple[str, str]] = set()
        """(function key, parameter) that receive an async callable."""
        self.awaited_sites: set[int] = set()
        """ids of calls of handed-over callables that went async (``await factory()``)."""
        for call in graph.iter_calls():
            for callee in call.callees:
                self.callers.setdefault(callee.key, []).append(call)
            if call.slot is not None:
                self.slot_calls.setdefault(call.slot, []).append(call)

    def hand_over(self, ref: Call, callee: Function, work: deque[Function]) -> bool:
        """An async function handed to analysed code that calls it: await it there.

        ``ConnectionPool(factory=self._new_connection)`` where the pool stores
        the factory and calls ``self._factory()``: the pool's call is awaited
        and the pool's method goes async, as a person porting both would do.
        Returns False (the caller reports an error) when the receiver is not
        analysed or never calls what it was given.
        """
        if ref.passed_to is None or ref.offloaded:
            return False
        function, param = ref.passed_to
        slots = [
            ("param", function.key, param),
            *self.graph.attribute_slots_fed_by(function, param),
        ]
        sites = [c for slot in slots for c in self.slot_calls.get(slot, ()) if not c.type_checking]
        if not sites:
            return False
        self.handed_params.add((function.key, param))
        for site in sites:
            self.awaited_sites.add(id(site.node))
            self.mark(site.caller, _Reason(site, callee, ""), work)
        return True

    @staticmethod
    def awaited_rule(call: Call) -> Rule | None:
        """The row whose twin must be awaited at this site, if any."""
        rule = call.rule
        if rule is None or rule.async_ is None or not rule.awaited or rule.kind is Kind.NAME:
            return None
        if rule.sync is None or "." not in rule.sync:  # next/iter: only for async iterators
            return None
        if call.kind in (CallKind.CALL, CallKind.WITH) and not call.offloaded:
            return rule
        return None

    def is_async(self, function: Function) -> bool:
        return function.key in self.reasons

    def run(self) -> None:
        work: deque[Function] = deque()
        for function in self.graph.functions.values():
            for call in function.calls:
                if call.type_checking:
                    continue
                rule = self.awaited_rule(call)
                if rule is not None and rule.sync is not None:
                    self.mark(function, _Reason(call, None, rule.sync), work)
        while work:
            callee = work.popleft()
            for call in self.callers.get(callee.key, ()):
                if call.type_checking:
                    continue
                if call.kind is CallKind.REF and self.hand_over(call, callee, work):
                    continue
                if call.kind is CallKind.REF:
                    self.error_at(
                        call,
                        f"{callee.display} becomes async (it awaits "
                        f"{self.bottom(callee.key)}) but is handed elsewhere here as a "
                        "callback, and its receiver will call it without awaiting; pass an "
                        "async callable only where the receiver awaits it, or keep a sync "
                        "callback that schedules the work with asyncio.create_task",
                    )
                    continue
                if call.offloaded:
                    self.error_at(
                        call,
                        f"{callee.display} becomes async (it awaits "
                        f"{self.bottom(callee.key)}) but is run in a thread here; await it "
                        "instead",
                    )
                    continue
                if call.kind is CallKind.CALL and callee.is_generator:
                    continue  # calling an async generator does not await; iterating it does
                self.mark(call.caller, _Reason(call, callee, ""), work)

    def mark(self, function: Function, reason: _Reason, work: deque[Function]) -> None:
        if function.key in self.reasons or function.is_async:
            return
        call = reason.call
        if call.lambda_node is not None:
            self.error_at(
                call,
                f"a lambda in {function.display} would have to await {self.describe(reason)}; "
                "a lambda cannot await: replace it by an `async def`",
            )
            return
        fix = _NEVER_ASYNC.get(function.name)
        if fix is None and _is_property(function):
            fix = _PROPERTY_FIX
        if fix is not None:
            node = function.node
            kind = "a property" if _is_property(function) else function.name
            self.diagnostics.append(
                Diagnostic(
                    function.module.path,
                    node.lineno,
                    node.col_offset + 1,
                    f"{function.display} would have to await {self.describe(reason)}, but "
                    f"{kind} cannot be async; {fix}",
                )
            )
            return
        self.reasons[function.key] = reason
        work.append(function)
        # `async with` needs both __aenter__ and __aexit__: the pair changes together.
        partner = {"__enter__": "__exit__", "__exit__": "__enter__"}.get(function.name)
        if partner is not None and function.cls is not None:
            other = function.cls.methods.get(partner)
            if other is not None and other.key not in self.reasons and not other.is_async:
                self.reasons[other.key] = reason
                work.append(other)

    def error_at(self, call: Call, message: str) -> None:
        self.diagnostics.append(
            Diagnostic(call.caller.module.path, call.line, call.col + 1, message)
        )

    def describe(self, reason: _Reason) -> str:
        """``socket.socket.recv (client.py:30:16)``, or through a function."""
        if reason.callee is None:
            return f"{reason.primitive} ({_where(reason.call)})"
        return f"{reason.callee.display} ({_where(reason.call)}), which awaits " + self.bottom(
            reason.callee.key
        )

    def chain(self, key: str) -> tuple[list[Function], _Reason]:
        functions: list[Function] = []
        seen: set[str] = set()
        reason = self.reasons[key]
        while True:
            functions.append(reason.call.caller)
            if reason.callee is None or reason.callee.key in seen:
                return functions, reason
            seen.add(reason.callee.key)
            reason = self.reasons[reason.callee.key]

    def bottom(self, key: str) -> str:
        _functions, reason = self.chain(key)
        return f"{reason.primitive} ({_where(reason.call)})"

    def explanation(self, function: Function) -> str:
        functions, reason = self.chain(function.key)
        names = " -> ".join(f.qualname.replace(".<locals>", "") for f in functions)
        if functions[0] is not function:  # __enter__ changes with its __exit__
            names = f"{function.qualname} (paired with {functions[0].name}) -> {names}"
        return (
            f"{function.module.path}:{function.line} {names} -> {reason.primitive} "
            f"({reason.call.caller.module.path}:{reason.call.line})"
        )

    def warn_blocking_without_twin(self) -> None:
        """Blocking rows with no twin, reached from converted code (through sync calls too)."""
        seen: set[str] = set(self.reasons)
        queue: deque[tuple[Function, str]] = deque(
            (self.graph.functions[k], self.graph.functions[k].display) for k in self.reasons
        )
        while queue:
            function, path = queue.popleft()
            for call in function.calls:
                if call.offloaded or call.type_checking or call.kind is CallKind.REF:
                    continue
                rule = call.rule
                if rule is not None and rule.blocks and rule.async_ is None:
                    self.diagnostics.append(
                        Diagnostic(
                            function.module.path,
                            call.line,
                            call.col + 1,
                            f"{rule.sync} blocks and has no asyncio twin; it still blocks "
                            f"the event loop in the converted code (reached from {path}): "
                            f"{rule.advice()}",
                            error=False,
                        )
                    )
                for callee in call.callees:
                    if callee.key not in seen and not callee.is_async:
                        seen.add(callee.key)
                        queue.append((callee, f"{path} -> {callee.display}"))


class _ModuleEditor:
    """The edits of one module."""

    def __init__(self, planner: _Planner, module: Module, type_twins: Mapping[str, str]) -> None:
        self.planner = planner
        self.graph = planner.graph
        self.module = module
        self.source = SourceText(module.text)
        self.edits = Edits(self.source)
        self.type_twins = type_twins
        self.needed: set[tuple[str, str | None]] = set()
        self.provided: set[tuple[str, str | None]] = set()
        """Imports the output has because an import statement was renamed."""
        self.done: set[int] = set()
        self.async_items: set[int] = set()
        self.async_withs: list[ast.With] = []
        """ids of nodes already replaced (their insides are not edited again)."""
        self.parents: dict[int, ast.AST] = {}
        for parent in ast.walk(module.tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[id(child)] = parent
        self.functions = [f for f in self.graph.functions.values() if f.module is module]
        self.by_node = {id(f.node): f for f in self.functions}
        self.diagnostics: list[Diagnostic] = []

    # --- spelling and imports -------------------------------------------------------
    def spell(self, dotted: str, *, bare: bool | None = None) -> str:
        """How the output names ``dotted``, noting the import it needs.

        ``asyncio.sleep`` -> ``asyncio.sleep`` (``import asyncio``);
        ``ambidex.io.AsyncSocket.create_connection`` -> ``AsyncSocket.create_connection``
        (``from ambidex.io import AsyncSocket``); ``anext`` -> ``anext``. A class
        of a dotted package is imported by name (``from ambidex.io import X``),
        anything of a top-level module is spelled through it (``asyncio.Lock``),
        unless ``bare`` says otherwise.
        """
        parts = dotted.split(".")
        if len(parts) == 1:
            return dotted
        for index in range(1, len(parts)):
            if parts[index][:1].isupper():
                module, name = ".".join(parts[:index]), parts[index]
                if bare is False or (bare is None and "." not in module):
                    break
                bound = self.module.imported_as(name)
                if bound != f"{module}.{name}":
                    self.needed.add((module, name))
                return ".".join(parts[index:])
        else:
            index = len(parts) - 1
        module = ".".join(parts[:index])
        top = module.split(".")[0]
        if self.module.imported_as(top) != top:
            self.needed.add((module, None))
        return dotted

    def add_imports(self) -> None:
        self.needed -= self.provided
        if not self.needed:
            return
        lines = sorted(f"import {m}" for m, n in self.needed if n is None)
        froms: dict[str, list[str]] = {}
        for module, name in self.needed:
            if name is not None:
                froms.setdefault(module, []).append(name)
        # A name from a module the code already imports from joins that statement.
        for statement in self.module.tree.body:
            if (
                isinstance(statement, ast.ImportFrom)
                and statement.level == 0
                and statement.module in froms
                and statement.names[-1].name != "*"
            ):
                names = sorted(froms.pop(statement.module))
                end = self.source.span(statement.names[-1])[1]
                self.edits.insert(end, "".join(f", {name}" for name in names))
        if not lines and not froms:
            return
        lines += [
            f"from {m} import {', '.join(sorted(names))}" for m, names in sorted(froms.items())
        ]
        body = self.module.tree.body
        leading: list[ast.Import | ast.ImportFrom] = []
        for statement in body:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                leading.append(statement)
            elif not (statement is body[0] and isinstance(statement, ast.Expr)):
                break
        imports = [s for s in leading if import_section(s) != "future"]
        if imports:
            self.place_imports(imports, lines)
            return
        futures = [s for s in body if isinstance(s, ast.ImportFrom) and s.module == "__future__"]
        if futures and futures[-1].end_lineno is not None:
            offset = self.source.offset(futures[-1].end_lineno + 1, 0)
            self.edits.insert(offset, "\n" + "".join(line + "\n" for line in lines))
            return
        first = body[0] if body else None
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
            and first.end_lineno is not None
        ):
            offset = self.source.offset(first.end_lineno + 1, 0)
            prefix = "" if self.source.text[:offset].endswith("\n") else "\n"
            self.edits.insert(offset, prefix + "\n" + "".join(line + "\n" for line in lines))
        else:
            self.edits.insert(0, "".join(line + "\n" for line in lines) + "\n")

    def place_imports(self, imports: list[ast.Import | ast.ImportFrom], lines: list[str]) -> None:
        """Insert ``lines`` where isort would: into their section, in order.

        Sections are standard library, other absolute imports, relative
        imports; ``import x`` lines sort before ``from x import y`` lines. A
        section the module does not have yet is opened, set off by blank lines.
        """
        order = ["stdlib", "absolute", "relative"]
        new: dict[str, list[str]] = {}
        for line in lines:
            module = line.split()[1]
            section = "stdlib" if module.split(".")[0] in sys.stdlib_module_names else "absolute"
            new.setdefault(section, []).append(line)

        def start(statement: ast.stmt) -> int:
            return self.source.offset(statement.lineno, 0)

        def after(statement: ast.stmt) -> int:
            assert statement.end_lineno is not None
            return self.source.offset(statement.end_lineno + 1, 0)

        for section, section_lines in new.items():
            members = [s for s in imports if import_section(s) == section]
            section_lines.sort(key=import_sort_key)
            if members:
                for line in section_lines:
                    following = next(
                        (s for s in members if statement_key(s) > import_sort_key(line)), None
                    )
                    offset = start(following) if following is not None else after(members[-1])
                    self.edits.insert(offset, line + "\n")
                continue
            text = "".join(line + "\n" for line in section_lines)
            later = [s for s in imports if order.index(import_section(s)) > order.index(section)]
            if later:
                self.edits.insert(start(later[0]), text + "\n")
            else:
                self.edits.insert(after(imports[-1]), "\n" + text)

    # --- the edits ----------------------------------------------------------------------
    def run(self) -> None:
        for function in self.functions:
            if self.planner.is_async(function):
                self.make_async(function)
        for function in self.functions:
            self.rewrite_calls(function)
            self.await_callable_annotations(function)
        self.rewrite_iter_protocol()
        self.rewrite_module_level_calls()
        self.rewrite_types(self.module.tree, self.module)
        self.check_mixed_withs()
        self.add_imports()

    def insert_keyword(self, node: ast.stmt) -> None:
        self.edits.insert(self.source.offset(node.lineno, node.col_offset), "async ")

    def def_name_offset(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
        start = self.source.offset(node.lineno, node.col_offset)
        return self.source.text.index(node.name, start)

    def await_callable_annotations(self, function: Function) -> None:
        """``connect: Callable[[], Conn]`` -> ``Callable[[], Awaitable[Conn]]`` where an
        async callable is now handed in."""
        args = function.node.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            annotation = arg.annotation
            if (function.key, arg.arg) not in self.planner.handed_params or not isinstance(
                annotation, ast.Subscript
            ):
                continue
            dotted = self.graph.dotted_name(annotation.value, function)
            if dotted not in ("typing.Callable", "collections.abc.Callable"):
                continue
            elements = annotation.slice
            if isinstance(elements, ast.Tuple) and len(elements.elts) == 2:
                returns = elements.elts[1]
                awaitable = self.spell("collections.abc.Awaitable", bare=True)
                start, end = self.source.span(returns)
                self.edits.insert(start, f"{awaitable}[")
                self.edits.insert(end, "]")

    def make_async(self, function: Function) -> None:
        node = function.node
        self.insert_keyword(node)
        twin = _DUNDER_TWINS.get(function.name)
        if function.name == "__iter__" and function.is_generator:
            twin = "__aiter__"
        if twin is not None:
            offset = self.def_name_offset(node)
            self.edits.replace(offset, offset + len(function.name), twin)
        if function.name == "__anext__" or twin == "__anext__":
            for child in own_nodes(node):
                if isinstance(child, ast.Name) and child.id == "StopIteration":
                    self.edits.replace_node(child, "StopAsyncIteration")
                    self.done.add(id(child))
        if function.is_generator:
            self.make_async_generator(function)

    def make_async_generator(self, function: Function) -> None:
        node = function.node
        for child in own_nodes(node):
            if isinstance(child, ast.YieldFrom):
                self.error(
                    child,
                    f"{function.display} becomes an async generator, where "
                    "`yield from` is not allowed: write `async for x in ...: yield x`",
                )
            elif isinstance(child, ast.Return) and child.value is not None:
                self.error(
                    child,
                    f"{function.display} becomes an async generator, where "
                    "`return value` is not allowed: return without a value",
                )
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            dotted = self.graph.dotted_name(target, function.parent or self.module)
            if dotted in _CONTEXTMANAGER:
                self.edits.replace_node(target, self.spell(_CONTEXTMANAGER[dotted]))
                self.done.add(id(target))
        returns = node.returns
        if returns is None:
            return
        base = returns.value if isinstance(returns, ast.Subscript) else returns
        dotted = self.graph.dotted_name(base, function)
        twin = _ITERATOR_TWINS.get(dotted or "")
        if twin is None:
            return
        self.edits.replace_node(base, self.spell(twin, bare=isinstance(base, ast.Name)))
        self.done.add(id(base))
        if (
            twin.endswith("Generator")
            and isinstance(returns, ast.Subscript)
            and isinstance(returns.slice, ast.Tuple)
            and len(returns.slice.elts) == 3
        ):
            # Generator[Y, S, R] -> AsyncGenerator[Y, S]: async generators return nothing.
            yield_, send, _return = returns.slice.elts
            text = f"{self.source.segment(yield_)}, {self.source.segment(send)}"
            self.edits.replace_node(returns.slice, text)
            self.done.add(id(returns.slice))

    def error(self, node: ast.AST, message: str) -> None:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        self.diagnostics.append(Diagnostic(self.module.path, line, col + 1, message))

    def await_(self, node: ast.expr) -> None:
        parent = self.parents.get(id(node))
        wrap = (
            (isinstance(parent, (ast.Attribute, ast.Subscript)) and parent.value is node)
            or (isinstance(parent, ast.Call) and parent.func is node)
            or (isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Pow))
        )
        start, end = self.source.span(node)
        self.edits.insert(start, "(await " if wrap else "await ")
        if wrap:
            self.edits.insert(end, ")")

    def replace_callee(self, call: Call, rule: Rule) -> None:
        """Spell the twin of ``rule`` at ``call``: a whole name, or a method's name."""
        assert isinstance(call.node, ast.Call) and rule.async_ is not None
        func = call.node.func
        if id(func) in self.done:
            return
        if rule.kind is Kind.METHOD:
            # The receiver stays as written (an object, or a class whose name the
            # type pass renames); only a method whose twin is named differently
            # (ExitStack.close -> AsyncExitStack.aclose) changes.
            if isinstance(func, ast.Attribute):
                new = rule.async_.rsplit(".", 1)[1]
                if new != func.attr:
                    end = self.source.span(func)[1]
                    self.edits.replace(end - len(func.attr), end, new)
            return
        spelled = self.spell(rule.async_)
        if self.source.segment(func) != spelled:
            self.edits.replace_node(func, spelled)
        self.done.add(id(func))

    def rewrite_calls(self, function: Function) -> None:
        converted = self.planner.is_async(function) or function.is_async
        for call in function.calls:
            if call.type_checking or call.offloaded:
                continue
            if call.kind is CallKind.CALL:
                assert isinstance(call.node, ast.Call)
                rule = call.rule
                if id(call.node) in self.planner.awaited_sites or any(
                    self.planner.is_async(c) and not c.is_generator for c in call.callees
                ):
                    if converted and call.lambda_node is None:
                        self.await_(call.node)
                elif rule is not None and rule.async_ is not None and rule.sync is not None:
                    if "." not in rule.sync:
                        continue  # next()/iter(): left alone (see awaited_rule)
                    if self.planner.awaited_rule(call) is not None:
                        if converted and call.lambda_node is None:
                            self.replace_callee(call, rule)
                            self.await_(call.node)
                    else:
                        self.replace_callee(call, rule)
            elif call.kind is CallKind.WITH and converted:
                if self.planner.awaited_rule(call) is not None or any(
                    self.planner.is_async(c) for c in call.callees
                ):
                    self.async_with(call)
            elif call.kind is CallKind.FOR and converted:
                if any(self.planner.is_async(c) for c in call.callees):
                    self.async_for(call)

    def rewrite_module_level_calls(self) -> None:
        """Constructors run at import time (``LOCK = threading.Lock()``) get their twin.

        The call graph records calls inside functions only; a module-level lock
        left a ``threading.Lock`` would be taken with ``async with`` by the
        converted functions, which fails at run time. A module-level call whose
        twin must be awaited cannot be converted: import time cannot await.
        """
        table = self.graph.table
        todo: list[ast.AST] = list(self.module.tree.body)
        while todo:
            node = todo.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            todo.extend(ast.iter_child_nodes(node))
            if not isinstance(node, ast.Call) or id(node.func) in self.done:
                continue
            dotted = self.graph.dotted_name(node.func, self.module)
            rule = table.by_sync.get(dotted) if dotted else None
            if (
                rule is None
                or rule.kind is not Kind.CALL
                or rule.async_ is None
                or rule.sync is None
                or "." not in rule.sync
            ):
                continue
            if rule.awaited:
                if rule.blocks:
                    self.error(
                        node,
                        f"{rule.sync} runs at import time, where nothing can be awaited; "
                        "move it into an async function (e.g. an async `connect()`)",
                    )
                continue
            self.edits.replace_node(node.func, self.spell(rule.async_))
            self.done.add(id(node.func))

    def async_with(self, call: Call) -> None:
        self.async_items.add(id(call.node))
        statement = self.parents.get(id(call.node))
        if not isinstance(statement, ast.With) or id(statement) in self.done:
            return
        self.done.add(id(statement))
        self.async_withs.append(statement)
        self.insert_keyword(statement)

    def check_mixed_withs(self) -> None:
        """``with a, b:`` where only ``a`` went async cannot be ``async with a, b:``."""
        for statement in self.async_withs:
            plain = [i for i in statement.items if id(i) not in self.async_items]
            if plain:
                self.error(
                    plain[0].context_expr,
                    f"`{self.source.segment(plain[0].context_expr)}` is not an async context "
                    "manager, but it shares a `with` statement with one that now is; split "
                    "the statement into nested `with` blocks",
                )

    def async_for(self, call: Call) -> None:
        node = call.node
        if isinstance(node, ast.Call):  # next(it) on an async generator: await anext(it)
            if id(node.func) not in self.done and isinstance(node.func, ast.Name):
                self.done.add(id(node.func))
                self.edits.replace_node(node.func, "anext")
                self.await_(node)
            return
        if isinstance(node, ast.For):
            if id(node) not in self.done:
                self.done.add(id(node))
                self.insert_keyword(node)
            return
        if isinstance(node, ast.comprehension) and not node.is_async:
            target = self.source.offset(node.target.lineno, node.target.col_offset)
            keyword = self.source.text.rfind("for", 0, target)
            self.edits.insert(keyword, "async ")

    def rewrite_iter_protocol(self) -> None:
        """``__iter__`` returning self becomes ``__aiter__`` where ``__next__`` went async."""
        for function in self.functions:
            cls = function.cls
            if cls is None or function.name != "__iter__" or function.is_generator:
                continue
            nxt = self.graph.method(cls, "__next__")
            if nxt is not None and self.planner.is_async(nxt):
                offset = self.def_name_offset(function.node)
                self.edits.replace(offset, offset + len("__iter__"), "__aiter__")

    def rewrite_types(self, node: ast.AST, scope: Function | Module) -> None:
        """Replace every name of a type with a twin (``socket.socket`` -> ``AsyncSocket``)."""
        if id(node) in self.done:
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner = self.by_node.get(id(node), scope)
            for child in ast.iter_child_nodes(node):
                body = child in node.body or isinstance(child, ast.arguments)
                self.rewrite_types(child, inner if body else scope)
            return
        if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
            dotted = self.graph.dotted_name(node, scope)
            twin = self.type_twins.get(dotted or "")
            if twin is not None and dotted is not None:
                self.rename_type(node, dotted, twin)
                return
        if isinstance(node, ast.alias):
            return
        for child in ast.iter_child_nodes(node):
            self.rewrite_types(child, scope)

    def rename_type(self, node: ast.Name | ast.Attribute, dotted: str, twin: str) -> None:
        self.done.add(id(node))
        sync_module, _, sync_name = dotted.rpartition(".")
        twin_module, _, twin_name = twin.rpartition(".")
        if (
            isinstance(node, ast.Name)
            and sync_module == twin_module
            and node.id == sync_name
            and self.module.imported_as(node.id) == dotted
        ):
            # `from ambidex.io import Stream`: rename the import and its uses, so the
            # port reads as if written against AsyncStream (and ports back the same).
            self.edits.replace_node(node, twin_name)
            self.rename_import(sync_module, sync_name, twin_name)
            return
        self.edits.replace_node(node, self.spell(twin))

    def rename_import(self, module: str, old: str, new: str) -> None:
        for statement in self.module.imports:
            if not isinstance(statement, ast.ImportFrom) or statement.module != module:
                continue
            for alias in statement.names:
                if alias.name == old and alias.asname is None and id(alias) not in self.done:
                    self.done.add(id(alias))
                    self.edits.replace_node(alias, new)
                    self.provided.add((module, new))


def to_async(
    modules: Mapping[str, str],
    *,
    table: RuleTable,
    renames: Mapping[str, str],
) -> Conversion:
    """Port ``modules`` (display path -> source), analysed together, to asyncio.

    Returns a :class:`~ambidex.codegen._source.Conversion` with an output for
    every input path. When any diagnostic is an error the outputs must not be
    written (``Conversion.failed``). ``explanations`` holds, for each function
    that changed colour, the chain of calls down to the primitive that forced it.
    """
    originals = modules
    modules = {path: _apply_markers(text) for path, text in modules.items()}
    graph = build(modules, table)
    diagnostics = [
        Diagnostic(path, line, col + 1, f"cannot parse: {message}")
        for path, line, col, message in graph.syntax_errors
    ]
    planner = _Planner(graph)
    planner.run()
    planner.warn_blocking_without_twin()
    diagnostics += planner.diagnostics
    twins = _type_twins(table)
    rename_table = Renames.build(dict(renames), to="async")
    outputs: dict[str, str] = {}
    for path, text in modules.items():
        module = graph.modules.get(path)
        if module is None:
            outputs[path] = text
            continue
        editor = _ModuleEditor(planner, module, twins)
        editor.run()
        diagnostics += editor.diagnostics
        output = text
        if len(editor.edits):
            try:
                output = _drop_unused_imports(module.tree, editor.edits.apply())
            except ValueError as exc:  # overlapping edits: a bug here, not in the input
                diagnostics.append(
                    Diagnostic(path, 1, 1, f"internal error while converting: {exc}")
                )
        output = _apply_renames(path, output, rename_table, diagnostics)
        if _DROPPED in output:
            output = "".join(
                line for line in output.splitlines(keepends=True) if line.strip() != _DROPPED
            )
            output = output.rstrip("\n") + "\n"  # a dropped last statement leaves blank lines
        try:
            if output != originals[path]:  # the source itself parsed
                compile(output, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            diagnostics.append(
                Diagnostic(
                    path,
                    exc.lineno or 1,
                    exc.offset or 1,
                    f"internal error: the converted module does not compile ({exc.msg})",
                )
            )
        outputs[path] = output
    explanations = [
        planner.explanation(graph.functions[key])
        for key in sorted(
            planner.reasons, key=lambda k: (graph.functions[k].module.path, graph.functions[k].line)
        )
    ]
    diagnostics.sort(key=lambda d: (d.path, d.line, d.col))
    unused = [f"rename {key!r}" for key in sorted(rename_table.user_keys - rename_table.used)]
    return Conversion(outputs, diagnostics, explanations, unused)


def _apply_renames(path: str, text: str, table: Renames, diagnostics: list[Diagnostic]) -> str:
    """The module-path segments (``_sync`` -> ``_async``) and the user's renames.

    A second parse of the converted text: the renames then see the code as
    converted (and never collide with the conversion's own edits).
    """
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError:
        return text  # reported by the compile check
    source = SourceText(text)
    edits = Edits(source)
    apply_renames(
        tree,
        source,
        edits,
        table,
        module_name_for(path),
        is_package=path.replace("\\", "/").endswith("__init__.py"),
    )
    if not len(edits):
        return text
    try:
        return edits.apply()
    except ValueError as exc:
        diagnostics.append(Diagnostic(path, 1, 1, f"internal error while renaming: {exc}"))
        return text


_CODE_STRING = re.compile(r"\s*[\w.]+(\s*[\[\],|]\s*[\w.]*)*\s*")
"""A string that may name code: ``"Client"``, ``"Optional[Conn]"``, ``"A | None"``.
Stricter than :mod:`._imports`' (no words separated by spaces alone), which
the names this converter drops depend on."""


def _drop_unused_imports(original: ast.Module, text: str) -> str:
    """Drop the imports the port left unused (``import time`` once it is ``asyncio.sleep``).

    Only names the source used are dropped: an import the source already had
    unused stays, it is not the port's business. A statement that loses some
    of its names is rewritten on one line; one that loses all of them goes.
    """
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text  # reported by the compile check
    before = used_names(original, _CODE_STRING)
    after = used_names(tree, _CODE_STRING)
    source = SourceText(text)
    edits = Edits(source)
    # Not _imports.remove_aliases: a statement that keeps some names is rewritten
    # on one line here, and one that loses all of them keeps a trailing comment
    # (as `pass`); the outputs of this converter depend on both.
    for statement, unused in unused_imports(tree, after, before):
        dropped = {id(alias) for alias in unused}
        kept = [alias for alias in statement.names if id(alias) not in dropped]
        start, end = source.span(statement)
        line_start = source.offset(statement.lineno, 0)
        assert statement.end_lineno is not None
        line_end = source.offset(statement.end_lineno + 1, 0)
        alone = not text[line_start:start].strip() and not text[end:line_end].strip()
        if not kept and alone:
            edits.replace(line_start, line_end, "")
            continue
        names = ", ".join(f"{a.name} as {a.asname}" if a.asname else a.name for a in kept)
        if not kept:
            edits.replace(start, end, "pass")
        elif isinstance(statement, ast.Import):
            edits.replace(start, end, f"import {names}")
        else:
            module = "." * statement.level + (statement.module or "")
            edits.replace(start, end, f"from {module} import {names}")
    return edits.apply() if len(edits) else text


# --- flavour markers -------------------------------------------------------------------

_DROPPED = "# ambidex-internal: dropped line"
"""Stands in for a line the markers drop, so line numbers (and diagnostics)
still match the source during the conversion; removed from the output."""


def _flag(test: ast.expr) -> bool | None:
    """True for ``IS_ASYNC``, False for ``not IS_ASYNC``, None otherwise."""
    if isinstance(test, ast.Name) and test.id == "IS_ASYNC":
        return True
    if (
        isinstance(test, ast.UnaryOp)
        and isinstance(test.op, ast.Not)
        and isinstance(test.operand, ast.Name)
        and test.operand.id == "IS_ASYNC"
    ):
        return False
    return None


def _apply_markers(text: str) -> str:
    """The flavour markers, towards async, keeping every line where it was.

    ``# ambidex: sync-only`` statements go (their block too); ``IS_ASYNC = False``
    becomes ``True``; ``if IS_ASYNC:`` / ``if not IS_ASYNC:`` statements become the
    branch that applies to async code, dedented. Dropped lines become a marker
    line that the end of the conversion removes.
    """
    if "IS_ASYNC" not in text and "sync-only" not in text:
        return text
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text  # reported by the analysis
    lines = text.splitlines(keepends=True)
    markers = marker_comments(text)

    def drop(first: int, last: int) -> None:
        for index in range(first - 1, last):
            indent = len(lines[index]) - len(lines[index].lstrip())
            lines[index] = lines[index][:indent] + _DROPPED + "\n"

    def first_line(node: ast.stmt) -> int:
        decorators: list[ast.expr] = getattr(node, "decorator_list", [])
        return min([node.lineno, *(d.lineno for d in decorators)])

    def visit(body: list[ast.stmt]) -> None:
        gone = 0
        for node in body:
            assert node.end_lineno is not None
            start = first_line(node)
            if colour_marker(markers, node) == "sync-only":
                drop(start, node.end_lineno)
                gone += 1
                continue
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "IS_ASYNC"
                and isinstance(node.value, ast.Constant)
                and node.value.value is False
            ):
                line = lines[node.value.lineno - 1]
                col = node.value.col_offset  # ASCII: the flag line is plain code
                lines[node.value.lineno - 1] = line[:col] + "True" + line[col + len("False") :]
                continue
            flag = _flag(node.test) if isinstance(node, ast.If) else None
            if isinstance(node, ast.If) and flag is not None:
                keep = node.body if flag else node.orelse
                if (
                    node.orelse
                    and isinstance(node.orelse[0], ast.If)
                    and lines[node.orelse[0].lineno - 1].lstrip().startswith("elif")
                ):
                    continue  # `if IS_ASYNC: ... elif ...:` is left alone
                drop(node.lineno, node.end_lineno)
                if not keep:
                    gone += 1
                else:
                    first, last = first_line(keep[0]), keep[-1].end_lineno
                    assert last is not None
                    original = text.splitlines(keepends=True)
                    shift = keep[0].col_offset - node.col_offset
                    for index in range(first - 1, last):
                        line = original[index]
                        lines[index] = line[shift:] if line[:shift].strip() == "" else line
                    visit(keep)
                continue
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    visit([n for n in inner if isinstance(n, ast.stmt)])
                    for handler in inner:
                        if isinstance(handler, (ast.ExceptHandler, ast.match_case)):
                            visit(handler.body)
        if body and gone == len(body):
            # Every statement of the block went: Python needs one.
            first = first_line(body[0])
            indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
            lines[first - 1] = indent + "pass\n"

    visit(tree.body)
    return "".join(lines)
