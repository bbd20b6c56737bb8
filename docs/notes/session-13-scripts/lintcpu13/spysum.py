import sys, collections, re
selfc, incl = collections.Counter(), collections.Counter(); total = 0
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip().rpartition(" ")
    n = int(n); total += n
    frames = [re.sub(r":\d+\)", ")", re.sub(r" \(/[^)]*/(src/ambidex/|lib/python3.11/)", " (", f)) for f in stack.split(";")]
    selfc[frames[-1]] += n
    for f in set(frames): incl[f] += n
print("total", total)
print("self:"); [print(f"  {100*n/total:5.1f}% {f}") for f, n in selfc.most_common(25)]
print("incl:"); [print(f"  {100*n/total:5.1f}% {f}") for f, n in incl.most_common(60)]
