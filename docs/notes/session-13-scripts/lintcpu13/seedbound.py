"""Upper bound of option 1 (NOT sound: every indexing value is taken, even the
2% that differ): the second resolution's CPU with its memos seeded from the
first resolution's indexing memos (argv[2] == 'seed') or not ('plain')."""
import sys, time, resource
from ambidex._callgraph import _params, _resolve
import ambidex._callgraph as cg
from ambidex.detect import _lint
kept = {}
class NoClear(dict):
    def clear(self): pass
real_pt = _params._Params.param_type
def param_type(self, function, name):
    if self._sites_by_callee is None and not self._indexing:
        self._indexing_memo = NoClear(); self._indexing_evals = NoClear(); self._indexing_returns = NoClear()
        try:
            return real_pt(self, function, name)
        finally:
            kept.update(memo=self._indexing_memo, evals=self._indexing_evals, returns=self._indexing_returns)
            self._indexing_memo, self._indexing_evals, self._indexing_returns = {}, {}, {}
    return real_pt(self, function, name)
_resolve._Resolver.param_type = param_type
seed = sys.argv[2] == "seed"
real_init = _resolve._Resolver.__init__
def init(self, *a, **k):
    real_init(self, *a, **k)
    if seed and kept and k.get("callers", a[6] if len(a) > 6 else None) is not None:
        self._memo, self._evals, self._returns = dict(kept["memo"]), dict(kept["evals"]), dict(kept["returns"])
        for m in self._evals: self._evals[m] = dict(self._evals[m])
_resolve._Resolver.__init__ = init
ra = cg.resolve_again
spent = [0.0]
def resolve_again(*a, **k):
    t = time.process_time()
    try: return ra(*a, **k)
    finally: spent[0] = time.process_time() - t
_lint.resolve_again = resolve_again
t0 = time.process_time()
res = _lint.lint_paths([sys.argv[1]])
print(sys.argv[2], "lint", round(time.process_time() - t0, 2), "second resolution", round(spent[0], 3), "findings", len(res.findings), "rss", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
