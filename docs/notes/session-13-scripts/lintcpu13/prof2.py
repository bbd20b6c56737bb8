"""cProfile of the lint's second resolution only (resolve_again), in one lint run."""
import cProfile, pstats, sys, time, io
import ambidex._callgraph as cg
from ambidex.detect import _lint
prof = cProfile.Profile()
ra = cg.resolve_again
spent = [0.0]
def resolve_again(*a, **k):
    t = time.process_time()
    prof.enable()
    try:
        return ra(*a, **k)
    finally:
        prof.disable()
        spent[0] = time.process_time() - t
_lint.resolve_again = resolve_again
t0 = time.process_time()
res = _lint.lint_paths([sys.argv[1]])
print("lint total", round(time.process_time() - t0, 2), "findings", len(res.findings), "second resolution under cProfile", round(spent[0], 2))
s = io.StringIO()
pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(40)
print("\n".join(l for l in s.getvalue().splitlines() if l.strip())[:4000])
