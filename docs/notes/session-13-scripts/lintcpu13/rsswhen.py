"""Peak RSS (ru_maxrss) and current RSS at the lint's phase boundaries."""
import sys, resource
import ambidex._callgraph as cg
from ambidex.detect import _lint
from ambidex._callgraph import _params
def rss():
    cur = int(open("/proc/self/statm").read().split()[1]) * 4096 // 2**20
    return f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB, now {cur} MB"
bc = _lint.build_callgraph
def build_callgraph(*a, **k):
    g = bc(*a, **k); print("after build:", rss(), flush=True); return g
_lint.build_callgraph = build_callgraph
real_pt = _params._Params.param_type
from ambidex._callgraph import _resolve
def param_type(self, function, name):
    first = self._sites_by_callee is None and not self._indexing
    if first: print("before index:", rss(), flush=True)
    v = real_pt(self, function, name)
    if first: print("after index:", rss(), flush=True)
    return v
_resolve._Resolver.param_type = param_type
ra = cg.resolve_again
def resolve_again(*a, **k):
    print("before second resolution:", rss(), flush=True)
    g = ra(*a, **k); print("after second resolution:", rss(), flush=True); return g
_lint.resolve_again = resolve_again
res = _lint.lint_paths([sys.argv[1]])
print("end:", rss(), len(res.findings))
