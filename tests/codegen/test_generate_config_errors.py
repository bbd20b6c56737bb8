"""A malformed ``[tool.ambidex]`` is a located configuration error, exit 2, never a traceback.

The worst case is silence: a misspelt table (``[[tool.ambidex.generat]]``)
that ``generate --check`` ignored would keep CI green while nothing is
checked. Rows that fight over a folder (two rows with one target, a target
inside its source) would rewrite and delete each other's files forever.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ambidex.cli import main

ROW = """\
[[tool.ambidex.generate]]
source = "pkg/_async"
target = "pkg/_sync"
to = "sync"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    source = tmp_path / "pkg" / "_async"
    source.mkdir(parents=True)
    (source / "client.py").write_text("import asyncio\n\n\nasync def f() -> None:\n"
                                      "    await asyncio.sleep(0)\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _refused(project: Path, pyproject: str, capsys: pytest.CaptureFixture[str],
             command: tuple[str, ...] = ("generate",)) -> str:
    (project / "pyproject.toml").write_text(pyproject)
    assert main(list(command)) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert not (project / "pkg" / "_sync").exists()
    return captured.err


@pytest.mark.parametrize("command", [("generate",), ("generate", "--check")])
def test_a_misspelt_generate_table_is_an_error_not_a_silent_no_op(
    project: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    err = _refused(project, ROW.replace("generate]]", "generat]]"), capsys, command)
    assert "pyproject.toml:1:1: [tool.ambidex]: unknown key 'generat'" in err


def test_an_unknown_key_under_tool_ambidex_is_an_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refused(project, "[tool.ambidex]\ncolour = 'blue'\n\n" + ROW, capsys)
    assert "pyproject.toml:2:1: [tool.ambidex]: unknown key 'colour'" in err


@pytest.mark.parametrize("pyproject, message", [
    ('[tool]\nambidex = "x"\n', "[tool.ambidex] must be a table"),
    ('tool = "x"\n', "[tool] must be a table"),
    ("[tool.ambidex]\nrules = [1]\n", "[[tool.ambidex.rules]] #1: must be a table"),
    ("[tool.ambidex]\nrules = 'x'\n", "'rules' must be an array of tables"),
    ("[tool.ambidex]\ngenerate = [1]\n", "[[tool.ambidex.generate]] #1: must be a table"),
    ("[tool.ambidex]\nlint = 1\n", "[tool.ambidex.lint] must be a table"),
    (ROW.replace('"sync"\n', '"sync"\nrename = { AsyncClient = "1x" }\n'),
     "'rename': '1x' is not a Python name"),
    (ROW.replace('"sync"\n', '"sync"\nrename = { "a b" = "Client" }\n'),
     "'rename': 'a b' is not a Python name"),
])
def test_malformed_configuration_is_a_located_error(
    project: Path, capsys: pytest.CaptureFixture[str], pyproject: str, message: str
) -> None:
    err = _refused(project, pyproject, capsys)
    assert "pyproject.toml" in err and message in err


def test_a_target_that_is_an_existing_file_is_a_configuration_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pkg" / "out").write_text("")
    err = _refused(project, ROW.replace('"pkg/_sync"', '"pkg/out"'), capsys)
    assert "pyproject.toml:1:1: [[tool.ambidex.generate]] #1: target 'pkg/out' is a file" in err


def test_two_rows_with_the_same_target_are_a_configuration_error_naming_both(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pkg" / "_async2").mkdir()
    second = ROW.replace('"pkg/_async"', '"pkg/_async2"')
    err = _refused(project, ROW + "\n" + second, capsys)
    assert ("pyproject.toml:6:1: [[tool.ambidex.generate]] #2: its target pkg/_sync is also "
            "the target of [[tool.ambidex.generate]] #1") in err


def test_a_row_whose_target_is_inside_another_rows_target_is_a_configuration_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pkg" / "_async2").mkdir()
    second = ROW.replace('"pkg/_async"', '"pkg/_async2"').replace('"pkg/_sync"',
                                                                  '"pkg/_sync/inner"')
    err = _refused(project, ROW + "\n" + second, capsys)
    assert "#2: its target pkg/_sync/inner is inside pkg/_sync, the target of " \
        "[[tool.ambidex.generate]] #1" in err


@pytest.mark.parametrize("source, target", [
    ("pkg/_async", "pkg/_async/gen"),
    ("", "gen"),
    ("pkg/_async/inner", "pkg/_async"),
])
def test_a_target_inside_its_source_or_around_it_is_a_configuration_error(
    project: Path, capsys: pytest.CaptureFixture[str], source: str, target: str
) -> None:
    (project / "pkg" / "_async" / "inner").mkdir()
    pyproject = ROW.replace('"pkg/_async"', f'"{source}"').replace('"pkg/_sync"', f'"{target}"')
    err = _refused(project, pyproject, capsys)
    assert "pyproject.toml:1:1: [[tool.ambidex.generate]] #1: source and target overlap" in err
    assert not (project / "gen").exists() and not (project / "pkg/_async/gen").exists()


def test_lint_reports_a_malformed_configuration_without_a_traceback(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refused(project, '[tool]\nambidex = "x"\n', capsys, ("lint", "pkg"))
    assert "[tool.ambidex] must be a table" in err
