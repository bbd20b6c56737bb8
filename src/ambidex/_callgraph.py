"""The call graph the generator and the lint share: who calls what, resolved.

Both the sync -> async generator and the lint ask the same question of a set
of modules: *which calls reach a blocking primitive, and through whom?* They
answer it from this one analysis so they never disagree about what a name
means.

Given modules (display path -> source text) and the rule table, :func:`build`
parses each module once and walks it once. It indexes modules, classes,
functions and methods by qualified name; resolves imports between the modules
analysed together (absolute, relative, ``from x import y as z``,
``import x.y``); and records, for every function, each call it makes -- with
its position -- resolved to one of:

* another analysed function or method (plain calls, ``self.m()``/``cls.m()``
  through the enclosing class and its analysed bases, imported functions and
  classes; calling a class is calling its ``__init__``),
* a row of the table, by the dotted name the call spells once imports are
  resolved (``from time import sleep as nap; nap(1)`` is ``time.sleep``),
* a method of a tracked object: an object whose type is known from a row's
  ``returns`` (``sock = socket.create_connection(...)`` is a
  ``socket.socket``) or from an analysed constructor
  (``self.conn = Connection(...)``), followed through assignments to locals
  and ``self.`` attributes (assigned anywhere in the class), parameter
  annotations and ``with ... as x``.

``with x:`` and ``for _ in x:`` are recorded too (as the ``__enter__`` /
``__iter__`` they imply), and so are references to functions that are handed
somewhere instead of called (callbacks), because both clients care.

What it does not do, on purpose: it is not a type checker. Types flow through
assignments flow-insensitively (the first assignment that tells wins), through
annotations and through the table; anything else is "unknown" and its calls
resolve only by name. A call it cannot resolve is still recorded, with
``name=None`` when even the name is unknown, so callers can decide.
"""

from __future__ import annotations

import ast
import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

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


@dataclass(eq=False)
class Module:
    path: str
    """The display path the caller gave."""
    name: str
    """Dotted name derived from the path (``pkg/sub/mod.py`` -> ``pkg.sub.mod``)."""
    text: str
    tree: ast.Module
    symbols: dict[str, list[_Binding]] = field(default_factory=dict)
    imports: list[ast.Import | ast.ImportFrom] = field(default_factory=list)
    """Module-level import statements, in order (the generator adds after them)."""

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
    attrs: dict[str, list[_Binding]] = field(default_factory=dict)
    """``self.x = ...`` anywhere in the class, and ``x: T`` in its body."""
    _bases: list[Class] | None = None

    @property
    def dotted(self) -> str:
        return f"{self.module.name}.{self.qualname}"


@dataclass(eq=False)
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
    calls: list[Call] = field(default_factory=list)
    locals: dict[str, list[_Binding]] = field(default_factory=dict)
    decorators: list[str] = field(default_factory=list)
    """Decorators' dotted names as resolved (``property``, ``classmethod``...)."""
    _pending: list[_Pending] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def dotted(self) -> str:
        return f"{self.module.name}.{self.qualname.replace('.<locals>', '')}"

    @property
    def display(self) -> str:
        """How chains print it: ``Client.get()``."""
        return f"{self.qualname.replace('.<locals>', '')}()"

    @property
    def line(self) -> int:
        return self.node.lineno


@dataclass(eq=False)
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


@dataclass(frozen=True)
class _Common:
    offloaded: bool
    type_checking: bool
    lambda_node: ast.Lambda | None


@dataclass
class CallGraph:
    modules: dict[str, Module]
    """By display path, in the order given."""
    functions: dict[str, Function]
    classes: dict[str, Class]
    syntax_errors: list[tuple[str, int, int, str]]
    """(path, line, col, message) of modules that did not parse; they are left out."""
    table: RuleTable

    _resolver: _Resolver | None = None

    def iter_calls(self) -> Iterator[Call]:
        for function in self.functions.values():
            yield from function.calls

    def dotted_name(self, node: ast.expr, scope: Function | Module) -> str | None:
        """The dotted name an expression denotes in ``scope``, imports resolved.

        ``socket.socket`` -> ``socket.socket``; ``nap`` after ``from time import
        sleep as nap`` -> ``time.sleep``; an analysed class or function -> its
        dotted name. None for anything that is not a name.
        """
        assert self._resolver is not None
        value = self._resolver.eval(node, scope)
        if value is None:
            return None
        if value.function is not None:
            return value.function.dotted
        if value.cls is not None:
            return value.cls.dotted
        if value.module is not None:
            return value.module.name
        return value.dotted

    def type_of(self, node: ast.expr, scope: Function | Module) -> str | None:
        """The type of the value of ``node``, when the analysis knows it."""
        assert self._resolver is not None
        value = self._resolver.eval(node, scope)
        return value.instance if value is not None else None

    def method(self, cls: Class, name: str) -> Function | None:
        """``cls``'s method ``name``, its analysed bases included."""
        assert self._resolver is not None
        return self._resolver.method(cls, name)


# --- bindings: what a name is bound to, before it is evaluated ----------------------


@dataclass(frozen=True, eq=False)
class _Binding:
    """A name's binding, evaluated lazily (flow-insensitive)."""

    kind: str
    """"value" (x = expr), "annotation" (x: T / parameter), "enter" (with expr as x),
    "import" (dotted), "function", "class", "self", "cls", "unknown"."""
    scope: Function | Module | Class | None
    expr: ast.expr | None = None
    dotted: str | None = None
    function: Function | None = None
    cls: Class | None = None


@dataclass(frozen=True)
class _Pending:
    kind: CallKind
    node: ast.AST
    type_checking: bool
    offload_parent: ast.Call | None
    lambda_node: ast.Lambda | None


@dataclass(frozen=True)
class _Val:
    """What an expression evaluates to, as far as the analysis knows."""

    dotted: str | None = None
    function: Function | None = None
    cls: Class | None = None
    module: Module | None = None
    instance: str | None = None
    """The value is an instance of this type: a class key or a table type name."""
    bases_of: Class | None = None
    """``super()``: members are looked up from this class's bases."""


_UNKNOWN = _Binding("unknown", None)


def module_name_for(path: str) -> str:
    """``src/pkg/mod.py`` -> ``src.pkg.mod``; ``pkg/__init__.py`` -> ``pkg``."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if parts and parts[-1].endswith(".py"):
        parts[-1] = parts[-1][:-3]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(p for p in parts if p != "..") or "__main__"


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


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Indexer:
    """The one walk of a module: defines, binds and collects call sites."""

    def __init__(self, graph: CallGraph, module: Module) -> None:
        self.graph = graph
        self.module = module

    def run(self) -> None:
        for stmt in self.module.tree.body:
            self.stmt(stmt, None, None, "", False)

    # scope helpers
    def bind(self, fn: Function | None, cls: Class | None, name: str, b: _Binding) -> None:
        if fn is not None:
            fn.locals.setdefault(name, []).append(b)
        elif cls is not None:
            cls.attrs.setdefault(name, []).append(b)
        else:
            self.module.symbols.setdefault(name, []).append(b)

    def bind_target(
        self, target: ast.expr, fn: Function | None, cls: Class | None, value: _Binding
    ) -> None:
        if isinstance(target, ast.Name):
            self.bind(fn, cls, target.id, value)
        elif (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and fn is not None
            and fn.cls is not None
            and fn.node.args.args
            and target.value.id == fn.node.args.args[0].arg
        ):
            fn.cls.attrs.setdefault(target.attr, []).append(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.bind_target(element, fn, cls, _UNKNOWN)
        elif isinstance(target, ast.Starred):
            self.bind_target(target.value, fn, cls, _UNKNOWN)

    def scope_of(self, fn: Function | None, cls: Class | None) -> Function | Module | Class:
        return fn if fn is not None else cls if cls is not None else self.module

    def stmt(
        self, node: ast.stmt, fn: Function | None, cls: Class | None, prefix: str, tc: bool
    ) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.function(node, fn, cls, prefix, tc)
        elif isinstance(node, ast.ClassDef):
            for expr in (*node.decorator_list, *node.bases, *(k.value for k in node.keywords)):
                self.expr(expr, fn, tc, None, None)
            qualname = prefix + node.name
            klass = Class(f"{self.module.name}:{qualname}", self.module, qualname, node)
            self.graph.classes[klass.key] = klass
            if cls is not None:
                cls.classes[node.name] = klass
            self.bind(fn, cls, node.name, _Binding("class", None, cls=klass))
            for child in node.body:
                self.stmt(child, fn, klass, qualname + ".", tc)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if fn is None and cls is None:
                self.module.imports.append(node)
            self.import_(node, fn, cls)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                self.stmt(child, fn, cls, prefix, True)
            for child in node.orelse:
                self.stmt(child, fn, cls, prefix, tc)
        elif isinstance(node, ast.Assign):
            self.expr(node.value, fn, tc, None, None)
            binding = _Binding("value", self.scope_of(fn, cls), expr=node.value)
            for target in node.targets:
                self.bind_target(target, fn, cls, binding)
                self.expr(target, fn, tc, None, None, store=True)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.expr(node.value, fn, tc, None, None)
            scope = self.scope_of(fn, cls)
            self.bind_target(node.target, fn, cls, _Binding("annotation", scope, node.annotation))
            if node.value is not None:
                self.bind_target(node.target, fn, cls, _Binding("value", scope, node.value))
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expr(item.context_expr, fn, tc, None, None)
                if fn is not None:
                    fn._pending.append(_Pending(CallKind.WITH, item, tc, None, None))
                if item.optional_vars is not None:
                    self.bind_target(
                        item.optional_vars,
                        fn,
                        cls,
                        _Binding("enter", self.scope_of(fn, cls), item.context_expr),
                    )
            for child in node.body:
                self.stmt(child, fn, cls, prefix, tc)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.expr(node.iter, fn, tc, None, None)
            if fn is not None:
                fn._pending.append(_Pending(CallKind.FOR, node, tc, None, None))
            self.bind_target(node.target, fn, cls, _UNKNOWN)
            for child in (*node.body, *node.orelse):
                self.stmt(child, fn, cls, prefix, tc)
        else:
            if isinstance(node, ast.Return) and node.value is not None:
                self.ref(node.value, fn, tc, None, None)
            for field_name, value in ast.iter_fields(node):
                if isinstance(value, list):
                    for item in value:
                        if isinstance(item, ast.stmt):
                            self.stmt(item, fn, cls, prefix, tc)
                        elif isinstance(item, ast.AST):
                            self.generic(item, fn, tc)
                elif isinstance(value, ast.expr):
                    if field_name == "target" or (
                        isinstance(node, ast.AugAssign) and field_name == "target"
                    ):
                        self.expr(value, fn, tc, None, None, store=True)
                    else:
                        self.expr(value, fn, tc, None, None)
                elif isinstance(value, ast.AST):
                    self.generic(value, fn, tc)

    def generic(self, node: ast.AST, fn: Function | None, tc: bool) -> None:
        # except handlers, match cases, arguments, keywords...
        if isinstance(node, ast.ExceptHandler):
            if node.type is not None:
                self.expr(node.type, fn, tc, None, None)
            if node.name is not None and fn is not None:
                fn.locals.setdefault(node.name, []).append(_UNKNOWN)
            for stmt in node.body:
                self.stmt(stmt, fn, None, "", tc)
            return
        for value in ast.iter_child_nodes(node):
            if isinstance(value, ast.stmt):
                self.stmt(value, fn, None, "", tc)
            elif isinstance(value, ast.expr):
                self.expr(value, fn, tc, None, None)
            else:
                self.generic(value, fn, tc)

    def function(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        parent: Function | None,
        cls: Class | None,
        prefix: str,
        tc: bool,
    ) -> None:
        for expr in node.decorator_list:
            self.expr(expr, parent, tc, None, None)
        for default in (*node.args.defaults, *(d for d in node.args.kw_defaults if d)):
            self.expr(default, parent, tc, None, None)
        qualname = prefix + node.name
        fn = Function(
            f"{self.module.name}:{qualname}",
            self.module,
            qualname,
            node,
            cls,
            parent,
            isinstance(node, ast.AsyncFunctionDef),
        )
        fn.decorators = [
            spelled(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list
        ]
        # Two functions with one name in one scope (a property's setter,
        # overloads): the last one wins, as at run time.
        self.graph.functions[fn.key] = fn
        if cls is not None:
            cls.methods[node.name] = fn
        self.bind(parent, cls, node.name, _Binding("function", None, function=fn))
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        for index, arg in enumerate([*positional, *args.kwonlyargs]):
            if index == 0 and cls is not None and "staticmethod" not in fn.decorators:
                role = "cls" if "classmethod" in fn.decorators else "self"
                fn.locals[arg.arg] = [_Binding(role, fn, cls=cls)]
            elif arg.annotation is not None:
                fn.locals[arg.arg] = [_Binding("annotation", fn, arg.annotation)]
            else:
                fn.locals[arg.arg] = [_UNKNOWN]
        for extra in (args.vararg, args.kwarg):
            if extra is not None:
                fn.locals[extra.arg] = [_UNKNOWN]
        for stmt in node.body:
            self.stmt(stmt, fn, None, qualname + ".<locals>.", tc)

    def import_(
        self, node: ast.Import | ast.ImportFrom, fn: Function | None, cls: Class | None
    ) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.bind(fn, cls, alias.asname, _Binding("import", None, dotted=alias.name))
                else:
                    top = alias.name.split(".")[0]
                    self.bind(fn, cls, top, _Binding("import", None, dotted=top))
            return
        base = node.module or ""
        if node.level:
            package = self.module.name.split(".")
            is_package = self.module.path.replace("\\", "/").endswith("__init__.py")
            keep = len(package) - node.level + (1 if is_package else 0)
            base = ".".join([*package[: max(keep, 0)], *([base] if base else [])])
        for alias in node.names:
            if alias.name == "*":
                continue
            dotted = f"{base}.{alias.name}" if base else alias.name
            self.bind(fn, cls, alias.asname or alias.name, _Binding("import", None, dotted=dotted))

    def ref(
        self,
        node: ast.expr,
        fn: Function | None,
        tc: bool,
        offload: ast.Call | None,
        lam: ast.Lambda | None,
    ) -> None:
        if fn is not None and isinstance(node, (ast.Name, ast.Attribute)):
            fn._pending.append(_Pending(CallKind.REF, node, tc, offload, lam))

    def expr(
        self,
        node: ast.expr,
        fn: Function | None,
        tc: bool,
        offload: ast.Call | None,
        lam: ast.Lambda | None,
        store: bool = False,
    ) -> None:
        if isinstance(node, ast.Call):
            if fn is not None:
                fn._pending.append(_Pending(CallKind.CALL, node, tc, offload, lam))
            self.expr(node.func, fn, tc, offload, lam)
            for arg in (*node.args, *(k.value for k in node.keywords)):
                value = arg.value if isinstance(arg, ast.Starred) else arg
                if isinstance(value, ast.Lambda):
                    self.lambda_(value, fn, tc, node)
                else:
                    self.ref(value, fn, tc, node, lam)
                    self.expr(value, fn, tc, offload, lam)
        elif isinstance(node, ast.Lambda):
            self.lambda_(node, fn, tc, offload)
        elif isinstance(node, (ast.Yield, ast.YieldFrom)):
            if fn is not None and lam is None:
                fn.is_generator = True
            if node.value is not None:
                self.expr(node.value, fn, tc, offload, lam)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            for comp in node.generators:
                self.expr(comp.iter, fn, tc, offload, lam)
                if fn is not None:
                    fn._pending.append(_Pending(CallKind.FOR, comp, tc, offload, lam))
                    self.bind_target(comp.target, fn, None, _UNKNOWN)
                for cond in comp.ifs:
                    self.expr(cond, fn, tc, offload, lam)
            if isinstance(node, ast.DictComp):
                self.expr(node.key, fn, tc, offload, lam)
                self.expr(node.value, fn, tc, offload, lam)
            else:
                self.expr(node.elt, fn, tc, offload, lam)
        elif isinstance(node, ast.NamedExpr):
            self.expr(node.value, fn, tc, offload, lam)
            if fn is not None:
                binding = _Binding("value", fn, expr=node.value)
                fn.locals.setdefault(node.target.id, []).append(binding)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child, fn, tc, offload, lam)

    def lambda_(
        self, node: ast.Lambda, fn: Function | None, tc: bool, offload: ast.Call | None
    ) -> None:
        if fn is not None:
            for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
                fn.locals.setdefault(arg.arg, []).append(_UNKNOWN)
        self.expr(node.body, fn, tc, offload, node)


class _Resolver:
    """Lazy, memoised evaluation of names and expressions to what they denote."""

    def __init__(self, graph: CallGraph) -> None:
        self.graph = graph
        self.table = graph.table
        self.by_name: dict[str, Module] = {}
        self.by_suffix: dict[str, list[Module]] = {}
        for module in graph.modules.values():
            self.by_name[module.name] = module
            parts = module.name.split(".")
            for i in range(1, len(parts)):
                self.by_suffix.setdefault(".".join(parts[i:]), []).append(module)
        self._memo: dict[int, _Val | None] = {}
        self._busy: set[int] = set()
        self._offload: dict[int, bool] = {}
        self._types: set[str] = set()
        for rule in self.table.rules:
            if rule.returns:
                self._types.add(rule.returns)

    def module_named(self, dotted: str) -> Module | None:
        found = self.by_name.get(dotted)
        if found is not None:
            return found
        candidates = self.by_suffix.get(dotted)
        return candidates[0] if candidates else None

    # --- names -------------------------------------------------------------------
    def lookup(self, name: str, scope: Function | Module | Class | None) -> _Val | None:
        fn = scope if isinstance(scope, Function) else None
        while fn is not None:
            bindings = fn.locals.get(name)
            if bindings is not None:
                return self.first(bindings)
            fn = fn.parent
        module = (
            scope.module
            if isinstance(scope, (Function, Class))
            else scope
            if isinstance(scope, Module)
            else None
        )
        if module is not None:
            bindings = module.symbols.get(name)
            if bindings is not None:
                return self.first(bindings)
        return _Val(dotted=name)  # a builtin: open, next, input...

    def first(self, bindings: list[_Binding]) -> _Val | None:
        for binding in bindings:
            value = self.binding(binding)
            if value is not None:
                return value
        return None

    def binding(self, b: _Binding) -> _Val | None:
        key = id(b)
        if key in self._memo:
            return self._memo[key]
        if key in self._busy:
            return None
        self._busy.add(key)
        try:
            value = self._binding(b)
        finally:
            self._busy.discard(key)
        self._memo[key] = value
        return value

    def _binding(self, b: _Binding) -> _Val | None:
        if b.kind == "function":
            return _Val(function=b.function)
        if b.kind == "class":
            return _Val(cls=b.cls)
        if b.kind == "self" and b.cls is not None:
            return _Val(instance=b.cls.key)
        if b.kind == "cls":
            return _Val(cls=b.cls)
        if b.kind == "import" and b.dotted is not None:
            return self.dotted(b.dotted)
        if b.expr is None:
            return None
        if b.kind == "annotation":
            type_ = self.annotation(b.expr, b.scope)
            return _Val(instance=type_) if type_ else None
        value = self.eval(b.expr, b.scope)
        if b.kind == "enter" and value is not None and value.instance:
            return self.entered(value.instance)
        return value

    def entered(self, type_: str) -> _Val:
        """What ``with x as y`` binds to y: ``__enter__``'s annotation, else x itself."""
        cls = self.graph.classes.get(type_)
        if cls is not None:
            enter = self.method(cls, "__enter__")
            returns = enter.node.returns if enter is not None else None
            if returns is not None and enter is not None:
                annotated = self.annotation(returns, enter)
                if annotated:
                    return _Val(instance=annotated)
        return _Val(instance=type_)

    def dotted(self, dotted: str) -> _Val:
        parts = dotted.split(".")
        for i in range(len(parts), 0, -1):
            module = self.module_named(".".join(parts[:i]))
            if module is None:
                continue
            value: _Val | None = _Val(module=module)
            for part in parts[i:]:
                value = self.member(value, part) if value is not None else None
            return value if value is not None else _Val(dotted=dotted)
        return _Val(dotted=dotted)

    # --- classes -----------------------------------------------------------------
    def bases(self, cls: Class) -> list[Class]:
        if cls._bases is None:
            cls._bases = []
            for base in cls.node.bases:
                value = self.eval(base, cls.module)
                if value is not None and value.cls is not None and value.cls is not cls:
                    cls._bases.append(value.cls)
        return cls._bases

    def mro(self, cls: Class) -> Iterator[Class]:
        seen: set[str] = set()
        todo = [cls]
        while todo:
            current = todo.pop(0)
            if current.key in seen:
                continue
            seen.add(current.key)
            yield current
            todo.extend(self.bases(current))

    def method(self, cls: Class, name: str, skip_self: bool = False) -> Function | None:
        for klass in self.mro(cls):
            if skip_self and klass is cls:
                continue
            found = klass.methods.get(name)
            if found is not None:
                return found
        return None

    def attr_type(self, cls: Class, name: str) -> _Val | None:
        for klass in self.mro(cls):
            bindings = klass.attrs.get(name)
            if bindings:
                return self.first(bindings)
            nested = klass.classes.get(name)
            if nested is not None:
                return _Val(cls=nested)
        return None

    # --- expressions ---------------------------------------------------------------
    def member(self, value: _Val, attr: str) -> _Val | None:
        if value.module is not None:
            bindings = value.module.symbols.get(attr)
            if bindings is not None:
                return self.first(bindings)
            sub = self.module_named(f"{value.module.name}.{attr}")
            if sub is not None:
                return _Val(module=sub)
            return None
        if value.cls is not None:
            found = self.method(value.cls, attr)
            if found is not None:
                return _Val(function=found)
            return self.attr_type(value.cls, attr)
        if value.bases_of is not None:
            found = self.method(value.bases_of, attr, skip_self=True)
            return _Val(function=found) if found is not None else None
        if value.instance is not None:
            cls = self.graph.classes.get(value.instance)
            if cls is not None:
                found = self.method(cls, attr)
                if found is not None:
                    return _Val(function=found, instance=None)
                return self.attr_type(cls, attr)
            return _Val(dotted=f"{value.instance}.{attr}")
        if value.dotted is not None:
            return _Val(dotted=f"{value.dotted}.{attr}")
        return None

    def eval(self, node: ast.expr, scope: Function | Module | Class | None) -> _Val | None:
        if isinstance(node, ast.Name):
            return self.lookup(node.id, scope)
        if isinstance(node, ast.Attribute):
            base = self.eval(node.value, scope)
            return self.member(base, node.attr) if base is not None else None
        if isinstance(node, ast.Await):
            return self.eval(node.value, scope)
        if isinstance(node, ast.Call):
            if (
                isinstance(node.func, ast.Name)
                and node.func.id == "super"
                and isinstance(scope, Function)
            ):
                owner = scope
                while owner.cls is None and owner.parent is not None:
                    owner = owner.parent
                return _Val(bases_of=owner.cls) if owner.cls is not None else None
            return self.result(self.eval(node.func, scope))
        return None

    def result(self, callee: _Val | None) -> _Val | None:
        """The value a call of ``callee`` returns, when known."""
        if callee is None:
            return None
        if callee.cls is not None:
            return _Val(instance=callee.cls.key)
        if callee.function is not None:
            if callee.function.is_generator:
                # A generator object: iterating it (a loop, next()) runs the function.
                return _Val(instance=GENERATOR_OF + callee.function.key)
            returns = callee.function.node.returns
            if returns is not None:
                type_ = self.annotation(returns, callee.function)
                if type_:
                    return _Val(instance=type_)
            return None
        if callee.dotted is not None:
            rule = self.table.by_sync.get(callee.dotted)
            if rule is not None and rule.returns:
                return _Val(instance=rule.returns)
        return None

    def annotation(self, node: ast.expr, scope: Function | Module | Class | None) -> str | None:
        """The type an annotation names: a class key or a dotted external name."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            for side in (node.left, node.right):
                if not (isinstance(side, ast.Constant) and side.value is None):
                    return self.annotation(side, scope)
            return None
        if isinstance(node, ast.Subscript):
            outer = self.eval(node.value, scope)
            if outer is not None and outer.dotted in ("typing.Optional", "Optional"):
                return self.annotation(node.slice, scope)
            return None
        if (isinstance(node, ast.Name) and node.id == "Self") or (
            isinstance(node, ast.Attribute) and node.attr == "Self"
        ):
            owner = scope if isinstance(scope, Function) else None
            return owner.cls.key if owner is not None and owner.cls is not None else None
        value = self.eval(node, scope)
        if value is None:
            return None
        if value.cls is not None:
            return value.cls.key
        return value.dotted

    def is_offload(self, call: ast.Call, scope: Function) -> bool:
        key = id(call)
        if key not in self._offload:
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr in OFFLOAD_METHODS:
                self._offload[key] = True
            else:
                value = self.eval(func, scope)
                self._offload[key] = value is not None and value.dotted in OFFLOAD_CALLS
        return self._offload[key]

    # --- call sites --------------------------------------------------------------
    def resolve(self, fn: Function, pending: _Pending) -> Call | None:
        node = pending.node
        offloaded = pending.offload_parent is not None and self.is_offload(
            pending.offload_parent, fn
        )
        common = _Common(offloaded, pending.type_checking, pending.lambda_node)
        if pending.kind is CallKind.CALL:
            assert isinstance(node, ast.Call)
            callee = self.eval(node.func, fn)
            receiver = None
            if isinstance(node.func, ast.Attribute):
                base = self.eval(node.func.value, fn)
                receiver = base.instance if base is not None else None
            if (
                callee is not None
                and callee.dotted == "next"
                and node.args
                and not isinstance(node.args[0], ast.Starred)
            ):
                stepped = self.eval(node.args[0], fn)
                if stepped is not None and stepped.instance is not None:
                    # next(it) is one step of a loop over it.
                    step = self.protocol(
                        fn,
                        CallKind.FOR,
                        node,
                        node,
                        stepped.instance,
                        ("__iter__", "__next__"),
                        common,
                    )
                    if step.callees:
                        return step
            return self.call_site(fn, CallKind.CALL, node, node, callee, receiver, common)
        if pending.kind is CallKind.REF:
            assert isinstance(node, (ast.Name, ast.Attribute))
            value = self.eval(node, fn)
            if value is None or value.function is None:
                return None
            return Call(
                CallKind.REF,
                node,
                fn,
                node.lineno,
                node.col_offset,
                value.function.dotted,
                (value.function,),
                common=common,
            )
        if pending.kind is CallKind.WITH:
            assert isinstance(node, ast.withitem)
            value = self.eval(node.context_expr, fn)
            if value is None or value.instance is None:
                return None
            return self.protocol(
                fn,
                CallKind.WITH,
                node,
                node.context_expr,
                value.instance,
                ("__enter__", "__exit__"),
                common,
            )
        assert isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension))
        iterated = node.iter
        if isinstance(iterated, ast.Call):
            callee = self.eval(iterated.func, fn)
            if callee is not None and callee.function is not None:
                if callee.function.is_generator:
                    return Call(
                        CallKind.FOR,
                        node,
                        fn,
                        iterated.lineno,
                        iterated.col_offset,
                        callee.function.dotted,
                        (callee.function,),
                        common=common,
                    )
        value = self.eval(iterated, fn)
        if value is None or value.instance is None:
            return None
        return self.protocol(
            fn, CallKind.FOR, node, iterated, value.instance, ("__iter__", "__next__"), common
        )

    def protocol(
        self,
        fn: Function,
        kind: CallKind,
        node: ast.AST,
        at: ast.expr,
        type_: str,
        methods: tuple[str, str],
        common: _Common,
    ) -> Call:
        if type_.startswith(GENERATOR_OF):
            generator = self.graph.functions.get(type_[len(GENERATOR_OF) :])
            if generator is not None:
                return Call(
                    kind,
                    node,
                    fn,
                    at.lineno,
                    at.col_offset,
                    generator.dotted,
                    (generator,),
                    common=common,
                )
        cls = self.graph.classes.get(type_)
        if cls is not None:
            found = tuple(m for m in (self.method(cls, name) for name in methods) if m)
            return Call(
                kind,
                node,
                fn,
                at.lineno,
                at.col_offset,
                f"{cls.dotted}.{methods[0]}",
                found,
                instance_type=type_,
                common=common,
            )
        name = f"{type_}.{methods[0]}"
        return Call(
            kind,
            node,
            fn,
            at.lineno,
            at.col_offset,
            name,
            rule=self.table.by_sync.get(name),
            instance_type=type_,
            common=common,
        )

    def call_site(
        self,
        fn: Function,
        kind: CallKind,
        node: ast.Call,
        at: ast.expr,
        callee: _Val | None,
        receiver: str | None,
        common: _Common,
    ) -> Call:
        line, col = at.lineno, at.col_offset
        if callee is None:
            return Call(kind, node, fn, line, col, None, common=common)
        if callee.function is not None:
            return Call(
                kind,
                node,
                fn,
                line,
                col,
                callee.function.dotted,
                (callee.function,),
                instance_type=receiver,
                common=common,
            )
        if callee.cls is not None:
            init = self.method(callee.cls, "__init__")
            return Call(
                kind,
                node,
                fn,
                line,
                col,
                callee.cls.dotted,
                (init,) if init is not None else (),
                cls=callee.cls,
                common=common,
            )
        name = callee.dotted
        rule = self.table.by_sync.get(name) if name is not None else None
        return Call(
            kind, node, fn, line, col, name, rule=rule, instance_type=receiver, common=common
        )


def build(modules: Mapping[str, str], table: RuleTable) -> CallGraph:
    """Analyse ``modules`` (display path -> source) together.

    A module that does not parse is left out and reported in
    ``syntax_errors``; the rest are analysed as if it did not exist.
    """
    graph = CallGraph({}, {}, {}, [], table)
    for path, text in modules.items():
        try:
            tree = ast.parse(text, filename=path)
        except SyntaxError as exc:
            graph.syntax_errors.append(
                (path, exc.lineno or 1, (exc.offset or 1) - 1, exc.msg or "invalid syntax")
            )
            continue
        graph.modules[path] = Module(path, module_name_for(path), text, tree)
    for module in graph.modules.values():
        _Indexer(graph, module).run()
    resolver = graph._resolver = _Resolver(graph)
    for function in graph.functions.values():
        for pending in function._pending:
            call = resolver.resolve(function, pending)
            if call is not None:
                function.calls.append(call)
        function._pending = []
    return graph
