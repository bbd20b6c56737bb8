"""``ambidex port --to sync``: many warnings that say the same of one name are one line.

tosync9's sweep of 14 async packages gave 367 warnings that an annotation names
an asyncio type the sync twin keeps (``asyncio.AbstractEventLoop`` 143 times,
``asyncio.Future`` 123, ...): a wall a reader scrolls past. The command line
prints one line per name, at its first place, with how many places say it;
``-v`` lists every place, as before. Errors are never folded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ambidex.cli import main

LOOPS = '''\
import asyncio


class Client:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop: asyncio.AbstractEventLoop = loop
        self._waiter: "asyncio.Future[None] | None" = None

    async def run(self, loop: asyncio.AbstractEventLoop) -> None:
        self._done: asyncio.Future[None] | None = None
'''


def _port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
           *flags: str) -> list[str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "client.py").write_text(LOOPS)
    assert main(["port", "client.py", "--to", "sync", "-o", "out.py", "--force", *flags]) == 0
    return capsys.readouterr().err.splitlines()


def test_warnings_that_say_the_same_of_one_name_are_one_line_with_a_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _port(tmp_path, monkeypatch, capsys)
    assert len(lines) == 2, lines
    loop, future = lines
    assert loop.startswith("client.py:5:30: the annotation names asyncio.AbstractEventLoop,")
    assert loop.endswith("(warning; 3 places, the first shown: -v lists each)")
    assert future.startswith("client.py:7:23: the annotation names asyncio.Future,")
    assert future.endswith("(warning; 2 places, the first shown: -v lists each)")


def test_verbose_lists_every_place_a_folded_warning_stands_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _port(tmp_path, monkeypatch, capsys, "-v")
    assert [line.split(": ", 1)[0] for line in lines] == [
        "client.py:5:30", "client.py:6:21", "client.py:7:23", "client.py:9:31",
        "client.py:10:21"]
    assert all(line.endswith("(warning)") for line in lines)


def test_with_strict_every_place_is_an_error_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "client.py").write_text(LOOPS)
    assert main(["port", "client.py", "--to", "sync", "-o", "out.py", "--strict"]) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if "annotation" in line]
    assert len(lines) == 5
