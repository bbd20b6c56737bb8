"""Which class body defines a name: bases, method resolution order, attributes
and overrides.

A class's bases are evaluated once; its methods are found along a
breadth-first walk of them (enough for the single and simple multiple
inheritance clients use); an attribute (``self.x = ...`` anywhere in the
class) is typed from the first binding that tells, in the class, its bases,
or -- set only by subclasses -- its analysed subclasses. ``self.m()`` may run
an override of ``m``: :meth:`_Classes.overrides` lists them, which is how a
subclass's method shares the colour of the one it replaces, and
:meth:`_Classes.dispatch` every ``m`` the instance's class may have.
"""

from __future__ import annotations

from collections.abc import Iterator

from ambidex._callgraph._model import GENERATOR_OF, Class, Function, _Val
from ambidex._callgraph._resolving import _Resolving


class _Classes:
    """Bases, MRO, methods, attributes and overrides (a part of the resolver)."""

    _overrides: dict[str, list[Class]] | None
    """Analysed subclasses by base class key, found on the first question."""
    _dispatch: dict[tuple[str, str], list[Function]]
    """:meth:`dispatch`'s answers, by (class key, method name)."""

    _mros: dict[Class, list[Class]]
    """:meth:`mro`'s whole answers, by class (made of complete base lists only)."""
    _basing: set[Class]
    """The classes whose bases are being evaluated (their lists still growing)."""

    def bases(self: _Resolving, cls: Class) -> list[Class]:
        if cls._bases is None:
            cls._bases = []
            self._basing.add(cls)
            try:
                for base in cls.node.bases:
                    value = self.eval(base, cls.module)
                    if value is not None and value.cls is not None and value.cls is not cls:
                        cls._bases.append(value.cls)
            finally:
                self._basing.discard(cls)
        return cls._bases

    def mro(self: _Resolving, cls: Class) -> Iterator[Class]:
        """``cls`` and its bases, breadth first, each once. Lazy: a base's
        bases are evaluated when the walk goes past it (most questions stop
        at the class itself or its first base). Once a walk went to the end
        with every base list complete, the order is remembered: walking it
        again evaluates nothing either way, so the list answers (a class's
        MRO is asked ~750k times over a site-packages, by a few thousand
        classes)."""
        known = self._mros.get(cls)
        if known is not None:
            return iter(known)
        return self._mro(cls)

    def _mro(self: _Resolving, cls: Class) -> Iterator[Class]:
        seen: set[str] = set()
        todo = [cls]
        order: list[Class] = []
        whole = True
        while todo:
            current = todo.pop(0)
            if current.key in seen:
                continue
            seen.add(current.key)
            order.append(current)
            yield current
            todo.extend(self.bases(current))
            if current in self._basing:
                whole = False  # read while its bases are evaluated: the list may still grow
        if whole:
            self._mros[cls] = order

    def method(self: _Resolving, cls: Class, name: str, skip_self: bool = False) -> Function | None:
        if not skip_self:
            # Most methods asked for are the class's own, most classes have no
            # analysed base: no walk (the bases are evaluated when the walk would).
            found = cls.methods.get(name)
            if found is not None:
                return found
            if not self.bases(cls):
                return None
        for klass in self.mro(cls):
            if skip_self and klass is cls:
                continue
            found = klass.methods.get(name)
            if found is not None:
                return found
        return None

    def attr_type(self: _Resolving, cls: Class, name: str) -> _Val | None:
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

    def overrides(self: _Resolving, cls: Class, name: str) -> list[Function]:
        """Methods ``name`` of the analysed subclasses of ``cls`` (overrides)."""
        if self._overrides is None:
            self._overrides = {}
            for klass in self.classes.values():
                for base in list(self.mro(klass))[1:]:
                    self._overrides.setdefault(base.key, []).append(klass)
        return [
            sub.methods[name] for sub in self._overrides.get(cls.key, ()) if name in sub.methods
        ]

    def subclasses(self: _Resolving, cls: Class) -> list[Class]:
        """The analysed classes that have ``cls`` among their bases, at any depth."""
        if self._overrides is None:
            self.overrides(cls, "")
        assert self._overrides is not None
        return self._overrides.get(cls.key, [])

    def dispatch(self: _Resolving, cls: Class, name: str) -> list[Function]:
        """Every method ``name`` that ``self.name()`` in ``cls`` may run: the
        one ``cls`` has, and the one each analysed subclass has -- its own
        override, or what it inherits, from a sibling base too (a mixin
        calling what the class it is mixed into supplies). In the order of
        the classes; each once."""
        key = (cls.key, name)
        found = self._dispatch.get(key)
        if found is None:
            found = []
            for klass in (cls, *self.subclasses(cls)):
                method = self.method(klass, name)
                if method is not None and method not in found:
                    found.append(method)
            self._dispatch[key] = found
        return found

    def entered(self: _Resolving, type_: str) -> _Val | None:
        """What ``with x as y`` binds to y: ``__enter__``'s annotation, else x
        itself; unknown for a generator object: it has no ``__enter__``, so the
        generator function is a ``@contextmanager`` and y is what it yields
        (pymemcache's ``with pool.get_and_release() as client``)."""
        if type_.startswith(GENERATOR_OF):
            return None
        cls = self.classes.get(type_)
        if cls is not None:
            enter = self.method(cls, "__enter__")
            returns = enter.node.returns if enter is not None else None
            if returns is not None and enter is not None:
                annotated = self.annotation(returns, enter)
                if annotated:
                    return _Val(instance=annotated)
        return _Val(instance=type_)
