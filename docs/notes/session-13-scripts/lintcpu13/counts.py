import sys, time, collections
import ambidex._callgraph as cg
from ambidex._callgraph import _resolve
from ambidex._callgraph._model import Call
from ambidex.detect import _lint
from ambidex import _unawaited
cnt = collections.Counter()
phase = ["first"]
real_cwc = _unawaited.calls_worth_checking
def cwc(table):
    k = real_cwc(table)
    def keep(call, r):
        ok = k(call, r); cnt["kept" if ok else "dropped"] += 1
        if not ok:
            why = "tc" if call.type_checking else ("noname" if call.name is None else "named")
            cnt["dropped-" + why] += 1
        return ok
    return keep
_lint.calls_worth_checking = cwc
real_res = _resolve._Resolver.resolve
def resolve(self, fn, sites, index):
    c = real_res(self, fn, sites, index)
    cnt[phase[0] + ("-none" if c is None else "-call")] += 1
    return c
_resolve._Resolver.resolve = resolve
ra = cg.resolve_again
def resolve_again(*a, **k):
    phase[0] = "second"; return ra(*a, **k)
_lint.resolve_again = resolve_again
t0 = time.process_time()
res = _lint.lint_paths([sys.argv[1]])
print("total", round(time.process_time() - t0, 2), len(res.findings))
for k in sorted(cnt): print(k, cnt[k])
