"""The project options of async -> sync from the command line and [tool.ambidex]:
colour flags, prose renames, unasync's prefix, and the summary of a refused tree
(issue 10 items 1, 3, 7; issue 12 item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambidex.cli import main

FLAGGED = """\
import asyncio

_IS_SYNC = False


class AsyncClient:
    \"\"\"An AsyncClient.\"\"\"

    async def close(self) -> None:
        if not _IS_SYNC:
            await asyncio.shield(self.aclose())
        else:
            self.aclose()

    async def aclose(self) -> None:
        pass
"""


def test_port_takes_flags_prose_and_a_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "client.py").write_text(FLAGGED)
    code = main(["port", "--to", "sync", "client.py", "--flag", "_IS_SYNC=sync",
                 "--rename-prose", "--async-prefix", "Sync"])
    out = capsys.readouterr().out
    assert code == 0
    assert "_IS_SYNC = True" in out
    assert "asyncio" not in out
    assert 'class SyncClient:\n    """An SyncClient."""' in out


def test_a_malformed_flag_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "client.py").write_text(FLAGGED)
    assert main(["port", "--to", "sync", "client.py", "--flag", "_IS_SYNC=maybe"]) == 2
    assert "--flag expects NAME=sync or NAME=async" in capsys.readouterr().err


PYPROJECT = """\
[project]
name = "demo"

[[tool.ambidex.generate]]
source = "pkg/_async"
target = "pkg/_sync"
flags = { _IS_SYNC = "sync" }
rename_prose = true
async_prefix = "Sync"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "pkg" / "_async").mkdir(parents=True)
    (tmp_path / "pkg" / "_async" / "client.py").write_text(FLAGGED)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_generate_row_declares_flags_prose_and_a_prefix(project: Path) -> None:
    assert main(["generate"]) == 0
    output = (project / "pkg" / "_sync" / "client.py").read_text()
    assert "_IS_SYNC = True" in output
    assert 'class SyncClient:\n    """An SyncClient."""' in output


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('flags = { _IS_SYNC = "both" }', "'flags' must be a table"),
        ("rename_prose = 1", "'rename_prose' must be true or false"),
        ('async_prefix = "not a name"', "'async_prefix' must be true, false or a prefix"),
        ('sort_imports = "no"', "'sort_imports' must be true or false"),
    ],
)
def test_malformed_project_options_are_usage_errors(
    project: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    key = line.split(" = ")[0]
    text = "\n".join(x for x in PYPROJECT.splitlines() if not x.startswith(key + " "))
    (project / "pyproject.toml").write_text(text + "\n" + line + "\n")
    assert main(["generate"]) == 2
    assert message in capsys.readouterr().err


def test_a_tree_with_refused_modules_ends_with_a_summary_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a", "b"):
        (project / "pkg" / "_async" / f"{name}.py").write_text(
            "import asyncio\n\n\nasync def f(x):\n    await asyncio.gather(x)\n")
    assert main(["generate"]) == 1
    err = capsys.readouterr().err
    assert ("1 of 3 modules convert, 2 refused (nothing written); most common refusal: "
            "'asyncio.gather has no sync twin' (2x)") in err
    assert not (project / "pkg" / "_sync").exists()


def test_port_of_a_tree_with_refused_modules_ends_with_the_summary_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "ok.py").write_text("async def f():\n    return 1\n")
    (tmp_path / "src" / "bad.py").write_text(
        "import asyncio\n\n\nasync def f(x):\n    await asyncio.wait_for(x, 1)\n")
    assert main(["port", "--to", "sync", "src", "-o", "out"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == ("ambidex port: 1 of 2 modules convert, 1 refused (nothing written); "
                       "most common refusal: 'asyncio.wait_for has no sync twin' (1x)")
    assert not (tmp_path / "out").exists()
