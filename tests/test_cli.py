"""The command line's shell: usage errors, version, fast start."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ambidex import __version__
from ambidex.cli import main


def test_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["port", "x.py"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: ambidex" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ambidex", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"ambidex {__version__}"


def test_importing_the_cli_imports_no_part_of_the_toolkit() -> None:
    # The command line must start fast: a command imports only its own part.
    code = (
        "import sys, ambidex.cli; "
        "print(sorted(m for m in sys.modules if m.startswith('ambidex.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['ambidex.cli']"
