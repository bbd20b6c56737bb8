"""Interleaved pairs of `python -m ambidex lint TREE` from several source trees.
usage: measure.py RUNS NAME=SRC [NAME=SRC ...]; each pair under measure.lock; order alternates."""
import fcntl, hashlib, os, subprocess, sys, time, statistics
runs = int(sys.argv[1])
tree = "/work/wt-lintcpu13/.venv/lib/python3.11/site-packages"
variants = [a.split("=", 1) for a in sys.argv[2:]]
PY = "/work/wt-lintcpu13/.venv/bin/python"
res = {n: [] for n, _ in variants}
rss = {n: [] for n, _ in variants}
def load(): return open("/proc/loadavg").read().split()[0]
print("# start", time.strftime("%H:%M:%S", time.gmtime()), open("/proc/loadavg").read().strip(), flush=True)
for r in range(runs):
    order = variants if r % 2 == 0 else variants[::-1]
    with open("/work/coord/measure.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for name, src in order:
            env = dict(os.environ, PYTHONPATH=src)
            out = f"/tmp/lintcpu13/out-{name}.txt"
            start = time.perf_counter()
            with open(out, "wb") as fh:
                p = subprocess.Popen([PY, "-m", "ambidex", "lint", tree], cwd="/work/wt-lintcpu13", env=env, stdout=fh, stderr=subprocess.STDOUT)
                _, status, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - start
            digest = hashlib.sha256(open(out, "rb").read()).hexdigest()[:12]
            cpu = ru.ru_utime + ru.ru_stime
            res[name].append(cpu); rss[name].append(ru.ru_maxrss/1024)
            print(f"{name:8} run{r} cpu {cpu:6.2f} wall {wall:6.2f} rss {ru.ru_maxrss/1024:6.1f} MB rc {os.waitstatus_to_exitcode(status)} out {digest} load {load()}", flush=True)
for name, cpus in res.items():
    print(f"{name:8} min {min(cpus):.2f} median {statistics.median(cpus):.2f} max {max(cpus):.2f} rss max {max(rss[name]):.1f}")
if len(variants) == 2:
    a, b = (res[n] for n, _ in variants)
    ratios = sorted(y / x for x, y in zip(a, b))
    print(f"paired ratio {variants[1][0]}/{variants[0][0]}: median {statistics.median(ratios):.3f} min {ratios[0]:.3f} max {ratios[-1]:.3f} n {len(ratios)}")
print("# end", time.strftime("%H:%M:%S", time.gmtime()), open("/proc/loadavg").read().strip())
