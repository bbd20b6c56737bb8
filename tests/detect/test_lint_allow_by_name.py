"""``allow-blocking`` by qualified name: third-party code silenced without editing it.

``ambidex lint --allow-blocking QUALNAME[=reason]`` and ``[tool.ambidex.lint]
allow_blocking`` allow the blocking calls written in the named definition, as
an ``# ambidex: allow-blocking`` comment on each of their lines would. Names
resolve as ``--sync-only`` does (:mod:`ambidex.codegen._directives`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ambidex import cli

VENDORED = """\
import time


class Client:
    def fetch(self) -> None:
        time.sleep(1)


def other() -> None:
    time.sleep(2)


async def main() -> None:
    Client().fetch()
    other()
"""


def _project(tmp_path: Path, lint_section: str = "") -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.ambidex.lint]\n{lint_section}")
    (tmp_path / "vendored.py").write_text(VENDORED)
    return tmp_path


def test_the_cli_flag_allows_the_blocking_calls_written_in_the_named_method(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    assert cli.main(["lint", str(project)]) == 1
    before = capsys.readouterr().out
    assert "vendored.py:6:9: AMB101" in before and "vendored.py:10:5: AMB101" in before
    args = ["lint", "--allow-blocking", "Client.fetch=vendored, fixed upstream in 2.0",
            "--allow-blocking", "vendored.other=startup only", str(project)]
    assert cli.main([*args, "--strict"]) == 0
    assert capsys.readouterr().out == ""
    assert cli.main(["lint", "--allow-blocking", "Client.fetch", str(project)]) == 1
    out = capsys.readouterr().out
    assert "vendored.py:6:9" not in out and "vendored.py:10:5: AMB101" in out


def test_the_pyproject_key_allows_the_blocking_calls_written_in_the_named_function(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path, 'allow_blocking = [\n  "vendored.other = startup only",\n]\n')
    assert cli.main(["lint", "--strict", str(project)]) == 1
    out = capsys.readouterr().out
    assert "vendored.py:6:9: AMB101" in out and "vendored.py:10:5" not in out


def test_strict_reports_a_name_that_matches_nothing_where_it_was_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(
        tmp_path, 'allow_blocking = [\n  "Client.fetch = vendored",\n  "Client.fecth = typo",\n]\n')
    assert cli.main(["lint", "--allow-blocking", "vendored.other=x", str(project)]) == 0
    assert capsys.readouterr().out == ""
    assert cli.main(["lint", "--strict", "--allow-blocking", "nowhere.gone=x",
                     "--allow-blocking", "vendored.other=x", str(project)]) == 1
    out = capsys.readouterr().out
    pyproject = project / "pyproject.toml"
    assert f"{pyproject}:4:3: AMB102 allow_blocking 'Client.fecth' matches no definition" in out
    assert "--allow-blocking:1:1: AMB102 allow_blocking 'nowhere.gone' matches no definition" in out
    assert "Client.fetch" not in out and "vendored.other" not in out


def test_strict_reports_a_named_definition_that_silences_nothing_or_gives_no_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    (project / "vendored.py").write_text(VENDORED + "\n\ndef quiet() -> None:\n    pass\n")
    args = ["lint", "--strict", "--allow-blocking", "quiet=why", "--allow-blocking", "other",
            "--allow-blocking", "Client.fetch=ok", str(project)]
    assert cli.main(args) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "--allow-blocking:1:1: AMB102 allow_blocking 'quiet' silences nothing; remove it",
        "--allow-blocking:1:1: AMB103 allow_blocking 'other' gives no reason; "
        "say why blocking is acceptable there",
    ]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ('"vendored.other"', "'allow_blocking' must be a list of strings"),
        ('["vendored.other", 3]', "'allow_blocking' must be a list of strings"),
        ('["not a name = x"]', "'not a name' is not a qualified name"),
        ('["= reason only"]', "'' is not a qualified name"),
    ],
)
def test_a_malformed_allow_blocking_value_is_a_located_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, error: str
) -> None:
    project = _project(tmp_path, f"ignore = []\nallow_blocking = {value}\n")
    assert cli.main(["lint", str(project)]) == 2
    err = capsys.readouterr().err
    assert f"{project / 'pyproject.toml'}:3:1:" in err and error in err


def test_a_malformed_cli_name_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path)
    assert cli.main(["lint", "--allow-blocking", "a b", str(project)]) == 2
    assert "--allow-blocking 'a b': 'a b' is not a qualified name" in capsys.readouterr().err
