#!/usr/bin/env bash
# The test command (the README, CONTRIBUTING.md and .ci/run all run exactly this):
#
#   bash tools/test.sh [PYTEST ARGS...]
#
# 1. sets up .venv with the tools, pinned by tools/constraints.txt, and the C modules;
# 2. in the background, beside step 3: ruff; mypy --strict on src/, examples/ and tools/,
#    mypy on tests/; ambidex generate --check (into .nox/logs/checks.log; a line as they
#    finish, their output at the end if one failed);
# 3. pytest on every Python the package claims, 3.10 to 3.13: one nox session each
#    (noxfile.py), AMBIDEX_TEST_JOBS of them at a time (default 4: on 2 cores, two
#    lanes left a quarter of the CPU idle in waits and subprocess starts), each into its own
#    log under .nox/logs/. .venv's own version (3.11) runs in .venv (session tests_here),
#    the others each in a virtualenv of their own. A line per version as it finishes, the
#    full log of any that failed, then the primary version's (3.11) pytest output, whose
#    summary line closes the output unless a check failed. Exit 1 if a check or any
#    version failed (pytest's exit 5, "no tests ran", too).
#
# AMBIDEX_PYTHONS="3.11" runs fewer versions, for a quick local run; CI runs all four.
# Each version has 20 minutes when CI is set, an hour otherwise (AMBIDEX_TEST_LIMIT, seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
# Python writes its bytecode cache (__pycache__ beside the sources, which git ignores)
# whatever the environment says. With PYTHONDONTWRITEBYTECODE set (this project's
# machines set it), every Python process of the run compiled ambidex and the tests
# again, and each pytest (the suite's own, and those its tests start) re-rewrote the
# asserts of every plugin's package, ambidex's included: four test files that start
# Pythons took 28.3 CPU-s instead of 8.8 (session 12).
unset PYTHONDONTWRITEBYTECODE
PRIMARY=3.11
PYTHONS=${AMBIDEX_PYTHONS:-"3.11 3.10 3.12 3.13"}
JOBS=${AMBIDEX_TEST_JOBS:-4}

# nox looks for pythonX.Y on the PATH: put pyenv's interpreters there (its shims
# answer only for the selected version).
for bin in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[0-3].*/bin; do
  if [ -x "$bin/python3" ]; then PATH="$bin:$PATH"; fi
done
export PATH

if [ ! -x .venv/bin/python ]; then
  "python$PRIMARY" -m venv .venv 2>/dev/null || python3 -m venv .venv
fi
# The C modules are required, as in the nox sessions: the suite runs on .venv's
# Python in .venv itself (below).
AMBIDEX_BUILD_EXTENSIONS=require .venv/bin/python -m pip install -q --disable-pip-version-check \
  -c tools/constraints.txt -e '.[test]'
HERE=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

LOGS=.nox/logs
STARTED=$(date +%s)
export LOGS STARTED HERE
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log "$LOGS"/*.rc

# The checks run beside pytest, not before it: each is one process on one core,
# which the pytest lanes' installs and waits leave idle at times. Their line comes
# as they finish; their output, if one failed, after the lanes'.
echo "== ruff, mypy --strict src examples tools, mypy tests, ambidex generate --check (log in $LOGS/checks.log)"
(
  # (set -e does not act inside an `&& ... ||` list: each step is chained.)
  {
    echo "== ruff" && .venv/bin/python -m ruff check --quiet src tests tools examples noxfile.py &&
    echo "== mypy --strict src examples tools" &&
    .venv/bin/python -m mypy --no-error-summary src/ambidex examples tools noxfile.py &&
    echo "== mypy tests" && .venv/bin/python -m mypy --no-error-summary tests &&
    echo "== ambidex generate --check" && .venv/bin/ambidex generate --check
  } >"$LOGS/checks.log" 2>&1 && rc=0 || rc=$?
  echo "$rc" >"$LOGS/checks.rc"
  if [ "$rc" = 0 ]; then word=passed; else word=FAILED; fi
  echo "   checks $word (exit $rc, finished at +$(( $(date +%s) - STARTED ))s)"
) &
CHECKS=$!

echo "== pytest on Python $PYTHONS, $JOBS at a time (logs in $LOGS/)"
# xargs appends the version after the pytest arguments; the exit codes are read below.
# The version of .venv's Python runs in .venv (nox's session tests_here): a tests-X.Y
# session would install the same environment again. The others each get their own
# session and virtualenv under .nox/.
# A hang fails the version after 20 minutes in CI instead of eating the CI budget of 90
# (pytest-timeout did not break a lock deadlock inside __del__ once); exit 124 then. Three
# minutes before that, pytest stops between tests and prints the failures so far
# (noxfile.py). The limit is a budget guard for CI's idle 2 cores: a local run on a busy
# machine gets an hour unless AMBIDEX_TEST_LIMIT says otherwise.
if [ -n "${CI:-}" ]; then LIMIT=${AMBIDEX_TEST_LIMIT:-1200}; else LIMIT=${AMBIDEX_TEST_LIMIT:-3600}; fi
export LIMIT
printf '%s\n' $PYTHONS | xargs -n 1 -P "$JOBS" bash -c '
  v=${!#}; set -- "${@:1:$#-1}"
  if [ "$v" = "$HERE" ]; then session=tests_here; else session=tests-$v; fi
  export AMBIDEX_TEST_DEADLINE=$(( $(date +%s) + LIMIT - 180 ))
  timeout --kill-after=30 "$LIMIT" .venv/bin/nox --no-color -s "$session" -- "$@" \
    >"$LOGS/$v.log" 2>&1 && rc=0 || rc=$?
  echo "$rc" >"$LOGS/$v.rc"
  summary=$(grep -E "^[0-9]+ (passed|failed)|^no tests ran" "$LOGS/$v.log" | tail -n 1)
  echo "   $v: ${summary:-no pytest summary} (exit $rc, finished at +$(( $(date +%s) - STARTED ))s)"
' _ "$@" || true
wait "$CHECKS" || true

# The budget check for CI (2 cores, well under 10 minutes): wall time of the whole
# command and the CPU time of everything it ran (the CPU total does not depend on
# how busy the machine was; on 2 idle cores the wall time is at least half of it).
times >"$LOGS/times"  # a builtin, in this shell: its second line is the children's
read -r cpu_user cpu_sys < <(tail -n 1 "$LOGS/times" | tr 'ms' '  ' |
                             awk '{printf "%.0f %.0f\n", $1 * 60 + $2, $3 * 60 + $4}')
echo "== time: ${SECONDS}s wall for tools/test.sh; CPU of its children ${cpu_user}s user + ${cpu_sys}s system"

failed=0
shown=""
for v in $PYTHONS; do
  rc=$(cat "$LOGS/$v.rc" 2>/dev/null || echo missing)
  if [ "$rc" != 0 ]; then failed=1; fi
  if [ "$rc" != 0 ] && [ "$v" != "$PRIMARY" ]; then
    echo "== pytest on $v FAILED (exit $rc)"; grep -v '^nox > ' "$LOGS/$v.log" || true
  fi
  if [ "$v" = "$PRIMARY" ] || [ -z "$shown" ]; then shown=$v; fi
done
echo "== pytest on $shown"
grep -v '^nox > ' "$LOGS/$shown.log" || true
# A failed check closes the output.
if [ "$(cat "$LOGS/checks.rc" 2>/dev/null || echo missing)" != 0 ]; then
  failed=1; echo "== checks FAILED"; cat "$LOGS/checks.log"
fi
exit $failed
