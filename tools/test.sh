#!/usr/bin/env bash
# The test command: set up .venv if needed, then lint, type-check, check that
# generated files are current, and run the suite. pytest runs last so its
# summary line closes the output.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
echo "== ruff";  .venv/bin/python -m ruff check --quiet src tests tools examples
echo "== mypy";  .venv/bin/python -m mypy --no-error-summary src/ambidex
echo "== ambidex generate --check"; .venv/bin/ambidex generate --check
echo "== pytest"; .venv/bin/python -m pytest -q "$@"
