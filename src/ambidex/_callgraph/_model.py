"""The call graph's data: modules, classes, functions, call sites, and the
bindings and values the resolver works with. See :mod:`ambidex._callgraph`."""

from __future__ import annotations

import ast
import enum
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import islice
from typing import Any, Protocol, overload, runtime_checkable

from ambidex._callgraph._slim import CONSTANTS
from ambidex._modulecalls import unused_results
from ambidex._rules import Rule, RuleTable

#: Calls that run the function they are given in a thread: a blocking function
#: passed to them by reference (or called in a lambda given to them) does not
#: block the loop.
OFFLOAD_CALLS = frozenset(
    {
        "asyncio.to_thread",
        "ambidex.offload.run_in_thread",
        "anyio.to_thread.run_sync",
        "trio.to_thread.run_sync",
    }
)
#: Method names that do the same whatever their receiver (the loop and the
#: executor are rarely typed): ``loop.run_in_executor``, ``executor.submit``.
OFFLOAD_METHODS = frozenset({"run_in_executor", "submit"})


#: The type of a generator object returned by analysed generator function
#: ``key``: ``GENERATOR_OF + key``.
GENERATOR_OF = "generator of "

#: The type of a container whose items are of type ``T`` (``list[T]``,
#: ``dict[str, T]``, ``queue.Queue[T]``, a comprehension of ``T``):
#: ``ITEMS_OF + T``. Iterating it, indexing it or ``pop()``/``get()`` gives a ``T``.
ITEMS_OF = "items of "


class CallKind(enum.Enum):
    """What kind of site a :class:`Call` records."""

    CALL = "call"
    """``f(...)``."""
    WITH = "with"
    """``with x:`` -- calls ``x.__enter__`` and ``x.__exit__``."""
    FOR = "for"
    """``for _ in x`` (a statement or a comprehension) -- iterates ``x``; also
    ``next(x)`` on a generator object of analysed code (node: the ``ast.Call``)."""
    REF = "ref"
    """A function named without being called: passed as an argument, assigned
    or returned. Whoever gets it will call it later, in their own colour."""


#: What ends a line for the tokenizer (and so for ``lineno``): not the other
#: characters ``str.splitlines`` breaks at (form feed, U+2028...).
_LINE_END = re.compile(r"\r\n|\r|\n")

#: The keyword ``for`` somewhere in a line (or a word that merely ends like it
#: after a digit, ``1for``: what the tokenizer reads as ``1 for``). A line
#: where it is only part of a name (``format``, ``before``) does not match.
#: (The word first: the engine looks for it, where a lookbehind first is
#: tried at every place of a text.)
_FOR = re.compile(r"for(?!\w)(?<![^\W\d]for)")
_ASYNC_OR_AWAIT = re.compile("a(?:sync|wait)")


def async_and_for_lines(text: str) -> tuple[list[int], list[int]]:
    """The numbers of the lines of ``text`` that spell ``async`` or ``await``,
    and of those that spell the keyword ``for`` (both empty when the text
    spells neither word): where an async generator expression may be (the
    never-awaited check's question, :mod:`ambidex._unawaited`)."""
    found: tuple[list[int], list[int]] = ([], [])
    if "async" not in text and "await" not in text:
        return found
    if "\r" in text:  # (a read file has none: read_source makes every line end "\n")
        for number, line in enumerate(_LINE_END.split(text), start=1):
            if "async" in line or "await" in line:
                found[0].append(number)
            if "for" in line and _FOR.search(line):
                found[1].append(number)
        return found
    # The words searched in the whole text, each match's line counted from
    # the last one's: what the loop above finds (neither word spans a line,
    # and a line's ends read as no word character to the lookarounds of
    # _FOR, as its start and end do), without a Python step per line.
    for numbers, words in ((found[0], _ASYNC_OR_AWAIT), (found[1], _FOR)):
        number, counted = 1, 0
        for match in words.finditer(text):
            start = match.start()
            number += text.count("\n", counted, start)
            counted = start
            if not numbers or numbers[-1] != number:
                numbers.append(number)
    return found


@dataclass(eq=False)
class Module:
    path: str
    """The display path the caller gave."""
    name: str
    """Dotted name derived from the path (``pkg/sub/mod.py`` -> ``pkg.sub.mod``)."""
    text: str
    """The source; empty in a slim build (:func:`ambidex._callgraph.build`),
    which keeps what its readers need of it instead (:attr:`async_lines`)."""
    tree: ast.Module
    symbols: dict[str, Sequence[_Binding]] = field(default_factory=dict)
    """Each name bound at module level -> its bindings, in order (see :attr:`Function.locals`)."""
    imports: list[ast.Import | ast.ImportFrom] = field(default_factory=list)
    """Module-level import statements, in order (the generator adds after them);
    none in a slim build (:func:`ambidex._callgraph.build`)."""
    async_lines: tuple[list[int], list[int]] | None = None
    """:func:`async_and_for_lines` of the text, computed before a slim build
    let the text go (None: ask the text)."""
    reread: Callable[[], str] | None = None
    """In a slim build, which prunes the bodies of the module's functions
    (:func:`ambidex._callgraph._slim.prune_bodies`): reads the text again, for
    a reader that needs a whole body (:class:`ambidex._callgraph.WholeBodies`)."""
    unused: frozenset[str] | None = None
    """:func:`ambidex._modulecalls.unused_results` of the module, computed
    before a slim build let the text go (None: ask the text)."""

    def unused_results(self) -> frozenset[str]:
        """The names module-level code binds to a call's result and never reads."""
        if self.unused is None:
            self.unused = unused_results(self.tree.body, self.text)
        return self.unused

    def lines_of_async_and_for(self) -> tuple[list[int], list[int]]:
        """:func:`async_and_for_lines` of the module's text."""
        if self.async_lines is None:
            self.async_lines = async_and_for_lines(self.text)
        return self.async_lines

    def imported_as(self, name: str) -> str | None:
        """The dotted name a module-level import binds ``name`` to, if any."""
        for binding in self.symbols.get(name, ()):
            if binding.kind == "import":
                return binding.dotted
        return None


@dataclass(eq=False)
class Class:
    key: str
    """``module.name:Qual.Name``: unique among the modules analysed together."""
    module: Module
    qualname: str
    node: ast.ClassDef
    methods: dict[str, Function] = field(default_factory=dict)
    classes: dict[str, Class] = field(default_factory=dict)
    attrs: dict[str, Sequence[_Binding]] = field(default_factory=dict)
    """``self.x = ...`` anywhere in the class, and ``x: T`` in its body."""
    _bases: list[Class] | None = None

    @property
    def dotted(self) -> str:
        return f"{self.module.name}.{self.qualname}"


#: The one empty list held by every function in ``calls`` (and in ``_pending``
#: once its sites are resolved) while it has none: most functions of a large
#: tree keep no call at the end of the lint (~40k lists of a site-packages).
#: Read-only: a function's calls are replaced by a list of its own, never
#: appended to this one.
NO_CALLS: list[Any] = []


@dataclass(eq=False, slots=True)
class Function:
    key: str
    module: Module
    qualname: str
    node: ast.FunctionDef | ast.AsyncFunctionDef
    cls: Class | None
    """The class whose body defines it directly (a method), else None."""
    parent: Function | None
    """The function whose body defines it (a closure), else None."""
    is_async: bool
    is_generator: bool = False
    calls: list[Call] = field(default_factory=lambda: NO_CALLS)
    """Its call sites, resolved (:data:`NO_CALLS` while there are none)."""
    locals: dict[str, Sequence[_Binding]] = field(default_factory=dict)
    """Each name the function binds -> its bindings, in the order the walk met
    them: a list while it walks, a tuple once a slim build froze them
    (:func:`ambidex._callgraph.build`; ~300k names of a site-packages, a tuple
    of one binding is 48 bytes, a list 80)."""
    decorators: tuple[str, ...] = ()
    """Decorators' dotted names as resolved (``property``, ``classmethod``...)."""
    _pending: list[Site] = field(default_factory=list)
    """The sites the walk collected, in its order, until resolved (then
    :data:`NO_CALLS`, unless the graph keeps them): each a :class:`_Pending`,
    or the site's node when that is all there is to say (:data:`SITE_KINDS`)."""
    _unresolved: bool = False
    """In a graph built ``lazy``: ``calls`` is not filled yet (see :meth:`CallGraph.calls_of`)."""

    _dotted: str | None = field(default=None, init=False, repr=False)
    _alone: tuple[Function] | None = field(default=None, init=False, repr=False)

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def dotted(self) -> str:
        """``pkg.mod.Class.method`` (made once: every call of the function
        resolved names it, ~50k calls kept by the lint on a site-packages; kept
        in a field, not by ``functools.cached_property``, which would make each
        function's ``__dict__`` a dict object of its own)."""
        dotted = self._dotted
        if dotted is None:
            dotted = self._dotted = f"{self.module.name}.{self.qualname.replace('.<locals>', '')}"
        return dotted

    def sites(self) -> list[_Pending]:
        """The sites the walk collected (until resolved), each as a record,
        also those held as their node (see :attr:`_pending`)."""
        return [expanded(self._pending, index) for index in range(len(self._pending))]

    @property
    def alone(self) -> tuple[Function]:
        """``(function,)``, made once: the callees of every call that runs
        this function alone (~60k calls the lint keeps on a site-packages)."""
        alone = self._alone
        if alone is None:
            alone = self._alone = (self,)
        return alone

    @property
    def display(self) -> str:
        """How chains print it: ``Client.get()``."""
        return f"{self.qualname.replace('.<locals>', '')}()"

    @property
    def line(self) -> int:
        return self.node.lineno


@dataclass(eq=False, slots=True)
class Call:
    """One call site (or ``with``/``for``/reference) in a function, resolved."""

    kind: CallKind
    node: ast.AST
    """The ``ast.Call``; the ``ast.withitem``; the ``ast.For``/``ast.comprehension``;
    or the ``ast.Name``/``ast.Attribute`` of a reference."""
    caller: Function
    line: int
    col: int
    """0-based column as ast counts it (UTF-8 bytes); printers add 1."""
    name: str | None
    """Dotted name after import resolution: ``time.sleep``, ``socket.socket.recv``,
    ``pkg.client.Client.get``. None when nothing is known."""
    callees: tuple[Function, ...] = ()
    """Analysed functions this runs: the callee; a class's ``__init__``; for
    ``with`` the ``__enter__`` and ``__exit__``; for ``for`` the generator
    function or ``__iter__`` and ``__next__``."""
    cls: Class | None = None
    """For a call of an analysed class: the class constructed."""
    rule: Rule | None = None
    """The table row for ``name``, if any."""
    instance_type: str | None = None
    """For method calls, ``with`` and ``for``: the receiver's type."""
    common: _Common | None = None
    slot: tuple[str, str, str] | None = None
    """For a call of a callable the code was handed: ``("param", function key,
    name)`` for a parameter called (``factory()``), ``("attr", class key, name)``
    for an attribute called that is not a method (``self._factory()``)."""
    overrides: tuple[Function, ...] = ()
    """For ``self.m()`` (any call of a method through an instance): the
    analysed subclasses' methods ``m`` (their overrides, or what they inherit
    from another base), which may be what runs. The generator colours them
    with the callee (:attr:`runs`); the lint follows them for a call on
    ``self``/``cls`` (:attr:`through_self`), where the instance's class may be
    any subclass, and not for an object of a known class."""
    through_self: bool = False
    """``self.m()``/``cls.m()`` in a method of the class (or a function nested
    in one): the instance may be of any analysed subclass, so every one of
    :attr:`runs` may be what runs (the lint follows them all)."""
    argument_of: ast.Call | None = None
    """For a reference passed as an argument: the call it is passed to."""
    passed_to: tuple[Function, str] | None = None
    """For a reference handed to an analysed function: that function and the
    name of the parameter that receives it."""
    stored_in: ast.expr | None = None
    """For a reference placed in a list, tuple, set or dict display
    (``{"a": self._read_a}``): that display. Calls through the container
    (``self.handlers[kind]()``) are not followed."""

    @property
    def runs(self) -> tuple[Function, ...]:
        """Every analysed function the site may run: callees and overrides."""
        return (*self.callees, *self.overrides) if self.overrides else self.callees

    @property
    def offloaded(self) -> bool:
        """Inside a lambda handed to a thread, or a reference handed to one."""
        return self.common is not None and self.common.offloaded

    @property
    def type_checking(self) -> bool:
        """Under ``if TYPE_CHECKING:``: never runs."""
        return self.common is not None and self.common.type_checking

    @property
    def lambda_node(self) -> ast.Lambda | None:
        """The lambda the site is in, if any."""
        return self.common.lambda_node if self.common is not None else None


@dataclass(frozen=True, slots=True)
class _Common:
    offloaded: bool
    type_checking: bool
    lambda_node: ast.Lambda | None


#: The four outside any lambda, shared by every call site (frozen: sharing is safe).
_SHARED_COMMON = {
    (offloaded, type_checking): _Common(offloaded, type_checking, None)
    for offloaded in (False, True)
    for type_checking in (False, True)
}


def shared_common(
    offloaded: bool, type_checking: bool, lambda_node: ast.Lambda | None
) -> _Common:
    """The :class:`_Common` of a call site; one object for all sites outside a lambda
    (a site-packages resolves ~160k sites: 10 MB of identical records otherwise)."""
    if lambda_node is None:
        return _SHARED_COMMON[offloaded, type_checking]
    return _Common(offloaded, type_checking, lambda_node)


class Evaluator(Protocol):
    """What the call graph asks of its resolver (:mod:`ambidex._callgraph._resolve`):
    what an expression denotes, and where a class's method is defined."""

    def eval(self, node: ast.expr, scope: Function | Module | Class | None) -> _Val | None: ...

    def method(self, cls: Class, name: str, skip_self: bool = False) -> Function | None: ...

    def mro(self, cls: Class) -> Iterator[Class]: ...

    def overrides(self, cls: Class, name: str) -> list[Function]: ...

    def dispatch(self, cls: Class, name: str) -> list[Function]: ...

    def subclasses(self, cls: Class) -> list[Class]: ...

    def returned(self, function: Function) -> _Val | None: ...

    def resolve(self, fn: Function, sites: Sequence[Site], index: int) -> Call | None: ...

    def may_be_function(self, node: ast.AST, fn: Function) -> bool: ...


@runtime_checkable
class CallFilter(Protocol):
    """Which resolved calls a resolution keeps (:func:`ambidex._callgraph.resolve_again`'s
    ``keep``): asked of each :class:`Call` made, and, for a plain call
    (:attr:`CallKind.CALL`), of what decides it before its :class:`Call` is made
    (a site-packages resolves ~170k calls and the lint keeps ~70k: the
    others are never made). Both must give the same answer for the same call."""

    def __call__(self, call: Call, resolver: Evaluator) -> bool: ...

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
        """The answer for a call of kind :attr:`CallKind.CALL` with these fields."""
        ...


@dataclass
class CallGraph:
    """The modules analysed together, their classes and functions (each with its
    calls resolved), and the resolver that answers questions about names."""

    modules: dict[str, Module]
    """By display path, in the order given."""
    functions: dict[str, Function]
    classes: dict[str, Class]
    syntax_errors: list[tuple[str, int, int, str]]
    """(path, line, col, message) of modules that did not parse; they are left out."""
    table: RuleTable
    resolver: Evaluator

    def iter_calls(self) -> Iterator[Call]:
        for function in self.functions.values():
            yield from self.calls_of(function)

    def calls_of(self, function: Function) -> list[Call]:
        """``function.calls``; in a graph built ``lazy``, resolved on this first
        question (the lint's blocking check needs the calls of the functions
        reachable from a coroutine only: a few percent of a large tree's)."""
        if function._unresolved:
            function._unresolved = False
            found = [*function.calls]
            sites = function._pending
            for index in range(len(sites)):
                call = self.resolver.resolve(function, sites, index)
                if call is not None:
                    found.append(call)
            if found:
                function.calls = found
        return function.calls

    def passed_references(self) -> Iterator[Call]:
        """Every function handed to a call as an argument, resolved (in a lazy
        graph too, without resolving anything else), in the order of the graph.
        In a lazy graph, a name whose bindings cannot give a function (most
        arguments: parameters, call results' items, literals) is not evaluated."""
        may_be_function = self.resolver.may_be_function
        kinds = SITE_KINDS
        for function in self.functions.values():
            if function._unresolved:
                sites = function._pending
                for index, item in enumerate(sites):
                    kind = kinds[type(item)]
                    if kind is None:  # a record
                        if item.kind is not CallKind.REF or item.offload_parent is None:  # type: ignore[union-attr]
                            continue
                        node = item.node  # type: ignore[union-attr]
                    elif kind is CallKind.REF:  # a bare reference is handed to a call
                        node = item
                    else:
                        continue
                    if may_be_function(node, function):
                        call = self.resolver.resolve(function, sites, index)
                        if call is not None and call.passed_to is not None:
                            yield call
            else:
                for call in function.calls:
                    if call.kind is CallKind.REF and call.passed_to is not None:
                        yield call

    def dotted_name(self, node: ast.expr, scope: Function | Module) -> str | None:
        """The dotted name an expression denotes in ``scope``, imports resolved.

        ``socket.socket`` -> ``socket.socket``; ``nap`` after ``from time import
        sleep as nap`` -> ``time.sleep``; an analysed class or function -> its
        dotted name. None for anything that is not a name.
        """
        return dotted_of(self.resolver.eval(node, scope))

    def type_of(self, node: ast.expr, scope: Function | Module) -> str | None:
        """The type of the value of ``node``, when the analysis knows it."""
        value = self.resolver.eval(node, scope)
        return value.instance if value is not None else None

    def attribute_slots_fed_by(self, function: Function, param: str) -> list[tuple[str, str, str]]:
        """Attribute slots a method stores its parameter in (``self._factory = factory``)."""
        cls = function.cls
        if cls is None:
            return []
        return [
            ("attr", cls.key, attr)
            for attr, bindings in cls.attrs.items()
            if any(
                b.kind == "value"
                and b.scope is function
                and isinstance(b.expr, ast.Name)
                and b.expr.id == param
                for b in bindings
            )
        ]

    def method(self, cls: Class, name: str) -> Function | None:
        """``cls``'s method ``name``, its analysed bases included."""
        return self.resolver.method(cls, name)

    def same_method_elsewhere(self, function: Function) -> list[Function]:
        """The methods ``function`` overrides and those that override it: one
        call through a base may run any of them, so they share a colour."""
        cls = function.cls
        if cls is None:
            return []
        related = [
            klass.methods[function.name]
            for klass in list(self.resolver.mro(cls))[1:]
            if function.name in klass.methods
        ]
        related += self.resolver.overrides(cls, function.name)
        return [f for f in related if f is not function]


def dotted_of(value: _Val | None) -> str | None:
    """The dotted name of what a value denotes (see :meth:`CallGraph.dotted_name`)."""
    if value is None:
        return None
    if value.function is not None:
        return value.function.dotted
    if value.cls is not None:
        return value.cls.dotted
    if value.module is not None:
        return value.module.name
    return value.dotted


# --- bindings: what a name is bound to, before it is evaluated ----------------------


# Not frozen, on purpose: a frozen dataclass's ``__init__`` stores each field
# through ``object.__setattr__`` (about 3x the cost of plain stores), and a
# site-packages makes ~275k bindings, ~325k pending sites and ~550k values.
# Nothing assigns to one after it is made; values keep the frozen class's
# equality and hash (``unsafe_hash``).
class _Binding(Sequence["_Binding"]):
    """A name's binding, evaluated lazily (flow-insensitive).

    Six slots, not seven: a binding names a function or a class, never both,
    so one slot holds either (:attr:`function` and :attr:`cls` read it). With
    the garbage collector's header that is 80 bytes where seven made 96 (a
    site-packages binds ~310k names, held until the lint ends).

    A binding is also the sequence of itself alone (``len`` 1, ``[0]`` is
    itself): a name bound once holds its binding where it would hold a list of
    it (a slim build's scopes, :func:`ambidex._callgraph._freeze_bindings`),
    with no tuple of one around it (48 bytes each, ~215k names of a
    site-packages). A reader of a scope's values reads either alike; the hot
    ones test ``type(bindings) is _Binding`` first.
    """

    __slots__ = ("_target", "dotted", "expr", "kind", "position", "scope")

    kind: str
    """"value" (x = expr), "annotation" (x: T / parameter), "enter" (with expr as x),
    "item" (for x in expr), "element" (x, y = expr: element ``index``), "param"
    (an unannotated parameter ``dotted`` of ``function``: typed from its call
    sites), "import" (dotted), "function", "class", "self", "cls", "unknown"."""
    scope: Function | Module | Class | None
    expr: ast.expr | None
    dotted: str | None
    _target: Function | Class | None
    position: int
    """Of an "element" binding: its index in the unpacked value (``index=``;
    not ``index``, the name of a sequence's method)."""

    def __init__(
        self,
        kind: str,
        scope: Function | Module | Class | None,
        expr: ast.expr | None = None,
        dotted: str | None = None,
        function: Function | None = None,
        cls: Class | None = None,
        index: int = 0,
    ) -> None:
        assert function is None or cls is None
        self.kind = kind
        self.scope = scope
        self.expr = expr
        self.dotted = dotted
        self._target = function if function is not None else cls
        self.position = index

    @property
    def function(self) -> Function | None:
        """The function a "function" or "param" binding is of."""
        target = self._target
        return target if type(target) is Function else None

    @property
    def cls(self) -> Class | None:
        """The class a "class", "self" or "cls" binding is of."""
        target = self._target
        return target if type(target) is Class else None

    def __len__(self) -> int:
        return 1

    @overload
    def __getitem__(self, index: int) -> _Binding: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[_Binding]: ...

    def __getitem__(self, index: int | slice) -> _Binding | Sequence[_Binding]:
        return (self,)[index]

    def __iter__(self) -> Iterator[_Binding]:
        yield self

    def __repr__(self) -> str:
        return (
            f"_Binding(kind={self.kind!r}, expr={self.expr!r}, dotted={self.dotted!r}, "
            f"function={self.function!r}, cls={self.cls!r}, index={self.position!r})"
        )


@dataclass(slots=True, unsafe_hash=True)
class _Pending:
    """A site the walk collected (:attr:`Function._pending`), with what its
    resolution needs to know besides its node: under ``if TYPE_CHECKING:``,
    the call it is handed to, the lambda it is in, the display it is put in.

    Only a site that has something to say besides its node gets a record:
    the others (nineteen in twenty) are held as the node itself (see
    :data:`SITE_KINDS` and :func:`argument_of`). A site-packages has ~370k
    sites: 30 MB of records, alive from the walk to the second resolution,
    whose blocks were left as holes among the bindings' and the nodes' when
    they went.
    """

    kind: CallKind
    node: ast.AST
    type_checking: bool
    offload_parent: ast.Call | None
    lambda_node: ast.Lambda | None
    container: ast.expr | None = None


#: An item of :attr:`Function._pending`: a record, or a site held as its node.
Site = _Pending | ast.AST


def _site_kind_of(node_class: type) -> CallKind | None:
    if issubclass(node_class, ast.Call):
        return CallKind.CALL
    if issubclass(node_class, (ast.Name, ast.Attribute)):
        return CallKind.REF
    if issubclass(node_class, (ast.For, ast.AsyncFor, ast.comprehension)):
        return CallKind.FOR
    if issubclass(node_class, ast.withitem):
        return CallKind.WITH
    return None  # _Pending: the record says


class _SiteKinds(dict[type, "CallKind | None"]):
    def __missing__(self, node_class: type) -> CallKind | None:
        kind = self[node_class] = _site_kind_of(node_class)
        return kind


#: Per class of an item of :attr:`Function._pending`: the kind of the site it
#: is held for when it is a bare node; None for a :class:`_Pending` (its
#: ``kind`` says). A bare site is not under ``TYPE_CHECKING``, in no lambda
#: and in no display; a bare ``Call``, ``for`` (or comprehension) and ``with``
#: item is handed to nothing; a bare ``Name`` or ``Attribute`` (a reference)
#: is an argument of a call, which :func:`argument_of` finds.
SITE_KINDS: dict[type, CallKind | None] = _SiteKinds()


def argument_of(sites: Sequence[Site], index: int) -> ast.Call:
    """The call that ``sites[index]``, a bare reference, is handed to: the
    nearest call site before it that holds it as an argument (the walk records
    a call before its arguments, and a node has one parent)."""
    node = sites[index]
    while index > 0:
        index -= 1
        site = sites[index]
        if type(site) is _Pending:
            site = site.node
        if isinstance(site, ast.Call):
            for arg in site.args:
                if arg is node or (isinstance(arg, ast.Starred) and arg.value is node):
                    return site
            for keyword in site.keywords:
                if keyword.value is node:
                    return site
    raise AssertionError("a bare reference is recorded after the call it is handed to")


def expanded(sites: Sequence[Site], index: int) -> _Pending:
    """``sites[index]`` as a record (a new one for a bare site): for readers
    that are not the resolution's loops."""
    item = sites[index]
    if type(item) is _Pending:
        return item
    kind = SITE_KINDS[type(item)]
    assert kind is not None
    parent = argument_of(sites, index) if kind is CallKind.REF else None
    return _Pending(kind, item, False, parent, None)  # type: ignore[arg-type]


class _Val:
    """What an expression evaluates to, as far as the analysis knows.

    Compared and hashed by its fields, as a frozen dataclass would be. Six
    slots, not seven: ``super()``'s class (:attr:`bases_of`) and a tuple's
    element types (:attr:`elements`) are never both known, so one slot holds
    either. With the garbage collector's header that is 80 bytes where seven
    made 96 (the lint makes ~100k of them per resolution).
    """

    __slots__ = ("_more", "cls", "dotted", "function", "instance", "module")

    dotted: str | None
    function: Function | None
    cls: Class | None
    module: Module | None
    instance: str | None
    """The value is an instance of this type: a class key or a table type name."""
    _more: Class | tuple[str | None, ...] | None

    def __init__(
        self,
        dotted: str | None = None,
        function: Function | None = None,
        cls: Class | None = None,
        module: Module | None = None,
        instance: str | None = None,
        bases_of: Class | None = None,
        elements: tuple[str | None, ...] | None = None,
    ) -> None:
        assert bases_of is None or elements is None
        self.dotted = dotted
        self.function = function
        self.cls = cls
        self.module = module
        self.instance = instance
        self._more = bases_of if bases_of is not None else elements

    @property
    def bases_of(self) -> Class | None:
        """``super()``: members are looked up from this class's bases."""
        more = self._more
        return more if type(more) is Class else None

    @property
    def elements(self) -> tuple[str | None, ...] | None:
        """A tuple whose elements' types are these (``return conn, size``)."""
        more = self._more
        return more if type(more) is tuple else None

    def _fields(self) -> tuple[object, ...]:
        return (self.dotted, self.function, self.cls, self.module, self.instance, self._more)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, _Val)
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"_Val(dotted={self.dotted!r}, function={self.function!r}, cls={self.cls!r}, "
            f"module={self.module!r}, instance={self.instance!r}, bases_of={self.bases_of!r}, "
            f"elements={self.elements!r})"
        )


_UNKNOWN = _Binding("unknown", None)

#: The values of literals, one object each (nothing changes a value once made).
STR_VALUE = _Val(instance="str")
BYTES_VALUE = _Val(instance="bytes")

#: A memo's "not asked yet" (None is a value: "nothing known").
_UNSEEN = _Val(dotted="<unseen>")


def call_sites(functions: Mapping[str, Function]) -> list[tuple[Function, ast.Call]]:
    """Every call site the walk collected that passes something (arguments or
    keywords), with its function, in the order of the graph: what an
    unannotated parameter's type and a container's items are read from."""
    found: list[tuple[Function, ast.Call]] = []
    kinds = SITE_KINDS
    call = CallKind.CALL
    for fn in functions.values():
        for item in fn._pending:
            kind = kinds[type(item)]
            if kind is None and item.kind is call:  # type: ignore[union-attr]
                item = item.node  # type: ignore[union-attr]
            elif kind is not call:
                continue
            if isinstance(item, ast.Call) and (item.args or item.keywords):
                found.append((fn, item))
    return found


def spelled(node: ast.expr) -> str:
    """A dotted name as written (``functools.cached_property``); "" for anything else."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))


def parent_map(tree: ast.AST) -> dict[int, ast.AST]:
    """``id(child) -> parent`` for every node under ``tree``.

    The same mapping as ``for parent in ast.walk(tree): for child in
    ast.iter_child_nodes(parent): ...``, in the same order (breadth first, so
    the context singletons ``ast.Load()``/``ast.Store()``, shared by every
    name, end on the same last parent), without the two generators per node:
    about twice as fast; the port builds one per converted module, and its
    verification one per outer function.
    """
    parents: dict[int, ast.AST] = {}
    todo: list[ast.AST] = [tree]
    node_type = ast.AST
    index = 0
    while index < len(todo):
        node = todo[index]
        index += 1
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, node_type):
                parents[id(value)] = node
                todo.append(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, node_type):
                        parents[id(item)] = node
                        todo.append(item)
    return parents


def branch_parents(tree: ast.AST) -> dict[int, ast.AST]:
    """:func:`parent_map` without the leaves nobody asks about: constants,
    the ``Load``/``Store``/``Del`` of a name, operators. Every other node has
    the same parent as there. The port asks for the parents of calls, names,
    statements and what holds them; a third of a tree's nodes are those leaves.
    """
    children, parents = _branches(tree)
    return dict(zip(map(id, islice(children, 1, None)), parents, strict=True))


def parents_by_node(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    """:func:`branch_parents` keyed by the nodes themselves (they hash by
    identity), not by an ``int`` made for each: 32 bytes less an entry, for a
    reader that keeps the maps of many definitions (the lint's never-awaited
    check: ~130k entries on a site-packages)."""
    children, parents = _branches(tree)
    return dict(zip(islice(children, 1, None), parents, strict=True))


def _branches(tree: ast.AST) -> tuple[list[ast.AST], list[ast.AST]]:
    """The nodes :func:`branch_parents` maps, breadth first after ``tree``
    itself, and their parents in the same order (``children[i + 1]`` is a
    child of ``parents[i]``)."""
    todo: list[ast.AST] = [tree]
    parents: list[ast.AST] = []
    node_type = ast.AST
    leaves = CONSTANTS
    fields_of = _BRANCH_FIELDS
    index = 0
    while index < len(todo):
        node = todo[index]
        index += 1
        kind = type(node)
        fields = fields_of.get(kind)
        if fields is None:
            fields = fields_of[kind] = tuple(
                name for name in kind._fields if name not in ("ctx", "op", "ops")
            )
        for name in fields:
            value = getattr(node, name, None)
            if isinstance(value, node_type):
                if type(value) not in leaves:
                    parents.append(node)
                    todo.append(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, node_type) and type(item) not in leaves:
                        parents.append(node)
                        todo.append(item)
    return todo, parents


_BRANCH_FIELDS: dict[type, tuple[str, ...]] = {}
"""Per node class: its fields but ``ctx``, ``op`` and ``ops``, in order."""

_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """A function's nodes, not those of functions, lambdas and classes nested in it.

    The order is that of a stack fed with :func:`ast.iter_child_nodes`; each
    node's fields are read here rather than through that function's two
    generators (every function of a port is walked this way several times).
    """
    todo: list[ast.AST] = []
    node_type = ast.AST
    node = function
    while True:
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, node_type):
                todo.append(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, node_type):
                        todo.append(item)
        while todo:
            node = todo.pop()
            if not isinstance(node, _NESTED):
                break
        else:
            return
        yield node


_LEAVES = (ast.Constant, ast.Name)
_NO_CALLS = frozenset({"ctx", "op", "ops"})
_CALL_FIELDS: dict[type, tuple[str, ...]] = {}
"""Per node class: its fields but :data:`_NO_CALLS`, in order."""


def own_calls(function: ast.AST) -> list[ast.Call]:
    """:func:`own_calls_pure`'s list, walked in C when ``ambidex._callgraph._walk``
    was built (the same loop, statement by statement: see the C file)."""
    walk = c_walk()
    if walk is None:
        return own_calls_pure(function)
    found: list[ast.Call] = walk.own_calls(function, ast.AST, _LEAVES, _NESTED, ast.Call,
                                           _CALL_FIELDS, _NO_CALLS)
    return found


@cache
def c_walk() -> Any:
    """The C walks (``ambidex._callgraph._walk``), or None: the pure twins run
    (see :func:`ambidex._compiled.load`). Looked up once per process."""
    from ambidex._compiled import load

    return load("ambidex._callgraph._walk")


def own_calls_pure(function: ast.AST) -> list[ast.Call]:
    """The calls among :func:`own_nodes` of ``function``, in its order.

    The same walk as ``own_nodes`` (a stack; nested functions, lambdas and
    classes left out), without a generator step per node and without the
    leaves that hold no call (constants, names, the ``Load``/``Store`` of a
    name, operators): leaving out a leaf does not change the order in which
    the other nodes come off the stack. The port's checks and the lint read
    the calls of every function, so this is a hot path.
    """
    found: list[ast.Call] = []
    todo: list[ast.AST] = []
    node_type = ast.AST
    leaves = _LEAVES
    fields_of = _CALL_FIELDS
    call = ast.Call
    node = function
    while True:
        kind = type(node)
        fields = fields_of.get(kind)
        if fields is None:
            fields = fields_of[kind] = tuple(f for f in kind._fields if f not in _NO_CALLS)
        for name in fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, node_type) and not isinstance(item, leaves):
                        todo.append(item)
            elif isinstance(value, node_type) and not isinstance(value, leaves):
                todo.append(value)
        while todo:
            node = todo.pop()
            if not isinstance(node, _NESTED):
                break
        else:
            return found
        # isinstance: the lint's slim trees hold slotted twins of these classes.
        if isinstance(node, call):
            found.append(node)


#: The fields that hold statements (or the handlers and cases that hold them).
_BLOCK_FIELDS = frozenset({"body", "orelse", "handlers", "finalbody", "cases"})
_BLOCKS_OF: dict[type, tuple[str, ...]] = {}
"""Per node class: its :data:`_BLOCK_FIELDS`, in field order."""


def own_returns(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.Return]:
    """The ``return`` statements of :func:`own_nodes` (``function``'s, not those
    of what is nested in it), in its order.

    A ``return`` is a statement, and statements sit only in the blocks of
    other statements (and of ``except`` handlers and ``match`` cases): the
    same stack walk over those blocks alone meets the returns in the same
    order, without the expressions (most of a function's nodes). What an
    unannotated function returns is asked of thousands of functions.
    """
    todo: list[ast.AST] = []
    blocks_of = _BLOCKS_OF
    node: ast.AST = function
    while True:
        kind = type(node)
        fields = blocks_of.get(kind)
        if fields is None:
            fields = blocks_of[kind] = tuple(f for f in kind._fields if f in _BLOCK_FIELDS)
        for name in fields:
            todo.extend(getattr(node, name))
        while todo:
            node = todo.pop()
            if not isinstance(node, _NESTED):
                break
        else:
            return
        if isinstance(node, ast.Return):
            yield node


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )
