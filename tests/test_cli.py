"""The command line's shell: usage errors, version, fast start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_generate_with_nothing_to_do_imports_only_what_reading_and_hashing_need(
    tmp_path: Path,
) -> None:
    # `ambidex generate` on an up-to-date tree reads and hashes files: it must not
    # pay for the converters, the markers, the rule table or the syntax-tree
    # machinery (dataclasses brings inspect, ast, dis and tokenize), nor for
    # hashlib (which loads OpenSSL and makes every algorithm's constructor) or
    # json (its decoder compiles regular expressions) to hash a few settings.
    _up_to_date_project(tmp_path)
    code = (
        "import sys\n"
        "from ambidex.cli import main\n"
        "assert main(['generate']) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith('ambidex.') or m in "
        "('dataclasses', 'inspect', 'ast', 'tokenize', 'dis', 'hashlib', 'json')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert result.stdout.strip() == str(
        ["ambidex._config", "ambidex._sourcefiles", "ambidex._sourcetexts", "ambidex.cli",
         "ambidex.codegen", "ambidex.codegen._cli", "ambidex.codegen._generate",
         "ambidex.codegen._header"]
    )


def test_the_ambidex_executable_finds_nothing_to_generate_before_parsing_its_command_line(
    tmp_path: Path,
) -> None:
    # A plain `ambidex generate` on an up-to-date tree (a pre-commit hook, a build
    # hook) answers before argparse, pathlib, tomllib, typing or re are imported:
    # those were three quarters of its time (ambidex.codegen._noop).
    _up_to_date_project(tmp_path)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ambidex", "generate"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )
    assert result.returncode == 0
    assert result.stdout == ""
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "ambidex.codegen._noop" in imported
    assert imported.isdisjoint(
        {"argparse", "pathlib", "tomllib", "tomli", "typing", "re", "ambidex.codegen._generate"}
    ), sorted(imported & {"argparse", "pathlib", "tomllib", "tomli", "typing", "re"})


def _up_to_date_project(folder: Path) -> None:
    """A project of one `_async` module whose `_sync` twin `ambidex generate` wrote."""
    (folder / "pyproject.toml").write_text(
        '[[tool.ambidex.generate]]\nsource = "pkg/_async"\ntarget = "pkg/_sync"\n'
    )
    (folder / "pkg" / "_async").mkdir(parents=True)
    (folder / "pkg" / "_async" / "m.py").write_text(
        "import asyncio\n\n\nasync def f() -> None:\n    await asyncio.sleep(0)\n"
    )
    assert main_in(folder, ["generate"]) == 0  # writes pkg/_sync/m.py


def main_in(folder: Path, argv: list[str]) -> int:
    result = subprocess.run(
        [sys.executable, "-m", "ambidex", *argv], capture_output=True, text=True, cwd=folder,
        check=False,
    )
    return result.returncode


def test_generate_with_nothing_to_do_compiles_no_regular_expression_of_its_own(
    tmp_path: Path,
) -> None:
    # Compiling a pattern costs a few tenths of a millisecond here: the no-op
    # path of `ambidex generate` compiles none of its own (those of the standard
    # library it imports, argparse's and tomllib's, it cannot help).
    _up_to_date_project(tmp_path)
    code = (
        "import os, sys\n"
        "try:\n"
        "    import re._compiler as compiler\n"
        "except ImportError:  # Python 3.10\n"
        "    import sre_compile as compiler\n"
        "compile, ours = compiler.compile, []\n"
        "def watched(pattern, flags=0):\n"
        "    # The innermost caller outside the re package (frames only: reading the\n"
        "    # stack's lines would import tokenize, which compiles patterns).\n"
        "    frame = sys._getframe(1)\n"
        "    name = lambda: frame.f_code.co_filename\n"
        "    while frame is not None and (\n"
        "            os.path.basename(os.path.dirname(name())) == 're'\n"
        "            or os.path.basename(name()) in ('re.py', 'sre_compile.py')):\n"
        "        frame = frame.f_back\n"
        "    if frame is not None and os.sep + 'ambidex' + os.sep in name():\n"
        "        ours.append((str(pattern), name()))\n"
        "    return compile(pattern, flags)\n"
        "compiler.compile = watched\n"
        "from ambidex.cli import main\n"
        "assert main(['generate']) == 0\n"
        "print(ours)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert result.stdout.strip() == "[]"
