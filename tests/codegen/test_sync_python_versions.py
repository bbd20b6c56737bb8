"""The sync output is the same whichever supported Python runs the converter.

ast positions inside f-strings changed in 3.12 (PEP 701), and the grammar
grew between 3.10 and 3.13; the converter must not let that leak into its
output. Each interpreter of 3.10-3.13 present on the machine converts the
same inputs (this suite's corpus plus snippets that stress f-strings and
comprehensions) and must produce the same bytes as this one.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "corpus" / "_async"
PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT", "~/.pyenv")).expanduser() / "versions"

SNIPPETS = {
    "fstrings.py": '''\
async def f(s, items):
    a = f"{await s.read()!r:>10} {'x'} {(await s.n()) + 1}"
    b = f"""multi
    {await s.read()}
    line"""
    c = f"{f'{await s.inner()}'}"
    d = [f"{await x}" async for x in items]
    e = f"{'x'} {await s.pending!r}"
    return a, b, c, d, e
''',
    "comprehensions.py": '''\
async def g(ait, it):
    return {k: [v async for v in await k.values()] async for k in ait if await k.ok()}, (
        await y for y in it
    )
''',
}

SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync
modules = json.loads(sys.stdin.read())
result = to_sync(modules, table=DEFAULT_TABLE, renames={"AsyncClient": "Client"})
print(json.dumps({"outputs": result.outputs,
                  "diagnostics": [str(d) for d in result.diagnostics]}))
"""


def inputs() -> dict[str, str]:
    modules = {f"corpus/{p.name}": p.read_text() for p in sorted(CORPUS.glob("*.py"))}
    modules.update(SNIPPETS)
    return modules


def interpreters() -> list[str]:
    """Working Python 3.10-3.13 interpreters other than this one, one per version."""
    candidates = [*sorted(glob.glob(str(PYENV_VERSIONS / "3.*" / "bin" / "python3"))),
                  *(shutil.which(f"python3.{minor}") or "" for minor in range(10, 14))]
    found: dict[str, str] = {}
    for path in filter(None, candidates):
        try:
            completed = subprocess.run(
                [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        version = completed.stdout.strip()
        if completed.returncode == 0 and version in ("3.10", "3.11", "3.12", "3.13") \
                and version != f"{sys.version_info[0]}.{sys.version_info[1]}":
            found.setdefault(version, path)
    return [found[v] for v in sorted(found)]


@pytest.mark.primary_only  # (the premise of the comparison above, which runs on 3.11)
@pytest.mark.skipif(not PYENV_VERSIONS.is_dir(),
                    reason=f"no pyenv here ({PYENV_VERSIONS} does not exist): nothing to expect")
def test_other_pythons_are_available_to_compare_with() -> None:
    """Where pyenv is installed (this project's machines and CI), the other
    interpreters must be found: an empty list would turn the comparison below
    into a silent no-op."""
    assert interpreters(), "no other Python 3.10-3.13 found to compare the output with"


@pytest.mark.primary_only  # (compares every Python's output with 3.11's: once is all of it)
@pytest.mark.parametrize("python", interpreters())
def test_the_output_is_the_same_on_every_python(python: str) -> None:
    modules = inputs()
    here = to_sync(modules, table=DEFAULT_TABLE, renames={"AsyncClient": "Client"})
    completed = subprocess.run([python, "-c", SCRIPT, str(REPO / "src")],
                               input=json.dumps(modules), capture_output=True, text=True,
                               check=True)
    there = json.loads(completed.stdout)
    assert there["diagnostics"] == [str(d) for d in here.diagnostics]
    assert there["outputs"] == here.outputs


def test_await_inside_fstrings_is_removed_on_this_python() -> None:
    result = to_sync(SNIPPETS, table=DEFAULT_TABLE, renames={})
    # An awaited value made elsewhere is said where the f-string starts (the
    # positions inside it differ before 3.12), and an item of a plain `for`.
    assert [(d.path, d.line, d.col, d.message.split(",")[0]) for d in result.diagnostics] \
        == [("fstrings.py", 8, 9, "awaits `s.pending`"),
            ("comprehensions.py", 3, 9, "awaits `y`")]
    assert "await" not in result.outputs["fstrings.py"]
    assert "async" not in result.outputs["comprehensions.py"]
