"""Towards sync, the same package under two folders in one port is two packages.

Two unpacked downloads (``aiokafka-0.13.0/aiokafka`` and ``aiokafka-0.14.0/aiokafka``)
ported together give two modules of each name (``aiokafka.util``): no import
reaches through a folder whose name is not an identifier, so each copy's
imports are its own. What the port knows of one copy's modules (what its
markers left out, its coroutine functions) must not answer for the other's:
each copy converts as it would alone. And two inputs that would be written to
the same output file are refused, naming both, before anything is written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ambidex._rules import DEFAULT_TABLE
from ambidex.cli import main
from ambidex.codegen._to_sync import to_sync

A_UTIL = '''\
async def helper():  # ambidex: async-only
    return 1


def fetch():
    return 1
'''

B_UTIL = '''\
def helper():
    return 2


async def fetch():  # ambidex: async-only
    return 2
'''

A_MAIN = '''\
from .util import helper


async def run():
    return await helper()
'''

B_MAIN = '''\
from .util import helper


async def run():
    return helper()
'''


def _modules(root: str) -> dict[str, str]:
    return {f"{root}/a-1/pkg/__init__.py": "", f"{root}/a-1/pkg/util.py": A_UTIL,
            f"{root}/a-1/pkg/main.py": A_MAIN, f"{root}/b-2/pkg/__init__.py": "",
            f"{root}/b-2/pkg/util.py": B_UTIL, f"{root}/b-2/pkg/main.py": B_MAIN}


def test_two_copies_of_a_package_in_one_port_each_convert_as_they_would_alone() -> None:
    # a-1's helper is left out of its twin and a-1's main imports it: refused, as
    # a-1 alone is. Before, b-2's util (which keeps helper) answered for
    # pkg.util, and a-1's twin imported a name its util no longer has, exit 0.
    modules = _modules("dl")
    together = to_sync(modules, table=DEFAULT_TABLE, renames={})
    for copy in ("a-1", "b-2"):
        alone = to_sync({p: t for p, t in modules.items() if f"/{copy}/" in p},
                        table=DEFAULT_TABLE, renames={})
        assert [str(d) for d in together.diagnostics if f"/{copy}/" in d.path] == \
            [str(d) for d in alone.diagnostics], copy
        assert {p: t for p, t in together.outputs.items() if f"/{copy}/" in p} == \
            alone.outputs, copy
    assert together.failed
    assert {(d.path, d.line) for d in together.diagnostics if d.error} == \
        {("dl/a-1/pkg/main.py", 1), ("dl/a-1/pkg/main.py", 5)}, together.diagnostics


def test_two_inputs_written_to_one_output_file_are_refused_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    # `port a-1/pkg b-2/pkg -o out`: each folder's files go below out/ by their
    # path in their folder, so both main.py went to out/main.py and the second
    # silently replaced the first, exit 0.
    monkeypatch.chdir(tmp_path)
    for copy in ("a-1", "b-2"):
        (tmp_path / copy / "pkg").mkdir(parents=True)
        (tmp_path / copy / "pkg" / "__init__.py").write_text("")
        (tmp_path / copy / "pkg" / "util.py").write_text("async def fetch():\n    return 1\n")
        (tmp_path / copy / "pkg" / "main.py").write_text(
            "from .util import fetch\n\n\nasync def run():\n"
            f"    return await fetch() + {copy[-1]}\n")
    assert main(["port", "--to", "sync", "a-1/pkg", "b-2/pkg", "-o", "out"]) == 2
    err = capsys.readouterr().err
    assert "a-1/pkg/main.py" in err and "b-2/pkg/main.py" in err and "out/main.py" in err, err
    assert not (tmp_path / "out").exists()
    # One at a time, or each to its own folder, they convert.
    assert main(["port", "--to", "sync", "a-1", "-o", "out-a"]) == 0
    assert main(["port", "--to", "sync", "b-2", "-o", "out-b"]) == 0
    assert (tmp_path / "out-a" / "pkg" / "main.py").read_text().endswith("fetch() + 1\n")
    assert (tmp_path / "out-b" / "pkg" / "main.py").read_text().endswith("fetch() + 2\n")
