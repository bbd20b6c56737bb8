"""Interleaved before/after of `ambidex lint <tree>`: CPU, wall, peak RSS, findings hash.
usage: measure.py RUNS TREE NAME=SRC [NAME=SRC ...]"""
import hashlib, os, subprocess, sys, time
runs = int(sys.argv[1]); tree = sys.argv[2]
variants = [a.split("=", 1) for a in sys.argv[3:]]
PY = "/work/wt-lintcpu11/.venv/bin/python"
res = {n: [] for n, _ in variants}
print("# start", time.strftime("%H:%M:%S", time.gmtime()), open("/proc/loadavg").read().strip(), flush=True)
for r in range(runs):
    for name, src in variants:
        env = dict(os.environ, PYTHONPATH=src)
        out = f"/tmp/lintcpu11/out-{name}.txt"
        start = time.perf_counter()
        with open(out, "wb") as fh:
            p = subprocess.Popen([PY, "-m", "ambidex", "lint", tree], cwd="/work/wt-lintcpu11", env=env, stdout=fh, stderr=subprocess.STDOUT)
            _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
        digest = hashlib.sha256(open(out, "rb").read()).hexdigest()[:12]
        cpu = ru.ru_utime + ru.ru_stime
        res[name].append(cpu)
        print(f"{name:8} run{r} cpu {cpu:6.2f} wall {wall:6.2f} rss {ru.ru_maxrss/1024:6.1f} MB rc {os.waitstatus_to_exitcode(status)} out {digest} load {open('/proc/loadavg').read().split()[0]}", flush=True)
for name, cpus in res.items():
    cpus.sort()
    print(f"{name:8} min {cpus[0]:.2f} median {cpus[len(cpus)//2]:.2f}")
if len(variants) == 2:
    a, b = (sorted(res[n]) for n, _ in variants)
    print(f"ratio {variants[1][0]}/{variants[0][0]}: min {b[0]/a[0]:.3f} median {b[len(b)//2]/a[len(a)//2]:.3f}")
print("# end", time.strftime("%H:%M:%S", time.gmtime()), open("/proc/loadavg").read().strip())
