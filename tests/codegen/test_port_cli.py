"""`ambidex port --to sync`: one-off conversions from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambidex.cli import main

SOURCE = "import asyncio\n\n\nasync def nap() -> None:\n    await asyncio.sleep(0)\n"
SYNC = "import time\n\n\ndef nap() -> None:\n    time.sleep(0)\n"


def test_a_single_file_without_output_goes_to_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(SOURCE)
    assert main(["port", "a.py", "--to", "sync"]) == 0
    assert capsys.readouterr() == (SYNC, "")


def test_a_folder_goes_to_the_output_folder_with_renames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src" / "_async").mkdir(parents=True)
    (tmp_path / "src" / "nap.py").write_text(SOURCE.replace("nap", "anap"))
    (tmp_path / "src" / "_async" / "x.py").write_text("from ..nap import anap\n")
    assert main(["port", "src", "--to", "sync", "-o", "out", "--rename", "anap=nap"]) == 0
    assert (tmp_path / "out" / "nap.py").read_text() == SYNC
    assert (tmp_path / "out" / "_sync" / "x.py").read_text() == "from ..nap import nap\n"


def test_diff_prints_a_unified_diff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(SOURCE)
    assert main(["port", "a.py", "--to", "sync", "--diff"]) == 0
    out = capsys.readouterr().out
    assert "-    await asyncio.sleep(0)\n+def nap() -> None:\n+    time.sleep(0)\n" in out


def test_bad_input_exits_2_with_a_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("def f(:\n")
    assert main(["port", "a.py", "--to", "sync"]) == 2
    assert capsys.readouterr().err.startswith("a.py:1:")
    assert main(["port", "missing.py", "--to", "sync"]) == 2
    assert main(["port", "a.py", "--to", "sync", "--rename", "nonsense"]) == 2


def test_explain_names_every_function_that_changed_colour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(
        "class C:\n    async def f(self):\n        pass\n\n    async def g(self):\n"
        "        yield 1\n")
    assert main(["port", "a.py", "--to", "sync", "--explain", "-o", "out.py"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "a.py:2:5: C.f: async def -> def",
        "a.py:5:5: C.g: async generator -> generator",
    ]


def test_port_never_overwrites_a_source_and_writes_nothing_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text(SOURCE)
    (tmp_path / "src" / "b.py").write_text(SOURCE)
    assert main(["port", "src", "--to", "sync", "-o", "src"]) == 2
    assert "refusing to overwrite a source" in capsys.readouterr().err
    assert (tmp_path / "src" / "a.py").read_text() == SOURCE
    assert (tmp_path / "src" / "b.py").read_text() == SOURCE


def test_a_source_with_a_byte_order_mark_converts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("\ufeff" + SOURCE, encoding="utf-8")
    assert main(["port", "a.py", "--to", "sync"]) == 0
    assert capsys.readouterr().out == SYNC


def test_port_refuses_to_overwrite_an_existing_file_and_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(SOURCE)
    (tmp_path / "existing.py").write_text("# mine\n")
    assert main(["port", "a.py", "--to", "sync", "-o", "existing.py"]) == 2
    assert "existing.py:1:1: refusing to overwrite" in capsys.readouterr().err
    assert (tmp_path / "existing.py").read_text() == "# mine\n"


def test_port_into_a_folder_over_hand_written_files_writes_nothing_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text(SOURCE)
    (tmp_path / "src" / "b.py").write_text(SOURCE)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "b.py").write_text("# mine\n")
    assert main(["port", "src", "--to", "sync", "-o", "out"]) == 2
    assert "out/b.py:1:1: refusing to overwrite" in capsys.readouterr().err
    assert (tmp_path / "out" / "b.py").read_text() == "# mine\n"
    assert not (tmp_path / "out" / "a.py").exists()


def test_port_with_force_overwrites_and_a_rerun_with_the_same_output_is_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(SOURCE)
    (tmp_path / "existing.py").write_text("# mine\n")
    assert main(["port", "a.py", "--to", "sync", "-o", "existing.py", "--force"]) == 0
    assert (tmp_path / "existing.py").read_text() == SYNC
    # The same port again writes the same text: nothing hand-written is lost.
    assert main(["port", "a.py", "--to", "sync", "-o", "existing.py"]) == 0


def test_port_rejects_a_rename_to_something_that_is_not_a_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(SOURCE)
    assert main(["port", "a.py", "--to", "sync", "--rename", "nap=1x"]) == 2
    assert "'1x' is not a Python name" in capsys.readouterr().err
