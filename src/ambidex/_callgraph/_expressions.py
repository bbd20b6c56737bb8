"""What an expression evaluates to: the type inference of the port.

Names and attributes are asked of :mod:`._bindings`; a call's value is its
callee's result -- an analysed class's instance, a function's annotated
return type or, unannotated, what its ``return`` statements give (helper
return values, closures handed back), a generator object, or a table row's
``returns``. Annotations are read here too (``X | None``, ``Optional``,
``list[T]``, ``Self``, strings). Literals and displays are builtins or
containers of the items they show; their items are :mod:`._items`' business.
Memoised per (node, scope), with the call-site indexing phase's memo kept
apart (see :mod:`._params`).
"""

from __future__ import annotations

import ast

from ambidex._callgraph._callables import _PARTIAL, _PARTIAL_BARE, _PARTIAL_NAMES
from ambidex._callgraph._items import _CONTAINERS, _ITEM_METHODS, _SAME_ITEMS
from ambidex._callgraph._model import (
    _UNSEEN,
    BYTES_VALUE,
    GENERATOR_OF,
    ITEMS_OF,
    STR_VALUE,
    Class,
    Function,
    Module,
    _Val,
    own_returns,
)
from ambidex._callgraph._resolving import _Resolving

#: :meth:`_Expressions.eval`'s own cases, per node class (a parser class or
#: its slotted twin), filled on first sight; anything else goes to ``_eval``.
_NAME, _ATTRIBUTE, _OTHER = 1, 2, 0
#: The methods whose result is an item of the receiver, or the receiver's items.
_ITEM_OR_SAME = _ITEM_METHODS | _SAME_ITEMS
_SIMPLE: dict[type, int] = {}


def _simple_kind(kind: type) -> int:
    if issubclass(kind, ast.Name):
        return _NAME
    if issubclass(kind, ast.Attribute):
        return _ATTRIBUTE
    return _OTHER


class _Expressions:
    """Expressions, call results, return values, annotations (a part of the resolver)."""

    def eval(
        self: _Resolving, node: ast.expr, scope: Function | Module | Class | None
    ) -> _Val | None:
        """What ``node`` evaluates to in ``scope``, remembered per (node, scope).

        Like :meth:`binding`'s, the memo of the indexing phase is its own.
        Keyed by the objects themselves (nodes and scopes hash by identity): no
        key to build per question, and a node parsed for the occasion (a string
        annotation) stays alive while its value is remembered, so its address
        is never taken by another node that would find that value.
        """
        evals = self._indexing_evals if self._indexing else self._evals
        memo = evals.get(scope)
        if memo is None:
            memo = evals[scope] = {}
        value = memo.get(node, _UNSEEN)
        if value is _UNSEEN:
            # Names and attributes are five in six of the expressions asked
            # about: taken here, without :meth:`_eval`'s chain of tests.
            kind = _SIMPLE.get(type(node))
            if kind is None:
                kind = _SIMPLE[type(node)] = _simple_kind(type(node))
            if kind == _NAME:  # (the kind says which node class: no isinstance)
                value = self.lookup(node.id, scope)  # type: ignore[attr-defined]
            elif kind == _ATTRIBUTE:
                attribute: ast.Attribute = node  # type: ignore[assignment]
                base = self.eval(attribute.value, scope)
                value = self.member(base, attribute.attr) if base is not None else None
            else:
                value = self._eval(node, scope)
            memo[node] = value
        return value

    def _eval(
        self: _Resolving, node: ast.expr, scope: Function | Module | Class | None
    ) -> _Val | None:
        # Calls and constants first: three in four of the nodes asked here
        # (names and attributes are eval's own); each class is one case.
        if isinstance(node, ast.Call):
            func = node.func
            called = self.eval(func, scope) if node.args else None
            # (The names first: comparing whole values costs a tuple of every field.)
            if (
                called is not None
                and called.dotted in _PARTIAL_NAMES
                and called in (_PARTIAL, _PARTIAL_BARE)
            ):
                # functools.partial(f, ...) is called as f is: same colour.
                wrapped = self.eval(node.args[0], scope)
                if wrapped is not None and wrapped.function is not None:
                    return _Val(function=wrapped.function)
            if isinstance(func, ast.Attribute) and func.attr in self._by_argument and node.args:
                first = self.eval(node.args[0], scope)
                for rule in self._by_argument[func.attr]:
                    if first is not None and first.instance == rule.match_arg and rule.returns:
                        return _Val(instance=rule.returns)
            if isinstance(func, ast.Attribute) and func.attr in _ITEM_OR_SAME:
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
        if isinstance(node, ast.Constant):
            constant = node.value
            if isinstance(constant, str):
                return STR_VALUE
            return BYTES_VALUE if isinstance(constant, bytes) else None
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
            return STR_VALUE
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
        return None

    def result(self: _Resolving, callee: _Val | None) -> _Val | None:
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

    def returned(self: _Resolving, function: Function) -> _Val | None:
        """What an unannotated function returns, from its ``return`` statements:
        the first that tells (``return socket.create_connection(...)``)."""
        key = function.key
        returns = self._indexing_returns if self._indexing else self._returns
        if key in returns:
            return returns[key]
        returns[key] = None  # a recursive function tells nothing more
        found: _Val | None = None
        for node in own_returns(function.node):
            if node.value is not None:
                value = self.eval(node.value, function)
                if value is not None and (value.instance or value.elements):
                    found = _Val(instance=value.instance, elements=value.elements)
                    break
                if value is not None and value.function is not None:
                    found = _Val(function=value.function)  # a closure handed back
                    break
        returns[key] = found
        return found

    def annotation(
        self: _Resolving, node: ast.expr, scope: Function | Module | Class | None
    ) -> str | None:
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
