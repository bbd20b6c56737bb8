"""Lazy, memoised evaluation of names and expressions; call sites resolved."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping

from ambidex._callgraph._model import (
    GENERATOR_OF,
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
)
from ambidex._rules import RuleTable


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
            call = self.call_site(fn, CallKind.CALL, node, node, callee, receiver, common)
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
            if pending.offload_parent is not None:
                ref.passed_to = self.receiver(fn, pending.offload_parent, node)
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
