"""The resolver as each of its parts sees it: one :class:`typing.Protocol`.

The resolver answers one question -- *what does this name or expression
denote?* -- but the answer is mutually recursive: a name's value is an
expression's, an expression's may be a parameter's, which comes from call
sites, whose callees are names again. So the parts (:mod:`._bindings`,
:mod:`._classes`, :mod:`._expressions`, :mod:`._items`, :mod:`._params`,
:mod:`._callables`) are mixins of one class, :class:`._resolve._Resolver`, and
each types its ``self`` as this protocol: the state and the questions every
part may ask of the whole. It lives apart so that no part imports
:mod:`._resolve` (which imports them all): the call graph builds with no
import cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from ambidex._callgraph._model import Class, Function, Module, _Binding, _Val
from ambidex._rules import Rule, RuleTable


class _Resolving(Protocol):
    """The resolver's state and its questions (see :class:`._resolve._Resolver`)."""

    functions: Mapping[str, Function]
    classes: Mapping[str, Class]
    table: RuleTable
    by_name: dict[str, Module]
    by_suffix: dict[str, list[Module]]
    _memo: dict[_Binding, _Val | None]
    _indexing_memo: dict[_Binding, _Val | None]
    _indexing_returns: dict[str, _Val | None]
    _evals: dict[object, dict[ast.expr, _Val | None]]
    _indexing_evals: dict[object, dict[ast.expr, _Val | None]]
    _busy: set[_Binding]
    _returns: dict[str, _Val | None]
    _overrides: dict[str, list[Class]] | None
    _dispatch: dict[tuple[str, str], list[Function]]
    _builtins: dict[str, _Val]
    """A name bound nowhere (a builtin) -> its one value."""
    _adders: dict[tuple[str, str], list[tuple[Function, ast.expr]]] | None
    _sites: list[tuple[Function, ast.Call]]
    _sites_by_callee: dict[str, list[tuple[Function, ast.Call]]] | None
    _indexing: bool
    _by_argument: dict[str, list[Rule]]
    _offload: dict[int, bool]
    _types: set[str]
    _mros: dict[Class, list[Class]]
    _basing: set[Class]

    # ._bindings
    def module_named(self, dotted: str) -> Module | None: ...
    def lookup(self, name: str, scope: Function | Module | Class | None) -> _Val | None: ...
    def first(self, bindings: Sequence[_Binding]) -> _Val | None: ...
    def binding(self, b: _Binding) -> _Val | None: ...
    def _binding(self, b: _Binding) -> _Val | None: ...
    def dotted(self, dotted: str) -> _Val: ...
    def member(self, value: _Val, attr: str) -> _Val | None: ...

    # ._classes
    def bases(self, cls: Class) -> list[Class]: ...
    def mro(self, cls: Class) -> Iterator[Class]: ...
    def _mro(self, cls: Class) -> Iterator[Class]: ...
    def method(self, cls: Class, name: str, skip_self: bool = False) -> Function | None: ...
    def attr_type(self, cls: Class, name: str) -> _Val | None: ...
    def overrides(self, cls: Class, name: str) -> list[Function]: ...
    def dispatch(self, cls: Class, name: str) -> list[Function]: ...

    def subclasses(self, cls: Class) -> list[Class]: ...
    def entered(self, type_: str) -> _Val | None: ...

    # ._expressions
    def eval(self, node: ast.expr, scope: Function | Module | Class | None) -> _Val | None: ...
    def _eval(self, node: ast.expr, scope: Function | Module | Class | None) -> _Val | None: ...
    def result(self, callee: _Val | None) -> _Val | None: ...
    def returned(self, function: Function) -> _Val | None: ...
    def annotation(
        self, node: ast.expr, scope: Function | Module | Class | None
    ) -> str | None: ...

    # ._items
    @staticmethod
    def item_of(container: _Val | None) -> _Val | None: ...
    def added_item(self, container: ast.expr, scope: Function) -> _Val | None: ...

    # ._params
    def param_type(self, function: Function, name: str) -> _Val | None: ...
    def default_of(self, function: Function, name: str) -> _Val | None: ...

    # ._callables
    def is_offload(self, call: ast.Call, scope: Function) -> bool: ...
    def bound_functions(self, fn: Function, func: ast.expr) -> list[Function]: ...
    def dispatched(
        self, fn: Function, node: ast.Call
    ) -> tuple[str, list[Function]] | None: ...
    def slot(self, fn: Function, func: ast.expr) -> tuple[str, str, str] | None: ...
    def receiver(
        self, fn: Function, call: ast.Call, argument: ast.expr
    ) -> tuple[Function, str] | None: ...
