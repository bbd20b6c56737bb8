"""The one walk of a module: defines, binds and collects call sites."""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import cast

from ambidex._callgraph._model import (
    _UNKNOWN,
    CallKind,
    Class,
    Function,
    Module,
    _Binding,
    _is_type_checking,
    _Pending,
    spelled,
)
from ambidex._callgraph._slim import NAME_OR_CONSTANT, PLAIN_FIELDS
from ambidex._names import import_bindings, is_package_path


def _add(scope: dict[str, Sequence[_Binding]], name: str, b: _Binding) -> None:
    """Bind ``name`` in ``scope`` to ``b`` too (after its other bindings)."""
    # A name's first binding starts a list of one (most names have one):
    # a list grown by append from empty holds room for four.
    bindings = scope.get(name)
    if bindings is None:
        scope[name] = [b]
    else:
        cast("list[_Binding]", bindings).append(b)  # (a list until the walk is over)


class _Indexer:
    """The one walk of a module: defines, binds and collects call sites."""

    def __init__(
        self, functions: dict[str, Function], classes: dict[str, Class], module: Module,
        imports: dict[str, _Binding] | None = None,
    ) -> None:
        self.functions = functions
        self.classes = classes
        self.module = module
        self.shared_imports = imports
        """Dotted name -> the one import binding of it, for all the modules of a
        build (a slim build's: see :func:`ambidex._callgraph.build`); None: one
        binding per import statement."""
        self.globals: dict[int, set[str]] = {}
        """Per function (by id): the names its ``global`` statements declare."""
        self.made_functions: list[Function] = []
        """Every function the walk defined, in order: a name defined twice in
        one scope keeps the last in ``functions``, but the first is still
        referred to (by the bindings)."""
        self.made_classes: list[Class] = []
        """Every class the walk defined, in order (as ``made_functions``)."""

    def run(self) -> None:
        for stmt in self.module.tree.body:
            self.stmt(stmt, None, None, "", False)

    # scope helpers
    def bind(self, fn: Function | None, cls: Class | None, name: str, b: _Binding) -> None:
        if fn is not None and name in self.globals.get(id(fn), ()):
            scope = self.module.symbols  # `global _conn`
        elif fn is not None:
            scope = fn.locals
        elif cls is not None:
            scope = cls.attrs
        else:
            scope = self.module.symbols
        _add(scope, name, b)

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
            _add(fn.cls.attrs, target.attr, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for index, element in enumerate(target.elts):
                part = _UNKNOWN
                if value.kind == "value" and not any(
                    isinstance(e, ast.Starred) for e in target.elts
                ):
                    part = _Binding("element", value.scope, expr=value.expr, index=index)
                self.bind_target(element, fn, cls, part)
        elif isinstance(target, ast.Starred):
            self.bind_target(target.value, fn, cls, _UNKNOWN)

    def scope_of(self, fn: Function | None, cls: Class | None) -> Function | Module | Class:
        return fn if fn is not None else cls if cls is not None else self.module

    def stmt(
        self, node: ast.stmt, fn: Function | None, cls: Class | None, prefix: str, tc: bool
    ) -> None:
        kind = type(node)
        handler = _STMT_HANDLERS.get(kind)
        if handler is None:
            handler = _STMT_HANDLERS[kind] = _stmt_handler(kind)
        handler(self, node, fn, cls, prefix, tc)

    def def_(
        self, node: ast.stmt, fn: Function | None, cls: Class | None, prefix: str, tc: bool
    ) -> None:
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        self.function(node, fn, cls, prefix, tc)

    def class_(
        self, node: ast.stmt, fn: Function | None, cls: Class | None, prefix: str, tc: bool
    ) -> None:
        assert isinstance(node, ast.ClassDef)
        for expr in (*node.decorator_list, *node.bases, *(k.value for k in node.keywords)):
            self.expr(expr, fn, tc, None, None)
        qualname = prefix + node.name
        klass = Class(f"{self.module.name}:{qualname}", self.module, qualname, node)
        self.classes[klass.key] = klass
        self.made_classes.append(klass)
        if cls is not None:
            cls.classes[node.name] = klass
        self.bind(fn, cls, node.name, _Binding("class", None, cls=klass))
        for child in node.body:
            self.stmt(child, fn, klass, qualname + ".", tc)

    def imports(
        self, node: ast.stmt, fn: Function | None, cls: Class | None, prefix: str, tc: bool
    ) -> None:
        assert isinstance(node, (ast.Import, ast.ImportFrom))
        if fn is None and cls is None:
            self.module.imports.append(node)
        self.import_(node, fn, cls)

    def if_(
        self, node: ast.stmt, fn: Function | None, cls: Class | None, prefix: str, tc: bool
    ) -> None:
        assert isinstance(node, ast.If)
        if not _is_type_checking(node.test):
            self.other(node, fn, cls, prefix, tc)
            return
        for child in node.body:
            self.stmt(child, fn, cls, prefix, True)
        for child in node.orelse:
            self.stmt(child, fn, cls, prefix, tc)

    def global_(
        self, node: ast.stmt, fn: Function | None, cls: Class | None, prefix: str, tc: bool
    ) -> None:
        assert isinstance(node, ast.Global)
        if fn is not None:
            self.globals.setdefault(id(fn), set()).update(node.names)

    def assign(
        self, node: ast.stmt, fn: Function | None, cls: Class | None, prefix: str, tc: bool
    ) -> None:
        assert isinstance(node, ast.Assign)
        self.expr(node.value, fn, tc, None, None)
        binding = _Binding("value", self.scope_of(fn, cls), expr=node.value)
        for target in node.targets:
            self.bind_target(target, fn, cls, binding)
            self.expr(target, fn, tc, None, None, store=True)

    def ann_assign(
        self, node: ast.stmt, fn: Function | None, cls: Class | None, prefix: str, tc: bool
    ) -> None:
        assert isinstance(node, ast.AnnAssign)
        if node.value is not None:
            self.expr(node.value, fn, tc, None, None)
        scope = self.scope_of(fn, cls)
        self.bind_target(node.target, fn, cls, _Binding("annotation", scope, node.annotation))
        if node.value is not None:
            self.bind_target(node.target, fn, cls, _Binding("value", scope, node.value))

    def with_(
        self, node: ast.stmt, fn: Function | None, cls: Class | None, prefix: str, tc: bool
    ) -> None:
        assert isinstance(node, (ast.With, ast.AsyncWith))
        for item in node.items:
            self.expr(item.context_expr, fn, tc, None, None)
            if fn is not None:
                fn._pending.append(_Pending(CallKind.WITH, item, tc, None, None) if tc else item)
            if item.optional_vars is not None:
                self.bind_target(
                    item.optional_vars,
                    fn,
                    cls,
                    _Binding("enter", self.scope_of(fn, cls), item.context_expr),
                )
        for child in node.body:
            self.stmt(child, fn, cls, prefix, tc)

    def for_(
        self, node: ast.stmt, fn: Function | None, cls: Class | None, prefix: str, tc: bool
    ) -> None:
        assert isinstance(node, (ast.For, ast.AsyncFor))
        self.expr(node.iter, fn, tc, None, None)
        if fn is not None:
            fn._pending.append(_Pending(CallKind.FOR, node, tc, None, None) if tc else node)
        self.bind_target(
            node.target, fn, cls, _Binding("item", self.scope_of(fn, cls), expr=node.iter)
        )
        for child in (*node.body, *node.orelse):
            self.stmt(child, fn, cls, prefix, tc)

    def return_(
        self, node: ast.stmt, fn: Function | None, cls: Class | None, prefix: str, tc: bool
    ) -> None:
        assert isinstance(node, ast.Return)
        if node.value is not None:
            self.ref(node.value, fn, tc, None, None)
        self.other(node, fn, cls, prefix, tc)

    def other(
        self, node: ast.stmt, fn: Function | None, cls: Class | None, prefix: str, tc: bool
    ) -> None:
        """Any other statement: its blocks, expressions and other parts, in field order."""
        for field_name, is_target in _fields_of(type(node)):
            value = getattr(node, field_name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, ast.stmt):
                        self.stmt(item, fn, cls, prefix, tc)
                    elif isinstance(item, ast.AST):
                        self.generic(item, fn, tc)
            elif isinstance(value, ast.expr):
                self.expr(value, fn, tc, None, None, store=is_target)
            elif isinstance(value, ast.AST):
                self.generic(value, fn, tc)

    def generic(self, node: ast.AST, fn: Function | None, tc: bool) -> None:
        # except handlers, match cases, arguments, keywords...
        if isinstance(node, ast.ExceptHandler):
            if node.type is not None:
                self.expr(node.type, fn, tc, None, None)
            if node.name is not None and fn is not None:
                _add(fn.locals, node.name, _UNKNOWN)
            for stmt in node.body:
                self.stmt(stmt, fn, None, "", tc)
            return
        for field_name, _ in _fields_of(type(node)):
            value = getattr(node, field_name, None)
            for child in value if type(value) is list else (value,):
                if isinstance(child, ast.stmt):
                    self.stmt(child, fn, None, "", tc)
                elif isinstance(child, ast.expr):
                    self.expr(child, fn, tc, None, None)
                elif isinstance(child, ast.AST):
                    self.generic(child, fn, tc)

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
        fn.decorators = tuple(
            spelled(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list
        )
        # Two functions with one name in one scope (a property's setter,
        # overloads): the last one wins, as at run time.
        self.functions[fn.key] = fn
        self.made_functions.append(fn)
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
                fn.locals[arg.arg] = [_Binding("annotation", fn, arg.annotation, dotted=arg.arg)]
            else:
                fn.locals[arg.arg] = [_Binding("param", fn, dotted=arg.arg, function=fn)]
        for extra in (args.vararg, args.kwarg):
            if extra is not None:
                fn.locals[extra.arg] = [_UNKNOWN]
        for stmt in node.body:
            self.stmt(stmt, fn, None, qualname + ".<locals>.", tc)

    def import_(
        self, node: ast.Import | ast.ImportFrom, fn: Function | None, cls: Class | None
    ) -> None:
        is_package = is_package_path(self.module.path)
        for local, dotted, _, _ in import_bindings(
            node, self.module.name, is_package, above_top="name"
        ):
            imports = self.shared_imports
            if imports is None:
                self.bind(fn, cls, local, _Binding("import", None, dotted=dotted))
                continue
            binding = imports.get(dotted)
            if binding is None:  # (what an import binds depends on its dotted name alone)
                binding = imports[dotted] = _Binding("import", None, dotted=dotted)
            self.bind(fn, cls, local, binding)

    def ref(
        self,
        node: ast.expr,
        fn: Function | None,
        tc: bool,
        offload: ast.Call | None,
        lam: ast.Lambda | None,
    ) -> None:
        """A reference to what ``node`` names (a callback?): ``offload`` is the
        call ``node`` is an argument of (None: returned)."""
        if fn is not None and isinstance(node, (ast.Name, ast.Attribute)):
            if offload is None or tc or lam is not None:
                fn._pending.append(_Pending(CallKind.REF, node, tc, offload, lam))
            else:  # an argument of ``offload``: the record would say no more (_Pending)
                fn._pending.append(node)

    def expr(
        self,
        node: ast.expr,
        fn: Function | None,
        tc: bool,
        offload: ast.Call | None,
        lam: ast.Lambda | None,
        store: bool = False,
    ) -> None:
        kind = type(node)
        if kind in NAME_OR_CONSTANT:
            return  # leaves: half of all expressions, nothing to record
        handler = _EXPR_HANDLERS.get(kind)
        if handler is None:
            handler = _EXPR_HANDLERS[kind] = _expr_handler(kind)
        handler(self, node, fn, tc, offload, lam, store)

    def attribute(
        self, node: ast.expr, fn: Function | None, tc: bool, offload: ast.Call | None,
        lam: ast.Lambda | None, store: bool,
    ) -> None:
        assert isinstance(node, ast.Attribute)
        value = node.value  # its one child
        if type(value) not in NAME_OR_CONSTANT:
            self.expr(value, fn, tc, offload, lam)

    def call(
        self, node: ast.expr, fn: Function | None, tc: bool, offload: ast.Call | None,
        lam: ast.Lambda | None, store: bool,
    ) -> None:
        assert isinstance(node, ast.Call)
        if fn is not None:
            if tc or offload is not None or lam is not None:
                fn._pending.append(_Pending(CallKind.CALL, node, tc, offload, lam))
            else:  # (most calls: see _Pending)
                fn._pending.append(node)
        self.expr(node.func, fn, tc, offload, lam)
        keywords = node.keywords  # (most calls have none: no tuple, no generator)
        for arg in [*node.args, *[k.value for k in keywords]] if keywords else node.args:
            value = arg.value if isinstance(arg, ast.Starred) else arg
            kind = type(value)
            if kind in NAME_OR_CONSTANT:
                # A name handed on (a callback?); a constant is nothing to record.
                if fn is not None and isinstance(value, ast.Name):
                    if tc or lam is not None:
                        fn._pending.append(_Pending(CallKind.REF, value, tc, node, lam))
                    else:  # an argument of this call: the record would say no more
                        fn._pending.append(value)
            elif isinstance(value, ast.Lambda):
                self.lambda_(value, fn, tc, node)
            else:
                self.ref(value, fn, tc, node, lam)
                self.expr(value, fn, tc, offload, lam)

    def lambda_expr(
        self, node: ast.expr, fn: Function | None, tc: bool, offload: ast.Call | None,
        lam: ast.Lambda | None, store: bool,
    ) -> None:
        assert isinstance(node, ast.Lambda)
        self.lambda_(node, fn, tc, offload)

    def yield_(
        self, node: ast.expr, fn: Function | None, tc: bool, offload: ast.Call | None,
        lam: ast.Lambda | None, store: bool,
    ) -> None:
        assert isinstance(node, (ast.Yield, ast.YieldFrom))
        if fn is not None and lam is None:
            fn.is_generator = True
        if node.value is not None:
            self.expr(node.value, fn, tc, offload, lam)

    def comprehension(
        self, node: ast.expr, fn: Function | None, tc: bool, offload: ast.Call | None,
        lam: ast.Lambda | None, store: bool,
    ) -> None:
        assert isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp))
        for comp in node.generators:
            self.expr(comp.iter, fn, tc, offload, lam)
            if fn is not None:
                if tc or offload is not None or lam is not None:
                    fn._pending.append(_Pending(CallKind.FOR, comp, tc, offload, lam))
                else:
                    fn._pending.append(comp)
                self.bind_target(comp.target, fn, None, _Binding("item", fn, expr=comp.iter))
            for cond in comp.ifs:
                self.expr(cond, fn, tc, offload, lam)
        if isinstance(node, ast.DictComp):
            self.expr(node.key, fn, tc, offload, lam)
            self.expr(node.value, fn, tc, offload, lam)
        else:
            self.expr(node.elt, fn, tc, offload, lam)

    def display(
        self, node: ast.expr, fn: Function | None, tc: bool, offload: ast.Call | None,
        lam: ast.Lambda | None, store: bool,
    ) -> None:
        assert isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict))
        if store:  # a target (a, b = ...): nothing escapes
            self.children(node, fn, tc, offload, lam, store)
            return
        # A function put in a container escapes: whoever takes it out calls it.
        elements = node.values if isinstance(node, ast.Dict) else node.elts
        for element in elements:
            value = element.value if isinstance(element, ast.Starred) else element
            if fn is not None and isinstance(value, (ast.Name, ast.Attribute)):
                fn._pending.append(_Pending(CallKind.REF, value, tc, None, lam, container=node))
        self.children(node, fn, tc, offload, lam, store)

    def named(
        self, node: ast.expr, fn: Function | None, tc: bool, offload: ast.Call | None,
        lam: ast.Lambda | None, store: bool,
    ) -> None:
        assert isinstance(node, ast.NamedExpr)
        self.expr(node.value, fn, tc, offload, lam)
        if fn is not None:
            binding = _Binding("value", fn, expr=node.value)
            _add(fn.locals, node.target.id, binding)

    def children(
        self, node: ast.expr, fn: Function | None, tc: bool, offload: ast.Call | None,
        lam: ast.Lambda | None, store: bool,
    ) -> None:
        """Any other expression: the expressions directly under it, in field order."""
        for field_name, _ in _fields_of(type(node)):
            value = getattr(node, field_name, None)
            if type(value) is list:
                for item in value:
                    if type(item) not in NAME_OR_CONSTANT and isinstance(item, ast.expr):
                        self.expr(item, fn, tc, offload, lam)
            elif type(value) not in NAME_OR_CONSTANT and isinstance(value, ast.expr):
                self.expr(value, fn, tc, offload, lam)

    def lambda_(
        self, node: ast.Lambda, fn: Function | None, tc: bool, offload: ast.Call | None
    ) -> None:
        if fn is not None:
            for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
                _add(fn.locals, arg.arg, _UNKNOWN)
        self.expr(node.body, fn, tc, offload, node)


_StmtHandler = Callable[[_Indexer, ast.stmt, Function | None, Class | None, str, bool], None]
_ExprHandler = Callable[
    [_Indexer, ast.expr, Function | None, bool, ast.Call | None, ast.Lambda | None, bool], None
]

#: Per statement class, the indexer's method for it (filled on first sight):
#: the walk visits millions of nodes, and a chain of ``isinstance`` tests per
#: node was a third of its time.
_STMT_HANDLERS: dict[type, _StmtHandler] = {}
#: The same for expressions (``Name`` and ``Constant``, half of them, never get here).
_EXPR_HANDLERS: dict[type, _ExprHandler] = {}


def _stmt_handler(kind: type) -> _StmtHandler:
    """The method for statements of class ``kind`` (a parser class or its slotted twin)."""
    if issubclass(kind, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return _Indexer.def_
    if issubclass(kind, ast.ClassDef):
        return _Indexer.class_
    if issubclass(kind, (ast.Import, ast.ImportFrom)):
        return _Indexer.imports
    if issubclass(kind, ast.If):
        return _Indexer.if_
    if issubclass(kind, ast.Global):
        return _Indexer.global_
    if issubclass(kind, ast.Assign):
        return _Indexer.assign
    if issubclass(kind, ast.AnnAssign):
        return _Indexer.ann_assign
    if issubclass(kind, (ast.With, ast.AsyncWith)):
        return _Indexer.with_
    if issubclass(kind, (ast.For, ast.AsyncFor)):
        return _Indexer.for_
    if issubclass(kind, ast.Return):
        return _Indexer.return_
    return _Indexer.other


def _expr_handler(kind: type) -> _ExprHandler:
    """The method for expressions of class ``kind`` (a parser class or its slotted twin)."""
    if issubclass(kind, ast.Attribute):
        return _Indexer.attribute
    if issubclass(kind, ast.Call):
        return _Indexer.call
    if issubclass(kind, ast.Lambda):
        return _Indexer.lambda_expr
    if issubclass(kind, (ast.Yield, ast.YieldFrom)):
        return _Indexer.yield_
    if issubclass(kind, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        return _Indexer.comprehension
    if issubclass(kind, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
        return _Indexer.display
    if issubclass(kind, ast.NamedExpr):
        return _Indexer.named
    return _Indexer.children


#: Per node class: its fields that may hold a node or a list of nodes, in
#: order, each with whether it is an assignment's target (filled on first use).
_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {}


def _fields_of(kind: type) -> tuple[tuple[str, bool], ...]:
    """The fields :func:`ast.iter_child_nodes` would look in, in its order,
    without the ones that hold a name, a number or a shared operator."""
    fields = _FIELDS.get(kind)
    if fields is None:
        fields = _FIELDS[kind] = tuple(
            (name, name == "target")
            for name in getattr(kind, "_fields", ())
            if name not in PLAIN_FIELDS
        )
    return fields
