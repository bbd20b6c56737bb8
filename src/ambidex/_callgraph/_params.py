"""What an unannotated parameter is: typed from the call sites that pass it.

``HTTPResponse(self.sock)``: inside ``HTTPResponse.__init__``, ``sock`` is a
socket, because every analysed call site that passes it agrees (a site that
passes ``None`` or something of unknown type does not vote; two that disagree
leave it unknown). Failing that, a default that names code
(``socket_module=socket``) says which code the function uses. Finding the
call sites of each function evaluates every callee once, before any parameter
has a type: that indexing phase keeps its own memos, dropped after, so the
final values never depend on the partial ones.

A second resolution of the same walk (:func:`ambidex._callgraph.resolve_again`:
the lint reads a tree with the blocking table, then with its async side)
takes the first one's index rather than evaluating every callee of the tree
again (~0.6 s of a site-packages' lint). The tables could index a site apart
only where a callee's value goes through a row's result: ``run =
socket.create_connection(a); run = handler; run(x)`` calls ``handler`` only
where no row says what ``create_connection`` returns (the first binding that
tells wins). Then the second resolution reads the first table's index
(tests/detect/test_callgraph_shared_values.py pins it); on real code the two
indexes are the same (that test compares them on asyncio, http and others;
a venv's site-packages gave the same lint findings either way).
"""

from __future__ import annotations

import ast

from ambidex._callgraph._model import Function, _Val
from ambidex._callgraph._resolving import _Resolving

#: Annotations that say "some module / class / function": the parameter's
#: default says which one the code uses unless told otherwise.
_WHICH_CODE = frozenset(
    {"types.ModuleType", "type", "typing.Type", "typing.Callable", "collections.abc.Callable"}
)


class _Params:
    """Unannotated parameters' types and defaults (a part of the resolver)."""

    _sites_by_callee: dict[str, list[tuple[Function, ast.Call]]] | None
    """Function key -> the call sites that may call it, found on the first question."""

    def param_type(self: _Resolving, function: Function, name: str) -> _Val | None:
        """An unannotated parameter's type: what every analysed call site that
        passes it agrees on (``HTTPResponse(self.sock)``: a socket). None when
        no site tells or two disagree; ``None`` arguments do not count."""
        if self._indexing:
            return None  # a parameter met while finding call sites: not known yet
        if self._sites_by_callee is None:
            self._sites_by_callee = {}
            self._indexing = True
            try:
                for site in self._sites:
                    fn, node = site
                    callee = self.eval(node.func, fn)
                    target = None
                    if callee is not None and callee.function is not None:
                        target = callee.function
                    elif callee is not None and callee.cls is not None:
                        target = self.method(callee.cls, "__init__")
                    targets = [target] if target is not None else []
                    for bound in self.bound_functions(fn, node.func):
                        if bound not in targets:
                            targets.append(bound)
                    for each in targets:
                        # The site's own pair, not a copy (~80k on a site-packages).
                        self._sites_by_callee.setdefault(each.key, []).append(site)
            finally:
                self._indexing = False
                self._indexing_memo.clear()
                self._indexing_returns.clear()
                self._indexing_evals.clear()
        args = function.node.args
        positional = [a.arg for a in (*args.posonlyargs, *args.args)]
        if function.cls is not None and "staticmethod" not in function.decorators:
            positional = positional[1:]
        found: str | None = None
        for fn, node in self._sites_by_callee.get(function.key, ()):
            given: ast.expr | None = None
            if name in positional and positional.index(name) < len(node.args):
                given = node.args[positional.index(name)]
                if any(isinstance(a, ast.Starred) for a in node.args[: positional.index(name) + 1]):
                    return None
            for keyword in node.keywords:
                if keyword.arg == name:
                    given = keyword.value
            if given is None or (isinstance(given, ast.Constant) and given.value is None):
                continue
            value = self.eval(given, fn)
            type_ = value.instance if value is not None else None
            if type_ is None:
                continue  # this site does not tell (it may pass the parameter on)
            if found is not None and type_ != found:
                return None
            found = type_
        if found is not None:
            return _Val(instance=found)
        return self.default_of(function, name)

    def default_of(self: _Resolving, function: Function, name: str) -> _Val | None:
        """What a parameter's default names, when it names code rather than a
        value (``socket_module=socket``: the module the function uses unless
        told otherwise) or an object of a known type."""
        args = function.node.args
        positional = [*args.posonlyargs, *args.args]
        with_defaults = positional[len(positional) - len(args.defaults) :]
        pairs = list(zip(with_defaults, args.defaults, strict=True))
        pairs += [
            (a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None
        ]
        for arg, default in pairs:
            if arg.arg != name or (isinstance(default, ast.Constant)):
                continue
            value = self.eval(default, function.parent or function.cls or function.module)
            if value is not None and (
                value.instance or value.dotted or value.module or value.cls or value.function
            ):
                return value
        return None
