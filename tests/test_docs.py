"""The guide's code runs: every ```python block in docs/ and in chapter 0's README.

Each file's blocks run in order, in one namespace, in a fresh interpreter started
at the root of the repository (with RuntimeWarning as an error, so a coroutine
never awaited fails). The blocks keep their line numbers: a traceback points at
the line of the Markdown file. Blocks in other fences (``toml``, ``sh``, ``yaml``)
are shown, not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GUIDES = sorted(
    [*REPO.glob("docs/*.md"), REPO / "examples" / "lines" / "README.md"],
)
FENCE = re.compile(r"^```python\n(.*?)^```$", re.M | re.S)


def runnable(markdown: str) -> str:
    """The file's python blocks as one script, each block on its own lines."""
    script = [""] * (markdown.count("\n") + 1)
    for match in FENCE.finditer(markdown):
        first = markdown.count("\n", 0, match.start(1))
        for offset, line in enumerate(match.group(1).splitlines()):
            script[first + offset] = line
    return "\n".join(script)


def test_there_are_guides_with_code_to_run() -> None:
    assert REPO / "docs" / "porting.md" in GUIDES
    assert all(FENCE.search(path.read_text(encoding="utf-8")) for path in GUIDES)


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: str(p.relative_to(REPO)))
def test_the_code_blocks_of_the_guide_run(guide: Path) -> None:
    script = runnable(guide.read_text(encoding="utf-8"))
    name = str(guide.relative_to(REPO))
    runner = f"exec(compile({script!r}, {name!r}, 'exec'), {{'__name__': '__main__'}})"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
        str(REPO), os.environ.get("PYTHONPATH", "")]))}
    completed = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", runner],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr[-4000:]


def test_the_readme_links_the_guide() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "(docs/porting.md)" in readme


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: str(p.relative_to(REPO)))
def test_the_guide_links_to_files_that_exist(guide: Path) -> None:
    text = guide.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", text)
    assert targets
    missing = [t for t in targets if not (guide.parent / t).exists()]
    assert missing == []
