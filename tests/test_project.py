"""The project's own habits hold: one version, one test command, files that agree.

These read the repository's files, so a release or a CI change that updates one
place and forgets the other fails here rather than in a user's hands.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import ambidex

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
TEST_COMMAND = "bash tools/test.sh"


def pyproject() -> dict[str, object]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_version_is_written_only_in_ambidex_init() -> None:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    assert "version" not in project
    assert "version" in project["dynamic"]
    tool = pyproject()["tool"]
    assert isinstance(tool, dict)
    assert tool["hatch"]["version"]["path"] == "src/ambidex/__init__.py"
    assert importlib.metadata.version("ambidex") == ambidex.__version__


def test_the_pre_commit_hook_advertises_the_current_version_as_its_rev() -> None:
    hooks = (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert re.findall(r"rev: (\S+)", hooks) == [f"v{ambidex.__version__}"]


def test_the_changelog_has_an_entry_for_the_current_version() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## {re.escape(ambidex.__version__)}\b", changelog, re.M)
    assert "## Unreleased" in changelog


def test_readme_contributing_and_ci_run_the_same_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    contributing = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert f"```sh\n{TEST_COMMAND}\n```" in readme
    assert f"```sh\ngit clone <this repository> ambidex && cd ambidex\n{TEST_COMMAND}\n```" \
        in contributing
    ci_commands = [line.strip() for line in ci.splitlines()
                   if line.strip() and not line.lstrip().startswith("#")]
    assert ci_commands[-1] == TEST_COMMAND


def test_the_license_file_is_the_license_pyproject_names() -> None:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    assert project["license"] == {"text": "MIT"}
    assert (REPO / "LICENSE").read_text(encoding="utf-8").startswith("MIT License\n")


def test_every_test_dependency_is_pinned_in_the_constraints() -> None:
    # A dependency added to the `test` extra without a pin would float: add its
    # version (on each Python) to tools/constraints.txt.
    def name(requirement: str) -> str:
        return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")

    project = pyproject()["project"]
    assert isinstance(project, dict)
    wanted = {name(r) for r in project["optional-dependencies"]["test"]}
    constraints = (REPO / "tools" / "constraints.txt").read_text(encoding="utf-8")
    pinned = {name(line) for line in constraints.splitlines()
              if line.strip() and not line.startswith("#")}
    assert wanted - pinned == set()


def test_an_exception_that_ends_a_fixtures_thread_fails_the_test(tmp_path: Path) -> None:
    # The suite's own warning filters, applied to a test whose fixture runs a
    # thread that dies: pytest reports that as a PytestUnhandledThreadExceptionWarning,
    # which passed silently until the filters made it an error.
    options = pyproject()["tool"]["pytest"]["ini_options"]  # type: ignore[index]
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nfilterwarnings =\n"
        + "".join(f"    {entry}\n" for entry in options["filterwarnings"])
    )
    (tmp_path / "test_dies.py").write_text(
        "import threading\n"
        "import pytest\n\n"
        "@pytest.fixture\n"
        "def server():\n"
        "    def serve():\n"
        "        raise ValueError('the server thread died')\n"
        "    thread = threading.Thread(target=serve)\n"
        "    thread.start()\n"
        "    thread.join()\n"
        "    yield\n\n"
        "def test_uses_the_server(server):\n"
        "    pass\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 1, done.stdout
    assert "ValueError: the server thread died" in done.stdout
