"""What a name denotes: scopes, bindings, imports and members.

A name is looked up in the enclosing functions, then the module; its bindings
(``x = ...``, ``x: T``, ``for x in ...``, an import, a parameter) are
evaluated lazily and remembered, the first that tells winning. ``a.b`` is a
member of what ``a`` denotes: a module's symbol or submodule, a class's method
or attribute, an instance's. Everything else the value of a binding needs --
an expression's type, a container's item, a parameter's type from its call
sites -- is asked of the other parts (see :mod:`._resolving`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ambidex._callgraph._items import _BUILTIN_CONTAINERS
from ambidex._callgraph._model import _UNSEEN, Class, Function, Module, _Binding, _Val
from ambidex._callgraph._params import _WHICH_CODE
from ambidex._callgraph._resolving import _Resolving


class _Bindings:
    """What names, dotted names and members denote (a part of the resolver)."""

    def module_named(self: _Resolving, dotted: str) -> Module | None:
        found = self.by_name.get(dotted)
        if found is not None:
            return found
        candidates = self.by_suffix.get(dotted)
        return candidates[0] if candidates else None

    def lookup(self: _Resolving, name: str, scope: Function | Module | Class | None) -> _Val | None:
        # Scopes are tested by exact type (none of the three is subclassed):
        # this runs for every name the resolver meets.
        module: Module | None
        if type(scope) is Function:
            fn: Function | None = scope
            while fn is not None:
                bindings = fn.locals.get(name)
                if bindings is not None:
                    if type(bindings) is _Binding:  # bound once (a slim build's)
                        return self.binding(bindings)
                    if len(bindings) == 1:  # first()'s answer for one binding
                        return self.binding(bindings[0])
                    return self.first(bindings)
                fn = fn.parent
            module = scope.module
        elif type(scope) is Class:
            module = scope.module
        elif type(scope) is Module:
            module = scope
        else:
            module = None
        if module is not None:
            bindings = module.symbols.get(name)
            if bindings is not None:
                if type(bindings) is _Binding:
                    return self.binding(bindings)
                if len(bindings) == 1:
                    return self.binding(bindings[0])
                return self.first(bindings)
        # A builtin: open, next, input... (one value per name: ~40k such
        # questions on a site-packages, about 2k names).
        value = self._builtins.get(name)
        if value is None:
            value = self._builtins[name] = _Val(dotted=name)
        return value

    def first(self: _Resolving, bindings: Sequence[_Binding]) -> _Val | None:
        """The first binding that tells; a bare builtin container (``x = []``)
        gives way to a later binding that says what it holds."""
        if type(bindings) is _Binding:  # bound once (a slim build's): the loop below
            return self.binding(bindings)
        if len(bindings) == 1:  # most names: the loop below, for one binding
            return self.binding(bindings[0])
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

    def binding(self: _Resolving, b: _Binding) -> _Val | None:
        # Values seen while indexing call sites may be partial: a memo of their own.
        # Keyed by the binding itself (bindings hash by identity).
        memo = self._indexing_memo if self._indexing else self._memo
        value = memo.get(b, _UNSEEN)
        if value is not _UNSEEN:
            return value
        busy = self._busy
        if b in busy:
            return None
        busy.add(b)
        try:
            value = self._binding(b)
        finally:
            busy.discard(b)
        memo[b] = value
        return value

    def _binding(self: _Resolving, b: _Binding) -> _Val | None:
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
                if b.position < len(whole.elements) and whole.elements[b.position]:
                    return _Val(instance=whole.elements[b.position])
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

    def dotted(self: _Resolving, dotted: str) -> _Val:
        # The longest prefix (of whole parts) that names an analysed module,
        # then its members; the prefixes are cut from the string itself
        # (asked for every import a tree binds: ~70k on a site-packages).
        by_name, by_suffix = self.by_name, self.by_suffix
        prefix = dotted
        while True:
            module = by_name.get(prefix)
            if module is None:
                candidates = by_suffix.get(prefix)
                if candidates:
                    module = candidates[0]
            if module is not None:
                value: _Val | None = _Val(module=module)
                if len(prefix) < len(dotted):
                    for part in dotted[len(prefix) + 1 :].split("."):
                        value = self.member(value, part) if value is not None else None
                return value if value is not None else _Val(dotted=dotted)
            cut = prefix.rfind(".")
            if cut < 0:
                return _Val(dotted=dotted)
            prefix = prefix[:cut]

    def member(self: _Resolving, value: _Val, attr: str) -> _Val | None:
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
