import gc, sys, time
gc.disable()
import ambidex._callgraph as cg, ambidex.detect._lint as L
from ambidex._callgraph._resolve import _Resolver
snap = {}
orig_forget = _Resolver.forget
def forget(self):
    snap["memo"] = dict(self._memo)
    snap["evals"] = {s: dict(m) for s, m in self._evals.items()}
    snap["returns"] = dict(self._returns)
    snap["mros"] = len(self._mros)
    orig_forget(self)
_Resolver.forget = forget
orig_unaw = L.find_unawaited
def fu(*a, graph=None, **k):
    r = graph.resolver
    m1, m2 = snap["memo"], r._memo
    same = sum(1 for b, v in m2.items() if b in m1 and m1[b] == v)
    print("binding memo: first", len(m1), "second", len(m2), "in both", sum(1 for b in m2 if b in m1), "equal", same)
    e1 = snap["evals"]; n2 = sum(len(m) for m in r._evals.values()); both = eq = 0
    for s, m in r._evals.items():
        o = e1.get(s)
        if o is None: continue
        for node, v in m.items():
            if node in o:
                both += 1; eq += (o[node] == v)
    print("eval memo: first", sum(len(m) for m in e1.values()), "second", n2, "in both", both, "equal", eq)
    print("returns: first", len(snap["returns"]), "second", len(r._returns))
    return orig_unaw(*a, graph=graph, **k)
L.find_unawaited = fu
r = L.lint_paths([sys.argv[1]])
print(len(r.findings))
