"""Each call site resolved: what a call, ``with``, ``for`` or reference runs.

:class:`_Resolver` is the lazy, memoised evaluation of names and expressions
to what they denote, put together from its parts -- each a mixin in a module
named for what it decides:

* :mod:`._bindings`: what a name, a dotted name or a member denotes;
* :mod:`._classes`: bases, MRO, attributes, overrides;
* :mod:`._expressions`: the type of an expression, a call's result, an annotation;
* :mod:`._items`: what a container, pool or queue holds;
* :mod:`._params`: an unannotated parameter's type, from its call sites;
* :mod:`._callables`: functions held as values, ``getattr`` dispatch, slots,
  offloads.

This module holds the state they share and decides, for each call site the
indexer collected, the :class:`Call` it records: its callees (and overrides),
its table row, the receiver's type, the slot it goes through.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence

from ambidex._callgraph._bindings import _Bindings
from ambidex._callgraph._callables import _Callables
from ambidex._callgraph._classes import _Classes
from ambidex._callgraph._expressions import _Expressions
from ambidex._callgraph._items import _Items
from ambidex._callgraph._model import (
    GENERATOR_OF,
    SITE_KINDS,
    Call,
    CallFilter,
    CallKind,
    Class,
    Function,
    Module,
    Site,
    _Binding,
    _Common,
    _Pending,
    _Val,
    argument_of,
    call_sites,
    shared_common,
)
from ambidex._callgraph._params import _Params
from ambidex._rules import Rule, RuleTable


def _module_names(
    modules: Mapping[str, Module],
) -> tuple[dict[str, Module], dict[str, list[Module]]]:
    """The modules by dotted name, and by each dotted suffix of it shorter
    than the whole (``client`` and ``http.client`` for ``pkg.http.client``)."""
    by_name: dict[str, Module] = {}
    by_suffix: dict[str, list[Module]] = {}
    for module in modules.values():
        by_name[module.name] = module
        parts = module.name.split(".")
        for i in range(1, len(parts)):
            by_suffix.setdefault(".".join(parts[i:]), []).append(module)
    return by_name, by_suffix


class _Resolver(_Bindings, _Classes, _Expressions, _Items, _Params, _Callables):
    """Lazy, memoised evaluation of names and expressions to what they denote,
    and each call site resolved from it: the parts (mixins) and the state they share."""

    def __init__(
        self,
        modules: Mapping[str, Module],
        functions: Mapping[str, Function],
        classes: Mapping[str, Class],
        table: RuleTable,
        sites: list[tuple[Function, ast.Call]] | None = None,
        names: tuple[dict[str, Module], dict[str, list[Module]]] | None = None,
        callers: dict[str, list[tuple[Function, ast.Call]]] | None = None,
    ) -> None:
        self.functions = functions
        self.classes = classes
        self.table = table
        # The modules by dotted name and by each dotted suffix of it; given
        # (``names``) when another resolver of the same modules made them
        # (a site-packages' suffixes: ~35k keys and lists, ~5 MB).
        if names is None:
            names = _module_names(modules)
        self.by_name, self.by_suffix = names
        self._memo: dict[_Binding, _Val | None] = {}
        # While call sites are indexed, parameters have no type yet, so values
        # differ from the final ones and go to their own memos, dropped after.
        # Without them, every binding was re-derived at each call site of the
        # whole tree: lint over a site-packages did not end in 6 minutes.
        self._indexing_memo: dict[_Binding, _Val | None] = {}
        self._indexing_returns: dict[str, _Val | None] = {}
        self._evals: dict[object, dict[ast.expr, _Val | None]] = {}
        self._indexing_evals: dict[object, dict[ast.expr, _Val | None]] = {}
        self._busy: set[_Binding] = set()
        self._returns: dict[str, _Val | None] = {}
        self._overrides: dict[str, list[Class]] | None = None
        self._dispatch: dict[tuple[str, str], list[Function]] = {}
        self._builtins: dict[str, _Val] = {}
        self._adders: dict[tuple[str, str], list[tuple[Function, ast.expr]]] | None = None
        # Every call site that passes something, for typing an unannotated
        # parameter from its arguments (a call without arguments tells no
        # parameter's type and puts nothing in a container: one in seven).
        # Given when another resolver of the same walk listed them already.
        self._sites = sites if sites is not None else call_sites(functions)
        # Those sites by the function each may call, when another resolver of
        # the same walk indexed them (see :mod:`._params`); else on the first
        # question about a parameter.
        self._sites_by_callee: dict[str, list[tuple[Function, ast.Call]]] | None = callers
        self._indexing = False
        # Whether a call that runs nothing known records the slot it goes
        # through (Call.slot; see ambidex._callgraph.resolve_again).
        self.slots = True
        # Which calls the resolution keeps, when it keeps only some: a plain
        # call it does not keep is never made (see ambidex._callgraph.resolve_again).
        self.keep: CallFilter | None = None
        self._by_argument: dict[str, list[Rule]] = {}
        for rule in table.rules:
            if rule.match_arg is not None and rule.sync is not None:
                self._by_argument.setdefault(rule.sync.rsplit(".", 1)[1], []).append(rule)
        self._offload: dict[int, bool] = {}
        self._mros: dict[Class, list[Class]] = {}
        self._basing: set[Class] = set()
        self._types: set[str] = set()
        for rule in self.table.rules:
            if rule.returns:
                self._types.add(rule.returns)

    def forget(self) -> None:
        """Drop every value remembered and every index built (the graph's
        questions are over: :func:`ambidex._callgraph.resolve_again`)."""
        self.by_name = {}
        self.by_suffix = {}
        self._memo = {}
        self._evals = {}
        self._returns = {}
        self._overrides = None
        self._dispatch = {}
        self._builtins = {}
        self._adders = None
        self._sites = []
        self._sites_by_callee = None
        self._offload = {}
        self._mros = {}

    # --- call sites --------------------------------------------------------------
    def resolve(self, fn: Function, sites: Sequence[Site], index: int) -> Call | None:
        """The call ``sites[index]`` of ``fn`` (a site the walk collected) makes,
        resolved; None for a reference that names no analysed function, a
        ``with`` or ``for`` whose protocol nobody here implements."""
        item = sites[index]
        kind = SITE_KINDS[type(item)]
        if kind is None:  # a record (see _Pending)
            pending: _Pending = item  # type: ignore[assignment]
            return self._resolve(
                fn, pending.kind, pending.node, pending.type_checking,
                pending.offload_parent, pending.lambda_node, pending.container,
            )
        # A bare site: nothing to say but its node (a reference: the call it
        # is handed to, looked for once it names a function: most do not).
        parent = None
        if kind is CallKind.REF:
            value = self.eval(item, fn)  # type: ignore[arg-type]
            if value is None or value.function is None:
                return None
            parent = argument_of(sites, index)
        return self._resolve(fn, kind, item, False, parent, None, None)  # type: ignore[arg-type]

    def _resolve(
        self, fn: Function, kind: CallKind, node: ast.AST, type_checking: bool,
        offload_parent: ast.Call | None, lambda_node: ast.Lambda | None,
        container: ast.expr | None,
    ) -> Call | None:
        if kind is CallKind.REF:
            # Most names handed around are not functions: no need to ask
            # whether the call they are handed to runs things in a thread.
            assert isinstance(node, (ast.Name, ast.Attribute))
            value = self.eval(node, fn)
            if value is None or value.function is None:
                return None
        offloaded = offload_parent is not None and self.is_offload(offload_parent, fn)
        common = shared_common(offloaded, type_checking, lambda_node)
        if kind is CallKind.CALL:
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
                        return self._kept(step)
            # Only getattr(...)(...) is dispatched: no call for the other sites.
            dispatched = self.dispatched(fn, node) if isinstance(node.func, ast.Call) else None
            if dispatched is not None:
                name, methods = dispatched
                return self._kept(Call(
                    CallKind.CALL, node, fn, node.lineno, node.col_offset, name,
                    tuple(methods), common=common,
                ))
            return self._plain_call(fn, node, callee, receiver, common)
        if kind is CallKind.REF:
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
            ref.stored_in = container
            if offload_parent is not None:
                ref.passed_to = self.receiver(fn, offload_parent, node)
                ref.argument_of = offload_parent
            return self._kept(ref)
        if kind is CallKind.WITH:
            assert isinstance(node, ast.withitem)
            value = self.eval(node.context_expr, fn)
            if value is None or value.instance is None:
                return None
            return self._kept(self.protocol(
                fn,
                CallKind.WITH,
                node,
                node.context_expr,
                value.instance,
                ("__enter__", "__exit__"),
                common,
            ))
        assert isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension))
        iterated = node.iter
        if isinstance(iterated, ast.Call):
            callee = self.eval(iterated.func, fn)
            if callee is not None and callee.function is not None:
                if callee.function.is_generator:
                    loop = Call(
                        CallKind.FOR,
                        node,
                        fn,
                        iterated.lineno,
                        iterated.col_offset,
                        callee.function.dotted,
                        callee.function.alone,
                        common=common,
                    )
                    own = self.own_class(fn, iterated.func)
                    if own is not None and callee.function.cls is not None:
                        # for x in self.items(): any subclass's items() may run.
                        loop.through_self = True
                        loop.overrides = tuple(
                            m
                            for m in self.dispatch(own, callee.function.name)
                            if m is not callee.function
                        )
                    return self._kept(loop)
        value = self.eval(iterated, fn)
        if value is None or value.instance is None:
            return None
        return self._kept(self.protocol(
            fn, CallKind.FOR, node, iterated, value.instance, ("__iter__", "__next__"), common
        ))

    def _plain_call(
        self, fn: Function, node: ast.Call, callee: _Val | None, receiver: str | None,
        common: _Common,
    ) -> Call | None:
        """The :class:`Call` of a plain call site (``f(x)``, ``obj.m(x)``), decided
        field by field and made only when :attr:`keep` keeps it (None if not):
        what :meth:`call_site` makes, with callees of held functions, rows
        picked by an argument's type, overrides and the slot decided on it."""
        name: str | None = None
        callees: tuple[Function, ...] = ()
        made: Class | None = None
        rule: Rule | None = None
        instance_type: str | None = None
        if callee is not None:
            if callee.function is not None:
                name, callees, instance_type = (
                    callee.function.dotted, callee.function.alone, receiver
                )
            elif callee.cls is not None:
                init = self.method(callee.cls, "__init__")
                name, made = callee.cls.dotted, callee.cls
                callees = init.alone if init is not None else ()
            else:
                name, instance_type = callee.dotted, receiver
                rule = self.table.by_sync.get(name) if name is not None else None
        bound = self.bound_functions(fn, node.func)
        if len(bound) > 1 or (bound and not callees):
            # reader = partial(_readsegment, ...) if x else _readline; reader(...)
            callees = tuple(bound)
        if (
            rule is None
            and not callees
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in self._by_argument
            and node.args
        ):
            first = self.eval(node.args[0], fn)
            for row in self._by_argument[node.func.attr]:
                if first is not None and first.instance == row.match_arg:
                    rule, name = row, row.sync
                    break
        overrides: tuple[Function, ...] = ()
        own = self.own_class(fn, node.func)
        if own is not None:
            # self.m() / cls.m(): the instance may be of any analysed subclass.
            assert isinstance(node.func, ast.Attribute)
            if (
                callee is None
                and not callees
                and rule is None
                and not any(node.func.attr in c.attrs for c in self.mro(own))
            ):
                # m is not the class's: each subclass's own or inherited one
                # (a mixin calling what a sibling base supplies).
                runs = self.dispatch(own, node.func.attr)
                if runs:
                    name = f"{own.dotted}.{node.func.attr}"
                    overrides = tuple(runs)
        if (
            callee is not None
            and callee.function is not None
            and callee.function.cls is not None
            and callees
        ):
            cls = own
            if cls is None and receiver is not None:
                cls = self.classes.get(receiver)
            if cls is not None:
                # self.m() may run an override of m in a subclass: all are callees.
                overrides = tuple(
                    m
                    for m in self.dispatch(cls, callee.function.name)
                    if m is not callee.function
                )
        slot = None
        if self.slots and not callees and not overrides and rule is None:
            slot = self.slot(fn, node.func)
        keep = self.keep
        if keep is not None and not keep.wants_call(
            fn, node, callees, overrides, rule, instance_type, common.type_checking, self
        ):
            return None
        return Call(
            CallKind.CALL, node, fn, node.lineno, node.col_offset, name, callees, made, rule,
            instance_type, common, slot, overrides, own is not None,
        )

    def _kept(self, call: Call | None) -> Call | None:
        """``call`` if :attr:`keep` keeps it (or keeps every call), else None."""
        if call is None or self.keep is None or self.keep(call, self):
            return call
        return None

    @staticmethod
    def own_class(fn: Function, func: ast.expr) -> Class | None:
        """The class of ``self``/``cls`` when ``func`` is ``self.m``/``cls.m``
        in a method of it (or in a function nested in one), else None."""
        if not isinstance(func, ast.Attribute) or not isinstance(func.value, ast.Name):
            return None
        name = func.value.id
        scope: Function | None = fn
        while scope is not None:
            bindings = scope.locals.get(name)
            if bindings is not None:
                first = bindings if type(bindings) is _Binding else bindings[0]
                if first.kind in ("self", "cls") and first.scope is scope:
                    return first.cls
                return None
            scope = scope.parent
        return None

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
                    generator.alone,
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
