#!/bin/bash
# usage: small.sh NEWSRC ; compares base vs NEWSRC lint outputs on small trees
NEW=$1; PY=/work/wt-lintcpu12/.venv/bin/python; R=/work/wt-lintcpu12
run() { # name src args...
  local src=$1; shift; (cd $R && PYTHONPATH=$src $PY -m ambidex lint "$@" 2>&1; echo "rc $?") }
fail=0
for args in "tests/detect/lint_project" "tests/detect/lint_project --strict" "tests/detect/lint_project --format json" "$R/tests/detect/lint_project --strict" "src examples --strict" "$R/src $R/examples" "tests/fixtures tests/codegen/corpus tests/realports" "tests"; do
  a=$(run /tmp/lintcpu12/base/src $args | sha256sum | cut -c1-12); b=$(run $NEW $args | sha256sum | cut -c1-12)
  echo "$a $b $args"; [ "$a" = "$b" ] || fail=1
done
echo "small fail=$fail"
