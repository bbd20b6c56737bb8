import gc, sys, time, ast, functools
gc.disable()
T = {}
def wrap(mod, name, label=None):
    f = getattr(mod, name); label = label or name
    @functools.wraps(f)
    def w(*a, **k):
        t = time.process_time()
        try: return f(*a, **k)
        finally: T[label] = T.get(label, 0) + time.process_time() - t
    setattr(mod, name, w)
import ambidex._callgraph as cg, ambidex._callgraph._index as ix, ambidex.detect._lint as L, ambidex._unawaited as U, ambidex._toplevel as TL
wrap(cg.ast, "parse", "ast.parse")
wrap(cg, "slim_tree"); wrap(cg, "keep_definitions"); wrap(cg, "prune_bodies"); wrap(cg, "pool_constants"); wrap(cg, "_referenced"); wrap(cg, "unused_results"); wrap(cg, "async_and_for_lines"); wrap(cg, "_freeze_bindings"); wrap(cg, "share_constants")
wrap(ix._Indexer, "run", "index.run")
wrap(cg, "build"); wrap(L, "build_callgraph", "build(all)")
wrap(L._Linter, "__init__", "Linter.init"); wrap(L._Linter, "findings", "Linter.findings"); wrap(L._Linter, "fake_async")
wrap(L, "resolve_again"); wrap(L, "find_unawaited"); wrap(L, "module_level_unawaited")
wrap(L, "_allow_comments"); wrap(L, "read_source"); wrap(L, "_named_spans")
t0 = time.process_time()
r = L.lint_paths([sys.argv[1]])
total = time.process_time() - t0
print("findings", len(r.findings), "total", round(total, 2))
for k, v in sorted(T.items(), key=lambda kv: -kv[1]):
    print(f"{k:24} {v:7.2f} {100*v/total:5.1f}%")
