import ast, gc, sys, time
gc.disable()
from ambidex._sourcefiles import read_source
from ambidex.detect._lint import collect_files
files = collect_files([sys.argv[1]])
rows = []
for f in files:
    try: s = read_source(f)
    except Exception: continue
    t = time.process_time()
    try: tree = ast.parse(s, str(f))
    except SyntaxError: continue
    dt = time.process_time() - t
    rows.append((dt, len(s), str(f).split("site-packages/")[1], ("async" in s or "await" in s)))
    del tree
rows.sort(reverse=True)
tot = sum(r[0] for r in rows)
print("total", round(tot, 2), "files", len(rows))
acc = 0
for r in rows[:40]:
    acc += r[0]
    print(f"{r[0]:6.3f} {r[1]:9} {r[3]!s:5} {r[2]}")
print("top40 share", round(acc / tot, 3))
na = [r for r in rows if not r[3]]
print("no async text:", len(na), "files", round(sum(r[0] for r in na), 2), "s")
import collections
c = collections.Counter()
for r in rows: c[r[2].split("/")[0]] += r[0]
for k, v in c.most_common(25): print(f"{v:6.2f} {k}")
