"""ambidex holds its own code to its own rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_blocking_call_is_reachable_from_async_code_in_src_or_examples() -> None:
    # Every deliberate exception carries `# ambidex: allow-blocking <reason>`,
    # and --strict fails on allow comments that no longer silence anything.
    result = subprocess.run(
        [sys.executable, "-m", "ambidex", "lint", "--strict", "src", "examples"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
