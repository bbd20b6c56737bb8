"""sync -> async, step 1: the plan -- which functions become async, and why.

Here it is decided that a function becomes ``async def``: the call graph
(:mod:`ambidex._callgraph`) is coloured from the blocking primitives the
table has an awaited twin for (``sock.recv``, ``time.sleep``, ``with lock:``)
up through every caller to a fixed point, methods through ``self``/``cls``,
functions and classes across modules, callables handed to analysed code
through the parameter or attribute they land in.

The refusals are decided here too: an ``__init__``, a property, a
``__del__``, a lambda (or any function Python calls without awaiting) that
would have to await is a located error. Each function that changes colour
keeps its :class:`Reason`, the call that forced it, so ``--explain`` can print
the chain down to the primitive.
"""

from __future__ import annotations

import ast
import sys
from collections import deque
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ambidex._callgraph import Call, CallGraph, CallKind, Class, Function, own_calls
from ambidex._rules import Kind, Rule
from ambidex.codegen._source import Diagnostic

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


#: Decorators that keep what the function returns: on an ``async def``, the
#: coroutine object, which cannot be awaited twice.
_CACHING_DECORATORS = frozenset(
    {"functools.lru_cache", "functools.cache", "functools.cached_property"}
)


@dataclass(frozen=True)
class Reason:
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


#: Lock types whose `with` blocks stay plain (and the lock a threading lock)
#: when nothing inside awaits: a lock held across no await is correct in
#: asyncio code and cheaper than an asyncio.Lock.
_LOCKS = frozenset(
    {"threading.Lock", "threading.RLock", "threading.Condition", "threading.Semaphore",
     "threading.BoundedSemaphore"}
)

#: Builtins that take a function as a value and never call it.
_INSPECTORS = frozenset(
    {"type", "isinstance", "issubclass", "id", "callable", "repr", "str", "hash", "getattr",
     "hasattr", "setattr", "vars", "dir", "print", "len", "bool", "format"}
)


class Planner:
    """Decides which functions change colour, and why (the fixed point)."""

    def __init__(self, graph: CallGraph) -> None:
        self.graph = graph
        self.reasons: dict[str, Reason] = {}
        self.diagnostics: list[Diagnostic] = []
        self.callers: dict[str, list[Call]] = {}
        self.slot_calls: dict[tuple[str, str, str], list[Call]] = {}
        self.handed_params: set[tuple[str, str]] = set()
        """(function key, parameter) that receive an async callable."""
        self.deferred_locks: set[int] = set()
        """ids of ``with lock:`` items whose lock may stay a threading lock."""
        self.lock_sites: dict[tuple[str, str, str], list[Call]] = {}
        self.acquired_locks: set[tuple[str, str, str]] = set()
        self.sync_locks: set[tuple[str, str, str]] = set()
        """Locks that stay threading locks: no block they guard awaits."""
        self.unlike_said: set[tuple[str, int, str]] = set()
        """(path, line, function key) of the generator-or-not refusals said."""
        self.awaited_sites: set[int] = set()
        """ids of calls of handed-over callables that went async (``await factory()``)."""
        for call in graph.iter_calls():
            for callee in call.runs:
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
            self.mark(site.caller, Reason(site, callee, ""), work)
        return True

    def bound_and_called_here(self, ref: Call) -> bool:
        """A function returned (a closure handed back: its callers get it as a
        value and their calls of it resolve to it), or wrapped in
        ``functools.partial`` whose result is bound to a name or attribute
        (calls through that name resolve to it, and are awaited)."""
        if ref.argument_of is None:
            return True  # `return inner`
        partial = ref.argument_of
        if self.graph.dotted_name(partial.func, ref.caller) not in (
            "functools.partial",
            "partial",
        ) or not partial.args or partial.args[0] is not ref.node:
            return False
        for node in ast.walk(ref.caller.node):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is partial:
                return True
        return False

    def only_inspected(self, ref: Call) -> bool:
        """A function handed to a builtin that looks at it and never calls it."""
        if ref.argument_of is None:
            return False
        dotted = self.graph.dotted_name(ref.argument_of.func, ref.caller)
        return dotted in _INSPECTORS

    def awaited_rule(self, call: Call) -> Rule | None:
        """The row whose twin must be awaited at this site, if any. A ``with``
        on a lock that stays a threading lock (no await inside any block it
        guards) has none."""
        if id(call.node) in self.deferred_locks:
            return None
        return self.table_rule(call)

    @staticmethod
    def table_rule(call: Call) -> Rule | None:
        """The row whose twin must be awaited at this site, by the table alone."""
        rule = call.rule
        if rule is None or rule.async_ is None or not rule.awaited or rule.kind is Kind.NAME:
            return None
        if rule.sync is None or "." not in rule.sync:  # next/iter: only for async iterators
            return None
        if call.kind in (CallKind.CALL, CallKind.WITH, CallKind.FOR) and not call.offloaded:
            return rule
        return None

    def is_async(self, function: Function) -> bool:
        return function.key in self.reasons

    def run(self) -> None:
        work: deque[Function] = deque()
        self.find_lock_sites()
        for function in self.graph.functions.values():
            for call in function.calls:
                if call.type_checking:
                    continue
                rule = self.awaited_rule(call)
                if rule is not None and rule.sync is not None:
                    self.mark(function, Reason(call, None, rule.sync), work)
        self.propagate(work)
        # A lock whose guarded block now awaits must be an asyncio lock: every
        # `with` on it awaits, which may make more blocks await, to a fixed point.
        # A lock acquired outside `with` (acquire(), wait()) is one from the start:
        # its `with` sites are converted in the first round too (they were left
        # plain: `with self.cond:` on an asyncio.Condition).
        converted: set[tuple[str, str, str]] = set()
        while True:
            newly = {
                ident
                for ident, sites in self.lock_sites.items()
                if ident not in converted
                and (ident in self.acquired_locks or any(self.block_awaits(s) for s in sites))
            }
            if not newly:
                break
            converted |= newly
            for ident in newly:
                for site in self.lock_sites[ident]:
                    self.deferred_locks.discard(id(site.node))
                    rule = self.table_rule(site)
                    if rule is not None and rule.sync is not None:
                        self.mark(site.caller, Reason(site, None, rule.sync), work)
            self.propagate(work)
        self.sync_locks = set(self.lock_sites) - converted
        self.check_decorators()
        self.check_method_values()

    def check_method_values(self) -> None:
        """A method whose twin is awaited, handed on as a value (``partial(
        sock.sendall, data)``, ``executor.submit(sock.recv, 4)``, ``getattr(sock,
        "recv")``): whoever calls it gets a coroutine and does not await it."""
        resolver = self.graph.resolver
        by_sync = self.graph.table.by_sync
        seen: set[int] = set()

        def awaited_twin(dotted: str | None) -> Rule | None:
            rule = by_sync.get(dotted) if dotted else None
            if (
                rule is None
                or rule.kind is not Kind.METHOD
                or not rule.awaited
                or rule.async_ is None
                or rule.sync is None
                or not rule.sync.startswith(("socket.socket.", "socket.SocketIO."))
            ):
                return None
            return rule

        for function in self.graph.functions.values():
            for node in _calls_handing_values(function.node):
                if id(node) in seen:
                    continue
                seen.add(id(node))
                found: list[tuple[ast.expr, Rule]] = []
                for arg in (*node.args, *(k.value for k in node.keywords)):
                    if isinstance(arg, ast.Attribute):
                        value = resolver.eval(arg, function)
                        rule = awaited_twin(value.dotted if value is not None else None)
                        if rule is not None:
                            found.append((arg, rule))
                if (
                    isinstance(node.func, ast.Name)
                    and node.func.id == "getattr"
                    and len(node.args) >= 2
                    and isinstance(node.args[1], ast.Constant)
                    and isinstance(node.args[1].value, str)
                ):
                    value = resolver.eval(node.args[0], function)
                    if value is not None and value.instance:
                        rule = awaited_twin(f"{value.instance}.{node.args[1].value}")
                        if rule is not None:
                            found.append((node, rule))
                for where, rule in found:
                    self.diagnostics.append(
                        Diagnostic(
                            function.module.path,
                            where.lineno,
                            where.col_offset + 1,
                            f"`{ast.unparse(where)}` hands {rule.sync} on as a value; its "
                            f"twin {rule.async_} must be awaited, and whoever calls it "
                            "later would not: call it here (await it), or wrap the call in "
                            "an `async def` of your own",
                        )
                    )

    def check_decorators(self) -> None:
        """A function that became async under a decorator that would call it
        without awaiting: one of the analysed code's own (a retry wrapper that
        stays a plain ``def`` hands the coroutine back, and its ``try`` around
        the call catches nothing), or a cache that would keep the coroutine."""
        resolver = self.graph.resolver
        for function in self.graph.functions.values():
            if not self.is_async(function):
                continue
            scope = function.parent or function.module
            for decorator in function.node.decorator_list:
                dotted = self.graph.dotted_name(
                    decorator.func if isinstance(decorator, ast.Call) else decorator, function
                )
                if dotted in _CACHING_DECORATORS:
                    why = f"{dotted} would cache the coroutine, not its result"
                else:
                    value = resolver.eval(decorator, scope)
                    if value is None or value.function is None:
                        continue  # property, staticmethod, an external decorator: not ours
                    wrapper = resolver.returned(value.function)
                    if (
                        wrapper is not None
                        and wrapper.function is not None
                        and self.is_async(wrapper.function)
                    ):
                        continue
                    why = (
                        f"its decorator {value.function.display} wraps it in a plain "
                        "function that calls it without awaiting"
                    )
                self.diagnostics.append(
                    Diagnostic(
                        function.module.path,
                        decorator.lineno,
                        decorator.col_offset + 1,
                        f"{function.display} becomes async (it awaits "
                        f"{self.bottom(function.key)}) but {why}; make the decorator's "
                        "wrapper an `async def` that awaits it, or leave the decorator off",
                    )
                )

    def find_lock_sites(self) -> None:
        """``with lock:`` sites on threading locks, by lock; locks ``acquire()``d."""
        for function in self.graph.functions.values():
            for call in function.calls:
                if call.type_checking or call.offloaded or call.instance_type not in _LOCKS:
                    continue
                if call.kind is CallKind.WITH and isinstance(call.node, ast.withitem):
                    ident = self.lock_identity(call.node.context_expr, function)
                    self.lock_sites.setdefault(ident, []).append(call)
                    self.deferred_locks.add(id(call.node))
                elif (
                    call.kind is CallKind.CALL
                    and isinstance(call.node, ast.Call)
                    and isinstance(call.node.func, ast.Attribute)
                    and self.table_rule(call) is not None
                ):
                    # acquire(), wait(): the lock is awaited outside `with`: asyncio.
                    self.acquired_locks.add(self.lock_identity(call.node.func.value, function))

    def lock_identity(self, expr: ast.expr, function: Function) -> tuple[str, str, str]:
        """Which lock (or callable) an expression names: a ``self.`` attribute
        (by the class that binds it), a local, a module global; else one of its own."""
        args = function.node.args.args
        if (
            isinstance(expr, ast.Attribute)
            and isinstance(expr.value, ast.Name)
            and function.cls is not None
            and args
            and expr.value.id == args[0].arg
        ):
            return self.attr_identity(function.cls, expr.attr)
        if isinstance(expr, ast.Name):
            scope: Function | None = function
            while scope is not None:
                if expr.id in scope.locals:
                    return ("local", scope.key, expr.id)
                scope = scope.parent
            return ("global", function.module.path, expr.id)
        return ("expr", str(id(expr)), "")

    def attr_identity(self, cls: Class, name: str) -> tuple[str, str, str]:
        """An attribute of ``cls``'s instances, by the class that binds it
        (``cls`` when none in its MRO does)."""
        owner = cls
        for klass in self.graph.resolver.mro(cls):
            if name in klass.attrs:
                owner = klass
                break
        return ("attr", owner.key, name)

    def goes_async(self, call: Call) -> bool:
        """A call whose callee the port made async: awaited where its caller is."""
        return id(call.node) in self.awaited_sites or any(
            self.is_async(c) and not c.is_generator for c in call.runs
        )

    @cached_property
    def awaited_callables(self) -> frozenset[tuple[str, str, str]]:
        """What the port's awaited calls call through a name or a ``self.``
        attribute (``await reader(buf)``, ``await self._reader(buf)``), by
        :meth:`lock_identity`: an annotation of one as ``Callable[[A], R]``
        must say ``Awaitable[R]`` (asked once the plan is made)."""
        found: set[tuple[str, str, str]] = set()
        for function in self.graph.functions.values():
            if not (function.is_async or self.is_async(function)):
                continue
            for call in function.calls:
                node = call.node
                if (
                    call.kind is CallKind.CALL
                    and isinstance(node, ast.Call)
                    and isinstance(node.func, (ast.Name, ast.Attribute))
                    and not (call.type_checking or call.offloaded)
                    and call.lambda_node is None
                    and self.goes_async(call)
                ):
                    ident = self.lock_identity(node.func, function)
                    if ident[0] != "expr":
                        found.add(ident)
        return frozenset(found)

    def block_awaits(self, site: Call) -> bool:
        """Whether the block of this ``with lock:`` awaits anything after the port."""
        statement = next(
            (
                node
                for node in ast.walk(site.caller.node)
                if isinstance(node, ast.With) and site.node in node.items
            ),
            None,
        )
        if statement is None:
            return True
        inside = {id(n) for part in statement.body for n in ast.walk(part)}
        for call in site.caller.calls:
            node = call.node.context_expr if isinstance(call.node, ast.withitem) else call.node
            if id(node) not in inside and id(call.node) not in inside:
                continue
            if self.awaited_rule(call) is not None or id(call.node) in self.awaited_sites:
                return True
            if call.kind is CallKind.CALL and any(
                self.is_async(c) and not c.is_generator for c in call.runs
            ):
                return True
            if call.kind in (CallKind.WITH, CallKind.FOR) and any(
                self.is_async(c) for c in call.runs
            ):
                return True
        return False

    def propagate(self, work: deque[Function]) -> None:
        while work:
            callee = work.popleft()
            for call in self.callers.get(callee.key, ()):
                if call.type_checking:
                    continue
                if call.kind is CallKind.REF and call.stored_in is not None:
                    self.error_at(
                        call,
                        f"{callee.display} becomes async (it awaits "
                        f"{self.bottom(callee.key)}) but is stored in a container here, "
                        "and the calls that take it out are not followed (they would not "
                        "await it); call it by name, or keep the container's functions sync",
                    )
                    continue
                if call.kind is CallKind.REF and self.hand_over(call, callee, work):
                    continue
                if call.kind is CallKind.REF and self.only_inspected(call):
                    continue  # type(self._command), callable(f): looked at, never called
                if call.kind is CallKind.REF and self.bound_and_called_here(call):
                    continue  # reader = partial(f, ...); reader(...): awaited at the call
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
                self.mark(call.caller, Reason(call, callee, ""), work)
                if call.kind is CallKind.CALL or (
                    call.kind is CallKind.FOR and callee.is_generator
                ):
                    # The site awaits (or iterates with `async for`) whichever
                    # callee runs (an override, a method getattr picks): all of
                    # them must become async, and all of one kind. (A `for` over
                    # an object runs __iter__ and __next__, both: not alternatives.)
                    for other in call.runs:
                        if other is callee:
                            continue
                        if other.is_generator == callee.is_generator:
                            self.mark(other, Reason(call, callee, ""), work)
                        elif self.first_unlike(call.caller.module.path, call.line, other):
                            self.error_at(call, self.unlike(callee, other))
            if callee.cls is not None and not callee.name.startswith("__"):
                # An override that awaits makes the method it overrides async (its
                # callers await it), and every other override of it.
                for other in self.graph.same_method_elsewhere(callee):
                    if other.is_generator == callee.is_generator:
                        self.mark(other, self.reasons.get(callee.key) or next(
                            iter(self.reasons.values())), work)
                    elif self.first_unlike(other.module.path, other.line, other):
                        node = other.node
                        self.diagnostics.append(
                            Diagnostic(other.module.path, node.lineno, node.col_offset + 1,
                                       self.unlike(callee, other))
                        )

    def first_unlike(self, path: str, line: int, other: Function) -> bool:
        """Whether ``other``'s kind was not yet said at this line (once is enough)."""
        said = (path, line, other.key)
        if said in self.unlike_said:
            return False
        self.unlike_said.add(said)
        return True

    def unlike(self, callee: Function, other: Function) -> str:
        """Why ``other`` cannot take ``callee``'s new colour: one is a
        generator and the other is not (a call through the base either awaits
        what it gets or iterates it with ``async for``, never both)."""
        generator, plain = (callee, other) if callee.is_generator else (other, callee)
        return (
            f"{callee.display} becomes async (it awaits {self.bottom(callee.key)}) and "
            f"{other.display} is the same method for another class, but "
            f"{generator.display} is a generator and {plain.display} is not: a call that "
            "may run either would have to both await it and iterate it with `async for`; "
            "make them the same kind of function"
        )

    def mark(self, function: Function, reason: Reason, work: deque[Function]) -> None:
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

    def describe(self, reason: Reason) -> str:
        """``socket.socket.recv (client.py:30:16)``, or through a function."""
        if reason.callee is None:
            return f"{reason.primitive} ({_where(reason.call)})"
        return f"{reason.callee.display} ({_where(reason.call)}), which awaits " + self.bottom(
            reason.callee.key
        )

    def chain(self, key: str) -> tuple[list[Function], Reason]:
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

    def warn_external_overrides(self) -> None:
        """A method that became async but overrides one of a class nobody
        analysed (``HTTPResponse.read`` over ``io.BufferedIOBase.read``): that
        class's own methods may call it without awaiting (``readlines``,
        iteration). Said with a location; the port still stands.

        The outside class is read from its source, never imported (only the
        standard library's classes are), and so are its bases, into the
        modules they come from. When a base cannot be read (not found, no
        Python source, not a plain name), whether a method that became async
        overrides one of its methods cannot be told: said once per class, at
        the class, with the methods and the base."""
        from ambidex.codegen._to_sync.outside import OutsideReader

        analysed = {cls.dotted for cls in self.graph.classes.values()}
        reader = OutsideReader(module.path for module in self.graph.modules.values())
        untold: dict[tuple[str, str], tuple[Class, list[Function], tuple[str, ...]]] = {}
        for key in self.reasons:
            function = self.graph.functions[key]
            cls = function.cls
            if cls is None or function.name.startswith("__"):
                continue
            for base in cls.node.bases:
                dotted = self.graph.dotted_name(base, cls.module)
                if dotted is None or dotted in analysed or "." not in dotted:
                    continue
                outside = reader.outside_class(dotted, _standard_library_class)
                if outside is None:
                    entry = untold.setdefault((cls.key, dotted), (cls, [], (dotted,)))
                    entry[1].append(function)
                    continue
                if not outside.has(function.name):
                    if outside.unread:
                        entry = untold.setdefault((cls.key, dotted), (cls, [], outside.unread))
                        entry[1].append(function)
                    continue
                node = function.node
                self.diagnostics.append(
                    Diagnostic(
                        function.module.path,
                        node.lineno,
                        node.col_offset + 1,
                        f"{function.display} becomes async but overrides {dotted}."
                        f"{function.name}, which {dotted}'s own methods may call "
                        "without awaiting; call only the async methods of the port",
                        error=False,
                    )
                )
        for (_, dotted), (cls, functions, unread) in untold.items():
            names = ", ".join(f.display for f in functions)
            which = ", which" if unread == (dotted,) else (
                f": its base{'s' if len(unread) > 1 else ''} {', '.join(unread)}")
            self.diagnostics.append(
                Diagnostic(
                    cls.module.path,
                    cls.node.lineno,
                    cls.node.col_offset + 1,
                    f"cannot tell whether {names} (now async) override methods of the outside "
                    f"class {dotted}{which} cannot be read (no Python source found; never "
                    "imported); if they do, its own methods may call them without awaiting",
                    error=False,
                )
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
                if id(call.node) in self.deferred_locks:
                    continue  # a `with` on a lock that stays a threading lock: holds no await
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
                for callee in call.runs:
                    if callee.key not in seen and not callee.is_async:
                        seen.add(callee.key)
                        queue.append((callee, f"{path} -> {callee.display}"))


def _standard_library_class(dotted: str) -> object | None:
    """The class ``dotted`` when it is the standard library's (imported: its
    methods often come from C, and its modules run nothing of the user's);
    None for any other module, or a name that is not a class there."""
    import importlib

    module_name, _, class_name = dotted.rpartition(".")
    if not module_name or not _from_the_standard_library(module_name.partition(".")[0]):
        return None
    try:
        cls = getattr(importlib.import_module(module_name), class_name, None)
    except Exception:  # not importable here: cannot tell
        return None
    return cls if isinstance(cls, type) else None


def _from_the_standard_library(top: str) -> bool:
    """Whether importing the top-level module ``top`` here would load the
    standard library's own: a stdlib *name* is not enough, since a project's
    ``email.py`` ahead of the stdlib on ``sys.path`` is what an import would run.
    Found without importing anything."""
    import importlib.machinery
    import sysconfig

    if top not in sys.stdlib_module_names:
        return False
    if top in sys.modules or top in sys.builtin_module_names:
        return True  # already loaded (runs nothing again), or compiled into Python
    if importlib.machinery.FrozenImporter.find_spec(top) is not None:
        return True  # the frozen copy comes before sys.path
    spec = importlib.machinery.PathFinder.find_spec(top)
    if spec is None or spec.origin is None:
        return False
    found = Path(spec.origin).resolve().parent
    if spec.submodule_search_locations is not None:
        found = found.parent  # a package: its __init__.py is one level down
    paths = sysconfig.get_paths()
    homes = {Path(paths[key]).resolve() for key in ("stdlib", "platstdlib")}
    return found in homes or found in {home / "lib-dynload" for home in homes}


def _calls_handing_values(function: ast.AST) -> list[ast.Call]:
    """The calls :meth:`Planner.check_method_values` looks at, among
    :func:`ambidex._callgraph.own_calls` of ``function``, in its order: those
    with an attribute among their arguments (``partial(sock.sendall, data)``),
    and ``getattr(...)`` calls. Every function of a port is read here."""
    found: list[ast.Call] = []
    for node in own_calls(function):
        func = node.func
        if (type(func) is ast.Name and func.id == "getattr") or any(
            type(arg) is ast.Attribute for arg in node.args
        ) or any(type(k.value) is ast.Attribute for k in node.keywords):
            found.append(node)
    return found
