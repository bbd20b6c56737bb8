import ast, gc, sys, time
gc.disable()
from ambidex._sourcefiles import read_source
from ambidex.detect._lint import collect_files, _Displays
from ambidex._names import module_label
files = collect_files([sys.argv[1]])
shown = _Displays()
mods = {}; texts = {}
for f in files:
    d = shown(f)
    try: s = read_source(f)
    except Exception: continue
    texts[d] = s
    mods[module_label(d)] = d
names = sorted(mods, key=len, reverse=True)
# suffix index like the resolver
by_suffix = {}
for m in mods:
    parts = m.split(".")
    for i in range(1, len(parts)): by_suffix.setdefault(".".join(parts[i:]), []).append(m)
def target(dotted):
    p = dotted
    while True:
        if p in mods: return p
        if p in by_suffix: return by_suffix[p][0]
        if "." not in p: return None
        p = p.rsplit(".", 1)[0]
imports = {}; parse_t = {}
for m, d in mods.items():
    t = time.process_time()
    try: tree = ast.parse(texts[d])
    except SyntaxError: continue
    parse_t[m] = time.process_time() - t
    out = set()
    pkg = m.rsplit(".", 1)[0] if not d.endswith("__init__.py") else m
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            for a in n.names:
                x = target(a.name)
                if x: out.add(x)
        elif isinstance(n, ast.ImportFrom):
            base = n.module or ""
            if n.level:
                b = pkg.split(".")
                b = b[: len(b) - (n.level - 1)] if n.level > 1 else b
                base = ".".join(b + ([n.module] if n.module else []))
            for a in n.names:
                x = target(f"{base}.{a.name}") or target(base)
                if x: out.add(x)
    imports[m] = out
seeds = {m for m, d in mods.items() if m in imports and ("async" in texts[d] or "await" in texts[d])}
# forward closure: what async modules import (transitively)
fwd = set(seeds); todo = list(seeds)
while todo:
    for x in imports.get(todo.pop(), ()):
        if x not in fwd: fwd.add(x); todo.append(x)
# backward: modules importing something in fwd (their call sites type params etc.)
rev = {}
for m, outs in imports.items():
    for x in outs: rev.setdefault(x, set()).add(m)
back = set(fwd); todo = list(fwd)
while todo:
    for x in rev.get(todo.pop(), ()):
        if x not in back: back.add(x); todo.append(x)
tot = sum(parse_t.values())
for name, s in (("seeds", seeds), ("fwd closure", fwd), ("fwd+importers closure", back)):
    print(f"{name:24} {len(s):5} modules of {len(parse_t)}; parse {sum(parse_t[m] for m in s if m in parse_t):.2f} of {tot:.2f} s")
