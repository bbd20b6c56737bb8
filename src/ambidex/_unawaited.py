"""Coroutines never awaited, and methods a twin does not have: found statically.

One analysis with two users:

* the sync -> async generator runs it over its own output before anything is
  written (the guarantee: after a successful port no call of a function that
  became async is left un-awaited, and no method is called on an
  ``AsyncSocket``, or any twin from the table, that the twin lacks);
* the lint reports the same findings (``AMB301``) in hand-written asyncio
  code, where a forgotten ``await`` is the mistake people make most.

It reads asyncio code with the call graph (:mod:`ambidex._callgraph`), given
the table *seen from the async side* (:func:`async_side`): each twin becomes a
row of its own, with its result typed as the twin of the sync result, so
``sock = await AsyncSocket.create_connection(...)`` is an ``AsyncSocket`` and
``sock.makefile("rb")`` an ``AsyncSocketIO``, and their methods are known.

A call must be awaited when it runs an analysed ``async def`` (not an async
generator: calling one does not run it), a twin whose row says ``await``, or
an analysed plain function that returns such a call unawaited (it returns the
coroutine to its caller). It counts as handled when it is the operand of
``await``, an argument of something that schedules or awaits it
(``asyncio.create_task``, ``gather``, ``ensure_future``, ``wait_for``,
``shield``, ``TaskGroup.create_task``, ``asyncio.run``, ...), the value a
function returns (its callers then must await that function), or the body of
a lambda (whoever calls the lambda gets the coroutine).

Where the receiver's type is unknown (an unannotated parameter, an attribute
set from one) but the method's name is one that became async, the finding is
``unknown``: the port says so with a location, as a warning (an error with
``--strict``).
"""

from __future__ import annotations

import ast
import bisect
import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ambidex._callgraph import (
    Call,
    CallFilter,
    CallGraph,
    CallKind,
    Evaluator,
    Function,
    WholeBodies,
    build,
    dotted_of,
)
from ambidex._callgraph._model import own_calls, parents_by_node
from ambidex._rules import Kind, Rule, RuleTable

__all__ = ["Unawaited", "async_side", "calls_worth_checking", "find_unawaited", "twin_types"]

#: Callables that take a coroutine and schedule or await it themselves.
SCHEDULERS = frozenset(
    {
        "asyncio.create_task",
        "asyncio.ensure_future",
        "asyncio.gather",
        "asyncio.wait_for",
        "asyncio.shield",
        "asyncio.run",
        "asyncio.wait",
        "asyncio.as_completed",
        "asyncio.run_coroutine_threadsafe",
        "anyio.run",
        "trio.run",
    }
)
#: Method names that do the same whatever their receiver (a TaskGroup, a loop,
#: a nursery, a Runner): the coroutine handed to them is taken care of.
SCHEDULER_METHODS = frozenset(
    {"create_task", "run_until_complete", "start_soon", "start", "run", "ensure_future"}
)


#: Builtins that iterate their argument at once, with a plain ``for``: an async
#: generator handed to one is a TypeError (``b"".join(agen())``, ``list(agen())``).
SYNC_CONSUMERS = frozenset(
    {
        "list", "tuple", "set", "frozenset", "dict", "sorted", "sum", "min", "max", "any",
        "all", "enumerate", "zip", "map", "filter", "iter", "next", "reversed", "bytes",
        "bytearray",
    }
)


#: Builtins that take an iterable as a value and do not iterate it.
_NOT_ITERATING = frozenset(
    {"repr", "str", "id", "type", "isinstance", "callable", "print", "hash", "bool", "format",
     "getattr", "setattr", "hasattr", "vars", "dir", "len"}
)


#: Where a socket method takes its ``flags``, positionally.
_FLAGS_AT = {"recv": 1, "send": 1, "sendall": 1, "recv_into": 2}


@dataclass(frozen=True)
class Unawaited:
    """One finding: where, what, and whether the analysis is sure."""

    path: str
    line: int
    col: int
    """1-based, as printed."""
    message: str
    sure: bool
    """False when the receiver's type is unknown and only the name matches."""


def twin_types(table: RuleTable) -> dict[str, str]:
    """Each sync type with a twin, and its twin: ``socket.socket`` ->
    ``ambidex.io.AsyncSocket``, ``socket.SocketIO`` -> ``ambidex.io.AsyncSocketIO``,
    ``threading.Lock`` -> ``asyncio.Lock``."""
    twins: dict[str, str] = {}
    for rule in table.rules:
        if rule.sync is None or rule.async_ is None or "." not in rule.sync:
            continue
        if rule.kind is Kind.CALL and rule.returns == rule.sync and not rule.awaited:
            twins.setdefault(rule.sync, rule.async_)
        elif rule.kind is Kind.METHOD and "." in rule.async_:
            twins.setdefault(rule.sync.rsplit(".", 1)[0], rule.async_.rsplit(".", 1)[0])
    return twins


def async_side(table: RuleTable) -> RuleTable:
    """The table as asyncio code reads it: every twin a row of its own name,
    typed so objects are followed through their twins' results."""
    twins = twin_types(table)
    rows: list[Rule] = []
    for rule in table.rules:
        if rule.async_ is None or rule.kind is Kind.NAME:
            continue
        returns = twins.get(rule.returns, rule.returns) if rule.returns else None
        rows.append(
            Rule(rule.async_, rule.async_, rule.kind, rule.awaited, False, returns, rule.fix)
        )
    return RuleTable(rows)


def _has_attribute(dotted_type: str, name: str) -> bool | None:
    """Whether the importable type ``dotted_type`` has ``name``; None if unknown."""
    module_name, _, type_name = dotted_type.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception:  # not importable here: cannot tell
        return None
    cls = getattr(module, type_name, None)
    if cls is None:
        return None
    if hasattr(cls, name):
        return True
    # Set on the instance by __init__ (asyncio.Condition's `locked = lock.locked`).
    init = getattr(cls, "__init__", None)
    code = getattr(init, "__code__", None)
    return None if code is not None and name in code.co_names else False


def find_unawaited(
    modules: Mapping[str, str],
    table: RuleTable,
    *,
    async_names: Iterable[str] = (),
    graph: CallGraph | None = None,
    lenient: bool = False,
) -> list[Unawaited]:
    """The findings in ``modules`` (display path -> asyncio source).

    ``table`` is the sync -> async table (its async side is derived here).
    ``async_names``: method names that became async (the generator passes
    the ones it made async); a call of one of them on a receiver of unknown
    type that is not awaited is an ``unknown`` finding.

    ``lenient`` (the lint, on code written for asyncio) also accepts a
    coroutine handed to any call (``run_with_timeout(coro, 5)``: the receiver
    awaits it) or stored in a local that is later awaited, returned or handed
    on. Ported code never does either on purpose (sync code had no
    coroutines to hand over), so the generator checks without it.
    """
    if graph is None:
        graph = build(modules, async_side(table))
    return _Checker(graph, table, set(async_names), lenient).run()


def calls_worth_checking(table: RuleTable) -> CallFilter:
    """Which calls :func:`find_unawaited` (``lenient``, no ``async_names``: the
    lint's way) can say anything about: a call it checks that runs analysed
    code, has a row or a twin for a receiver, or is ``contextlib.closing(x)``.
    Any other call yields no finding and cannot make its caller return a
    coroutine; the lint's resolution keeps only these (half the calls of a
    site-packages, whose records it need not hold, nor make). ``table`` is
    the one given to :func:`find_unawaited` (its sync side). It mirrors what
    :meth:`_Checker.check` and the rounds of :meth:`_Checker.run` read of a
    call when ``lenient``: a new reason to look at a call goes here too
    (tests/detect/test_lint_shortcuts.py compares the findings with and
    without it)."""
    return _WorthChecking(frozenset(twin_types(table).values()))


class _WorthChecking:
    """:func:`calls_worth_checking`'s answer (a :class:`CallFilter`)."""

    def __init__(self, twins: frozenset[str]) -> None:
        self.twins = twins

    def __call__(self, call: Call, resolver: Evaluator) -> bool:
        if call.kind is not CallKind.CALL:
            return False  # run() never looks at them
        node = call.node
        assert isinstance(node, ast.Call)
        return self.wants_call(
            call.caller, node, call.callees, call.overrides, call.rule, call.instance_type,
            call.type_checking, resolver,
        )

    def wants_call(
        self,
        caller: Function,
        node: ast.Call,
        callees: tuple[Function, ...],
        overrides: tuple[Function, ...],
        rule: Rule | None,
        instance_type: str | None,
        type_checking: bool,
        resolver: Evaluator,
    ) -> bool:
        if type_checking:
            return False  # run() never looks at them
        if callees or overrides or rule is not None:
            return True
        if instance_type is not None and instance_type in self.twins:
            return True
        # closed_without_await's question, from the value the resolution remembers.
        return (
            bool(node.args)
            and dotted_of(resolver.eval(node.func, caller)) == "contextlib.closing"
        )


class _Checker:
    def __init__(
        self, graph: CallGraph, table: RuleTable, async_names: set[str], lenient: bool
    ) -> None:
        self.graph = graph
        self.lenient = lenient
        self.twin_type_names = set(twin_types(table).values())
        self.async_names = async_names
        self.parents: dict[ast.AST, ast.AST] = {}
        """Child -> parent, filled a function at a time (see :meth:`enter`);
        constants are left out (no reader asks for theirs)."""
        self._walked: dict[int, bool] = {}
        """Per outermost definition mapped: whether it was mapped whole (:meth:`enter`)."""
        self._whole = WholeBodies()
        self._awaited: dict[int, set[int]] = {}
        self._names_read: dict[int, dict[str, list[ast.Name]]] = {}
        """Per function node: :meth:`awaited_statements`."""
        self.returns_coroutine: dict[str, Call] = {}
        """Plain functions that return a coroutine they did not await, and the call."""

    def enter(self, function: Function, *, whole: bool = False) -> None:
        """Know the parents of ``function``'s nodes (the whole def, nested ones too).

        A slim build pruned from the bodies what its records do not refer to
        (:func:`ambidex._callgraph._slim.prune_bodies`), but kept every call
        site and everything that holds one, as the same objects: a call's
        ancestors, each with the same parent as in the whole body (and a call
        that holds the site is itself a site, kept whole). A reader that walks
        up from a call -- is it awaited, returned, handed to what? -- reads
        the same answers from the pruned body. A reader that looks down or
        sideways (a stored coroutine's later uses, the statements before a
        call) asks for the ``whole`` body: what was pruned is put back from
        the source then (:class:`WholeBodies`, into the same nodes) and mapped
        too. On a site-packages, one definition in five of those the lint's
        check enters needs that: the others are never parsed again.
        """
        outer = function
        while outer.parent is not None:
            outer = outer.parent
        mapped = self._walked.get(id(outer.node))
        if mapped is None:
            if whole:
                self._whole.restore(outer)  # a slim build's pruned body, parsed again
            self._walked[id(outer.node)] = whole
            self.parents.update(parents_by_node(outer.node))
        elif whole and not mapped:
            self._walked[id(outer.node)] = True
            if self._whole.restore(outer):  # the nodes put back have parents too
                self.parents.update(parents_by_node(outer.node))

    def awaited_statements(self, function: Function) -> set[int]:
        """The ids of the expressions a statement of ``function`` awaits whole:
        ``await f()``, ``x = await f()``, ``return await f()``... (their parent
        is that ``await``). Most calls of ported code are awaited so; telling
        it from the statements alone spares the parent map of most functions.
        """
        found = self._awaited.get(id(function.node))
        if found is None:
            found = set()
            todo: list[ast.AST] = list(function.node.body)
            while todo:
                statement = todo.pop()
                value = getattr(statement, "value", None)
                if isinstance(value, ast.Await):
                    found.add(id(value.value))
                for block in ("body", "orelse", "finalbody", "handlers", "cases"):
                    nested = getattr(statement, block, None)
                    if isinstance(nested, list):
                        todo.extend(nested)
            self._awaited[id(function.node)] = found
        return found

    def must_await(self, call: Call) -> str | None:
        """What the call runs that must be awaited, spelled for the message."""
        # Ported code: an override may be what runs. Hand-written code: only
        # what surely runs (a mixin's sync and async subclasses differ on purpose).
        for callee in call.callees if self.lenient else call.runs:
            if callee.is_async and not callee.is_generator:
                return f"{callee.display} is async"
            if callee.key in self.returns_coroutine:
                inner = self.returns_coroutine[callee.key]
                return (
                    f"{callee.display} returns the coroutine of {self.spelled(inner)} "
                    f"({self.where(inner)})"
                )
        rule = call.rule
        if (
            rule is not None
            and rule.awaited
            and rule.kind is not Kind.NAME
            and rule.sync is not None
            and "." in rule.sync
        ):
            return f"{rule.sync} is a coroutine function"
        return None

    def handled(self, call: Call) -> str | None:
        """How an unawaited coroutine is taken care of here: "await", "returned",
        "scheduled", "handed", "stored", "lambda"; None when it is not."""
        node: ast.AST = call.node
        if id(node) in self.awaited_statements(call.caller):
            return "await"  # (what the parent map below would say, without making it)
        self.enter(call.caller)
        parent = self.parents.get(node)
        if isinstance(parent, ast.Await):
            return "await"
        if isinstance(parent, ast.Attribute) and parent.attr == "__await__":
            return "await"
        if isinstance(parent, ast.Lambda):
            return "lambda"
        if isinstance(parent, ast.Return):
            return "returned"
        # Up through containers (gather(*(f(i) for i in ...)), keywords) to a call.
        while isinstance(
            parent,
            (ast.Starred, ast.keyword, ast.GeneratorExp, ast.ListComp, ast.SetComp,
             ast.List, ast.Tuple, ast.Set, ast.comprehension),
        ):
            if isinstance(parent, ast.comprehension):
                return "handed" if self.lenient else None  # iterated: awaited one by one?
            node, parent = parent, self.parents.get(parent)
        if self.lenient:
            if isinstance(parent, (ast.Assign, ast.AnnAssign)) and self.stored_and_used(
                call, parent
            ):
                return "stored"
            if isinstance(parent, (ast.For, ast.AsyncFor)) and node is parent.iter:
                return "handed"
        if isinstance(parent, ast.Call) and node is not parent.func:
            func = parent.func
            if isinstance(func, ast.Attribute) and func.attr in SCHEDULER_METHODS:
                return "scheduled"
            dotted = self.graph.dotted_name(func, call.caller)
            if dotted in SCHEDULERS:
                return "scheduled"
            if self.lenient:
                return "handed"
        return None

    def stored_and_used(self, call: Call, statement: ast.Assign | ast.AnnAssign) -> bool:
        """``coro = f()`` with ``coro`` later awaited, returned or handed to a call."""
        self.enter(call.caller, whole=True)  # (the targets too may have been pruned)
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        if len(targets) != 1 or not isinstance(targets[0], ast.Name):
            return False
        for node in self.names_read(call.caller).get(targets[0].id, ()):
            parent = self.parents.get(node)
            if isinstance(parent, (ast.Await, ast.Return, ast.Call, ast.keyword,
                                   ast.Starred, ast.List, ast.Tuple, ast.Attribute)):
                return True
        return False

    def names_read(self, function: Function) -> dict[str, list[ast.Name]]:
        """The names ``function``'s whole definition reads (nested ones
        included), by name: a function that stores coroutines stores several
        (five on average on a site-packages), and each is looked for here
        instead of in a walk of its own. Asked once the body is whole."""
        found = self._names_read.get(id(function.node))
        if found is None:
            found = self._names_read[id(function.node)] = {}
            for node in ast.walk(function.node):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    found.setdefault(node.id, []).append(node)
        return found

    def run(self) -> list[Unawaited]:
        calls = [
            c
            for f in self.graph.functions.values()
            for c in f.calls
            if c.kind is CallKind.CALL and not c.type_checking
        ]
        # Plain functions that hand back a coroutine: their callers must await them.
        # Only a call that runs analysed code or has a row can be one (must_await);
        # the rest are left out of the rounds, in the same order.
        returning = [c for c in calls if (c.callees or c.overrides or c.rule is not None)
                     and not c.caller.is_async]
        changed = True
        while changed:
            changed = False
            for call in returning:
                caller = call.caller
                if caller.is_async or caller.key in self.returns_coroutine:
                    continue
                if self.must_await(call) is not None and self.handled(call) == "returned":
                    self.returns_coroutine[caller.key] = call
                    changed = True
        findings: list[Unawaited] = []
        for call in calls:
            findings += self.check(call)
        for function in self.graph.functions.values():
            if self.may_hold_async_genexp(function):
                findings += self.async_genexps_consumed(function)
        findings.sort(key=lambda f: (f.path, f.line, f.col))
        return findings

    def check(self, call: Call) -> list[Unawaited]:
        misused = self.iterated_without_async_for(call)
        if misused is not None:
            return [self.finding(call, misused)]
        handed = self.async_generator_handed_on(call)
        if handed is not None:
            return [self.finding(call, handed, sure=False)]
        closing = self.closed_without_await(call)
        if closing is not None:
            return [self.finding(call, closing)]
        flags = self.flags_refused(call)
        if flags is not None:
            # A warning (an error with --strict): the call may sit on a path
            # the client never takes (ftplib's abort() sends MSG_OOB).
            self.enter(call.caller)
            parent = self.parents.get(call.node)
            col = parent.col_offset if isinstance(parent, ast.Await) else call.col
            return [Unawaited(call.caller.module.path, call.line, col + 1, flags, False)]
        why = self.must_await(call)
        if why is not None:
            how = self.handled(call)
            if how is None or (how == "returned" and call.caller.is_async):
                return [
                    self.finding(
                        call,
                        f"coroutine never awaited: `{self.spelled(call)}` ({why}) is called "
                        f"in {call.caller.display} without await",
                    )
                ]
            return []
        node = call.node
        assert isinstance(node, ast.Call)
        func = node.func
        if isinstance(func, ast.Call) and not self.lenient and not call.runs:
            dispatched = self.dispatched_by_name(call, func)
            return [] if dispatched is None else [dispatched]
        if not isinstance(func, ast.Attribute):
            return []
        receiver = call.instance_type
        if receiver is not None and receiver in self.twin_type_names and call.rule is None:
            if self.guarded_for_another_type(call, func.value, receiver):
                return []
            has = _has_attribute(receiver, func.attr)
            if has is False:
                short = receiver.rsplit(".", 1)[1]
                return [
                    self.finding(
                        call,
                        f"{short} has no method `{func.attr}` (the twin of the object "
                        f"called here); the port cannot keep `{self.spelled(call)}`",
                    )
                ]
            return []
        if receiver is None and self.external(func.value, call):
            return []  # sys.stdout.write: a module's object, neither analysed nor a twin
        if (
            receiver is None
            and not call.runs
            and call.rule is None
            and func.attr in self.async_names
            and self.handled(call) not in ("await", "scheduled")
        ):
            return [
                self.finding(
                    call,
                    f"`{self.spelled(call)}`: the type of `{ast.unparse(func.value)}` is "
                    f"unknown, and `{func.attr}` is a method that became async; if it is "
                    "one of those, this call must be awaited (annotate the receiver, or "
                    "check it by hand)",
                    sure=False,
                )
            ]
        return []

    def dispatched_by_name(self, call: Call, func: ast.Call) -> Unawaited | None:
        """``getattr(obj, name)(...)`` with a name the analysis cannot read
        (imaplib's demo: ``getattr(M, cmd)(*args)``), on an instance of an
        analysed class some of whose methods are async: a warning (the
        resolver follows a constant name or prefix itself, as a call of every
        method it can be)."""
        if not (isinstance(func.func, ast.Name) and func.func.id == "getattr"
                and len(func.args) >= 2):
            return None
        cls = self.graph.classes.get(self.graph.type_of(func.args[0], call.caller) or "")
        if cls is None or self.handled(call) in ("await", "scheduled"):
            return None
        methods: dict[str, Function] = {}
        for klass in reversed(list(self.graph.resolver.mro(cls))):
            methods.update(klass.methods)
        coroutines = [m for name, m in methods.items()
                      if m.is_async and not m.is_generator and not name.startswith("__")]
        if not coroutines:
            return None
        shown = ", ".join(m.display for m in coroutines[:3]) + (", ..." if len(coroutines) > 3
                                                                 else "")
        return self.finding(
            call,
            f"`{self.spelled(call)}`: the method is chosen by name at run time among those of "
            f"{cls.qualname}, and some of them became async ({shown}); if it is one of "
            "those, this call must be awaited (dispatch to the async ones apart, or check it "
            "by hand)",
            sure=False,
        )

    def closed_without_await(self, call: Call) -> str | None:
        """``contextlib.closing(x)`` where ``x.close()`` is a coroutine function
        (an ``AsyncSocket``, a class whose ``close`` became async): its exit
        would call it without awaiting."""
        node = call.node
        if (
            not isinstance(node, ast.Call)
            or not node.args
            or self.graph.dotted_name(node.func, call.caller) != "contextlib.closing"
        ):
            return None
        value = self.graph.resolver.eval(node.args[0], call.caller)
        type_ = value.instance if value is not None else None
        if not type_:
            return None
        cls = self.graph.classes.get(type_)
        if cls is not None:
            close = self.graph.resolver.method(cls, "close")
            if close is None or not close.is_async:
                return None
        else:
            rule = self.graph.table.by_sync.get(f"{type_}.close")
            if rule is None or not rule.awaited:
                return None
        short = type_.rsplit(".", 1)[-1].rsplit(":", 1)[-1]
        return (
            f"`{self.spelled(call)}` would call {short}.close() without awaiting it (its "
            "close is a coroutine function); use `async with` on the object itself, or "
            "try/finally with `await x.close()`"
        )

    def may_hold_async_genexp(self, function: Function) -> bool:
        """Whether the lines of ``function`` (its decorators included) spell
        ``async`` or ``await``, and the keyword ``for``, which an async generator
        expression needs: most functions of a large tree do not (in ported code,
        most coroutines have no ``for``), and walking them all was the check's
        main cost."""
        found = function.module.lines_of_async_and_for()
        node = function.node
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        last = node.end_lineno or node.lineno
        for lines in found:
            at = bisect.bisect_left(lines, first)
            if at == len(lines) or lines[at] > last:
                return False
        return True

    def async_genexps_consumed(self, function: Function) -> list[Unawaited]:
        """``any(x async for x in ...)``: an async generator expression handed to
        a builtin that iterates with a plain ``for`` (a TypeError at run time)."""
        found: list[Unawaited] = []
        for node in calls_handed_generators(function.node):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "join":
                name = ast.unparse(func)
            elif (
                isinstance(func, ast.Name)
                and func.id in SYNC_CONSUMERS
                and self.graph.dotted_name(func, function) == func.id
            ):
                name = func.id
            else:
                continue
            for arg in node.args:
                if isinstance(arg, ast.GeneratorExp) and (
                    any(g.is_async for g in arg.generators)
                    or any(isinstance(n, ast.Await) for n in ast.walk(arg))
                ):
                    found.append(
                        Unawaited(
                            function.module.path,
                            node.lineno,
                            node.col_offset + 1,
                            f"`{name}` is handed an async generator expression, which it "
                            "iterates without `async for` (a TypeError at run time); "
                            "collect it first (`[x async for x in ...]`) if reading all "
                            "of it is right, or loop with `async for`",
                            True,
                        )
                    )
        return found

    def flags_refused(self, call: Call) -> str | None:
        """``sock.recv(n, socket.MSG_PEEK)`` on an ``AsyncSocket``: a stream has
        no peeking or out-of-band data, so the twin takes flags of 0 only."""
        rule = call.rule
        if rule is None or rule.sync is None:
            return None
        owner, _, name = rule.sync.rpartition(".")
        index = _FLAGS_AT.get(name)
        if owner != "ambidex.io.AsyncSocket" or index is None:
            return None
        node = call.node
        assert isinstance(node, ast.Call)
        flags = node.args[index] if len(node.args) > index else next(
            (k.value for k in node.keywords if k.arg == "flags"), None
        )
        if flags is None or (isinstance(flags, ast.Constant) and flags.value == 0):
            return None
        return (
            f"`{self.spelled(call)}` passes `flags` ({ast.unparse(flags)}), which "
            f"AsyncSocket.{name} cannot honour (a stream has no peeking or out-of-band "
            "data: only 0), and raises EOPNOTSUPP when called; read into a buffer of "
            "your own instead"
        )

    def iterated_without_async_for(self, call: Call) -> str | None:
        """An async generator's call iterated the sync way: by ``for``, a plain
        comprehension, or a builtin that iterates (``list``, ``str.join``)."""
        generator = next(
            (
                c
                for c in (call.callees if self.lenient else call.runs)
                if c.is_async and c.is_generator
            ),
            None,
        )
        if generator is None:
            return None
        self.enter(call.caller)
        node = call.node
        parent = self.parents.get(node)
        how = None
        if isinstance(parent, ast.For) and node is parent.iter:
            how = "a `for` loop iterates it"
        elif isinstance(parent, ast.YieldFrom):
            how = "`yield from` iterates it"
        elif isinstance(parent, ast.comprehension) and node is parent.iter and not parent.is_async:
            how = "a comprehension iterates it without `async for`"
        elif isinstance(parent, ast.Call) and node in parent.args:
            func = parent.func
            if isinstance(func, ast.Attribute) and func.attr == "join":
                how = f"`{ast.unparse(func)}` iterates it"
            elif (
                isinstance(func, ast.Name)
                and func.id in SYNC_CONSUMERS
                and self.graph.dotted_name(func, call.caller) == func.id
            ):
                how = f"`{func.id}` iterates it"
            elif (self.graph.dotted_name(func, call.caller) or "").startswith("itertools."):
                how = f"`{ast.unparse(func)}` iterates it"
        if how is None:
            return None
        return (
            f"`{self.spelled(call)}` makes an async generator ({generator.display}) but "
            f"{how} without `async for` (a TypeError at run time); iterate it with "
            "`async for` (`[x async for x in ...]`)"
        )

    def async_generator_handed_on(self, call: Call) -> str | None:
        """The port's doubt: an async generator's call handed to a callable
        nobody analysed that is not known to iterate it (``dict.fromkeys``,
        ``deque``, a library's function): it may iterate it the sync way."""
        if self.lenient or not any(c.is_async and c.is_generator for c in call.runs):
            return None
        self.enter(call.caller)
        node = call.node
        parent = self.parents.get(node)
        if not isinstance(parent, ast.Call) or node not in parent.args:
            return None
        func = parent.func
        if isinstance(func, ast.Attribute) and func.attr == "join":
            return None  # iterated_without_async_for's
        dotted = self.graph.dotted_name(func, call.caller) or ""
        if dotted in SYNC_CONSUMERS or dotted in _NOT_ITERATING \
                or dotted.startswith(("itertools.", "asyncio.")):
            return None
        value = self.graph.resolver.eval(func, call.caller)
        if value is not None and (value.function is not None or value.cls is not None):
            return None  # analysed: what it does with it is ported too
        generator = next(c for c in call.runs if c.is_async and c.is_generator)
        return (
            f"`{self.spelled(call)}` makes an async generator ({generator.display}) and "
            f"`{ast.unparse(func)}` may iterate it without `async for` (a TypeError at run "
            "time): the port cannot see inside it; collect it first (`[x async for x in "
            "...]`), or check it by hand"
        )

    def external(self, node: ast.expr, call: Call) -> bool:
        """``node`` names an object of a module nobody analysed (``sys.stdout``),
        or is ``super()`` of a class whose bases are not analysed."""
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "super"
        ):
            return True  # an analysed base's method would have resolved
        value = self.graph.resolver.eval(node, call.caller)
        return value is not None and value.dotted is not None and "." in value.dotted

    def guarded_for_another_type(self, call: Call, receiver: ast.expr, type_: str) -> bool:
        """The call sits under ``if isinstance(x, T):`` for its receiver ``x`` and a
        ``T`` that is not the twin (ftplib's ``isinstance(conn, ssl.SSLSocket)``):
        a branch for another type, never taken with the twin."""
        self.enter(call.caller, whole=True)  # an if's test, the statements before
        spelled = ast.unparse(receiver)

        def other_type(test: ast.expr) -> bool:
            return (
                isinstance(test, ast.Call)
                and isinstance(test.func, ast.Name)
                and test.func.id == "isinstance"
                and len(test.args) == 2
                and ast.unparse(test.args[0]) == spelled
                and self.graph.dotted_name(test.args[1], call.caller) != type_
            )

        node: ast.AST = call.node
        while True:
            parent = self.parents.get(node)
            if parent is None:
                return False
            if isinstance(parent, ast.If) and node in parent.body:
                if any(
                    isinstance(test, ast.expr) and other_type(test)
                    for test in ast.walk(parent.test)
                ):
                    return True
            # `if not isinstance(x, T): raise ...` earlier in the same block.
            body = getattr(parent, "body", None)
            if isinstance(body, list) and node in body:
                for earlier in body[: body.index(node)]:
                    if (
                        isinstance(earlier, ast.If)
                        and isinstance(earlier.test, ast.UnaryOp)
                        and isinstance(earlier.test.op, ast.Not)
                        and other_type(earlier.test.operand)
                        and earlier.body
                        and isinstance(earlier.body[-1], (ast.Raise, ast.Return))
                    ):
                        return True
            if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return False
            node = parent

    def finding(self, call: Call, message: str, *, sure: bool = True) -> Unawaited:
        return Unawaited(call.caller.module.path, call.line, call.col + 1, message, sure)

    @staticmethod
    def spelled(call: Call) -> str:
        node = call.node
        if isinstance(node, ast.Call):
            text = ast.unparse(node.func)
            return f"{text}(...)" if node.args or node.keywords else f"{text}()"
        return call.name or "?"

    @staticmethod
    def where(call: Call) -> str:
        return f"{call.caller.module.path}:{call.line}"


def awaited_function_names(functions: Iterable[Function]) -> set[str]:
    """The method names of ``functions`` (those a port made async)."""
    return {f.name for f in functions if f.cls is not None}


def calls_handed_generators(function: ast.AST) -> list[ast.Call]:
    """The calls among :func:`ambidex._callgraph.own_calls` of ``function``, in
    its order, that have a generator expression among their positional
    arguments: those the async-generator-expression check reads."""
    generator = ast.GeneratorExp
    # isinstance: the lint's slim trees hold slotted twins of these classes.
    return [
        call for call in own_calls(function)
        if any(isinstance(arg, generator) for arg in call.args)
    ]
