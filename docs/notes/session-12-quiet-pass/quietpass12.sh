#!/usr/bin/env bash
# Quiet pass, session 12: every goal's bench on main, one at a time, outputs in $OUT.
# BENCHES="resp io" runs a subset. Run from /work/wt-check (its .venv: [test,bench], C built).
set -u
OUT=${OUT:-/work/coord/quiet12}
mkdir -p "$OUT"
cd /work/wt-check
PY=.venv/bin/python
NOX310=.nox/tests-3-10/bin/python
NOX313=.nox/tests-3-13/bin/python
run() { name=$1; shift
  flock /work/coord/measure.lock true; { echo "# $name: $* ; $(date -u +%H:%M:%S) $(uptime)"; flock /work/coord/measure.lock "$@"; echo "# rc=$? end $(date -u +%H:%M:%S) $(uptime)"; } > "$OUT/$name.txt" 2>&1
  echo "$name done $(date -u +%H:%M:%S) $(uptime | sed 's/.*average: //')"
}
ALL="resp gibson io ioself io310 io313 offload http http50 lint resp2 http2 http50b io2 gibson2 iopure"
for b in ${BENCHES:-$ALL}; do case $b in
  resp|resp2) run $b $PY tools/bench/resp.py --runs 3 ;;
  gibson|gibson2) run $b $PY tools/bench/gibson.py --runs 3 ;;
  io|io2) run $b $PY tools/bench/io.py --scale 0.5 --rounds 40 ;;
  ioself) run $b $PY tools/bench/io.py --scale 0.5 --rounds 40 --self-check ;;
  io310) run $b $NOX310 tools/bench/io.py --scale 0.5 --rounds 40 ;;
  io313) run $b $NOX313 tools/bench/io.py --scale 0.5 --rounds 40 ;;
  iopure) run $b env AMBIDEX_NO_EXTENSIONS=1 $PY tools/bench/io.py --scale 2 --rounds 5 ;;
  offload) run $b $PY tools/bench/offload.py --only threads,process,file --rounds 5 ;;
  http|http2) run $b $PY tools/bench/http_client.py --runs 5 ;;
  http50|http50b) run $b $PY tools/bench/http_client.py --runs 5 --rows "50 tasks" ;;
  lint|lint2) run $b $PY tools/bench/lint.py --scale --runs 1 ;;
esac; done
