"""Option 1 prototype check: of the second resolution's memo misses, how many a
clean (untainted) indexing entry holds, and whether any clean entry differs."""
import sys, collections
from ambidex._callgraph import _resolve, _bindings, _expressions, _taint as T
from ambidex._callgraph._model import _UNSEEN
import ambidex._callgraph as cg
from ambidex.detect import _lint
from ambidex._unawaited import async_side
from ambidex._rules import DEFAULT_TABLE
for t in (DEFAULT_TABLE, async_side(DEFAULT_TABLE)):
    for rule in t.rules:
        if rule.match_arg is not None and rule.sync is not None:
            T.ARGKEYS.add(rule.sync.rsplit(".", 1)[1])
def same(a, b):
    if a is None or b is None: return a is b
    return (a.dotted == b.dotted and a.function is b.function and a.cls is b.cls and a.module is b.module
            and a.instance == b.instance and (a._more is b._more or a._more == b._more))
c = collections.Counter(); second = [False]; bad = []
real_binding = _bindings._Bindings.binding
def binding(self, b):
    if second[0] and self._memo.get(b, _UNSEEN) is _UNSEEN and b not in self._busy:
        v = real_binding(self, b); c["bind miss"] += 1
        k = T.KEPT[0].get(b, _UNSEEN)
        if k is not _UNSEEN:
            c["bind in index"] += 1
            if b not in T.TB:
                c["bind clean"] += 1
                if not same(k, v): c["bind clean DIFFERS"] += 1; bad.append(("b", b, k, v))
        return v
    return real_binding(self, b)
_resolve._Resolver.binding = binding
real_eval = _expressions._Expressions.eval
def eval_(self, node, scope):
    if second[0]:
        m = self._evals.get(scope)
        if m is None or m.get(node, _UNSEEN) is _UNSEEN:
            v = real_eval(self, node, scope); c["eval miss"] += 1
            km = T.KEPT[1].get(scope)
            k = km.get(node, _UNSEEN) if km is not None else _UNSEEN
            if k is not _UNSEEN:
                c["eval in index"] += 1
                if node not in T.TE.get(scope, ()):
                    c["eval clean"] += 1
                    if not same(k, v): c["eval clean DIFFERS"] += 1; bad.append(("e", node, k, v))
            return v
    return real_eval(self, node, scope)
_resolve._Resolver.eval = eval_
ra = cg.resolve_again
def resolve_again(*a, **k):
    second[0] = True; return ra(*a, **k)
_lint.resolve_again = resolve_again
res = _lint.lint_paths([sys.argv[1]])
print("findings", len(res.findings))
print("index entries: bindings", len(T.KEPT[0]), "tainted", len(T.TB), "; evals", sum(len(v) for v in T.KEPT[1].values()), "tainted", sum(len(v) for v in T.TE.values()))
for k in sorted(c): print(k, c[k])
for x in bad[:8]: print(x[0], getattr(x[1], "__dict__", x[1]) if x[0] == "b" else type(x[1]).__name__, x[2] and vars_(x[2]) if False else x[2], x[3])
