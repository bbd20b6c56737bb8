"""The static lint: blocking calls reachable from ``async def``, through the call graph.

The sample project in ``lint_project/`` has blocking calls 0, 1, 2 and 3 calls
deep across several files, reached through methods, ``self.`` objects and
imported (and renamed) names, plus every case that must *not* be reported.
ruff's ASYNC rules, which look only inside ``async def`` bodies, would report
only ``app.direct``'s ``time.sleep`` there (see the project's ``__init__``);
we do not run ruff here, the point is what this lint finds beyond it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ambidex import cli
from ambidex.detect._lint import _display, _Displays, lint_paths, lint_sources

PROJECT = Path(__file__).parent / "lint_project"

EXPECTED = {
    ("app.py", 17, "AMB101"),  # time.sleep directly in direct(): 0 deep
    ("app.py", 29, "AMB101"),  # slow_query, listed in [tool.ambidex.lint] blocking
    ("app.py", 64, "AMB201"),  # fake(): async only in name (information)
    ("store.py", 11, "AMB101"),  # nap = time.sleep, handler -> load: 1 deep
    ("store.py", 20, "AMB101"),  # open, report -> load_twice -> parse: 2 deep
    ("store.py", 21, "AMB101"),  # f.read() on the opened file
    ("net.py", 15, "AMB101"),  # sock.recv, status -> _poll -> _read_reply -> Conn.read: 3 deep
    ("net.py", 18, "AMB101"),  # with threading.Lock, send -> Conn.locked_send
    ("net.py", 19, "AMB101"),  # sock.sendall under that lock
}


def _found(paths: list[str], *, strict: bool = False) -> set[tuple[str, int, str]]:
    result = lint_paths(paths, strict=strict)
    return {(Path(f.path).name, f.line, f.code) for f in result.findings}


def _messages(*, code: str = "AMB101") -> dict[tuple[str, int], str]:
    result = lint_paths([str(PROJECT)])
    return {(Path(f.path).name, f.line): f.message for f in result.findings if f.code == code}


def test_finds_every_blocking_call_in_the_sample_project_and_nothing_else() -> None:
    assert _found([str(PROJECT)]) == EXPECTED


def test_each_finding_carries_the_shortest_chain_from_a_coroutine() -> None:
    messages = _messages()
    assert "reached from direct();" in messages[("app.py", 17)]
    assert "reached from handler() -> load();" in messages[("store.py", 11)]
    assert "reached from report() -> load_twice() -> parse();" in messages[("store.py", 20)]
    assert (
        "reached from Service.status() -> Service._poll() -> Service._read_reply() -> Conn.read();"
        in messages[("net.py", 15)]
    )


def test_an_aliased_import_is_reported_under_its_real_name_with_the_rows_advice() -> None:
    message = _messages()[("store.py", 11)]
    assert message.startswith("time.sleep blocks the event loop")
    assert message.endswith("use await asyncio.sleep")


def test_objects_are_followed_from_the_constructor_that_made_them() -> None:
    messages = _messages()
    assert messages[("net.py", 15)].startswith("socket.socket.recv blocks")
    assert messages[("net.py", 18)].startswith("`with` on threading.Lock blocks")
    assert "use `async with` on asyncio.Lock" in messages[("net.py", 18)]


def test_a_name_listed_in_the_project_settings_counts_as_blocking() -> None:
    assert _messages()[("app.py", 29)].startswith("lint_project.legacy.slow_query blocks")


def test_ignored_paths_are_not_linted_but_the_same_code_is_reported_when_not_ignored() -> None:
    skipped = PROJECT / "generated" / "skip.py"
    store = PROJECT / "store.py"
    result = lint_sources(
        {
            "lint_project/store.py": store.read_text(),
            "lint_project/generated/skip.py": skipped.read_text(),
        }
    )
    found = {(Path(f.path).name, f.line) for f in result.findings}
    assert ("store.py", 32) in found  # cli_main's sleep, reached from generated/skip.py


def test_offloaded_calls_and_type_checking_blocks_are_not_findings() -> None:
    source = """
import asyncio, time
from typing import TYPE_CHECKING
from ambidex.offload import run_in_thread

def work() -> None:
    time.sleep(1)

def guarded() -> None:
    if TYPE_CHECKING:
        time.sleep(1)

async def main(executor) -> None:
    await asyncio.to_thread(work)
    await asyncio.get_running_loop().run_in_executor(None, work)
    executor.submit(work)
    await asyncio.to_thread(lambda: work())
    await run_in_thread(work)
    guarded()
    await asyncio.sleep(0)
"""
    result = lint_sources({"m.py": source})
    assert result.findings == []
    assert result.exit_code == 0


def test_a_lambda_not_handed_to_a_thread_still_blocks() -> None:
    source = """
import asyncio, time

async def main() -> None:
    asyncio.get_running_loop().call_soon(lambda: time.sleep(1))
"""
    result = lint_sources({"m.py": source})
    assert [(f.line, f.code) for f in result.findings] == [(5, "AMB101")]


def test_calls_through_imported_classes_and_inherited_methods_are_followed(tmp_path: Path) -> None:
    base = """
import requests

class Base:
    def fetch(self, url: str) -> bytes:
        return requests.get(url).content
"""
    child = """
from .base import Base

class Child(Base):
    def run(self) -> bytes:
        return self.fetch("http://x")

async def go() -> None:
    Child().run()
"""
    result = lint_sources({"pkg/base.py": base, "pkg/child.py": child})
    assert [(f.path, f.line) for f in result.findings] == [("pkg/base.py", 6)]
    assert "go() -> Child.run() -> Base.fetch()" in result.findings[0].message


def test_fake_async_is_information_and_does_not_fail_the_run() -> None:
    source = """
import asyncio, time

def work() -> None:
    time.sleep(1)

async def fake() -> None:
    await asyncio.to_thread(work)
"""
    result = lint_sources({"m.py": source})
    assert [(f.code, f.severity) for f in result.findings] == [("AMB201", "info")]
    assert result.exit_code == 0


ALLOWS = """
import time

async def main() -> None:
    helper()

def helper() -> None:
    time.sleep(0)  # ambidex: allow-blocking tests only, sleep(0) yields
    time.sleep(0)  # ambidex: allow-blocking
    x = 1  # ambidex: allow-blocking nothing blocks here
"""


def test_allow_comments_silence_their_line() -> None:
    assert lint_sources({"m.py": ALLOWS}).findings == []


def test_strict_reports_allow_comments_that_silence_nothing_or_give_no_reason() -> None:
    result = lint_sources({"m.py": ALLOWS}, strict=True)
    assert [(f.line, f.code) for f in result.findings] == [(9, "AMB103"), (10, "AMB102")]
    assert result.exit_code == 1


def test_cli_prints_ruff_style_lines_and_exits_1_with_findings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["lint", str(PROJECT)]) == 1
    lines = capsys.readouterr().out.splitlines()
    first = next(line for line in lines if "store.py:11:5:" in line)
    assert first.endswith(
        "store.py:11:5: AMB101 time.sleep blocks the event loop; "
        "reached from handler() -> load(); use await asyncio.sleep"
    )


def test_cli_json_lists_the_same_findings(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lint", "--format", "json", str(PROJECT)]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert {(Path(r["path"]).name, r["line"], r["code"]) for r in rows} == EXPECTED
    recv = next(r for r in rows if r["message"].startswith("socket.socket.recv"))
    assert recv["chain"] == [
        "Service.status()",
        "Service._poll()",
        "Service._read_reply()",
        "Conn.read()",
    ]


def test_cli_is_quiet_and_exits_0_on_clean_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ok.py").write_text(
        "import asyncio\n\nasync def f() -> None:\n    await asyncio.sleep(0)\n"
    )
    assert cli.main(["lint", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_cli_exits_2_on_unparsable_input_naming_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n    pass\n")
    (tmp_path / "fine.py").write_text("import time\n\nasync def g() -> None:\n    time.sleep(1)\n")
    assert cli.main(["lint", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "broken.py:1:7: AMB999 cannot parse" in captured.err
    assert "fine.py:4:5: AMB101" in captured.out  # the other files are still linted


def test_cli_strict_reports_unused_allow_comments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.py").write_text(ALLOWS)
    assert cli.main(["lint", str(tmp_path)]) == 0
    assert cli.main(["lint", "--strict", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "m.py:10:12: AMB102" in out
    assert "m.py:9:20: AMB103" in out


def test_cli_exits_2_on_a_malformed_lint_section_or_a_missing_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.ambidex.lint]\nblocking = "time.sleep"\n')
    (tmp_path / "m.py").write_text("")
    assert cli.main(["lint", str(tmp_path)]) == 2
    assert "'blocking' must be a list of strings" in capsys.readouterr().err
    assert cli.main(["lint", str(tmp_path / "missing.py")]) == 2
    assert "missing.py:1:1: AMB999 no such file or folder" in capsys.readouterr().err


def test_each_file_is_shown_by_its_resolved_path_with_each_folder_resolved_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A site-packages has ~2,700 files in a few hundred folders: resolving
    # every file's whole path (a stat per part of it, in Python) was ~2% of
    # its lint. The answers are those of a path resolved whole, symlinks too.
    work = tmp_path / "work"
    real = work / "real" / "pkg"
    (real / "sub").mkdir(parents=True)
    for name in ("a.py", "sub/b.py", "sub/c.py"):
        (real / name).write_text("x = 1\n")
    (work / "linked").symlink_to(real, target_is_directory=True)
    (real / "sub" / "alias.py").symlink_to(real / "a.py")  # a file that is a link
    (tmp_path / "outside.py").write_text("y = 2\n")
    monkeypatch.chdir(work)
    files = [Path("linked/a.py"), Path("linked/sub/b.py"), Path("linked/sub/alias.py"),
             Path("linked/sub/c.py"), real / "sub" / "b.py", Path("real/pkg/../pkg/a.py"),
             tmp_path / "outside.py", Path("../outside.py")]
    shown = _Displays()
    resolved = [shown(f) for f in files]
    assert resolved == [_display(f) for f in files]
    assert resolved == ["real/pkg/a.py", "real/pkg/sub/b.py", "real/pkg/a.py", "real/pkg/sub/c.py",
                        "real/pkg/sub/b.py", "real/pkg/a.py", str(tmp_path / "outside.py"),
                        "../outside.py"]
    # linked, linked/sub, real/pkg/sub, real/pkg/../pkg, tmp_path, ..
    assert len(shown.folders) == 6
