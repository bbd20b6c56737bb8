import re, statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if re.match(r"^(base|new) +run", l)]
d = {}
for r in rows: d.setdefault(int(r[1][3:]), {})[r[0]] = (float(r[3]), float(r[7]), r[12], float(r[14]))
pairs = [(k, v["base"], v["new"]) for k, v in sorted(d.items()) if len(v) == 2]
ratios = [n[0] / b[0] for _, b, n in pairs]
print("pairs", len(pairs), "ratios", " ".join(f"{x:.3f}" for x in ratios))
print(f"paired median {statistics.median(ratios):.3f} min {min(ratios):.3f} max {max(ratios):.3f}")
print("base cpu median %.2f new %.2f" % (statistics.median(b[0] for _, b, _ in pairs), statistics.median(n[0] for _, _, n in pairs)))
print("rss base max %.1f new max %.1f" % (max(b[1] for _, b, _ in pairs), max(n[1] for _, _, n in pairs)))
print("hashes", {b[2] for _, b, _ in pairs}, {n[2] for _, _, n in pairs}, "load", min(min(b[3], n[3]) for _, b, n in pairs), max(max(b[3], n[3]) for _, b, n in pairs))
