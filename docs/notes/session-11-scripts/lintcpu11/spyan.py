import sys, collections, re
self_, incl = collections.Counter(), collections.Counter()
total = 0
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip().rpartition(" ")
    n = int(n); total += n
    frames = [re.sub(r" \(/[^)]*/(src/ambidex/|lib/python3.11/)", " (", f) for f in stack.split(";")]
    frames = [re.sub(r":\d+\)", ")", f) for f in frames]
    self_[frames[-1]] += n
    for f in set(frames): incl[f] += n
print("total samples", total)
print("--- self")
for f, n in self_.most_common(int(sys.argv[2]) if len(sys.argv) > 2 else 30): print(f"{100*n/total:5.1f}% {f}")
print("--- inclusive")
for f, n in incl.most_common(int(sys.argv[3]) if len(sys.argv) > 3 else 45): print(f"{100*n/total:5.1f}% {f}")
