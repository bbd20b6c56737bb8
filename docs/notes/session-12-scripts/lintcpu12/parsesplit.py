import sys, time, gc, ast, collections
gc.disable()
import ambidex._callgraph as cg
from ambidex.detect import _lint
real = ast.parse
acc = collections.Counter(); n = collections.Counter(); size = collections.Counter()
class P:
    def __getattr__(self, k): return getattr(ast, k)
    @staticmethod
    def parse(src, *a, **k):
        fr = sys._getframe(1); f = fr.f_code.co_filename.split("/")[-1] + ":" + fr.f_code.co_name
        t = time.process_time()
        try:
            return real(src, *a, **k)
        finally:
            acc[f] += time.process_time() - t; n[f] += 1; size[f] += len(src)
ast.parse = P.parse
t0 = time.process_time()
res = _lint.lint_paths(["/work/wt-lintcpu12/.venv/lib/python3.11/site-packages"])
print("total", round(time.process_time() - t0, 2), len(res.findings))
for k in acc: print(k, n[k], round(acc[k], 2), size[k])
