"""Upper bound for option 1: how many of the second resolution's memo misses
the first resolution's indexing memos (kept, not cleared) already held, with
the same value (fields compared by identity for objects)."""
import sys, time, collections, resource
from ambidex._callgraph import _params, _resolve, _bindings, _expressions
from ambidex._callgraph._model import _UNSEEN
import ambidex._callgraph as cg
from ambidex.detect import _lint
kept = {}
class NoClear(dict):
    def clear(self): pass
real_pt = _params._Params.param_type
def same(a, b):
    if a is None or b is None: return a is b
    return (a.dotted == b.dotted and a.function is b.function and a.cls is b.cls and a.module is b.module
            and a.instance == b.instance and (a._more is b._more or a._more == b._more))
def param_type(self, function, name):
    if self._sites_by_callee is None and not self._indexing:
        im, ie = self._indexing_memo, self._indexing_evals
        self._indexing_memo = NoClear(); self._indexing_evals = NoClear()
        try:
            return real_pt(self, function, name)
        finally:
            kept["memo"] = self._indexing_memo; kept["evals"] = self._indexing_evals
            self._indexing_memo, self._indexing_evals = im, ie
            kept["rss_after_index"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return real_pt(self, function, name)
_params._Params.param_type = param_type
_resolve._Resolver.param_type = param_type
c = collections.Counter()
second = [False]
real_binding = _bindings._Bindings.binding
def binding(self, b):
    if second[0] and not self._indexing:
        if self._memo.get(b, _UNSEEN) is _UNSEEN and b not in self._busy:
            v = real_binding(self, b)
            c["bind miss"] += 1
            k = kept["memo"].get(b, _UNSEEN)
            if k is not _UNSEEN:
                c["bind in index"] += 1
                if same(k, v): c["bind in index, same"] += 1
            return v
    return real_binding(self, b)
_resolve._Resolver.binding = binding
real_eval = _expressions._Expressions.eval
def eval_(self, node, scope):
    if second[0] and not self._indexing:
        m = self._evals.get(scope)
        if m is None or m.get(node, _UNSEEN) is _UNSEEN:
            v = real_eval(self, node, scope)
            c["eval miss"] += 1
            km = kept["evals"].get(scope)
            k = km.get(node, _UNSEEN) if km is not None else _UNSEEN
            if k is not _UNSEEN:
                c["eval in index"] += 1
                if same(k, v): c["eval in index, same"] += 1
            return v
    return real_eval(self, node, scope)
_resolve._Resolver.eval = eval_
ra = cg.resolve_again
def resolve_again(*a, **k):
    second[0] = True; return ra(*a, **k)
_lint.resolve_again = resolve_again
res = _lint.lint_paths([sys.argv[1]])
print("findings", len(res.findings))
print("index memo sizes: bindings", len(kept["memo"]), "evals", sum(len(v) for v in kept["evals"].values()))
for k in sorted(c): print(k, c[k])
