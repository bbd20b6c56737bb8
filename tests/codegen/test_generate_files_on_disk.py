"""What ``generate`` and ``port`` do with files as they are on disk, when disks and users misbehave.

Sources in a PEP 263 encoding are read the way Python reads them and written
back in that encoding; a write that fails (disk full, Ctrl-C) leaves no
temporary files behind, and stale ones from a killed run are swept; a link
loop in a source folder is entered once; a module too deep for Python's
parser is a located "cannot parse", not a traceback.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from ambidex.cli import main
from ambidex.codegen import _generate

PYPROJECT = """\
[[tool.ambidex.generate]]
source = "pkg/_async"
target = "pkg/_sync"
to = "sync"
"""
LATIN1 = (b"# -*- coding: latin-1 -*-\n# caf\xe9\nimport asyncio\n\n\n"
          b"async def f() -> str:\n    await asyncio.sleep(0)\n    return '\xe9t\xe9'\n")
CLIENT = "import asyncio\n\n\nasync def f() -> None:\n    await asyncio.sleep(0)\n"
DEEP = "x = " + " + ".join(["1"] * 20_000) + "\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    source = tmp_path / "pkg" / "_async"
    source.mkdir(parents=True)
    for name in ("a.py", "b.py", "c.py"):
        (source / name).write_text(CLIENT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _leftovers(root: Path) -> list[Path]:
    return sorted(root.rglob("*.ambidex-tmp"))


def test_a_latin1_source_is_generated_in_latin1_with_its_declaration(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pkg" / "_async" / "enc.py").write_bytes(LATIN1)
    assert main(["generate"]) == 0, capsys.readouterr().err
    data = (project / "pkg" / "_sync" / "enc.py").read_bytes()
    namespace: dict[str, object] = {}
    exec(compile(data, "enc.py", "exec"), namespace)  # Python reads it as latin-1
    assert namespace["f"]() == "\xe9t\xe9"  # type: ignore[operator]
    assert b"# -*- coding: latin-1 -*-\n# caf\xe9\n" in data
    assert main(["generate", "--check"]) == 0


def test_port_writes_a_latin1_source_in_latin1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "enc.py").write_bytes(LATIN1)
    assert main(["port", "enc.py", "--to", "sync", "-o", "out.py"]) == 0, capsys.readouterr().err
    data = (tmp_path / "out.py").read_bytes()
    assert data.startswith(b"# -*- coding: latin-1 -*-\n# caf\xe9\nimport time\n")
    assert b"return '\xe9t\xe9'" in data


def test_lint_reads_a_latin1_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "enc.py").write_bytes(
        b"# coding: latin-1\n# caf\xe9\nimport time\n\n\nasync def f():\n    time.sleep(1)\n")
    assert main(["lint", "enc.py"]) == 1
    captured = capsys.readouterr()
    assert "cannot read" not in captured.err
    assert "enc.py:7:5: AMB101" in captured.out


def _fail_on_second_file(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    real = _generate._write_text
    calls = []

    def write_text(path: Path, content: str) -> None:
        calls.append(path)
        if len(calls) == 2:
            with path.open("w") as handle:
                handle.write(content[:10])  # what fit before the disk filled up
            raise error
        real(path, content)

    monkeypatch.setattr(_generate, "_write_text", write_text)


def test_a_full_disk_leaves_no_temporary_files_and_the_old_files_in_place(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fail_on_second_file(monkeypatch, OSError(errno.ENOSPC, "No space left on device"))
    assert main(["generate"]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert _leftovers(project) == []
    assert not (project / "pkg" / "_sync").exists() or \
        list((project / "pkg" / "_sync").iterdir()) == []


def test_an_interrupt_while_writing_leaves_no_temporary_files(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_on_second_file(monkeypatch, KeyboardInterrupt())
    assert main(["generate"]) == 130
    assert _leftovers(project) == []


def test_stale_temporary_files_from_a_killed_run_are_swept_by_the_next_run(
    project: Path
) -> None:
    assert main(["generate"]) == 0
    stale = project / "pkg" / "_sync" / ".a.py.ambidex-tmp"
    stale.write_text("half a file")
    assert main(["generate", "--check"]) == 0  # --check writes and deletes nothing
    assert stale.exists()
    assert main(["generate"]) == 0  # the tree is current: the fast path sweeps too
    assert _leftovers(project) == []


def test_a_symlink_loop_in_a_source_folder_is_entered_once(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.symlink("..", project / "pkg" / "_async" / "loop")
    os.symlink(".", project / "pkg" / "_async" / "self")
    assert main(["generate"]) == 0, capsys.readouterr().err
    written = sorted(p.relative_to(project).as_posix()
                     for p in (project / "pkg" / "_sync").rglob("*.py"))
    assert written == ["pkg/_sync/a.py", "pkg/_sync/b.py", "pkg/_sync/c.py"]
    assert main(["generate", "--check"]) == 0  # the twins are not read back as sources
    assert main(["port", "pkg/_async", "--to", "sync", "-o", "out"]) == 0
    assert sorted(p.name for p in (project / "out").rglob("*.py")) == ["a.py", "b.py", "c.py"]


def test_a_module_too_deep_for_the_parser_is_a_located_error_in_generate_and_port(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pkg" / "_async" / "deep.py").write_text(DEEP)
    assert main(["generate"]) == 2
    err = capsys.readouterr().err
    assert "pkg/_async/deep.py:1:1: cannot parse: too deeply nested" in err
    assert "Traceback" not in err
    assert not (project / "pkg" / "_sync").exists()
    for to in ("sync", "async"):
        assert main(["port", "pkg/_async/deep.py", "--to", to]) == 2
        assert "deep.py:1:1: cannot parse: too deeply nested" in capsys.readouterr().err


def test_lint_reports_a_module_too_deep_to_parse_and_still_checks_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deep.py").write_text(DEEP)
    (tmp_path / "ok.py").write_text("import time\n\n\nasync def f():\n    time.sleep(1)\n")
    assert main(["lint", "."]) == 2
    captured = capsys.readouterr()
    assert "deep.py:1:1: AMB999 cannot parse: too deeply nested" in captured.err
    assert "ok.py:5:5: AMB101" in captured.out
