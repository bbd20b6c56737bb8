import sys, time, gc, functools, collections
gc.disable()
import ambidex._callgraph as cg
from ambidex._callgraph import _resolve, _callables, _classes
from ambidex import _unawaited, _sourcefiles
from ambidex.detect import _lint
acc = collections.Counter(); n = collections.Counter()
phase = ["first"]
def wrap(owner, attr, label):
    real = getattr(owner, attr)
    depth = [0]
    @functools.wraps(real)
    def w(*a, **k):
        if depth[0]:
            return real(*a, **k)
        depth[0] += 1
        t = time.process_time()
        try: return real(*a, **k)
        finally:
            depth[0] -= 1
            acc[label + ":" + phase[0]] += time.process_time() - t; n[label + ":" + phase[0]] += 1
    setattr(owner, attr, w)
wrap(_resolve._Resolver, "slot", "slot")
wrap(_resolve._Resolver, "overrides", "overrides")
wrap(_unawaited._Checker, "names_read", "names_read")
wrap(_sourcefiles, "read_source", "read_source")
_lint.read_source = _sourcefiles.read_source
ra = cg.resolve_again
def resolve_again(*a, **k):
    phase[0] = "second"; return ra(*a, **k)
_lint.resolve_again = resolve_again
t0 = time.process_time()
res = _lint.lint_paths(["/work/wt-lintcpu12/.venv/lib/python3.11/site-packages"])
print("total", round(time.process_time() - t0, 2), len(res.findings))
for k in sorted(acc): print(k, n[k], round(acc[k], 3))
