import re, sys
text = open("/tmp/lintcpu12/final/all.diff").read()
files = re.split(r"(?m)^(?=diff --git )", text)
def pick(item):
    out = []
    for f in files:
        if not f.strip(): continue
        head, *hunks = re.split(r"(?m)^(?=@@ )", f)
        name = re.search(r"^diff --git a/(\S+)", head).group(1)
        chosen = [h for h in hunks if choose(item, name, h)]
        if chosen: out.append(head + "".join(chosen))
    return "".join(out)
def choose(item, name, h):
    if name.endswith("_resolve.py") or name.endswith("test_lint_shortcuts.py"): return item == "A"
    if name.endswith("_index.py"): return item == "C"
    if name.endswith("test_lint_slim_trees.py"): return item == "B"
    if name.endswith("_callgraph/__init__.py"):
        return item == ("A" if "slots" in h else "C")
    if name.endswith("_lint.py"):
        return item == ("A" if "slots=False" in h else "B")
    raise SystemExit(name)
sys.stdout.write(pick(sys.argv[1]))
