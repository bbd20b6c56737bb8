import sys, collections, re
target = sys.argv[2]
callers, children = collections.Counter(), collections.Counter()
total = 0; tot_t = 0
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip().rpartition(" ")
    n = int(n); total += n
    frames = [re.sub(r" \(/[^)]*/(src/ambidex/|lib/python3.11/)", " (", f) for f in stack.split(";")]
    frames = [re.sub(r":\d+\)", ")", f) for f in frames]
    idx = [i for i, f in enumerate(frames) if f.startswith(target + " ")]
    if not idx: continue
    i = idx[0]; tot_t += n
    callers[frames[i-1] if i else "-"] += n
    children[frames[i+1] if i + 1 < len(frames) else "(self)"] += n
print(f"{target}: {100*tot_t/total:.1f}%")
print("callers:"); [print(f"  {100*n/total:5.1f}% {f}") for f, n in callers.most_common(12)]
print("children:"); [print(f"  {100*n/total:5.1f}% {f}") for f, n in children.most_common(15)]
