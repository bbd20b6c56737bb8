"""async -> sync, the walk: every node of a module, rewritten towards sync.

:class:`SyncWalker` drops ``async``/``await``, rewrites what the rule table
knows (``asyncio.sleep`` -> ``time.sleep``), unwraps typing that only means
"a coroutine", applies the renames, and refuses, with a location, what would
be a silent half-port (an async-only API, a coroutine not awaited where it
is made).
"""

from __future__ import annotations

import ast
import re
import sys
import tokenize
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ambidex._rules import Kind
from ambidex.codegen._flags import fold
from ambidex.codegen._imports import already_imported, place_imports, remove_aliases
from ambidex.codegen._source import python_tokens
from ambidex.codegen._to_sync.flavour import FlavourPlanner
from ambidex.codegen._to_sync.futures import FUTURE_CALLS, ReturnedFutures
from ambidex.codegen._to_sync.outside import OutsideClass, OutsideReader, only_raises
from ambidex.codegen._to_sync.resolve import imported_name
from ambidex.codegen._to_sync.threads import (
    PortClasses,
    offload_attributes,
    offload_loops,
    thread_offload,
)

_ASYNC_KW = re.compile(r"async(?:\s|\\\n)+")
_AWAIT_KW = re.compile(r"await(?:\s|\\\n)*")

# Typing that only says "this is a coroutine": unwrapped to its result type.
_AWAITABLES = frozenset({"typing.Awaitable", "collections.abc.Awaitable"})
_COROUTINES = frozenset({"typing.Coroutine", "collections.abc.Coroutine"})
_ASYNC_GENERATORS = frozenset({"typing.AsyncGenerator", "collections.abc.AsyncGenerator"})
# Questions a function asks of a value before it awaits it ("maybe awaitable").
_AWAITABLE_TESTS = frozenset({"inspect.isawaitable", "inspect.iscoroutine",
                              "asyncio.iscoroutine", "asyncio.isfuture"})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _bound_names(node: ast.AST) -> set[str]:
    """The names a statement (or a ``with`` item, an ``except``, a ``case``) binds
    other than by assignment or ``for`` (``del x`` gives ``x`` no value: not one)."""
    if isinstance(node, ast.AugAssign):
        return {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
    if isinstance(node, ast.withitem):
        return {n.id for n in ast.walk(node.optional_vars) if isinstance(n, ast.Name)} \
            if node.optional_vars is not None else set()
    if isinstance(node, ast.ExceptHandler):
        return {node.name} if node.name else set()
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return set(node.names)
    if isinstance(node, ast.match_case):
        return {n.id for n in ast.walk(node.pattern) if isinstance(n, ast.Name)} | {
            n.name for n in ast.walk(node.pattern)
            if isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name}
    return set()


def _walruses(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.NamedExpr]:
    """The ``(x := value)`` that bind in ``function`` (those in its comprehensions
    too: a walrus there binds in the function), not in functions, lambdas or
    classes defined inside it."""
    found: list[ast.NamedExpr] = []
    todo: list[ast.AST] = [*function.body]
    while todo:
        node = todo.pop()
        if isinstance(node, _SCOPES):
            continue
        if isinstance(node, ast.NamedExpr):
            found.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return found


def _lacks(dotted_type: str, name: str) -> bool:
    """Whether the class ``dotted_type`` surely has no attribute ``name``
    (False when it is not an importable class: ``threading.Lock`` is a
    factory function, its locks have ``acquire``)."""
    import importlib
    import inspect

    from ambidex._unawaited import _has_attribute

    module, _, type_name = dotted_type.rpartition(".")
    try:
        made = getattr(importlib.import_module(module), type_name, None)
    except Exception:  # not importable here: cannot tell
        return False
    return inspect.isclass(made) and _has_attribute(dotted_type, name) is False


#: ``cast(T, value)``: the value, said to be a ``T``.
def _refuses_or_does_nothing(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether ``function`` only raises, or does nothing (``pass``, ``...``, a
    docstring, ``return`` / ``return None``)."""
    if only_raises(function):
        return True
    body = [s for s in function.body if not (
        isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)))]
    return not body or (len(body) == 1 and isinstance(body[0], ast.Return) and (
        body[0].value is None or (isinstance(body[0].value, ast.Constant)
                                  and body[0].value.value is None)))


def _typed_as(receiver: str, makers: list[tuple[str, str]]) -> str:
    """How the port knows the class of ``receiver``: "conn is annotated pkg.Conn",
    "self._pool is made by pkg.Pool()", ..."""
    spelled = {"made": ("made by ", "()"), "annotated": ("annotated ", ""),
               "returned": ("returned as ", "")}
    return f"{receiver} is " + " or ".join(
        spelled[how][0] + " or ".join(f"{q}{spelled[how][1]}"
                                      for q in sorted({q for h, q in makers if h == how}))
        for how in spelled if any(h == how for h, _ in makers))


def _target_names(target: ast.expr) -> Iterator[str]:
    """The names an assignment target binds: ``a``, ``a, *b``; not the object
    of ``a.x = ...`` or ``a[0] = ...``, which stays what it was."""
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _target_names(element)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)


def _called_through_locals(function: ast.FunctionDef | ast.AsyncFunctionDef,
                           methods: frozenset[str]) -> dict[int, tuple[str, list[int]]]:
    """``run = x.run_in_executor`` then ``run(...)`` in ``function``: for each such
    attribute (by id) whose local is called, the local and the lines where its
    call is awaited (none: called, never awaited)."""
    kept: dict[str, list[int]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) \
                and isinstance(node.value, ast.Attribute) and node.value.attr in methods:
            kept.setdefault(node.targets[0].id, []).append(id(node.value))
    if not kept:
        return {}
    called: dict[str, set[int]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in kept:
            called.setdefault(node.func.id, set())
        elif isinstance(node, ast.Await) and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Name) and node.value.func.id in kept:
            called.setdefault(node.value.func.id, set()).add(node.lineno)
    return {attribute: (name, sorted(called[name]))
            for name, attributes in kept.items() if name in called
            for attribute in attributes}


#: The standard library's top-level modules: no coroutine function there but
#: asyncio's (the table's), so an outside call of one is not read.
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) - {"asyncio"}
#: Annotations that say nothing of a value's class.
_NO_TYPE = frozenset({"typing.Any", "typing_extensions.Any", "builtins.object"})
_CASTS = frozenset({"typing.cast", "typing_extensions.cast"})
#: How a local kept from a call outside the port names no class it is
#: (:meth:`SyncWalker._check_method_of_returned`): ``f()``, ``await f()``,
#: ``with f() as x``.
_KEPT_FROM_CALLS = frozenset({"called", "awaited", "entered"})


class SyncWalker(FlavourPlanner):
    """The walk: every node of one module, rewritten towards sync."""


    # --- the walk -----------------------------------------------------------------
    # Dispatch by type, cached: the walk visits every node of every module.
    _dispatch: dict[type, Callable[[SyncWalker, Any], None]] = {}
    in_target = 0
    """How many statements that only sync code runs the walk is inside."""
    port_names: frozenset[str] = frozenset()
    """The names the port's modules define at their top (functions, classes, globals)."""
    port_modules: Mapping[str, frozenset[str] | None] = {}
    """The port's modules by name: the names each binds at its top (defines or
    imports), None for one with a ``from x import *``."""
    port_methods: frozenset[str] = frozenset()
    """The names of the methods the port's top-level classes define."""
    port_coroutine_methods: frozenset[str] = frozenset()
    """The names of those methods that are coroutine functions (``async def``) in
    every class of the port that defines them."""
    functions: list[ast.FunctionDef | ast.AsyncFunctionDef | None]
    """The functions the walk is inside, innermost last (None: a lambda)."""
    returned_futures = ReturnedFutures()
    """The port's functions and methods that say they return a future or a task."""
    outside = OutsideReader(())
    """Reads the definitions of functions outside the port (shared by the modules)."""
    port_coroutines: frozenset[str] = frozenset()
    """The dotted names of the port's module-level coroutine functions."""
    port_coroutine_names: frozenset[str] = frozenset()
    """Their last parts (asked first: most calls are of something else)."""
    port_classes = PortClasses({}, {})
    """The port's classes and where it names each attribute (shared by the modules)."""
    _has_walrus: bool | None = None
    """Whether the module's text has a ``:=`` at all (asked once, when typing locals)."""

    def visit(self, node: ast.AST) -> None:
        if self.plan.skip and id(node) in self.plan.skip:
            return
        kind = type(node)
        method = self._dispatch.get(kind)
        if method is None:
            found: Callable[[SyncWalker, Any], None] = getattr(
                type(self), "visit_" + kind.__name__, SyncWalker.generic_visit)
            method = self._dispatch[kind] = found
        if self.target_only and id(node) in self.target_only:
            # Code only the target colour runs: converted (renames), not judged as source.
            self.in_target += 1
            try:
                method(self, node)
            finally:
                self.in_target -= 1
            return
        method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        start = self.source.offset(node.lineno, node.col_offset)
        match = _ASYNC_KW.match(self.source.text, start)
        if match is not None:
            self.edits.replace(match.start(), match.end(), "")
        name = ".".join([*self.scope, node.name])
        kind = "async generator -> generator" if id(node) in self.scan.generators \
            else "async def -> def"
        self.explanations.append(f"{self.path}:{node.lineno}:{node.col_offset + 1}: "
                                 f"{name}: {kind}")
        if self.source is self._module_source:
            drops, calls, passes = offload_loops(self, node)
            self.loop_drops.update(id(statement) for statement in drops)
            self.loop_passes.update(id(statement) for statement in passes)
            self.loop_offloads.update(id(call) for call in calls)
        self.scope.append(node.name)
        self.functions.append(node)
        self._visit_function(node)
        self.functions.pop()
        self.scope.pop()

    def visit_Assign(self, node: ast.Assign) -> None:
        if id(node) not in self.loop_drops:
            super().visit_Assign(node)
            return
        # `loop = asyncio.get_running_loop()` whose every use became a call of
        # the function handed to a thread (offload_loops): the line goes.
        text = self.source.text
        start, end = self.source.span(node)
        if id(node) in self.loop_passes:  # alone in its block: the block keeps a statement
            self.edits.replace(start, end, "pass")
        else:
            line_end = text.find("\n", end)
            self.edits.replace(text.rfind("\n", 0, start) + 1,
                               len(text) if line_end < 0 else line_end + 1, "")
        self.touched.update(n.id for n in ast.walk(node.value) if isinstance(n, ast.Name))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.scope.append(node.name)
        self.functions.append(node)
        self._visit_function(node)
        self.functions.pop()
        self.scope.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.class_coroutines.append({
            s.name for s in node.body
            if isinstance(s, ast.AsyncFunctionDef) and id(s) not in self.scan.generators
        })
        if not self.in_target:
            self._check_awaitable_class(node)
            self._renamed_onto_defined(node)
        if self.source is self._module_source and "run_in_executor" in self.source.text:
            drops, calls, passes, why = offload_attributes(self, node)
            self.loop_drops.update(id(statement) for statement in drops)
            self.loop_offloads.update(id(call) for call in calls)
            self.loop_passes.update(id(statement) for statement in passes)
            self.loop_attributes[id(node)] = why
        self.scope.append(node.name)
        self.made_outside.append(self._attributes_made_outside(node))
        self.classes.append(node)
        super().visit_ClassDef(node)
        self.classes.pop()
        self.made_outside.pop()
        self.scope.pop()
        self.class_coroutines.pop()

    def _renamed_onto_defined(self, node: ast.ClassDef) -> None:
        """A method the rename gives a name the class body already defines
        (``async def __aenter__`` -> ``def __enter__`` beside a ``def __enter__``:
        motor 3.7.1's sessions, aiobotocore 3.10.0's streaming bodies): the output
        would define it twice and the later would win. Never both:

        * one only hands its call to the other, as the sync code reads (``async
          def aclose(self): self.close()``, which would call itself, whatever
          decorates it; redis 8.1.0's ``@deprecated_function(...) async def
          close(self): await self.aclose()``; ``def close(self): self.aclose()``
          in an ``else:`` of ``if not _IS_SYNC:``): it goes, the renamed one first;
        * one without a decorator only refuses the other colour (its body only
          raises, ``raise AttributeError("use async with")``) or does nothing
          (``pass``): it goes, the one already there first (the renamed method
          takes its place);
        * else refused at the renamed method, naming both lines."""
        defined: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        for statement in node.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and id(statement) not in self.plan.skip:
                becomes = self.renames.attribute(statement.name) or statement.name
                defined.setdefault(becomes, []).append(statement)
        for name, functions in defined.items():
            if len({f.name for f in functions}) < 2:
                continue  # one name written twice (@overload, a property's setter)
            renamed = [f for f in functions if f.name != name]
            kept = [f for f in functions if f.name == name]
            where = f"{'.'.join([*self.scope, node.name])}.{name}"
            if len(renamed) == 1 and len(kept) == 1:
                fresh, existing = renamed[0], kept[0]
                choices = [
                    (fresh, existing, "only calls", self._hands_over(fresh, name)),
                    (existing, fresh, "only calls", self._hands_over(existing, name)),
                    (existing, fresh, "only refuses or does nothing, beside",
                     not existing.decorator_list and _refuses_or_does_nothing(existing)),
                    (fresh, existing, "only refuses or does nothing, beside",
                     not fresh.decorator_list and _refuses_or_does_nothing(fresh))]
                chosen = next(((g, o, w) for g, o, w, fits in choices if fits), None)
                if chosen is not None:
                    gone, other, why = chosen
                    self._drop(gone)
                    self.renamed_over.add(id(gone))
                    self.explanations.append(
                        f"{self.path}:{gone.lineno}:{gone.col_offset + 1}: {where}: "
                        f"{gone.name} left out of the sync class: it {why} the {other.name} "
                        f"of line {other.lineno}, which becomes {name}")
                    continue
            lines = ", ".join(f"`{'async def' if isinstance(f, ast.AsyncFunctionDef) else 'def'}"
                              f" {f.name}` (line {f.lineno})" for f in functions)
            for function in renamed:
                self.report(function, f"{function.name} becomes {name}, which the sync class "
                            f"would then define {len(functions)} times ({lines}), the last one "
                            "winning; the port cannot tell which the sync class wants: give the "
                            "sync code one (mark the other '# ambidex: async-only'), or rename "
                            "one of them")

    def _hands_over(self, function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
        """Whether ``function``'s body (after a docstring), as the sync code reads
        it (a branch the flags decide is the branch kept), only calls
        ``self.m(...)`` (awaited or not, returned or not), ``m`` being ``name`` in
        the sync code, handing on its own parameters, each as it came and no
        other value (``self.close(force=True)`` changes what the call means)."""
        kept = {id(r[2]): r[3] for r in self.plan.replacements if r[2] is not None}
        body = [s for s in function.body if id(s) not in self.plan.skip]
        if len(body) > 1 and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]  # the docstring
        while len(body) == 1 and isinstance(body[0], ast.If) and id(body[0]) in kept:
            body = [s for s in kept[id(body[0])] if id(s) not in self.plan.skip]
        if len(body) != 1 or not isinstance(body[0], (ast.Expr, ast.Return)):
            return False
        value = body[0].value
        if isinstance(value, ast.Await):
            value = value.value
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                and isinstance(value.func.value, ast.Name) and value.func.value.id == "self"
                and (self.renames.attribute(value.func.attr) or value.func.attr) == name):
            return False
        arguments = function.args
        own = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                               *([arguments.vararg] if arguments.vararg else []),
                               *([arguments.kwarg] if arguments.kwarg else []))][1:]
        handed = [a.value if isinstance(a, ast.Starred) else a for a in value.args]
        handed += [k.value for k in value.keywords]
        names = [a.id for a in handed if isinstance(a, ast.Name)]
        return len(names) == len(handed) and sorted(names) == sorted(own) \
            and all(k.arg is None or k.arg == k.value.id for k in value.keywords
                    if isinstance(k.value, ast.Name))

    def _check_awaitable_class(self, node: ast.ClassDef) -> None:
        """A class whose instances are awaited (it defines ``__await__`` or derives
        from ``Awaitable``/``Coroutine``): ``await conn.cursor(q)`` runs the object
        and gives its result, the sync ``conn.cursor(q)`` gives the object itself
        (aiomysql's ``_ContextManager``, asyncpg's ``CursorFactory``). Nothing
        reading the code follows every awaited instance: refused at its place."""
        why: str | None = None
        where: ast.AST | None = None
        for base in node.bases:
            qualified = self.qualified_name(
                base.value if isinstance(base, ast.Subscript) else base)
            if qualified in _AWAITABLES or qualified in _COROUTINES:
                why, where = f"it derives from {qualified.rsplit('.', 1)[1]}", base
                break
        else:
            for statement in node.body:
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                        and statement.name == "__await__" and id(statement) not in self.plan.skip:
                    why, where = "it defines __await__", statement
                    break
        if where is None:
            return
        self.report(where, f"instances of {'.'.join([*self.scope, node.name])} are awaitable "
                    f"({why}): awaiting one runs it and gives its result, but towards sync "
                    "`await x` becomes `x`, which gives the object itself, wherever an "
                    "instance is awaited; give the sync code its own way to get the result "
                    "and mark the class (or its __await__) '# ambidex: async-only'")

    def _attributes_made_outside(self, node: ast.ClassDef
                                 ) -> dict[str, list[tuple[str, str]]]:
        """``self.x = Q(...)`` in the class's methods, for every ``x`` whose every
        such value is made by a call of a dotted name, or is a parameter annotated
        with a class from outside the port (``self.x = x``): ``x`` -> (how, name)
        pairs, as :meth:`_check_method_of_typed` takes them ("made" or
        "annotated"), each name either from outside the port (:meth:`_outside`)
        or a call the table rewrites (``asyncio.Semaphore``), not both kinds."""
        made: dict[str, list[tuple[str, str]]] = {}
        outside: set[str] = set()
        other: set[str] = set()
        owners: dict[int, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        for function in ast.walk(node):  # outer first: the innermost function wins
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                owners.update((id(n), function) for n in ast.walk(function))
        for child in ast.walk(node):
            if not isinstance(child, ast.Assign) or len(child.targets) != 1:
                continue
            target = child.targets[0]
            if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                    and target.value.id == "self"):
                continue
            value = child.value
            owner = owners.get(id(child))
            if isinstance(value, ast.Name) and owner is not None:
                # self._x = x, where every value of x says its type (a parameter
                # annotated with a class from outside the port): that type.
                typed = self._typed_locals_cache.get(id(owner))
                if typed is None:
                    # Not kept: the walk reads it again, knowing this class's `self.x`.
                    typed = self._typed_locals(owner, attributes=False)
                named = typed.get(value.id)
                if named and all(how in ("made", "annotated", "returned")
                                 and self._table_type(q) is None and q not in _NO_TYPE
                                 for how, q in named):
                    made.setdefault(target.attr, []).extend(named)
                    outside.add(target.attr)
                    continue
            qualified = self.qualified_name(value.func) if isinstance(value, ast.Call) \
                else None
            if qualified is not None and isinstance(value, ast.Call) \
                    and self._outside(value.func, qualified):
                made.setdefault(target.attr, []).append(("made", qualified))
                outside.add(target.attr)
            elif qualified is not None and self._table_type(qualified) is not None:
                made.setdefault(target.attr, []).append(("made", qualified))
            else:
                other.add(target.attr)
        return {attr: sorted(set(q)) for attr, q in made.items()
                if attr not in other
                and (attr not in outside or all(self._table_type(n) is None for _, n in q))}

    def _table_type(self, qualified: str) -> str | None:
        """The sync type a call of ``qualified`` makes, when the table rewrites
        that call (``asyncio.Semaphore`` -> ``threading.Semaphore``)."""
        rule = self.tables.to_sync.get(qualified)
        if rule is None or rule.kind is not Kind.CALL or not rule.sync \
                or qualified in self.qualified_renames:
            return None
        made = rule.returns or rule.sync
        return made if "." in made and made.rsplit(".", 1)[1][:1].isupper() else None

    def _drop_async_keyword(self, node: ast.AST) -> None:
        start = self.source.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        match = _ASYNC_KW.match(self.source.text, start)
        if match is not None:
            self.edits.replace(match.start(), match.end(), "")

    def visit_IfExp(self, node: ast.IfExp) -> None:
        """``a if _IS_SYNC else b``: the flags decide it, so only the live side stays."""
        folded = fold(node.test, self.values)
        if not isinstance(folded, bool):
            self.generic_visit(node)
            return
        kept, dead = (node.body, node.orelse) if folded else (node.orelse, node.body)
        # The dead side's names may have been an import's only use.
        self.touched.update(n.id for n in ast.walk(dead) if isinstance(n, ast.Name))
        self.visit(kept)
        text = self.edits.render(*self.source.span(kept))
        self.edits.replace_span(*self.source.span(node), text)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        self._drop_async_keyword(node)
        if not self.in_target:
            for item in node.items:
                self._check_outside_protocol(item.context_expr, "with", "__enter__")
        self.generic_visit(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self._drop_async_keyword(node)
        if not self.in_target:
            self._check_outside_protocol(node.iter, "for", "__iter__")
        self.generic_visit(node)

    def _check_outside_protocol(self, value: ast.expr, statement: str, needed: str,
                                becomes: str | None = None) -> None:
        """``async with pkg.Conn()`` / ``async for x in pkg.Rows()``, the value made
        by a class from outside the port (or returned by a function whose
        annotation names such classes), read from its source: the sync
        ``with`` / ``for`` calls ``needed``, which the class may lack (it has
        ``__aenter__``, not ``__enter__``) or define only to refuse (its body only
        raises: aiohttp's ClientSession): refused; a base that cannot be read may
        have it: said with its place. Likewise a value the port knows the type
        of (``async with self.lock``, ``self.lock = anyio.Lock()``), and what a
        method of such a value gives (:meth:`_check_protocol_of_method`).
        ``becomes``: how the statement changes (``await
        stack.enter_async_context(cm)``), for the message."""
        becomes = becomes or f"`async {statement}` over {ast.unparse(value)} becomes " \
            f"`{statement}`"
        makers = self._maker(value, returned=True)
        if makers is None:
            typed = self._typed_value(value)
            if typed is None and isinstance(value, ast.Call) \
                    and isinstance(value.func, ast.Attribute):
                typed = self._typed_value(value.func.value)
                if typed is not None:
                    self._check_protocol_of_method(value, value.func, *typed, needed, becomes)
                return
            makers = typed[1] if typed is not None else None
        if not makers or any(how not in ("made", "returned", "annotated") or self._table_type(q)
                             for how, q in makers):
            return
        for _, dotted in makers:
            found = self.outside.outside_class(dotted) if self._outside_name(dotted) else None
            if found is not None and self._lacks_protocol(value, dotted, found, needed, becomes):
                return

    def _lacks_protocol(self, value: ast.expr, dotted: str, found: OutsideClass, needed: str,
                        becomes: str) -> bool:
        """Whether the outside class ``dotted`` (``found``) lacks ``needed``, or has
        it only to refuse (its body only raises): said at ``value``."""
        method = found.methods.get(needed)
        refuses = method is not None and method.refuses
        if found.has(needed) and not refuses:
            return False
        said = f"{becomes}, which calls {needed}, and " + (
            f"{found.owners.get(needed, dotted)}.{needed} only raises (it refuses sync use)"
            if refuses else f"{dotted} has no {needed}")
        advice = f"port its module too, or name its sync twin with --rename {dotted}=..."
        if found.unread and not refuses:
            self.report(value, f"{said} as far as its source says (it may come from "
                        f"{', '.join(found.unread)}, which cannot be read), from outside "
                        f"the port and the rule table; {advice}", error=False)
        else:
            self.report(value, f"{said} (read from its source, outside the port and the "
                        f"rule table): the sync code fails there; {advice}")
        return True

    def _check_protocol_of_method(self, value: ast.Call, func: ast.Attribute, receiver: str,
                                  makers: list[tuple[str, str]], needed: str,
                                  becomes: str) -> None:
        """``async with conn.m(...)`` where every value of ``conn`` is an instance of
        a class from outside the port (databases 0.9.0's ``self._connection``, an
        aiosqlite.Connection): an ``async def`` ``m`` is refused at the call
        (:meth:`_check_unawaited_outside_method`); a plain ``def`` whose return
        annotation names classes the port can read is checked as ``async with
        pkg.Conn()`` is; anything else is a located "cannot tell": the sync
        ``with`` calls ``needed`` on what ``m`` gives, which nothing here reads."""
        if any(how not in ("made", "returned", "annotated") or self._table_type(q)
               for how, q in makers):
            return
        for dotted in sorted({q for _, q in makers}):
            found = self.outside.outside_class(dotted) if self._outside_name(dotted) else None
            owner = found.owners.get(func.attr) if found is not None else None
            if owner is not None and self.outside.async_definition(
                    f"{owner}.{func.attr}") is not None:
                return  # said at the call
            returned = self.outside.returned_class(f"{owner}.{func.attr}") \
                if owner is not None else None
            classes = returned[1] if returned is not None else None
            readable = [(c, self.outside.outside_class(c)) for c in classes or ()
                        if self._outside_name(c)]
            if classes and len(readable) == len(classes) \
                    and all(r is not None for _, r in readable):
                for name, cls in readable:
                    assert cls is not None
                    if self._lacks_protocol(value, name, cls, needed, becomes):
                        return
                continue
            what = "a name the port cannot read" if found is None else (
                f"{owner}.{func.attr}, whose return annotation names no class the port can "
                "read" if owner is not None else f"no method of {dotted} the port can read")
            self.report(value, f"{becomes}, which calls {needed} on what "
                        f"`{ast.unparse(func)}(...)` gives: {_typed_as(receiver, makers)}, "
                        "from outside the port and the rule table, and "
                        f"`{func.attr}` is {what}: the port cannot tell whether it has "
                        f"{needed}; port its module too, or name its sync twin with "
                        f"--rename {dotted}=...", error=False)
            return

    def visit_Await(self, node: ast.Await) -> None:
        start = self.source.offset(node.lineno, node.col_offset)
        match = _AWAIT_KW.match(self.source.text, start)
        if match is not None:
            self.edits.replace(match.start(), match.end(), "")
        self.awaited.add(id(node.value))
        if not self.in_target:
            if isinstance(node.value, ast.Call):
                self._check_awaited_future_call(node, node.value)
            else:
                self._check_awaited_value(node)
        self.visit(node.value)

    def _check_awaited_value(self, node: ast.Await) -> None:
        """``await x`` where ``x`` is a value, not a call: what it holds was made
        elsewhere (a future, a task, a coroutine kept for later), and the sync
        ``x`` waits for nothing (aiokafka's ``await self._pid_waiter`` on a future
        from ``create_future()``: ``wait_for_pid()`` returned at once).

        Refused when every value ``x`` is given is made by a call the port sees
        making a future or a task (:meth:`_makes_a_future`): the sync value is
        surely the future itself. Else said with its place unless the port can
        explain the value, the sync value then being the result: an item of
        ``async for``; what a coroutine function of the port or a callable the
        caller hands in returns (their sync twins return the result), or a
        property of the port (aiobotocore's ``await response.content``); a value
        the function asks about first (``if inspect.isawaitable(x): x = await
        x``, aiobotocore's and asyncssh's "maybe awaitable" values); a value whose
        making the walk reports anyway (a call of an asyncio API without a sync
        twin); code only the async colour runs (never walked). Decided on 14
        async packages (session 8's note): every value this says was a future, a
        task or a stored coroutine."""
        value = node.value
        where: ast.AST = self._fstring if self._fstring is not None else node
        function = self.functions[-1] if self.functions else None
        makers = self._future_makers(function, value)
        if makers:
            holder = "the class gives it" if isinstance(value, ast.Attribute) \
                else "the function gives it"
            self.report(where, f"awaits `{ast.unparse(value)}`, a future or a task: every "
                        f"value {holder} is made by {' or '.join(makers)}, finished later "
                        "by someone else; towards sync `await x` becomes `x`, so the sync "
                        "code keeps the future itself and waits for nothing: give the sync "
                        "code its own way to get the result and mark the statement "
                        "'# ambidex: async-only'")
            return
        if isinstance(value, ast.Attribute) and value.attr in self.port_methods:
            return
        if function is not None and (self._asked_if_awaitable(function, value)
                                     or self._explained_by_bindings(function, value)):
            return
        self.report(where, f"awaits `{ast.unparse(value)}`, a value made elsewhere (a "
                    "future, a task, a coroutine kept for later): the sync code drops the "
                    "await and waits for nothing, which is right only if the sync value is "
                    "already the result; make and await it in one place, or mark the "
                    "statement '# ambidex: async-only'", error=False)

    def _future_makers(self, function: ast.FunctionDef | ast.AsyncFunctionDef | None,
                       value: ast.expr) -> list[str]:
        """What makes every value of ``value`` when each one is a future or a task
        (:meth:`_makes_a_future`), else nothing. A name: every binding ``function``
        gives it, all by assignment (``x = None`` and ``x = await x`` aside). An
        attribute ``self.x``: every assignment in the class being walked, when no
        other kind of binding of ``x`` (``self.x += ...``, unpacked, set on
        another object anywhere in the module) can give it another value."""
        values: list[ast.expr] | None = None
        if isinstance(value, ast.Name) and function is not None:
            values = self._assigned_values(function, value.id)
        elif isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) \
                and value.value.id == "self" and self.classes:
            values = self._attribute_values(self.classes[-1], value.attr)
        if not values:
            return []
        makers: list[str] = []
        for bound in values:
            maker = self._makes_a_future(bound)
            if maker is None:
                return []
            if maker not in makers:
                makers.append(maker)
        return makers

    def _makes_a_future(self, value: ast.expr) -> str | None:
        """How ``value`` makes a future or a task, when it surely does: a call of an
        asyncio API that makes one (``asyncio.create_task``, ``asyncio.Future``,
        ...); an event loop's method (``loop.create_future()``, on a receiver
        whose method name no class of the port defines: the sync code keeps the
        call, which gives what it gave); a function or method of the port whose
        return annotation is ``asyncio.Future`` / ``asyncio.Task``
        (:meth:`_returned_future`: its result, awaited first when it is an
        ``async def``)."""
        awaited = isinstance(value, ast.Await)
        call = value.value if isinstance(value, ast.Await) else value
        if not isinstance(call, ast.Call):
            return None
        returned = self._returned_future(call)
        if returned is not None:
            spelled, typed, is_async = returned
            return f"{spelled}() (which returns {typed})" if awaited == is_async else None
        if awaited:
            return None
        func = call.func
        qualified = self.qualified_name(func)
        if qualified in FUTURE_CALLS:
            return f"{qualified}()"
        if qualified is None and isinstance(func, ast.Attribute) \
                and func.attr in self.tables.loop_methods and func.attr not in self.port_methods:
            return f"{ast.unparse(func)}() (an event loop's method)"
        return None

    def _returned_future(self, call: ast.Call) -> tuple[str, str, bool] | None:
        """(how the call is spelled, the type, whether it is ``async def``) when
        ``call`` calls a function of the port, or a method name every class of
        the port that defines it annotates so, whose return annotation is
        ``asyncio.Future`` / ``asyncio.Task`` (:mod:`.futures`)."""
        func = call.func
        qualified = self.qualified_name(func)
        if isinstance(func, ast.Name) and qualified is None and func.id in self.local_names:
            qualified = f"{self.module_name}.{func.id}"
        if qualified is not None and qualified in self.returned_futures.functions:
            return (qualified, *self.returned_futures.functions[qualified])
        if isinstance(func, ast.Attribute) and func.attr in self.returned_futures.methods:
            return (ast.unparse(func), *self.returned_futures.methods[func.attr])
        if qualified is not None and self._outside(func, qualified):
            found = self.outside.definition(qualified)
            if found is not None and found.returns in ("asyncio.Future", "asyncio.Task"):
                return (qualified, found.returns, False)
        return None

    def _check_awaited_future_call(self, node: ast.Await, call: ast.Call) -> None:
        """``await create_future(loop)`` with ``def create_future(...) ->
        asyncio.Future[T]`` in the port: awaiting the call waits for the future,
        but the sync twin returns the future itself, and the sync code (``await``
        dropped) waits for nothing. Refused at its place."""
        returned = self._returned_future(call)
        if returned is None or returned[2]:
            return
        spelled, typed, _ = returned
        where: ast.AST = self._fstring if self._fstring is not None else node
        self.report(where, f"awaits {spelled}(), which returns {typed} (its return "
                    "annotation): its sync twin returns the future itself, finished later "
                    "by someone else, and the sync code waits for nothing: give the sync "
                    "code its own way to get the result and mark the statement "
                    "'# ambidex: async-only'")

    def _assigned_values(self, function: ast.FunctionDef | ast.AsyncFunctionDef,
                         name: str) -> list[ast.expr] | None:
        """Every value ``function`` assigns to the local ``name`` (``x = None`` and
        ``x = await x`` aside), or None when ``name`` is a parameter or is bound
        any other way too (a loop, unpacking, ``with``, ``except``, a nested
        definition)."""
        arguments = function.args
        if any(a.arg == name for a in (
                *arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                *([arguments.vararg] if arguments.vararg else []),
                *([arguments.kwarg] if arguments.kwarg else []))):
            return None
        values: list[ast.expr] = []
        todo: list[ast.AST] = list(function.body)
        while todo:
            child = todo.pop()
            if isinstance(child, _SCOPES):
                if getattr(child, "name", None) == name:
                    return None
                continue
            todo.extend(ast.iter_child_nodes(child))
            if isinstance(child, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id == name:
                        bound = child.value
                        if bound is None or (isinstance(bound, ast.Constant)
                                             and bound.value is None):
                            continue
                        if isinstance(bound, ast.Await) and isinstance(bound.value, ast.Name) \
                                and bound.value.id == name:
                            continue
                        values.append(bound)
                    elif any(isinstance(n, ast.Name) and n.id == name
                             for n in ast.walk(target)):
                        return None
            elif isinstance(child, (ast.For, ast.AsyncFor, ast.comprehension)):
                if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(child.target)):
                    return None
            elif name in _bound_names(child):
                return None
        return values

    def _attribute_values(self, owner: ast.ClassDef, attr: str) -> list[ast.expr] | None:
        """Every value the class ``owner`` assigns to ``self.<attr>`` (None aside), or
        None when ``attr`` is bound another way: in the class body, by ``+=``, by
        unpacking or a loop, or on any object but ``self`` anywhere in the module."""
        stored = self._attributes_stored_elsewhere()
        if attr in stored or "*" in stored:
            return None
        for statement in owner.body:
            if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    isinstance(n, ast.Name) and n.id == attr and isinstance(n.ctx, ast.Store)
                    for n in ast.walk(statement)):
                return None
        values: list[ast.expr] = []
        for child in ast.walk(owner):
            if isinstance(child, (ast.Assign, ast.AnnAssign)):
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                for target in targets:
                    if isinstance(target, ast.Attribute) and target.attr == attr:
                        bound = child.value
                        if bound is None or (isinstance(bound, ast.Constant)
                                             and bound.value is None):
                            continue
                        values.append(bound)
                    elif any(isinstance(n, ast.Attribute) and n.attr == attr
                             for n in ast.walk(target)):
                        return None
            elif isinstance(child, (ast.AugAssign, ast.For, ast.AsyncFor, ast.comprehension,
                                    ast.withitem)):
                other: ast.expr | None = child.optional_vars \
                    if isinstance(child, ast.withitem) else child.target
                if other is not None and any(isinstance(n, ast.Attribute) and n.attr == attr
                                             for n in ast.walk(other)):
                    return None
        return values

    def _attributes_stored_elsewhere(self) -> frozenset[str]:
        """The attribute names the module sets on anything but ``self``
        (``waiter._future = value``), and by ``setattr``: read once per module."""
        found = getattr(self, "_stored_elsewhere", None)
        if found is None:
            names: set[str] = set()
            for child in ast.walk(self.tree):
                if isinstance(child, ast.Attribute) and isinstance(child.ctx, ast.Store) \
                        and not (isinstance(child.value, ast.Name) and child.value.id == "self"):
                    names.add(child.attr)
                elif isinstance(child, ast.Call) and isinstance(child.func, ast.Name) \
                        and child.func.id == "setattr" and len(child.args) >= 2:
                    second = child.args[1]
                    names.add(second.value if isinstance(second, ast.Constant)
                              and isinstance(second.value, str) else "*")
            found = self._stored_elsewhere = frozenset(names)
        return found

    def _asked_if_awaitable(self, function: ast.FunctionDef | ast.AsyncFunctionDef,
                            value: ast.expr) -> bool:
        """Whether ``function`` asks ``inspect.isawaitable(value)`` (or the like:
        ``asyncio.iscoroutine``, ``hasattr(value, "__await__")``, aio-pika's)."""
        spelled = ast.dump(value)
        for call in ast.walk(function):
            if isinstance(call, ast.Call) and call.args \
                    and ast.dump(call.args[0]) == spelled:
                qualified = self.qualified_name(call.func)
                if qualified in _AWAITABLE_TESTS or (
                        qualified == "hasattr" and len(call.args) == 2
                        and isinstance(call.args[1], ast.Constant)
                        and call.args[1].value == "__await__"):
                    return True
        return False

    def _explained_by_bindings(self, function: ast.FunctionDef | ast.AsyncFunctionDef,
                               value: ast.expr) -> bool:
        """Whether every binding ``function`` gives ``value`` (a name, or an
        attribute the function itself sets) explains it: an ``async for`` target,
        or a call the port makes sync or reports (:meth:`_explained_call`). A
        parameter, a plain ``for``, an awaited call's result, anything else, or no
        binding at all (a name from outside the function): not explained."""
        spelled = ast.unparse(value)  # not dump: a target's ctx is Store
        name = value.id if isinstance(value, ast.Name) else None
        arguments = function.args
        parameters = {a.arg for a in (
            *arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
            *([arguments.vararg] if arguments.vararg else []),
            *([arguments.kwarg] if arguments.kwarg else []))}
        if name is not None and name in parameters:
            return False
        found = False
        todo: list[ast.AST] = list(function.body)
        while todo:
            child = todo.pop()
            if isinstance(child, _SCOPES):
                if name is not None and getattr(child, "name", None) == name:
                    return False
                continue
            todo.extend(ast.iter_child_nodes(child))
            if isinstance(child, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                bound = child.value
                for target in targets:
                    if ast.unparse(target) == spelled:
                        if bound is None or (isinstance(bound, ast.Await)
                                             and ast.unparse(bound.value) == spelled):
                            continue  # `x: T`, `x = await x`: no value of its own
                        if isinstance(bound, ast.Constant) and bound.value is None:
                            continue  # `x = None` before, `self._waiter = None` after
                        if not self._explained_call(bound, parameters):
                            return False
                        found = True
                    elif name is not None and any(
                            isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
                            and n.id == name for n in ast.walk(target)):
                        return False  # unpacked: `future, key = make()`
            elif isinstance(child, (ast.For, ast.AsyncFor, ast.comprehension)):
                if any(ast.unparse(n) == spelled for n in ast.walk(child.target)):
                    if not (isinstance(child, ast.AsyncFor)
                            or (isinstance(child, ast.comprehension) and child.is_async)):
                        return False
                    found = True
            elif name is not None and name in _bound_names(child):
                return False  # `x += ...`, `with ... as x`, `except ... as x`, ...
        return found

    def _explained_call(self, value: ast.expr, parameters: set[str]) -> bool:
        """Whether ``value`` is a call whose sync twin gives the result (a coroutine
        function or method of the port: ``x = conn.fetch()``, then ``await x``; a
        callable the caller hands in, ``parameters``: the sync caller hands in a
        sync one, pymongo's ``result = kms_connect_callback(...)``), or that the
        walk reports where it is made (an event loop's method, an asyncio API
        without a sync twin). A plain function of the port may return a future
        (aiokafka's ``self._create_fetch_waiter()``): not explained."""
        if isinstance(value, ast.IfExp):  # `self.create_future() if wait else None`
            return all(self._explained_call(side, parameters)
                       or (isinstance(side, ast.Constant) and side.value is None)
                       for side in (value.body, value.orelse))
        if not isinstance(value, ast.Call):
            return False
        func = value.func
        if isinstance(func, ast.Name) and (func.id in self.coroutine_functions
                                           or func.id in parameters):
            return True
        if isinstance(func, ast.Attribute) and func.attr in self.port_coroutine_methods:
            return True
        qualified = self.qualified_name(func)
        if qualified is None:
            return isinstance(func, ast.Attribute) and func.attr in self.tables.loop_methods \
                and func.attr not in self.port_methods
        if qualified in self.qualified_renames:
            return False
        rule = self.tables.to_sync.get(qualified)
        if rule is not None:
            return rule.sync is None
        return qualified.split(".")[0] in self.tables.async_modules

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None:
            self.returned.add(id(node.value))
            self.visit(node.value)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.returned.add(id(node.body))
        self.functions.append(None)  # its parameters hide the function's locals
        super().visit_Lambda(node)
        self.functions.pop()

    # comprehensions: `async for` inside has no node position of its own
    def _visit_comprehension(self, elements: list[ast.expr],
                             generators: list[ast.comprehension]) -> None:
        previous_end = self.source.span(elements[-1])[1]
        for generator in generators:
            target_start = self.source.span(generator.target)[0]
            if generator.is_async:
                gap = self.source.text[previous_end:target_start]
                matches = list(re.finditer(r"async(?:\s|\\\n)+for\b", gap))
                if matches:
                    found = matches[-1]
                    self.edits.replace(previous_end + found.start(),
                                       previous_end + found.end() - 3, "")
            self.visit(generator.target)
            self.visit(generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
            previous_end = self.source.span(
                generator.ifs[-1] if generator.ifs else generator.iter)[1]
        for element in elements:
            self.visit(element)

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._visit_comprehension([node.elt], node.generators)

    def visit_SetComp(self, node: ast.SetComp) -> None:
        self._visit_comprehension([node.elt], node.generators)

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> None:
        self._visit_comprehension([node.elt], node.generators)

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._visit_comprehension([node.key, node.value], node.generators)

    # f-strings: positions of the code inside may be wrong before Python 3.12
    _fstring: ast.JoinedStr | None = None
    """The outermost f-string the walk is inside: where its findings are said."""

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        outer = self._fstring
        if outer is None:
            self._fstring = node
        try:
            self._visit_fstring(node)
        finally:
            self._fstring = outer

    def _visit_fstring(self, node: ast.JoinedStr) -> None:
        for value in node.values:
            if not isinstance(value, ast.FormattedValue):
                continue
            before = len(self.edits)
            self.visit(value.value)
            if value.format_spec is not None:
                self.visit(value.format_spec)
            if len(self.edits) != before and not self._located(value.value):
                self.edits.truncate(before)
                self.report(value, "cannot locate the code inside this f-string on Python "
                            f"{sys.version_info[0]}.{sys.version_info[1]}: move the "
                            "expression out of the f-string into a variable")

    def _located(self, node: ast.expr) -> bool:
        try:
            segment = self.source.segment(node)
            parsed = ast.parse(f"({segment})", mode="eval").body
        except (SyntaxError, ValueError):
            return False
        return ast.dump(parsed) == ast.dump(node)

    # names
    def rename_name(self, node: ast.Name) -> str | None:
        new = self._rename_name(node)
        if self._in_annotation:
            # Annotations inside functions are not compiled: remember their names so
            # that the imports they need are not taken for unused.
            self.annotation_names.add((new or node.id).split(".")[0])
        return new

    def _rename_name(self, node: ast.Name) -> str | None:
        if node.id in self.local_renames:
            new = self.local_renames[node.id]
            return self.spell(new) if "." in new else new
        if node.id in self.decided_locals:
            return None
        qualified = self.qualified_name(node)
        if qualified is not None:
            replaced = self._table_rewrite(node, qualified)
            if replaced is not None:
                return replaced
            if self._in_annotation and not self.reported:
                if self._bare_awaitable(node, qualified):
                    self.touched.add(node.id)
                    return self.spell("typing.Any")
                self._check_annotated_type(node, qualified)
        return super().rename_name(node)

    def _bare_awaitable(self, node: ast.expr, qualified: str) -> bool:
        """Whether ``node`` is ``Awaitable`` / ``Coroutine`` with no result type (not
        a subscript's value: ``Awaitable[T]`` is unwrapped to ``T`` in
        :meth:`visit_Subscript`): "a coroutine of anything", whose sync meaning is
        ``typing.Any`` (aioredis 2.0.1's 223 ``def acl_cat(...) -> Awaitable``)."""
        return (qualified in _AWAITABLES or qualified in _COROUTINES) \
            and id(node) not in self._subscripted and not self.in_target

    #: Protocols and transports: asyncio's callback API, which a sync twin keeps as
    #: it is (its loop calls them), as it keeps a class based on asyncio.Protocol.
    _CALLBACK_TYPES = frozenset(f"asyncio.{name}" for name in (
        "BaseProtocol", "Protocol", "BufferedProtocol", "DatagramProtocol",
        "SubprocessProtocol", "StreamReaderProtocol", "BaseTransport", "Transport",
        "ReadTransport", "WriteTransport", "DatagramTransport", "SubprocessTransport",
        "protocols.BaseProtocol", "protocols.Protocol", "protocols.BufferedProtocol",
        "protocols.DatagramProtocol", "protocols.SubprocessProtocol",
        "transports.BaseTransport", "transports.Transport", "transports.ReadTransport",
        "transports.WriteTransport", "transports.DatagramTransport",
        "transports.SubprocessTransport"))

    def _check_annotated_type(self, node: ast.expr, qualified: str) -> None:
        """An annotation naming an asyncio type the table has no sync twin for
        (``asyncio.Future``, ``asyncio.Task``, ``asyncio.AbstractEventLoop``,
        ``asyncio.StreamReader``): the sync twin keeps the name and promises an
        object the sync code does not have (aiohttp's ``self._waiter:
        asyncio.Future[None] | None``). What has a sync meaning was rewritten
        before this is asked (the table's rows; a bare ``Awaitable`` is
        ``typing.Any``), and protocols and transports are asyncio's callback
        API, kept as they are; the rest is said with its place (a warning, an
        error with --strict)."""
        if self.in_target or qualified in self.qualified_renames \
                or qualified in self._CALLBACK_TYPES:
            return
        if "." not in qualified or qualified.split(".")[0] not in self.tables.async_modules \
                or qualified in self.tables.to_sync:
            return
        self.report(node, f"the annotation names {qualified}, which has no sync twin in the "
                    "rule table: the sync twin keeps it and promises an asyncio object the "
                    "sync code does not have; annotate what the sync code holds (in a "
                    "colour flag's branch, or mark the statement '# ambidex: async-only'), "
                    "or add a [[tool.ambidex.rules]] row", error=False,
                    same_as=f"annotation names {qualified}")

    def _table_rewrite(self, node: ast.expr, qualified: str) -> str | None:
        """The output's text for a name the table (or a dotted rename) knows.

        Sets ``self.reported`` when the name is an async-only API (reported).
        """
        self.reported = False
        new = self.qualified_renames.get(qualified)
        if new is not None:
            self.renames.used.add(qualified)
            return self.spell(new)
        rule = self.tables.to_sync.get(qualified)
        if rule is None:
            return None
        self.used_rules.add(rule)
        if rule.sync is None:
            self.report(node, f"{qualified} has no sync twin: {rule.advice()}")
            self.reported = True
            return None
        if rule.sync == qualified:
            return None
        return self.spell(rule.sync)

    def _report_loop_method(self, node: ast.Call, func: ast.Attribute) -> None:
        """An event loop's method on an object the port cannot type. Awaited
        where it is called, the sync twin keeps what the call gives (a future,
        a coroutine) and waits for nothing: refused. Else said with its place:
        what the call gives may be kept, or dropped, by design."""
        spelled = ast.unparse(func)
        awaited = id(node) in self.awaited
        hint = ""
        if func.attr == "run_in_executor":
            receiver = func.value
            said = self.loop_attributes.get(id(self.classes[-1]), {}).get(receiver.attr) \
                if self.classes and isinstance(receiver, ast.Attribute) \
                and isinstance(receiver.value, ast.Name) and receiver.value.id == "self" \
                else None
            hint = ("if it is the running loop, the sync twin calls the function directly "
                    "(the port does so for asyncio.get_running_loop().run_in_executor(...), "
                    "asyncio.to_thread(...) and an attribute kept only for them, assigned "
                    "from asyncio.get_running_loop() or a parameter annotated "
                    "asyncio.AbstractEventLoop"
                    + (f"; not {ast.unparse(receiver)}: {said}" if said else "")
                    + "): spell it so, or ")
        self.report(node, f"`{spelled}(...)` is an event loop's method "
                    f"(asyncio.AbstractEventLoop.{func.attr}), on an object the port cannot "
                    "type: sync code has no event loop, and what it gives (a future, a "
                    "handle, a coroutine) is not what the async code waited for"
                    + ("; it is awaited here, and the sync code would keep it and wait for "
                       "nothing: " if awaited else "; ")
                    + f"{hint}mark the statement '# ambidex: async-only'", error=awaited)

    def _report_loop_method_kept(self, node: ast.Attribute) -> None:
        """``run = self._loop.run_in_executor`` then ``run(...)``, or
        ``functools.partial(loop.create_connection, ...)``: an event loop's method
        (by name, on an object the port cannot type) kept as a callable, not
        called where it is read (asyncpg 0.32.0's ``await run_in_executor(None,
        open, path, 'wb')``). Its call through the local awaited in the function:
        refused here (the sync twin calls it without await and keeps the
        future); else said with its place. Any other read is not judged: the
        name may be another object's field (aiohttp's ``timeout.sock_connect``)."""
        function = self.functions[-1] if self.functions else None
        if function is not None:
            kept = self._loop_method_locals.get(id(function))
            if kept is None:
                kept = self._loop_method_locals[id(function)] = _called_through_locals(
                    function, self.tables.loop_methods)
            through, awaited = kept.get(id(node), ("", []))
        else:
            through, awaited = "", []
        if not through and id(node) not in self._partials:
            return
        if self.qualified_name(node) is not None:
            return  # a module's attribute: the table's, or outside the port
        spelled = ast.unparse(node)
        said = f"`{spelled}` is an event loop's method (asyncio.AbstractEventLoop." \
            f"{node.attr}), kept as a callable"
        if awaited:
            lines = ", ".join(str(line) for line in awaited)
            self.report(node, f"{said} and awaited at lines {lines} through `{through}`: sync "
                        "code has no event loop, and the sync twin would call it without "
                        "await and keep what it gives (a future, a coroutine), waiting for "
                        "nothing; call the function directly if it is the running loop's "
                        "offload, or mark the statements '# ambidex: async-only'")
            return
        where = f"called through `{through}`" if through else "handed on by functools.partial"
        self.report(node, f"{said} ({where}): sync code has no event loop, and what the "
                    "method gives (a future, a handle, a coroutine) is not what the async code "
                    "waited for; mark the statement '# ambidex: async-only'", error=False)

    def _chained_call_rewrite(self, node: ast.Call) -> bool:
        """``asyncio.get_running_loop().time()`` -> ``time.monotonic()``: a row whose
        async name is a call of a name, then an attribute (``name().attr``)."""
        func = node.func
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call)
                and not func.value.args and not func.value.keywords):
            return False
        inner = self.qualified_name(func.value.func)
        rule = self.tables.to_sync.get(f"{inner}().{func.attr}") if inner else None
        if rule is None or rule.sync is None:
            return False
        self.used_rules.add(rule)
        root: ast.expr = func.value.func
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name):
            self.touched.add(root.id)
        self.edits.replace_node(func, self.spell(rule.sync))
        for argument in (*node.args, *(k.value for k in node.keywords)):
            self.visit(argument)
        return True

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in self.tables.loop_methods and id(node) not in self._call_funcs \
                and type(node.ctx) is ast.Load and node.attr not in self.port_methods \
                and not self.in_target:
            self._report_loop_method_kept(node)
        chain: list[ast.Attribute] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            chain.append(current)
            current = current.value
        if not (isinstance(current, ast.Name) and current.id in self.bindings):
            super().visit_Attribute(node)
            return
        # The longest prefix of the chain that the table (or a dotted rename) knows.
        for index, part in enumerate(chain):
            qualified = self.qualified_name(part)
            if qualified is None:
                break
            replaced = self._table_rewrite(part, qualified)
            if self.reported:
                return
            if replaced is not None:
                self.touched.add(current.id)
                self.edits.replace_node(part, replaced)
                for outer in reversed(chain[:index]):
                    self.rename_attr(outer)
                return
        if self._in_annotation:
            qualified = self.qualified_name(node)
            if qualified is not None and self._bare_awaitable(node, qualified):
                self.touched.add(current.id)
                self.edits.replace_node(node, self.spell("typing.Any"))
                return
            if qualified is not None:
                self._check_annotated_type(node, qualified)
        if self.bindings[current.id].is_module:
            # pkg._async.mod.Name: module path segments along the chain.
            for part in chain:
                new_segment = self.renames.segments.get(part.attr)
                if new_segment is not None:
                    end = self.source.span(part)[1]
                    self.edits.replace(end - len(part.attr), end, new_segment)
            self.visit(current)
            for part in reversed(chain):
                if part.attr not in self.renames.segments:
                    self.rename_attr(part)
            return
        super().visit_Attribute(node)

    def visit_Call(self, node: ast.Call) -> None:
        self._call_funcs.add(id(node.func))
        if node.args and isinstance(node.args[0], ast.Attribute) \
                and node.args[0].attr in self.tables.loop_methods \
                and self.qualified_name(node.func) == "functools.partial":
            self._partials.add(id(node.args[0]))
        self._check_coroutine_call(node)
        if self._chained_call_rewrite(node):
            return
        if id(node) in self.awaited and not self.in_target and self._fstring is None \
                and self.source is self._module_source and thread_offload(self, node):
            return
        qualified = self.qualified_name(node.func)
        reported = False
        if qualified is None and not self.in_target and isinstance(node.func, ast.Attribute):
            typed = self._typed_value(node.func.value)
            if typed is not None:
                self._check_method_of_typed(node, *typed)
            elif isinstance(node.func.value, ast.Call) and id(node) in self.awaited:
                self._check_method_of_made_outside(node, node.func.value)
            if node.args and self.tables.attributes.get(node.func.attr) == "enter_context":
                # await stack.enter_async_context(cm) -> stack.enter_context(cm)
                self._check_outside_protocol(
                    node.args[0], "with", "__enter__",
                    f"`{ast.unparse(node.func)}({ast.unparse(node.args[0])})` becomes "
                    f"`{ast.unparse(node.func.value)}.enter_context(...)`")
            if node.func.attr in self.tables.loop_methods \
                    and node.func.attr not in self.port_methods:
                self._report_loop_method(node, node.func)
        if qualified is not None and qualified.split(".")[0] in self.tables.async_modules \
                and qualified not in self.tables.to_sync \
                and qualified not in self.qualified_renames:
            self.report(node, f"{qualified}() has no sync twin in the rule table: add a "
                        "[[tool.ambidex.rules]] row, or mark the statement "
                        "'# ambidex: async-only'")
            reported = True
        elif qualified is not None and qualified not in self.qualified_renames:
            rule = self.tables.to_sync.get(qualified)
            reported = rule is not None and rule.sync is None
            if rule is None and not self.in_target:
                if id(node) in self.awaited:
                    self._check_awaited_from_outside(node, qualified)
                elif qualified.split(".", 1)[0] not in _STDLIB:
                    self._check_unawaited_from_outside(node, qualified)
        if reported:
            # asyncio.gather(self.a(), self.b()): one error for the call, not one
            # more for each coroutine handed to it.
            self.awaited.update(id(argument) for argument in node.args)
            self.awaited.update(id(keyword.value) for keyword in node.keywords)
        super().visit_Call(node)

    def _typed_value(self, value: ast.expr) -> tuple[str, list[tuple[str, str]]] | None:
        """(its spelling, its makers, as :meth:`_check_method_of_typed` takes them)
        for a value whose type the port knows by name: ``self.x`` where every
        ``self.x = ...`` of the class says it (:meth:`_attributes_made_outside`:
        httpx's ``self._pool = httpcore.AsyncConnectionPool(...)``, ``self.lock =
        asyncio.Lock()``), or a local or a parameter of the function
        (:meth:`_typed_locals`); else None."""
        if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) \
                and value.value.id == "self":
            makers = self.made_outside[-1].get(value.attr) if self.made_outside else None
            return (f"self.{value.attr}", makers) if makers else None
        if not isinstance(value, ast.Name) or not self.functions:
            return None
        function = self.functions[-1]
        if function is None:
            return None
        typed = self._typed_locals_cache.get(id(function))
        if typed is None:
            typed = self._typed_locals_cache[id(function)] = self._typed_locals(function)
        makers = typed.get(value.id)
        return (value.id, makers) if makers else None

    def _check_method_of_made_outside(self, node: ast.Call, made: ast.Call) -> None:
        """``await pkg.Client(...).m()``: a method of an instance of a class from
        outside the port, made where it is called (:meth:`_check_outside_method`),
        when the call makes a class the port can read; ``await
        pkg.make_client().m()``, a plain function from outside the port whose
        return annotation names such a class, likewise. A function that says no
        class the port can read is a located "cannot tell" (a warning): ``m`` may
        be a coroutine there."""
        qualified = self.qualified_name(made.func)
        if qualified is None or not self._outside(made.func, qualified):
            return
        if qualified in _CASTS:
            # cast(Client, x).m(): the class is the cast's first argument.
            cast = self.qualified_name(made.args[0]) if made.args else None
            if cast is not None and self._outside_name(cast) \
                    and self.outside.outside_class(cast) is not None:
                self._check_outside_method(node, f"the receiver is cast to {cast}", [cast])
            return
        self._check_method_of_returned(node, qualified, "the receiver")

    def _check_method_of_returned(self, node: ast.Call, qualified: str, receiver: str,
                                  how: str = "called") -> None:
        """``receiver.m(...)`` awaited, where ``receiver`` is what ``qualified()``, a
        function (or a callable the port cannot read) from outside the port,
        gives (``how``: "called", ``f()``; "awaited", ``await f()``; "entered",
        ``async with f() as receiver``): checked through its return annotation
        when it names classes the port can read (:meth:`_check_outside_method`);
        an error when ``f`` is an ``async def`` called without await (a coroutine
        or an async generator, whose methods give what is awaited); else a
        located "cannot tell" (a warning): ``m`` may be a coroutine there.
        ``await pkg.make().m()`` and ``c = pkg.make()`` then ``await c.m()``
        alike. Not an event loop's method: refused at this call
        (:meth:`_report_loop_method`). A class the port can read (``pkg.client``,
        named in lower case) is checked as one."""
        assert isinstance(node.func, ast.Attribute)
        method = node.func.attr
        if how == "called" and self.outside.outside_class(qualified) is not None:
            self._check_outside_method(node, f"{receiver} is made by {qualified}()", [qualified])
            return
        if method in self.tables.loop_methods and method not in self.port_methods:
            return
        said_how = {"called": f"made by {qualified}()",
                    "awaited": f"what `await {qualified}()` gives",
                    "entered": f"what entering {qualified}() gives (`with {qualified}(...) "
                               f"as {receiver}`: its __aenter__ or __enter__)"}[how]
        advice = f"port its module too, or name its sync twin with --rename {qualified}=..."
        if not self.outside.readable(qualified):
            self.report(node, f"`{ast.unparse(node.func)}(...)`: {receiver} is {said_how}, from "
                        "outside the port and the rule table, whose source cannot be read (no "
                        "Python source found; never imported): the port cannot tell whether it "
                        f"is a class or a function, nor whether `{method}` gives something to "
                        f"await, and the sync code calls it without await; {advice}",
                        error=False)
            return
        if how == "entered":
            self.report(node, f"`{ast.unparse(node.func)}(...)`: {receiver} is {said_how}, from "
                        "outside the port and the rule table, which the port does not read: it "
                        f"cannot tell whether `{method}` gives something to await, and the sync "
                        f"code calls it without await; {advice}", error=False)
            return
        returned = self.outside.returned_class(qualified, awaited=how == "awaited")
        if returned is None:
            coroutine = self.outside.async_definition(qualified) if how == "called" else None
            if coroutine is not None and coroutine.gives is not None:
                self.report(node, f"`{ast.unparse(node.func)}(...)`: {receiver} is {said_how}, "
                            f"{coroutine.what} (async def in {coroutine.path}) from outside the "
                            f"port and the rule table, called without await: {receiver} is "
                            f"{coroutine.gives}, whose `{method}` the sync code calls without "
                            f"await and never runs; {advice}")
                return
            self.report(node, f"`{ast.unparse(node.func)}(...)`: {receiver} is {said_how}, from "
                        f"outside the port and the rule table, which the port reads as no "
                        f"{'async def' if how == 'awaited' else 'plain def or class'} saying "
                        f"what it gives: it cannot tell whether `{method}` gives something to "
                        f"await, and the sync code calls it without await; {advice}",
                        error=False)
            return
        path, classes = returned
        unreadable = [c for c in classes or () if not self._outside_name(c)
                      or self.outside.outside_class(c) is None]
        if classes and not unreadable:
            self._check_outside_method(
                node, f"{receiver} is returned by {qualified}() ({path}), annotated "
                f"{' | '.join(classes)}", list(classes))
            return
        said = f"says it returns {' | '.join(unreadable)}, which cannot be read" \
            if unreadable else "says no class it returns (classes, or None)"
        self.report(node, f"`{ast.unparse(node.func)}(...)`: {receiver} is returned by "
                    f"{qualified}() ({path}), from outside the port and the rule table, which "
                    f"{said}: the port cannot tell whether `{method}` gives something "
                    f"to await, and the sync code calls it without await; {advice}",
                    error=False)

    def _check_method_of_typed(self, node: ast.Call, receiver: str,
                               makers: list[tuple[str, str]]) -> None:
        """``receiver.m(...)`` where every value of ``receiver`` is of a type known by
        name (``makers``: (how, dotted name): "made" by a call, "annotated",
        "returned" by a function of the module), all either table types or all
        from outside the port ("called": returned by a function from outside the
        port that says no class the port can read, :meth:`_check_method_of_returned`,
        when no value says its class):

        * a table type (``asyncio.Semaphore(3)`` -> ``threading.Semaphore(3)``)
          whose sync type has no ``m`` (``locked()``): an error, as towards async;
        * a class from outside the port (httpx's ``httpcore.AsyncConnectionPool``),
          and the call is awaited: ``m`` stays that class's method and the sync
          code calls it without await (a warning: nothing here knows what ``m`` is);
        * the same, the call not awaited (``async with conn.execute(q)``, ``async
          for r in conn.rows()``, ``c = conn.fetch()``): refused when ``m`` is an
          ``async def`` there (:meth:`_check_unawaited_outside_method`).
        """
        func = node.func
        assert isinstance(func, ast.Attribute)
        types = {self._table_type(q) for _, q in makers}
        if None not in types:
            name = self.tables.attributes.get(func.attr, func.attr)
            for sync_type in sorted(t for t in types if t is not None):
                if _lacks(sync_type, name):
                    how, maker = next(m for m in makers if self._table_type(m[1]) == sync_type)
                    said = {"made": f"which makes {receiver}",
                            "annotated": f"which {receiver} is annotated with",
                            "returned": f"which the function making {receiver} returns"}[how]
                    self.report(node, f"`{ast.unparse(func)}()`: {sync_type} (the sync twin "
                                f"of {maker}, {said}) has no `{name}`; the sync code would "
                                "fail here: mark the statement '# ambidex: async-only', or "
                                "keep that state in a form both colours have")
                    return
            return
        if id(node) not in self.awaited:
            known = [(how, q) for how, q in makers if how not in _KEPT_FROM_CALLS]
            self._check_unawaited_outside_method(node, _typed_as(receiver, known),
                                                 sorted({q for _, q in known}))
            return
        known = [(how, q) for how, q in makers if how not in _KEPT_FROM_CALLS]
        if not known:
            # Every value comes from outside functions that say no class the port
            # can read: what the chained `await f().m()` says, at this await.
            how, maker = min(makers, key=lambda m: (m[1], m[0]))
            self._check_method_of_returned(node, maker, receiver, how)
            return
        self._check_outside_method(node, _typed_as(receiver, known),
                                   sorted({q for _, q in known}))

    def _check_unawaited_outside_method(self, node: ast.Call, said: str,
                                        classes: list[str]) -> None:
        """``x.m(...)`` not awaited, ``x`` an instance of one of ``classes`` from
        outside the port (``said``: how the port knows), whose ``m`` (read from source, in the
        class or a base: :meth:`OutsideReader.async_definition`) is an ``async
        def``: the sync code calls it and gets a coroutine, an async generator or
        an async context manager it cannot use (databases 0.9.0's ``async with
        self._connection.execute(q)`` on an aiosqlite.Connection became ``with
        ...``), what an outside async def called without await is refused for
        (:meth:`_check_unawaited_from_outside`). Under a decorator the port does
        not know, what the call gives is said with its place."""
        func = node.func
        assert isinstance(func, ast.Attribute)
        for dotted in classes:
            found = self.outside.outside_class(dotted) if self._outside_name(dotted) else None
            owner = found.owners.get(func.attr) if found is not None else None
            method = self.outside.async_definition(f"{owner}.{func.attr}") \
                if owner is not None else None
            if method is None:
                continue
            what = f"`{ast.unparse(func)}(...)`: {said}, from outside the port and the rule " \
                f"table, and {owner}.{func.attr} is {method.what}"
            advice = f"port its module too, or name its sync twin with --rename {dotted}=..."
            if method.gives is None:
                self.report(node, f"{what} (in {method.path}), called without await: the port "
                            "cannot tell what its call gives (a coroutine the sync code never "
                            f"runs?); {advice}", error=False)
            else:
                self.report(node, f"{what} (async def in {method.path}), called without await: "
                            f"the sync code gets {method.gives}, which only async code can "
                            f"use; {advice}")
            return

    def _check_outside_method(self, node: ast.Call, said: str, classes: list[str]) -> None:
        """``x.m(...)`` awaited, where every value of ``x`` is an instance of one
        of ``classes``, from outside the port (``said``: how the port knows).
        Each class is read from its source, with its bases (never imported:
        :meth:`OutsideReader.outside_class`): a class whose ``m`` is an ``async
        def``, or a plain ``def`` annotated to return something to await, gives
        the sync code what it never waits for: refused. Anything else is said
        with its place (nothing here knows what ``m`` gives), naming the bases
        that could not be read when ``m`` may come from one."""
        func = node.func
        assert isinstance(func, ast.Attribute)
        unread: list[str] = []
        for dotted in classes:
            found = self.outside.outside_class(dotted) if self._outside_name(dotted) else None
            if found is None:
                continue
            method = found.methods.get(func.attr)
            if method is not None and (method.coroutine or method.returns is not None):
                what = f"a coroutine function (async def in {method.path})" if method.coroutine \
                    else f"a method that says it returns {method.returns} ({method.path})"
                self.report(node, f"`{ast.unparse(func)}(...)`: {said}, from outside the "
                            f"port and the rule table, and {dotted}.{func.attr} is {what}: "
                            "the sync code calls it without await and gets what is awaited, "
                            "never its result; port its module too, or name its sync twin "
                            f"with --rename {dotted}=...")
                return
            if func.attr not in found.methods:
                unread.extend(b for b in found.unread if b not in unread)
        bases = f" (it may come from {', '.join(unread)}, which cannot be read)" \
            if unread else ""
        self.report(node, f"`{ast.unparse(func)}(...)`: {said}, from outside the port and "
                    f"the rule table: its methods stay what they are{bases}, and the sync "
                    "code calls this one without await; port its module too, or name its "
                    f"sync twin with --rename {classes[0]}=...", error=False)

    def _typed_locals(self, function: ast.FunctionDef | ast.AsyncFunctionDef,
                      attributes: bool = True) -> dict[str, list[tuple[str, str]]]:
        """The locals and parameters of ``function`` whose every binding says their
        type by name: ``x = Q(...)``, ``with Q(...) as x`` (a class from outside
        the port only: a table type's ``__aenter__`` may give something else),
        ``x = make()`` with ``def make() -> Q`` in the module, ``x: Q`` and a
        parameter annotated ``Q`` (or ``Q | None``), where ``Q`` is from outside
        the port or a type the table rewrites; ``(x := Q(...))`` too, anywhere in
        the function's expressions. ``with conn.m(...) as x``, ``conn`` a
        parameter, a local or (with ``attributes``) a ``self.conn`` whose class
        from outside the port is known: ("entered", that class's ``m``), which
        nothing here reads. Reads the function's statements only; any other
        binding of a name (a loop, a second kind of value, an import,
        ``global``) leaves it out."""
        made: dict[str, list[tuple[str, str]]] = {}
        other: set[str] = set()
        entered: list[tuple[str, ast.Attribute]] = []
        arguments = function.args
        for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                    *([arguments.vararg] if arguments.vararg else []),
                    *([arguments.kwarg] if arguments.kwarg else [])):
            typed = self._annotated_type(arg.annotation) if arg.annotation is not None else None
            if typed is None:
                other.add(arg.arg)
            else:
                made[arg.arg] = [("annotated", typed)]
        todo: list[ast.stmt] = list(function.body)
        while todo:
            statement = todo.pop()
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                other.add(statement.name)
                continue
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                other.update((a.asname or a.name).split(".")[0] for a in statement.names)
            elif isinstance(statement, (ast.Global, ast.Nonlocal)):
                other.update(statement.names)
            elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = statement.targets if isinstance(statement, ast.Assign) \
                    else [statement.target]
                maker: list[tuple[str, str]] | None = None
                if isinstance(statement, ast.AnnAssign):
                    typed = self._annotated_type(statement.annotation)
                    maker = [("annotated", typed)] if typed is not None else None
                if maker is None and len(targets) == 1 and statement.value is not None \
                        and not isinstance(statement, ast.AugAssign):
                    maker = self._maker(statement.value, returned=True)
                for target in targets:
                    if isinstance(target, ast.Name) and maker is not None:
                        made.setdefault(target.id, []).extend(maker)
                    else:
                        other.update(_target_names(target))
            elif isinstance(statement, (ast.With, ast.AsyncWith)):
                for item in statement.items:
                    if item.optional_vars is None:
                        continue
                    maker = self._maker(item.context_expr) \
                        or self._entered(item.context_expr)
                    target = item.optional_vars
                    value = item.context_expr
                    if maker is None and isinstance(target, ast.Name) \
                            and isinstance(value, ast.Call) \
                            and isinstance(value.func, ast.Attribute):
                        entered.append((target.id, value.func))  # read below
                        continue
                    if isinstance(target, ast.Name) and maker is not None \
                            and all(self._table_type(q) is None for _, q in maker):
                        made.setdefault(target.id, []).extend(maker)
                    else:
                        other.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            elif isinstance(statement, (ast.For, ast.AsyncFor)):
                other.update(n.id for n in ast.walk(statement.target) if isinstance(n, ast.Name))
            elif isinstance(statement, ast.Delete):
                other.update(n.id for t in statement.targets for n in ast.walk(t)
                             if isinstance(n, ast.Name))
            for field in ("body", "orelse", "finalbody"):
                todo.extend(getattr(statement, field, ()))
            for handler in getattr(statement, "handlers", ()):
                if handler.name:
                    other.add(handler.name)
                todo.extend(handler.body)
            for case in getattr(statement, "cases", ()):
                other.update(n.id for n in ast.walk(case.pattern) if isinstance(n, ast.Name))
                other.update(n.name for n in ast.walk(case.pattern)
                             if isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name)
                todo.extend(case.body)
        if self._has_walrus is None:  # most modules have none: no walk for them
            self._has_walrus = ":=" in self._module_source.text
        for walrus in _walruses(function) if self._has_walrus else ():
            target = walrus.target
            maker = self._maker(walrus.value, returned=True)
            if maker is not None:
                made.setdefault(target.id, []).extend(maker)
            else:
                other.add(target.id)
        for name, func in entered:
            receiver = func.value
            known: list[tuple[str, str]] | None = None
            if isinstance(receiver, ast.Name) and receiver.id not in other:
                known = made.get(receiver.id)
            elif attributes and self.made_outside and isinstance(receiver, ast.Attribute) \
                    and isinstance(receiver.value, ast.Name) and receiver.value.id == "self":
                known = self.made_outside[-1].get(receiver.attr)
            if not known or any(how not in ("made", "annotated", "returned")
                                or self._table_type(q) for how, q in known):
                other.add(name)
                continue
            for dotted in sorted({q for _, q in known}):
                found = self.outside.outside_class(dotted) if self._outside_name(dotted) else None
                owner = found.owners.get(func.attr, dotted) if found is not None else dotted
                made.setdefault(name, []).append(("entered", f"{owner}.{func.attr}"))
        typed_locals: dict[str, list[tuple[str, str]]] = {}
        for name, makers in made.items():
            if name in other:
                continue
            outside = [self._table_type(q) is None for _, q in makers]
            if all(outside) or not any(outside):  # one kind only
                typed_locals[name] = makers
        return typed_locals

    def _maker(self, value: ast.expr, returned: bool = False) -> list[tuple[str, str]] | None:
        """[("made", Q)] for ``Q(...)`` with ``Q`` a class from outside the port
        (named as one) or a call the table rewrites; [("returned", Q)] for a call
        of a function of the module whose return annotation is such a ``Q``.

        With ``returned``, a function from outside the port answers through its
        return annotation, read from its source (:meth:`OutsideReader.returned_class`:
        ``-> Client``, ``Client | None``, ``A | B``, a factory method's
        ``-> Self``): [("returned", Q), ...], when every class it names is from
        outside the port and can be read; else [("called", f)]: nothing is known
        of what ``f`` returns (a function there may return anything, pymongo's
        ``_get_authenticator(..., _OIDCAuthenticator)`` an object of the port),
        and an awaited method of it is a located "cannot tell", as the chained
        ``await f().m()`` is (:meth:`_check_method_of_returned`)."""
        if returned and isinstance(value, ast.Await) and isinstance(value.value, ast.Call):
            # c = await pkg.connect(): what the coroutine gives, read at `await c.m()`.
            qualified = self.qualified_name(value.value.func)
            if qualified is None or not self._kept_from_outside(value.value.func, qualified):
                return None
            return [("awaited", qualified)]
        if not isinstance(value, ast.Call):
            return None
        qualified = self.qualified_name(value.func)
        if qualified is not None:
            if self._table_type(qualified) or (qualified.rsplit(".", 1)[-1][:1].isupper()
                                               and self._outside(value.func, qualified)):
                return [("made", qualified)]
            if returned and qualified not in _CASTS and self._outside(value.func, qualified):
                found = self.outside.returned_class(qualified)
                classes = found[1] if found is not None else None
                if classes and all(self._outside_name(c)
                                   and self.outside.outside_class(c) is not None
                                   for c in classes):
                    return [("returned", c) for c in classes]
                return [("called", qualified)]
            return None
        if isinstance(value.func, ast.Name):
            returns = self._module_returns().get(value.func.id)
            if returns is not None:
                return [("returned", returns)]
        return None

    def _entered(self, value: ast.expr) -> list[tuple[str, str]] | None:
        """[("entered", f)] for ``with f(...) as x`` (``async with`` too), ``f`` a
        function from outside the port: ``x`` is what the value's ``__aenter__``
        gives, which nothing here reads."""
        if not isinstance(value, ast.Call):
            return None
        qualified = self.qualified_name(value.func)
        if qualified is None or not self._kept_from_outside(value.func, qualified):
            return None
        return [("entered", qualified)]

    def _kept_from_outside(self, func: ast.expr, qualified: str) -> bool:
        """Whether ``func()`` is from outside the port, the table and the renames,
        and not a cast; a call of an asyncio-like module the table does not name
        is refused where it is made (:meth:`visit_Call`)."""
        return qualified not in _CASTS and not self._table_type(qualified) \
            and qualified.split(".")[0] not in self.tables.async_modules \
            and self._outside(func, qualified)

    def _module_returns(self) -> dict[str, str]:
        """The module's top-level functions whose return annotation is a type from
        outside the port or one the table rewrites: name -> that type."""
        found = getattr(self, "_returns", None)
        if found is None:
            found = {}
            for statement in self.tree.body:
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                        and statement.returns is not None \
                        and id(statement) not in self.scan.generators:
                    typed = self._annotated_type(statement.returns)
                    if typed is not None:
                        found[statement.name] = typed
            self._returns = found
        return found

    def _annotated_type(self, annotation: ast.expr) -> str | None:
        """The type an annotation names (``Q``, ``Q | None``, ``Optional[Q]``) when
        it is from outside the port or the table rewrites it; a string is not read."""
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            sides = [s for s in (annotation.left, annotation.right)
                     if not (isinstance(s, ast.Constant) and s.value is None)]
            if len(sides) != 1:
                return None
            annotation = sides[0]
        elif isinstance(annotation, ast.Subscript) \
                and self.qualified_name(annotation.value) == "typing.Optional":
            annotation = annotation.slice
        if not isinstance(annotation, (ast.Name, ast.Attribute)):
            return None
        qualified = self.qualified_name(annotation)
        if qualified is None or qualified in _AWAITABLES or qualified in _COROUTINES:
            return None
        if self._outside(annotation, qualified) or self._table_type(qualified):
            return qualified
        return None

    def _check_awaited_from_outside(self, node: ast.Call, qualified: str) -> None:
        """``await f(...)`` where ``f`` is imported from a module outside the port
        that the table and the renames do not name: the sync code calls ``f``
        without ``await``, which is right only if ``f`` is not a coroutine
        function. Nothing here can know; said with a location (pymongo's
        ``await async_sendall(...)`` from ``pymongo.network_layer`` became
        ``async_sendall(...)``, a coroutine nobody awaits)."""
        if not self._outside(node.func, qualified):
            return
        found = self.outside.definition(qualified)
        if found is not None and found.returns in ("asyncio.Future", "asyncio.Task"):
            return  # said at the await (_check_awaited_future_call)
        if found is not None and (found.coroutine or found.returns is not None):
            what = f"a coroutine function (async def in {found.path})" if found.coroutine \
                else f"which says it returns {found.returns} ({found.path})"
            self.report(node, f"awaits {qualified}(), {what}, from outside the port and the "
                        "rule table: the sync code calls it without await and gets what is "
                        "awaited, never its result; port its module too, or name its sync "
                        f"twin with --rename {qualified}=...")
            return
        self.report(node, f"awaits {qualified}(), which comes from outside the port and "
                    "the rule table: the sync code calls it without await, which is right "
                    "only if it is a sync function there; port its module too, or name its "
                    f"sync twin with --rename {qualified}=...", error=False)

    def _check_unawaited_from_outside(self, node: ast.Call, qualified: str) -> None:
        """``c = pkg.connect()`` (or ``async for x in pkg.rows()``, or any other use
        but ``await``) where ``pkg.connect`` is an ``async def`` outside the port,
        read from its source: the sync code calls it and gets a coroutine (or an
        async generator) it never runs, what a coroutine function of the port
        not awaited where it is made is refused for
        (:meth:`_check_coroutine_call`)."""
        if not self._outside(node.func, qualified):
            return
        found = self.outside.async_definition(qualified)
        if found is None:
            return
        advice = f"port its module too, or name its sync twin with --rename {qualified}=..."
        if found.gives is None:
            self.report(node, f"calls {qualified}(), {found.what} (in {found.path}), from "
                        "outside the port and the rule table, without await: the port cannot "
                        "tell what its call gives (a coroutine the sync code never runs?); "
                        f"{advice}", error=False)
            return
        self.report(node, f"calls {qualified}(), {found.what} (async def in {found.path}) "
                    "from outside the port and the rule table, without await: the sync code "
                    f"gets {found.gives}, which only async code can use; {advice}")

    def _outside(self, func: ast.expr, qualified: str) -> bool:
        """Whether ``func`` (resolving to ``qualified``) is imported from a module
        outside the port that neither the table nor the renames name."""
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name) or root.id not in self.bindings:
            return False
        return self._outside_name(qualified)

    def _outside_name(self, qualified: str) -> bool:
        """Whether the dotted name ``qualified`` is outside the port, the table
        and the renames."""
        parts = qualified.split(".")
        prefixes = [".".join(parts[:end]) for end in range(2, len(parts) + 1)]
        if parts[0] == "builtins":
            prefixes.append(".".join(parts[1:]))  # the table names builtins bare: anext
        # Defined in the port, or named by the table or the renames (a class
        # the table renames has its methods' rows: ambidex.io.AsyncStream.connect).
        return not (self._in_port(parts)
                    or any(part in self.renames.segments or part in self.renames.names
                           for part in parts)
                    or any(p in self.tables.to_sync or p in self.qualified_renames
                           or p in self.tables.method_owners for p in prefixes))

    def _in_port(self, parts: list[str]) -> bool:
        """Whether the dotted name ``parts`` is the port's: the longest of its
        prefixes that is a module of the port binds the next part at its top
        (or is the whole name). Not whether any part is a name the port defines
        somewhere: the databases 0.9.0 port defines a Connection, and read
        ``aiosqlite.core.Connection`` as its own. A relative name the port could
        not resolve (``..x.y``) still asks that."""
        if parts[0]:
            for end in range(len(parts), 0, -1):
                module = ".".join(parts[:end])
                if module in self.port_modules:
                    bound = self.port_modules[module]
                    return end == len(parts) or bound is None or parts[end] in bound
            return False
        return any(part in self.port_names for part in parts[1:])

    def _check_coroutine_call(self, node: ast.Call) -> None:
        func = node.func
        name: str | None = None
        if isinstance(func, ast.Name) and func.id in self.coroutine_functions:
            name = func.id
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.value.id in ("self", "cls") and self.class_coroutines \
                and func.attr in self.class_coroutines[-1]:
            name = f"{func.value.id}.{func.attr}"
        elif isinstance(func, ast.Attribute) and func.attr in self.port_coroutine_names \
                and self.qualified_name(func) in self.port_coroutines:
            name = ast.unparse(func)  # u.fetch(), through the module of the port
        if name is None or id(node) in self.awaited or self.in_target:
            return
        if id(node) in self.returned:
            self.report(node, f"returns the coroutine of {name}() without awaiting it: the "
                        "sync version runs the call here and returns its result", error=False)
            return
        self.report(node, f"the coroutine of {name}() is not awaited where it is made: in sync "
                    "code the call would run here, not where it is awaited; await it here, "
                    "or mark the statement '# ambidex: async-only'")

    # typing that only means "a coroutine"
    def _awaited_type(self, node: ast.expr) -> ast.expr | None:
        """``T`` of ``Awaitable[T]`` / ``Coroutine[Any, Any, T]``, else None."""
        if not isinstance(node, ast.Subscript):
            return None
        qualified = self.qualified_name(node.value)
        if qualified in _AWAITABLES:
            return node.slice
        if qualified in _COROUTINES and isinstance(node.slice, ast.Tuple) \
                and len(node.slice.elts) == 3:
            return node.slice.elts[2]
        return None

    def visit_BinOp(self, node: ast.BinOp) -> None:
        """``X | Awaitable[X]`` (a value that may be either) becomes ``X``, not
        ``X | X``: ``None | None`` raises on import where the union is a value
        (a type alias), and a type said twice says nothing more."""
        if not isinstance(node.op, ast.BitOr):
            self.generic_visit(node)
            return
        operands: list[ast.expr] = []
        current: ast.expr = node
        while isinstance(current, ast.BinOp) and isinstance(current.op, ast.BitOr):
            operands.append(current.right)
            current = current.left
        operands.append(current)
        operands.reverse()
        seen: set[str] = set()
        kept: list[ast.expr] = []
        for operand in operands:
            key = ast.dump(self._awaited_type(operand) or operand)
            if key not in seen:
                seen.add(key)
                kept.append(operand)
        if len(kept) == len(operands):
            for operand in operands:  # the chain's leaves: each walked once
                self.visit(operand)
            return
        parts = []
        for operand in kept:
            self.visit(operand)
            parts.append(self.edits.render(*self.source.span(operand)))
        for operand in operands:
            if not any(operand is k for k in kept):
                self.touched.update(n.id for n in ast.walk(operand) if isinstance(n, ast.Name))
        self.edits.replace_span(*self.source.span(node), " | ".join(parts))

    def visit_Subscript(self, node: ast.Subscript) -> None:
        self._subscripted.add(id(node.value))
        qualified = self.qualified_name(node.value)
        if qualified in _AWAITABLES or qualified in _COROUTINES:
            inner = node.slice
            if qualified in _COROUTINES:
                if not (isinstance(inner, ast.Tuple) and len(inner.elts) == 3):
                    self.generic_visit(node)
                    return
                inner = inner.elts[2]
            # Candidates for imports left unused: every name of the dropped part.
            self.touched.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
            self.visit(inner)
            start, end = self.source.span(inner)
            self.edits.replace_span(*self.source.span(node), self.edits.render(start, end))
            return
        self.generic_visit(node)
        if qualified in _ASYNC_GENERATORS:
            elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if len(elements) in (1, 2):
                end = self.source.span(elements[-1])[1]
                self.edits.insert(end, ", None" if len(elements) == 2 else ", None, None")

    def rename_in_string_expression(self, node: ast.Constant) -> None:
        anchor = self._string_anchor
        if self.source is self._module_source:
            self._string_anchor = (node.lineno, node.col_offset + 1)
        try:
            super().rename_in_string_expression(node)
        finally:
            self._string_anchor = anchor

    # imports
    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "__future__":
            return
        module_node = ast.ImportFrom(module=node.module, names=[], level=node.level)
        ast.copy_location(module_node, node)
        module_node.end_lineno, module_node.end_col_offset = node.end_lineno, node.end_col_offset
        super().visit_ImportFrom(module_node)
        handled: set[int] = set()
        for alias in node.names:
            decision = self.import_decisions.get(id(alias))
            if decision is None:
                continue
            handled.add(id(alias))
            qualified = imported_name(self.resolve_relative(node.module, node.level), alias.name)
            if qualified in self.qualified_renames:
                self.renames.used.add(qualified)
            else:
                self.used_rules.add(self.tables.to_sync[qualified])
            how, new = decision
            if how == "lazy":  # the only name of a lazy import: rewritten in place
                self.edits.replace_span(*self.source.span(node), new)
                continue
            if how == "lazy_add":  # one of several names: its own lazy import below
                self._remove_alias(node, alias)
                line = self.source.lines[node.lineno - 1]
                indent = line[:len(line) - len(line.lstrip())]
                self.edits.insert(self.source.offset((node.end_lineno or node.lineno) + 1, 0),
                                  f"{indent}{new}\n")
                continue
            if how == "rename":
                alias_start = self.source.offset(alias.lineno, alias.col_offset)
                self.edits.replace(alias_start, alias_start + len(alias.name), new)
                self.import_names[id(alias)] = new
                self.import_touched.add(id(node))
            else:
                self._remove_alias(node, alias)
                if how == "move":
                    self.new_imports.add(new)
        for alias in node.names:
            if id(alias) in handled:
                continue
            renamed = self.renames.identifier(alias.name)
            if node.module is None and renamed is None:
                renamed = self.renames.segments.get(alias.name)
            if renamed is not None and renamed != alias.name:
                alias_start = self.source.offset(alias.lineno, alias.col_offset)
                self.edits.replace(alias_start, alias_start + len(alias.name), renamed)
                self.import_names[id(alias)] = renamed
                self.import_touched.add(id(node))
                if alias.asname is None:
                    self.local_renames.setdefault(alias.name, renamed)
        self._removed_aliases_fixup(node)

    def _remove_alias(self, node: ast.ImportFrom, alias: ast.alias) -> None:
        self.removed_aliases.add(id(alias))
        self.import_touched.add(id(node))
        self._pending_removals.setdefault(id(node), (node, []))[1].append(alias)

    def _removed_aliases_fixup(self, node: ast.ImportFrom) -> None:
        entry = self._pending_removals.pop(id(node), None)
        if entry is None:
            return
        remove_aliases(self.source, self.edits, node, entry[1])

    def _rename_prose_in_comments(self) -> None:
        """With ``rename_prose``, the renamed words inside comments too."""
        pattern = self.renames.prose_pattern()
        if pattern is None or "#" not in self.source.text:
            return
        try:
            tokens = list(python_tokens(self.source.text))
        except (tokenize.TokenError, SyntaxError):
            return
        for token in tokens:
            if token.type != tokenize.COMMENT:
                continue
            start = self.source.offset(token.start[0], 0) + token.start[1]  # columns in chars
            for match in pattern.finditer(token.string):
                self.renames.used.add(match.group())
                self.edits.replace(start + match.start(), start + match.end(),
                                   self.renames.prose[match.group()])

    def run(self) -> None:
        self._pending_removals: dict[int, tuple[ast.ImportFrom, list[ast.alias]]] = {}
        self.functions = []
        self.classes: list[ast.ClassDef] = []
        self._subscripted: set[int] = set()
        self._typed_locals_cache: dict[int, dict[str, list[tuple[str, str]]]] = {}
        self._call_funcs: set[int] = set()
        self._partials: set[int] = set()
        self._loop_method_locals: dict[int, dict[int, tuple[str, list[int]]]] = {}
        self.loop_drops: set[int] = set()
        self.loop_offloads: set[int] = set()
        self.loop_passes: set[int] = set()
        self.loop_attributes: dict[int, dict[str, str]] = {}
        """Per class: why each ``self.<attr>`` it offloads on is not known to be the loop."""
        self.renamed_over: set[int] = set()
        """Methods left out because the other of a pair becomes their name
        (:meth:`_renamed_onto_defined`): the name stays defined."""
        self.make_plan()
        for statement in self.tree.body:
            self.visit(statement)
        self._rename_prose_in_comments()
        self.apply_plan()
        if self.new_imports:
            missing = [line for line in self.new_imports
                       if not already_imported(self.tree, line)]
            for offset, text in place_imports(self.source, self.tree, missing):
                deleted = self.edits.deleted_from(offset)
                if text.endswith("\n\n") and deleted is not None \
                        and self.source.text[deleted:].startswith(("\n", "\r")):
                    # Set off from an import that the walk removed, which a
                    # blank line set off from what follows: one blank line.
                    text = text[:-1]
                self.edits.insert(offset, text)
