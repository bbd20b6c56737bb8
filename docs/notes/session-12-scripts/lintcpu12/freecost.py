import sys, time, gc
gc.disable()
from ambidex.detect import _lint
keep = []
orig = _lint._analyse
def analyse(*a, **k):
    r = orig(*a, **k)
    if sys.argv[1] == "keep":
        keep.append(r[0])
    global t_an
    t_an = time.process_time()
    return r
_lint._analyse = analyse
t0 = time.process_time()
res = _lint.lint_paths(["/work/wt-lintcpu12/.venv/lib/python3.11/site-packages"])
t1 = time.process_time()
print(sys.argv[1], "total", round(t1 - t0, 2), "after analyse", round(t1 - t_an, 2), len(res.findings))
if keep:
    t2 = time.process_time(); keep.clear(); print("free kept graph", round(time.process_time() - t2, 2))
