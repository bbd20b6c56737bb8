"""Lazy, memoised evaluation of names and expressions; call sites resolved."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping

from ambidex._callgraph._model import (
    GENERATOR_OF,
    ITEMS_OF,
    OFFLOAD_CALLS,
    OFFLOAD_METHODS,
    Call,
    CallKind,
    Class,
    Function,
    Module,
    _Binding,
    _Common,
    _Pending,
    _Val,
    own_nodes,
)
from ambidex._rules import Rule, RuleTable

#: Generic containers whose last type argument is the items' type
#: (``list[T]``, ``dict[K, T]``, ``queue.Queue[T]``, ``Sequence[T]``).
_CONTAINERS = frozenset(
    {
        "list", "set", "frozenset", "dict", "tuple",
        *(f"typing.{n}" for n in (
            "List", "Set", "FrozenSet", "Dict", "Tuple", "Sequence", "MutableSequence",
            "Iterable", "Iterator", "Collection", "Mapping", "MutableMapping", "Deque",
            "DefaultDict", "OrderedDict", "AbstractSet", "MutableSet")),
        *(f"collections.abc.{n}" for n in (
            "Sequence", "MutableSequence", "Iterable", "Iterator", "Collection", "Mapping",
            "MutableMapping", "Set", "MutableSet")),
        "collections.deque", "collections.defaultdict", "collections.OrderedDict",
        "queue.Queue", "queue.LifoQueue", "queue.PriorityQueue", "queue.SimpleQueue",
        "asyncio.Queue", "asyncio.LifoQueue", "asyncio.PriorityQueue",
    }
)
_PARTIAL = _Val(dotted="functools.partial")
_PARTIAL_BARE = _Val(dotted="partial")

#: Methods of a container that hand out one of its items.
_ITEM_METHODS = frozenset(
    {"pop", "popleft", "get", "get_nowait", "__getitem__", "__next__", "setdefault"}
)
#: What a literal is, when nothing says what it holds: a builtin, never a twin
#: and never analysed code, so its methods are not the ones that became async.
_BUILTIN_CONTAINERS = frozenset({"list", "set", "dict", "str", "bytes"})

#: Annotations that say "some module / class / function": the parameter's
#: default says which one the code uses unless told otherwise.
_WHICH_CODE = frozenset(
    {"types.ModuleType", "type", "typing.Type", "typing.Callable", "collections.abc.Callable"}
)

#: Methods that put an item into a container (the last argument for insert).
_ADDERS = frozenset({"append", "appendleft", "add", "put", "put_nowait", "insert"})

#: Methods of a container that return a container of the same items.
_SAME_ITEMS = frozenset({"copy", "values"})


class _Resolver:
    """Lazy, memoised evaluation of names and expressions to what they denote."""

    def __init__(
        self,
        modules: Mapping[str, Module],
        functions: Mapping[str, Function],
        classes: Mapping[str, Class],
        table: RuleTable,
    ) -> None:
        self.functions = functions
        self.classes = classes
        self.table = table
        self.by_name: dict[str, Module] = {}
        self.by_suffix: dict[str, list[Module]] = {}
        for module in modules.values():
            self.by_name[module.name] = module
            parts = module.name.split(".")
            for i in range(1, len(parts)):
                self.by_suffix.setdefault(".".join(parts[i:]), []).append(module)
        self._memo: dict[int, _Val | None] = {}
        # While call sites are indexed, parameters have no type yet, so values
        # differ from the final ones and go to their own memos, dropped after.
        # Without them, every binding was re-derived at each call site of the
        # whole tree: lint over a site-packages did not end in 6 minutes.
        self._indexing_memo: dict[int, _Val | None] = {}
        self._indexing_returns: dict[str, _Val | None] = {}
        self._evals: dict[tuple[int, int], _Val | None] = {}
        self._indexing_evals: dict[tuple[int, int], _Val | None] = {}
        self._busy: set[int] = set()
        self._returns: dict[str, _Val | None] = {}
        self._overrides: dict[str, list[Class]] | None = None
        self._adders: dict[tuple[str, str], list[tuple[Function, ast.expr]]] | None = None
        # Every call site, for typing an unannotated parameter from its arguments.
        self._sites = [
            (fn, p.node)
            for fn in functions.values()
            for p in fn._pending
            if p.kind is CallKind.CALL and isinstance(p.node, ast.Call)
        ]
        self._sites_by_callee: dict[str, list[tuple[Function, ast.Call]]] | None = None
        self._indexing = False
        self._by_argument: dict[str, list[Rule]] = {}
        for rule in table.rules:
            if rule.match_arg is not None and rule.sync is not None:
                self._by_argument.setdefault(rule.sync.rsplit(".", 1)[1], []).append(rule)
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
        """The first binding that tells; a bare builtin container (``x = []``)
        gives way to a later binding that says what it holds."""
        plain: _Val | None = None
        for binding in bindings:
            value = self.binding(binding)
            if value is None:
                continue
            if value.instance in _BUILTIN_CONTAINERS:
                plain = plain or value
                continue
            return value
        return plain

    def binding(self, b: _Binding) -> _Val | None:
        key = id(b)
        # Values seen while indexing call sites may be partial: a memo of their own.
        memo = self._indexing_memo if self._indexing else self._memo
        if key in memo:
            return memo[key]
        if key in self._busy:
            return None
        self._busy.add(key)
        try:
            value = self._binding(b)
        finally:
            self._busy.discard(key)
        memo[key] = value
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
        if b.kind == "param" and b.function is not None and b.dotted is not None:
            return self.param_type(b.function, b.dotted)
        if b.expr is None:
            return None
        if b.kind == "item":
            item = self.item_of(self.eval(b.expr, b.scope))
            if item is None and isinstance(b.scope, Function):
                item = self.added_item(b.expr, b.scope)  # for s in self.servers
            return item
        if b.kind == "element":
            whole = self.eval(b.expr, b.scope)
            if whole is not None and whole.elements is not None:
                if b.index < len(whole.elements) and whole.elements[b.index]:
                    return _Val(instance=whole.elements[b.index])
            return None
        if b.kind == "annotation":
            type_ = self.annotation(b.expr, b.scope)
            if type_ in _WHICH_CODE and isinstance(b.scope, Function) and b.dotted:
                # socket_module: ModuleType = socket: the default says which module
                return self.default_of(b.scope, b.dotted) or _Val(instance=type_)
            return _Val(instance=type_) if type_ else None
        value = self.eval(b.expr, b.scope)
        if b.kind == "enter" and value is not None and value.instance:
            return self.entered(value.instance)
        return value

    @staticmethod
    def item_of(container: _Val | None) -> _Val | None:
        """One item of ``container``, when its items' type is known."""
        if container is not None and container.instance and container.instance.startswith(
            ITEMS_OF
        ):
            return _Val(instance=container.instance[len(ITEMS_OF) :])
        return None

    def param_type(self, function: Function, name: str) -> _Val | None:
        """An unannotated parameter's type: what every analysed call site that
        passes it agrees on (``HTTPResponse(self.sock)``: a socket). None when
        no site tells or two disagree; ``None`` arguments do not count."""
        if self._indexing:
            return None  # a parameter met while finding call sites: not known yet
        if self._sites_by_callee is None:
            self._sites_by_callee = {}
            self._indexing = True
            try:
                for fn, node in self._sites:
                    callee = self.eval(node.func, fn)
                    target = None
                    if callee is not None and callee.function is not None:
                        target = callee.function
                    elif callee is not None and callee.cls is not None:
                        target = self.method(callee.cls, "__init__")
                    targets = [target] if target is not None else []
                    for bound in self.bound_functions(fn, node.func):
                        if bound not in targets:
                            targets.append(bound)
                    for each in targets:
                        self._sites_by_callee.setdefault(each.key, []).append((fn, node))
            finally:
                self._indexing = False
                self._indexing_memo.clear()
                self._indexing_returns.clear()
                self._indexing_evals.clear()
        args = function.node.args
        positional = [a.arg for a in (*args.posonlyargs, *args.args)]
        if function.cls is not None and "staticmethod" not in function.decorators:
            positional = positional[1:]
        found: str | None = None
        for fn, node in self._sites_by_callee.get(function.key, ()):
            given: ast.expr | None = None
            if name in positional and positional.index(name) < len(node.args):
                given = node.args[positional.index(name)]
                if any(isinstance(a, ast.Starred) for a in node.args[: positional.index(name) + 1]):
                    return None
            for keyword in node.keywords:
                if keyword.arg == name:
                    given = keyword.value
            if given is None or (isinstance(given, ast.Constant) and given.value is None):
                continue
            value = self.eval(given, fn)
            type_ = value.instance if value is not None else None
            if type_ is None:
                continue  # this site does not tell (it may pass the parameter on)
            if found is not None and type_ != found:
                return None
            found = type_
        if found is not None:
            return _Val(instance=found)
        return self.default_of(function, name)

    def default_of(self, function: Function, name: str) -> _Val | None:
        """What a parameter's default names, when it names code rather than a
        value (``socket_module=socket``: the module the function uses unless
        told otherwise) or an object of a known type."""
        args = function.node.args
        positional = [*args.posonlyargs, *args.args]
        with_defaults = positional[len(positional) - len(args.defaults) :]
        pairs = list(zip(with_defaults, args.defaults, strict=True))
        pairs += [
            (a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None
        ]
        for arg, default in pairs:
            if arg.arg != name or (isinstance(default, ast.Constant)):
                continue
            value = self.eval(default, function.parent or function.cls or function.module)
            if value is not None and (
                value.instance or value.dotted or value.module or value.cls or value.function
            ):
                return value
        return None

    def added_item(self, container: ast.expr, scope: Function) -> _Val | None:
        """The type of what the code adds to ``self.<attr>`` (``append``, ``put``,
        ``add``...), when every such call adds the same known type: the items of
        an unannotated pool or queue."""
        if not (
            isinstance(container, ast.Attribute)
            and isinstance(container.value, ast.Name)
            and scope.cls is not None
            and scope.node.args.args
            and container.value.id == scope.node.args.args[0].arg
        ):
            return None
        if self._adders is None:
            self._adders = {}
            for fn, node in self._sites:
                func = node.func
                if (
                    isinstance(func, ast.Attribute)
                    and func.attr in _ADDERS
                    and node.args
                    and isinstance(func.value, ast.Attribute)
                    and isinstance(func.value.value, ast.Name)
                    and fn.cls is not None
                    and fn.node.args.args
                    and func.value.value.id == fn.node.args.args[0].arg
                ):
                    for klass in self.mro(fn.cls):
                        self._adders.setdefault((klass.key, func.value.attr), []).append(
                            (fn, node.args[-1] if func.attr == "insert" else node.args[0])
                        )
        found: str | None = None
        for klass in self.mro(scope.cls):
            for fn, given in self._adders.get((klass.key, container.attr), ()):
                value = self.eval(given, fn)
                type_ = value.instance if value is not None else None
                if type_ is None or (found is not None and type_ != found):
                    return None
                found = type_
            if found is not None:
                break
        return _Val(instance=found) if found is not None else None

    def overrides(self, cls: Class, name: str) -> list[Function]:
        """Methods ``name`` of the analysed subclasses of ``cls`` (overrides)."""
        if self._overrides is None:
            self._overrides = {}
            for klass in self.classes.values():
                for base in list(self.mro(klass))[1:]:
                    self._overrides.setdefault(base.key, []).append(klass)
        return [
            sub.methods[name] for sub in self._overrides.get(cls.key, ()) if name in sub.methods
        ]

    def entered(self, type_: str) -> _Val:
        """What ``with x as y`` binds to y: ``__enter__``'s annotation, else x itself."""
        cls = self.classes.get(type_)
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
                found = self.first(bindings)
                if found is not None:
                    return found
                continue  # nothing told here (self.sock = wrap(self.sock)): ask the bases
            nested = klass.classes.get(name)
            if nested is not None:
                return _Val(cls=nested)
        # Set only by subclasses (a base's method uses what its subclasses connect).
        if self._overrides is None:
            self.overrides(cls, name)
        assert self._overrides is not None
        for sub in self._overrides.get(cls.key, ()):
            bindings = sub.attrs.get(name)
            if bindings:
                return self.first(bindings)
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
            cls = self.classes.get(value.instance)
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
        """What ``node`` evaluates to in ``scope``, remembered per (node, scope).

        Like :meth:`binding`'s, the memo of the indexing phase is its own.
        """
        memo = self._indexing_evals if self._indexing else self._evals
        key = (id(node), id(scope))
        if key in memo:
            return memo[key]
        value = memo[key] = self._eval(node, scope)
        return value

    def _eval(self, node: ast.expr, scope: Function | Module | Class | None) -> _Val | None:
        if isinstance(node, ast.Name):
            return self.lookup(node.id, scope)
        if isinstance(node, ast.Attribute):
            base = self.eval(node.value, scope)
            return self.member(base, node.attr) if base is not None else None
        if isinstance(node, ast.Await):
            return self.eval(node.value, scope)
        if isinstance(node, ast.Subscript):
            base = self.eval(node.value, scope)
            if base is not None and base.elements is not None:
                index = node.slice
                if isinstance(index, ast.Constant) and isinstance(index.value, int):
                    if -len(base.elements) <= index.value < len(base.elements):
                        type_ = base.elements[index.value]
                        return _Val(instance=type_) if type_ else None
                return None
            item = self.item_of(base)
            if item is None and isinstance(scope, Function):
                item = self.added_item(node.value, scope)  # self.buckets[i]
            return item
        if isinstance(node, ast.Tuple):
            types = []
            for element in node.elts:
                value = None if isinstance(element, ast.Starred) else self.eval(element, scope)
                types.append(value.instance if value is not None else None)
            return _Val(elements=tuple(types)) if any(types) else None
        if isinstance(node, (ast.List, ast.Set)):
            for element in node.elts:
                value = self.eval(element, scope)
                if value is not None and value.instance:
                    return _Val(instance=ITEMS_OF + value.instance)
            return _Val(instance="list" if isinstance(node, ast.List) else "set")
        if isinstance(node, ast.Dict):
            for element in node.values:
                value = self.eval(element, scope)
                if value is not None and value.instance:
                    return _Val(instance=ITEMS_OF + value.instance)
            return _Val(instance="dict")
        if isinstance(node, ast.JoinedStr):
            return _Val(instance="str")
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            return _Val(instance=type(node.value).__name__)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            inner = node.value if isinstance(node, ast.DictComp) else node.elt
            value = self.eval(inner, scope)
            if value is not None and value.instance:
                return _Val(instance=ITEMS_OF + value.instance)
            return None
        if isinstance(node, ast.IfExp):
            return self.eval(node.body, scope) or self.eval(node.orelse, scope)
        if isinstance(node, ast.BoolOp):
            for value_node in node.values:
                value = self.eval(value_node, scope)
                if value is not None and (value.instance or value.function or value.cls):
                    return value
            return None
        if isinstance(node, ast.Call):
            func = node.func
            if node.args and self.eval(func, scope) in (_PARTIAL, _PARTIAL_BARE):
                # functools.partial(f, ...) is called as f is: same colour.
                wrapped = self.eval(node.args[0], scope)
                if wrapped is not None and wrapped.function is not None:
                    return _Val(function=wrapped.function)
            if isinstance(func, ast.Attribute) and func.attr in self._by_argument and node.args:
                first = self.eval(node.args[0], scope)
                for rule in self._by_argument[func.attr]:
                    if first is not None and first.instance == rule.match_arg and rule.returns:
                        return _Val(instance=rule.returns)
            if isinstance(func, ast.Attribute) and func.attr in (*_ITEM_METHODS, *_SAME_ITEMS):
                base = self.eval(func.value, scope)
                if base is not None and base.instance and base.instance.startswith(ITEMS_OF):
                    return base if func.attr in _SAME_ITEMS else self.item_of(base)
                if func.attr in _ITEM_METHODS and isinstance(scope, Function):
                    # self.pool.get() where the code puts Conn objects into self.pool
                    item = self.added_item(func.value, scope)
                    if item is not None:
                        return item
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
            return self.returned(callee.function)
        if callee.dotted is not None:
            rule = self.table.by_sync.get(callee.dotted)
            if rule is not None and rule.returns:
                return _Val(instance=rule.returns)
        return None

    def returned(self, function: Function) -> _Val | None:
        """What an unannotated function returns, from its ``return`` statements:
        the first that tells (``return socket.create_connection(...)``)."""
        key = function.key
        returns = self._indexing_returns if self._indexing else self._returns
        if key in returns:
            return returns[key]
        returns[key] = None  # a recursive function tells nothing more
        found: _Val | None = None
        for node in own_nodes(function.node):
            if isinstance(node, ast.Return) and node.value is not None:
                value = self.eval(node.value, function)
                if value is not None and (value.instance or value.elements):
                    found = _Val(instance=value.instance, elements=value.elements)
                    break
                if value is not None and value.function is not None:
                    found = _Val(function=value.function)  # a closure handed back
                    break
        returns[key] = found
        return found

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
            if outer is not None and outer.dotted in _CONTAINERS:
                elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
                if len(elements) == 2 and isinstance(elements[1], ast.Constant):
                    elements = elements[:1]  # tuple[T, ...]
                elif outer.dotted in ("tuple", "typing.Tuple") and len(elements) != 1:
                    return None  # a fixed tuple: no one type for its items
                item = self.annotation(elements[-1], scope) if elements else None
                return ITEMS_OF + item if item else None
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
            dispatched = self.dispatched(fn, node)
            if dispatched is not None:
                name, methods = dispatched
                return Call(
                    CallKind.CALL, node, fn, node.lineno, node.col_offset, name,
                    tuple(methods), common=common,
                )
            call = self.call_site(fn, CallKind.CALL, node, node, callee, receiver, common)
            bound = self.bound_functions(fn, node.func)
            if len(bound) > 1 or (bound and not call.callees):
                # reader = partial(_readsegment, ...) if x else _readline; reader(...)
                call.callees = tuple(bound)
            if (
                call.rule is None
                and not call.callees
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in self._by_argument
                and node.args
            ):
                first = self.eval(node.args[0], fn)
                for rule in self._by_argument[node.func.attr]:
                    if first is not None and first.instance == rule.match_arg:
                        call.rule, call.name = rule, rule.sync
                        break
            if (
                call.callees
                and receiver is not None
                and receiver in self.classes
                and callee is not None
                and callee.function is not None
                and callee.function.cls is not None
            ):
                # self.m() may run an override of m in a subclass: all are callees.
                extra = [
                    m
                    for m in self.overrides(self.classes[receiver], callee.function.name)
                    if m is not callee.function
                ]
                call.overrides = tuple(extra)
            if not call.callees and call.rule is None:
                call.slot = self.slot(fn, node.func)
            return call
        if pending.kind is CallKind.REF:
            assert isinstance(node, (ast.Name, ast.Attribute))
            value = self.eval(node, fn)
            if value is None or value.function is None:
                return None
            ref = Call(
                CallKind.REF,
                node,
                fn,
                node.lineno,
                node.col_offset,
                value.function.dotted,
                (value.function,),
                common=common,
            )
            ref.stored_in = pending.container
            if pending.offload_parent is not None:
                ref.passed_to = self.receiver(fn, pending.offload_parent, node)
                ref.argument_of = pending.offload_parent
            return ref
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
            generator = self.functions.get(type_[len(GENERATOR_OF) :])
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
        cls = self.classes.get(type_)
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

    def bound_functions(self, fn: Function, func: ast.expr) -> list[Function]:
        """Every function a local (or ``self.`` attribute) is bound to, when each
        of its value bindings is one (directly or through ``functools.partial``)."""
        bindings: list[_Binding] | None = None
        if isinstance(func, ast.Name):
            scope: Function | None = fn
            while scope is not None and bindings is None:
                bindings = scope.locals.get(func.id)
                scope = scope.parent
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and fn.cls is not None
            and fn.node.args.args
            and func.value.id == fn.node.args.args[0].arg
        ):
            for klass in self.mro(fn.cls):
                if func.attr in klass.attrs:
                    bindings = klass.attrs[func.attr]
                    break
        values = [b for b in bindings or () if b.kind == "value"]
        found: list[Function] = []
        for binding in values:
            value = self.binding(binding)
            if value is None or value.function is None:
                return []
            if value.function not in found:
                found.append(value.function)
        return found

    def dispatched(self, fn: Function, node: ast.Call) -> tuple[str, list[Function]] | None:
        """``getattr(self, "do_" + cmd)(...)``: every method the name can be.

        The name is a string constant, or starts with one (``"do_" + x``,
        ``f"do_{x}"``); the object is an instance of an analysed class.
        Returns the call's spelled name and the candidate methods.
        """
        func = node.func
        if not (
            isinstance(func, ast.Call)
            and isinstance(func.func, ast.Name)
            and func.func.id == "getattr"
            and len(func.args) >= 2
        ):
            return None
        target = self.eval(func.args[0], fn)
        cls = self.classes.get(target.instance or "") if target is not None else None
        if cls is None:
            return None
        spelled = func.args[1]
        exact = True
        if isinstance(spelled, ast.BinOp) and isinstance(spelled.op, ast.Add):
            spelled, exact = spelled.left, False
        elif isinstance(spelled, ast.JoinedStr) and spelled.values:
            spelled, exact = spelled.values[0], False
        if not (isinstance(spelled, ast.Constant) and isinstance(spelled.value, str)):
            return None
        prefix = spelled.value
        methods: dict[str, Function] = {}
        for klass in reversed(list(self.mro(cls))):
            for name, method in klass.methods.items():
                if name == prefix or (not exact and name.startswith(prefix)):
                    methods[name] = method
        if not methods:
            return None
        return f"{cls.dotted}.{prefix}{'' if exact else '*'}", list(methods.values())

    def slot(self, fn: Function, func: ast.expr) -> tuple[str, str, str] | None:
        """The slot a call of something the code was handed goes through, if any."""
        args = fn.node.args
        params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
        if isinstance(func, ast.Name):
            if func.id in params and len(fn.locals.get(func.id, ())) == 1:
                return ("param", fn.key, func.id)
            return None
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and fn.cls is not None
            and params
            and func.value.id == params[0]
            and "staticmethod" not in fn.decorators
        ):
            owner = next((c for c in self.mro(fn.cls) if func.attr in c.attrs), fn.cls)
            return ("attr", owner.key, func.attr)
        return None

    def receiver(
        self, fn: Function, call: ast.Call, argument: ast.expr
    ) -> tuple[Function, str] | None:
        """The analysed function and parameter that ``argument`` of ``call`` lands in."""
        target = self.eval(call.func, fn)
        if target is None:
            return None
        function = target.function
        if function is None and target.cls is not None:
            function = self.method(target.cls, "__init__")
        if function is None:
            return None
        args = function.node.args
        positional = [a.arg for a in (*args.posonlyargs, *args.args)]
        if function.cls is not None and "staticmethod" not in function.decorators:
            positional = positional[1:]  # self / cls is bound
        for index, given in enumerate(call.args):
            if given is argument:
                return (function, positional[index]) if index < len(positional) else None
        for keyword in call.keywords:
            if keyword.value is argument and keyword.arg is not None:
                return function, keyword.arg
        return None

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
