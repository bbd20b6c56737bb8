"""tools/bench/lint_phases.py times every phase it names, and still lints as the command does.

The table wraps the lint's functions by name: when one moves, is renamed or
is no longer called, the table must not quietly lose a phase (a row that
reads 0.00 s forever). Timings themselves live in the benchmark, never here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.primary_only  # (the table names the lint's functions: the same on every Python)
def test_every_phase_of_the_lint_table_is_called_and_the_findings_are_the_commands(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "tests" / "detect" / "lint_project", project)
    # A table of literals bound at module level: what the slim build shares.
    (project / "tables.py").write_text('CODES = ("a", "b", ("c", 1))\n')
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "bench" / "lint_phases.py"),
                           str(project)], cwd=tmp_path, capture_output=True, text=True,
                          check=True)
    rows = [line for line in done.stdout.splitlines() if re.search(r"%\s+\d+$", line)]
    assert len(rows) == 19, done.stdout
    for row in rows:
        assert int(row.split()[-1]) >= 1, f"a phase the lint no longer calls:\n{row}"
    command = subprocess.run([sys.executable, "-m", "ambidex", "lint", "--format", "json",
                              str(project)], cwd=tmp_path, capture_output=True, text=True,
                             check=False)
    found = re.search(r": (\d+) findings, ", done.stdout)
    assert found is not None, done.stdout
    assert int(found.group(1)) == len(json.loads(command.stdout)) > 0
