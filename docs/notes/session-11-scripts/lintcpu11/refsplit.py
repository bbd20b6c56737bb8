import gc, sys, time, ast, collections
gc.disable()
import ambidex._callgraph._model as M, ambidex.detect._lint as L
from ambidex._callgraph._resolve import _Resolver
stats = collections.Counter(); tm = collections.Counter()
orig = _Resolver.resolve
state = {"on": False}
def resolve(self, fn, sites, index):
    if not state["on"]: return orig(self, fn, sites, index)
    item = sites[index]
    node = item if M.SITE_KINDS[type(item)] is not None else item.node
    k = type(node).__name__
    if k == "Attribute": k += ":" + type(node.value).__name__ + (":self" if isinstance(node.value, ast.Name) and node.value.id == "self" else "")
    t = time.process_time()
    call = orig(self, fn, sites, index)
    tm[k] += time.process_time() - t
    stats[k, call is not None and call.passed_to is not None] += 1
    return call
_Resolver.resolve = resolve
oi = L._Linter.__init__
def init(self, *a):
    state["on"] = True; t = time.process_time()
    oi(self, *a)
    state["on"] = False; print("Linter.init", round(time.process_time() - t, 2))
L._Linter.__init__ = init
r = L.lint_paths([sys.argv[1]])
for k, v in sorted(stats.items(), key=lambda kv: -kv[1]): print(k, v)
for k, v in tm.most_common(): print(k, round(v, 2))
