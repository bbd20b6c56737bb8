import sys, collections, re
anc = sys.argv[2]; target = sys.argv[3]
children = collections.Counter(); total = 0; t = 0
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip().rpartition(" ")
    n = int(n); total += n
    frames = [re.sub(r" \(/[^)]*/(src/ambidex/|lib/python3.11/)", " (", f) for f in stack.split(";")]
    frames = [re.sub(r":\d+\)", ")", f).split(" (")[0] for f in frames]
    if anc not in frames: continue
    i = frames.index(anc)
    if target not in frames[i:]: continue
    j = frames.index(target, i); t += n
    children[frames[j+1] if j + 1 < len(frames) else "(self)"] += n
print(f"{target} under {anc}: {100*t/total:.1f}%")
for f, n in children.most_common(20): print(f"  {100*n/total:5.1f}% {f}")
