"""What a container holds: the flow of items through lists, dicts, pools and
queues.

A container's type is ``ITEMS_OF + T`` when something says what it holds: an
annotation (``list[T]``, ``dict[K, T]``, ``queue.Queue[T]``), a display or
comprehension of ``T``. Iterating it, indexing it or taking an item out
(``pop``, ``get``...) gives a ``T``. An unannotated pool or queue kept in
``self.<attr>`` (``self.pool = []``) is typed from what the code puts into it
(``self.pool.append(conn)``, ``self.queue.put(conn)``) when every such call
agrees. Empty literals and strings are builtins: their methods are never the
ones that became async.
"""

from __future__ import annotations

import ast

from ambidex._callgraph._model import ITEMS_OF, Function, _Val
from ambidex._callgraph._resolving import _Resolving

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
#: Methods of a container that hand out one of its items.
_ITEM_METHODS = frozenset(
    {"pop", "popleft", "get", "get_nowait", "__getitem__", "__next__", "setdefault"}
)
#: What a literal is, when nothing says what it holds: a builtin, never a twin
#: and never analysed code, so its methods are not the ones that became async.
_BUILTIN_CONTAINERS = frozenset({"list", "set", "dict", "str", "bytes"})

#: Methods that put an item into a container (the last argument for insert).
_ADDERS = frozenset({"append", "appendleft", "add", "put", "put_nowait", "insert"})

#: Methods of a container that return a container of the same items.
_SAME_ITEMS = frozenset({"copy", "values"})


class _Items:
    """A container's items (a part of the resolver)."""

    _adders: dict[tuple[str, str], list[tuple[Function, ast.expr]]] | None
    """(class key, attribute) -> where the code adds an item to ``self.<attribute>``."""

    @staticmethod
    def item_of(container: _Val | None) -> _Val | None:
        """One item of ``container``, when its items' type is known."""
        if container is not None and container.instance and container.instance.startswith(
            ITEMS_OF
        ):
            return _Val(instance=container.instance[len(ITEMS_OF) :])
        return None

    def added_item(self: _Resolving, container: ast.expr, scope: Function) -> _Val | None:
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
