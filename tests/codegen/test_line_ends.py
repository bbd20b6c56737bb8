"""Every line the generator writes ends the way the file's own lines end.

A file whose lines end in ``\\r\\n`` (Windows) or a lone ``\\r`` (old Mac) must
come out of ``port`` and ``generate`` with those line ends only: an added
``import asyncio``, an inserted ``pass`` or a blank line that ends in ``\\n``
gives a file of mixed line ends, which editors and ``git diff`` show as noise
and some tools misread.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from ambidex import cli
from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._source import Conversion
from ambidex.codegen._to_async import to_async
from ambidex.codegen._to_sync import to_sync

ROOT = Path(__file__).parents[2]
ENDS = ("\r\n", "\r")

SYNC_SOURCE = (
    "import time\n\n\n"
    "def nap():\n    time.sleep(1)\n\n\n"
    "def caller(a,\n           b):\n    nap()\n"
)
ASYNC_SOURCE = (
    "import asyncio\n\n\n"
    "class C:\n    async def f(self):\n        await asyncio.sleep(1)\n\n"
    "    async def g(self, a,\n                b):\n        await self.f()\n"
)


def _line_ends(text: str) -> set[str]:
    return set(re.findall(r"\r\n|\r|\n", text))


def _converted(convert: Callable[..., Conversion], modules: Mapping[str, str]) -> Conversion:
    result = convert(dict(modules), table=DEFAULT_TABLE, renames={})
    assert [str(d) for d in result.diagnostics if d.error] == []
    return result


@pytest.mark.parametrize("end", ENDS, ids=["crlf", "cr"])
def test_an_import_added_towards_async_ends_like_the_files_lines(end: str) -> None:
    output = _converted(to_async, {"m.py": SYNC_SOURCE.replace("\n", end)}).outputs["m.py"]
    assert output.startswith("import asyncio" + end)
    assert _line_ends(output) == {end}


@pytest.mark.parametrize("end", ENDS, ids=["crlf", "cr"])
def test_an_import_added_towards_sync_ends_like_the_files_lines(end: str) -> None:
    output = _converted(to_sync, {"m.py": ASYNC_SOURCE.replace("\n", end)}).outputs["m.py"]
    assert output.startswith("import time" + end)
    assert _line_ends(output) == {end}


@pytest.mark.parametrize("end", ENDS, ids=["crlf", "cr"])
def test_a_pass_written_for_an_emptied_body_ends_like_the_files_lines(end: str) -> None:
    source = ("import time\n\n\ndef f():\n    time.sleep(1)  # ambidex: sync-only\n\n\n"
              "def g():\n    f()\n").replace("\n", end)
    output = _converted(to_async, {"m.py": source}).outputs["m.py"]
    assert "pass" in output
    assert _line_ends(output) == {end}


@pytest.mark.parametrize("end", ENDS, ids=["crlf", "cr"])
def test_real_modules_in_both_directions_keep_their_line_ends(end: str) -> None:
    async_sources = {
        f"corpus/_async/{name}": (ROOT / "tests/codegen/corpus/_async" / name).read_text()
        for name in ("pool.py", "client.py")
    }
    sync_sources = {"resp/_sync/connection.py":
                    (ROOT / "examples/resp/_sync/connection.py").read_text()}
    for convert, sources in ((to_sync, async_sources), (to_async, sync_sources)):
        plain = _converted(convert, sources).outputs
        ended = _converted(convert, {p: t.replace("\n", end) for p, t in sources.items()}).outputs
        for path in sources:
            assert _line_ends(ended[path]) == {end}, path
            assert ended[path].replace(end, "\n") == plain[path], path


@pytest.mark.parametrize("end", ENDS, ids=["crlf", "cr"])
def test_port_writes_a_file_with_the_line_ends_of_its_source(tmp_path: Path, end: str) -> None:
    # The files are read with universal newlines (as Python reads them): the
    # port wrote every line of a CRLF module with `\n`.
    source = tmp_path / "m.py"
    source.write_bytes(SYNC_SOURCE.replace("\n", end).encode())
    out = tmp_path / "out.py"
    assert cli.main(["port", "--to", "async", str(source), "-o", str(out)]) == 0
    written = out.read_bytes().decode()
    assert written.startswith("import asyncio" + end)
    assert _line_ends(written) == {end}
    # The same text again is no change: written without --force.
    assert cli.main(["port", "--to", "async", str(source), "-o", str(out)]) == 0


@pytest.mark.parametrize("end", ENDS, ids=["crlf", "cr"])
def test_generate_writes_twins_with_the_line_ends_of_their_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, end: str
) -> None:
    # generate read its sources with universal newlines and wrote every twin,
    # header included, with `\n`, whatever the source's line ends (port did too).
    (tmp_path / "pyproject.toml").write_text(
        '[[tool.ambidex.generate]]\nsource = "pkg/_async"\ntarget = "pkg/_sync"\nto = "sync"\n')
    source = tmp_path / "pkg" / "_async"
    source.mkdir(parents=True)
    (source / "m.py").write_bytes(ASYNC_SOURCE.replace("\n", end).encode())
    (source / "lf.py").write_bytes(ASYNC_SOURCE.encode())  # a pair may mix files
    monkeypatch.chdir(tmp_path)
    assert cli.main(["generate"]) == 0
    written = (tmp_path / "pkg" / "_sync" / "m.py").read_bytes().decode()
    assert _line_ends(written) == {end}
    assert "import time" + end in written
    assert _line_ends((tmp_path / "pkg" / "_sync" / "lf.py").read_bytes().decode()) == {"\n"}
    # The twins are current: the check reads them as Python does.
    assert cli.main(["generate", "--check"]) == 0
