import gc, sys, time, ast, collections
gc.disable()
import ambidex._callgraph._model as M, ambidex.detect._lint as L
from ambidex._callgraph._resolve import _Resolver
stats = collections.Counter(); tm = collections.Counter()
orig = _Resolver.resolve
state = {"on": False}
def kinds(node, fn):
    scope = fn; b = None
    while scope is not None and b is None:
        b = scope.locals.get(node.id); scope = scope.parent
    where = "local"
    if b is None:
        b = fn.module.symbols.get(node.id); where = "module"
    if b is None: return "builtin"
    return where + ":" + ",".join(sorted({x.kind + ("/" + type(x.expr).__name__ if x.kind == "value" and x.expr is not None else "") for x in b}))
def resolve(self, fn, sites, index):
    if not state["on"]: return orig(self, fn, sites, index)
    item = sites[index]
    node = item if M.SITE_KINDS[type(item)] is not None else item.node
    if not isinstance(node, ast.Name): return orig(self, fn, sites, index)
    k = kinds(node, fn)
    t = time.process_time()
    call = orig(self, fn, sites, index)
    tm[k] += time.process_time() - t
    stats[k, call is not None and call.passed_to is not None] += 1
    return call
_Resolver.resolve = resolve
oi = L._Linter.__init__
def init(self, *a):
    state["on"] = True; oi(self, *a); state["on"] = False
L._Linter.__init__ = init
r = L.lint_paths([sys.argv[1]])
for k, v in sorted(stats.items(), key=lambda kv: -kv[1])[:25]: print(k, v)
for k, v in tm.most_common(15): print(k, round(v, 2))
