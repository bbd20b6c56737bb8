"""The one walk of a module: defines, binds and collects call sites."""

from __future__ import annotations

import ast

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
from ambidex._callgraph._slim import NAME_OR_CONSTANT
from ambidex._names import import_bindings, is_package_path


class _Indexer:
    """The one walk of a module: defines, binds and collects call sites."""

    def __init__(
        self, functions: dict[str, Function], classes: dict[str, Class], module: Module
    ) -> None:
        self.functions = functions
        self.classes = classes
        self.module = module
        self.globals: dict[int, set[str]] = {}
        """Per function (by id): the names its ``global`` statements declare."""

    def run(self) -> None:
        for stmt in self.module.tree.body:
            self.stmt(stmt, None, None, "", False)

    # scope helpers
    def bind(self, fn: Function | None, cls: Class | None, name: str, b: _Binding) -> None:
        if fn is not None and name in self.globals.get(id(fn), ()):
            self.module.symbols.setdefault(name, []).append(b)  # `global _conn`
        elif fn is not None:
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
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.function(node, fn, cls, prefix, tc)
        elif isinstance(node, ast.ClassDef):
            for expr in (*node.decorator_list, *node.bases, *(k.value for k in node.keywords)):
                self.expr(expr, fn, tc, None, None)
            qualname = prefix + node.name
            klass = Class(f"{self.module.name}:{qualname}", self.module, qualname, node)
            self.classes[klass.key] = klass
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
        elif isinstance(node, ast.Global):
            if fn is not None:
                self.globals.setdefault(id(fn), set()).update(node.names)
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
            self.bind_target(
                node.target, fn, cls, _Binding("item", self.scope_of(fn, cls), expr=node.iter)
            )
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
        self.functions[fn.key] = fn
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
            self.bind(fn, cls, local, _Binding("import", None, dotted=dotted))

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
        if type(node) in NAME_OR_CONSTANT:
            return  # leaves: half of all expressions, nothing to record
        if isinstance(node, ast.Attribute):
            self.expr(node.value, fn, tc, offload, lam)  # its one child
            return
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
                    self.bind_target(comp.target, fn, None, _Binding("item", fn, expr=comp.iter))
                for cond in comp.ifs:
                    self.expr(cond, fn, tc, offload, lam)
            if isinstance(node, ast.DictComp):
                self.expr(node.key, fn, tc, offload, lam)
                self.expr(node.value, fn, tc, offload, lam)
            else:
                self.expr(node.elt, fn, tc, offload, lam)
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict)) and not store:
            # A function put in a container escapes: whoever takes it out calls it.
            elements = node.values if isinstance(node, ast.Dict) else node.elts
            for element in elements:
                value = element.value if isinstance(element, ast.Starred) else element
                if fn is not None and isinstance(value, (ast.Name, ast.Attribute)):
                    fn._pending.append(
                        _Pending(CallKind.REF, value, tc, None, lam, container=node)
                    )
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child, fn, tc, offload, lam)
        elif isinstance(node, ast.NamedExpr):
            self.expr(node.value, fn, tc, offload, lam)
            if fn is not None:
                binding = _Binding("value", fn, expr=node.value)
                fn.locals.setdefault(node.target.id, []).append(binding)
        else:
            for child in _expr_children(node):
                self.expr(child, fn, tc, offload, lam)

    def lambda_(
        self, node: ast.Lambda, fn: Function | None, tc: bool, offload: ast.Call | None
    ) -> None:
        if fn is not None:
            for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
                fn.locals.setdefault(arg.arg, []).append(_UNKNOWN)
        self.expr(node.body, fn, tc, offload, node)


#: Per node class: the fields that may hold expressions (filled on first use).
_EXPR_FIELDS: dict[type, tuple[str, ...]] = {}


def _expr_children(node: ast.AST) -> list[ast.expr]:
    """The expressions directly under ``node``, in :func:`ast.iter_child_nodes`'
    order, without its generator and ``iter_fields`` per node: the indexer
    visits millions of nodes, and this was a third of its time."""
    kind = type(node)
    fields = _EXPR_FIELDS.get(kind)
    if fields is None:
        fields = _EXPR_FIELDS[kind] = tuple(
            name for name in kind._fields if name not in ("ctx", "op", "id", "attr", "arg")
        )
    children: list[ast.expr] = []
    for name in fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.expr):
            children.append(value)
        elif isinstance(value, list):
            children.extend(item for item in value if isinstance(item, ast.expr))
    return children
