"""Functions held as values: which functions a call of a value may run.

A local or ``self.`` attribute bound only to functions (directly or through
``functools.partial``) calls all of them; ``getattr(self, "do_" + cmd)(...)``
may call every method the name can spell; a callable the code was handed (a
parameter, an attribute that is not a method) is called through a *slot* the
generator follows; a function passed as an argument lands in a parameter of
the callee; and a call that runs what it is given in a thread
(``asyncio.to_thread``, ``run_in_executor``) offloads it.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from ambidex._callgraph._model import OFFLOAD_CALLS, OFFLOAD_METHODS, Function, _Binding, _Val
from ambidex._callgraph._resolving import _Resolving

_PARTIAL = _Val(dotted="functools.partial")
_PARTIAL_BARE = _Val(dotted="partial")
_PARTIAL_NAMES = frozenset({"functools.partial", "partial"})

#: Expressions whose value may be a function (:meth:`._expressions._Expressions._eval`
#: gives every other kind an instance, elements or nothing).
_MAY_GIVE_FUNCTION = (ast.Name, ast.Attribute, ast.Await, ast.IfExp, ast.BoolOp, ast.Call)

#: Bindings whose value is never a function (a class, an instance, an item...).
_NEVER_FUNCTION = frozenset({"class", "self", "cls", "element", "item", "unknown"})


def _code_default(function: Function, name: str) -> bool:
    """Whether parameter ``name`` of ``function`` has a default that is not a
    constant: the only way a parameter's value can be a function
    (:meth:`._params._Params.default_of`)."""
    args = function.node.args
    # Asked for most names a function hands on: the parameter's own default
    # only (a name is one parameter), without listing the pairs.
    defaults = args.defaults
    if defaults:
        positional = args.args
        if args.posonlyargs:
            positional = [*args.posonlyargs, *positional]
        with_defaults = positional[len(positional) - len(defaults) :]
        for arg, default in zip(with_defaults, defaults, strict=True):
            if arg.arg == name:
                return not isinstance(default, ast.Constant)
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if arg.arg == name:
            return kw_default is not None and not isinstance(kw_default, ast.Constant)
    return False


def _may_bind_function(b: _Binding) -> bool:
    kind = b.kind
    if kind == "function" or kind == "import":
        return True
    if kind in _NEVER_FUNCTION:
        return False
    if kind == "param":
        function = b.function
        return function is not None and b.dotted is not None and _code_default(function, b.dotted)
    if kind == "annotation":
        # An instance of the annotated type, unless the annotation says "some
        # code" and the default names which (``socket_module: ModuleType = socket``).
        scope = b.scope
        return (
            isinstance(scope, Function) and b.dotted is not None and _code_default(scope, b.dotted)
        )
    if kind == "value" or kind == "enter":
        return isinstance(b.expr, _MAY_GIVE_FUNCTION)
    return True


class _Callables:
    """Callable values, dispatch, slots, receivers, offloads (a part of the resolver)."""

    def is_offload(self: _Resolving, call: ast.Call, scope: Function) -> bool:
        key = id(call)
        if key not in self._offload:
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr in OFFLOAD_METHODS:
                self._offload[key] = True
            else:
                value = self.eval(func, scope)
                self._offload[key] = value is not None and value.dotted in OFFLOAD_CALLS
        return self._offload[key]

    @staticmethod
    def may_be_function(node: ast.AST, fn: Function) -> bool:
        """False when ``node`` (in ``fn``) cannot evaluate to a function, told
        from its bindings alone, without evaluating anything: a name bound only
        to parameters without a default, call results' items, literals... (most
        names passed as arguments). True when it may (or when it cannot tell)."""
        if not isinstance(node, ast.Name):
            return True
        scope: Function | None = fn
        bindings: Sequence[_Binding] | None = None
        while scope is not None and bindings is None:
            bindings = scope.locals.get(node.id)
            scope = scope.parent
        if bindings is None:
            bindings = fn.module.symbols.get(node.id)
            if bindings is None:
                return False  # a builtin: only its dotted name is known
        for binding in bindings:
            if _may_bind_function(binding):
                return True
        return False

    def bound_functions(self: _Resolving, fn: Function, func: ast.expr) -> list[Function]:
        """Every function a local (or ``self.`` attribute) is bound to, when each
        of its value bindings is one (directly or through ``functools.partial``)."""
        bindings: Sequence[_Binding] | None = None
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
        if bindings is None:
            return []  # most calls: a name bound outside the function, a method
        found: list[Function] = []
        for binding in bindings:
            if binding.kind != "value":
                continue
            value = self.binding(binding)
            if value is None or value.function is None:
                return []
            if value.function not in found:
                found.append(value.function)
        return found

    def dispatched(
        self: _Resolving, fn: Function, node: ast.Call
    ) -> tuple[str, list[Function]] | None:
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

    def slot(self: _Resolving, fn: Function, func: ast.expr) -> tuple[str, str, str] | None:
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
        self: _Resolving, fn: Function, call: ast.Call, argument: ast.expr
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
