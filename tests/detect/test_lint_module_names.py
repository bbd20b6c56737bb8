"""The lint names each module as Python imports it, wherever it runs from.

A linted folder that is not a package (a site-packages, a project's root)
is where imports start, like an entry of ``sys.path``; a package's folder
starts at the folder above its top package, and a folder that may be a
namespace package's at its project's root. The name does not carry
the folders above that (``/abs/.venv/lib/python3.11/site-packages/``), so an
import finds the module Python would import, and a tree linted by absolute
path, or from another folder, gives the findings it gives linted from inside.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ambidex._names import import_root
from ambidex.detect._lint import lint_paths


def _site(tmp_path: Path) -> Path:
    """A site-packages with a vendored copy of ``client`` that sorts before it."""
    site = tmp_path / "venv-1" / "site-packages"
    for folder in ("aaa/_vendor", "client", "elsewhere"):
        (site / folder).mkdir(parents=True)
    (site / "aaa" / "__init__.py").write_text("")
    (site / "aaa" / "_vendor" / "__init__.py").write_text("")
    (site / "aaa" / "_vendor" / "client.py").write_text("def fetch() -> int:\n    return 1\n")
    (site / "client" / "__init__.py").write_text(
        "import time\n\n\ndef fetch() -> None:\n    time.sleep(1)\n"
    )
    (site / "app.py").write_text(
        "import client\n\n\nasync def main() -> None:\n    client.fetch()\n"
    )
    return site


def _found(paths: list[str]) -> list[tuple[str, int, str]]:
    return [(Path(f.path).name, f.line, f.code) for f in lint_paths(paths).findings]


def test_a_tree_linted_by_absolute_path_resolves_imports_as_python_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `import client` is site-packages/client, not aaa/_vendor/client: named
    # from the filesystem's root (tmp....site-packages.client), both modules
    # were found by the suffix `client`, and the first (the vendored copy) won.
    site = _site(tmp_path)
    monkeypatch.chdir(site / "elsewhere")
    by_absolute_path = _found([str(site)])
    monkeypatch.chdir(site)
    from_inside = _found(["."])
    assert by_absolute_path == from_inside == [("__init__.py", 5, "AMB101")]


def test_a_linted_folder_without_init_is_a_namespace_package_below_its_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tests/ has no __init__.py and imports `tests.helpers` (pytest's rootdir
    # on sys.path): its imports start at the project's root, not inside it.
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (project / "tests" / "helpers.py").write_text(
        "import time\n\n\ndef wait() -> None:\n    time.sleep(1)\n"
    )
    (project / "tests" / "test_x.py").write_text(
        "from tests.helpers import wait\n\n\nasync def test_x() -> None:\n    wait()\n"
    )
    assert import_root(project / "tests") == str(project)
    monkeypatch.chdir(tmp_path)
    by_absolute_path = _found([str(project / "tests")])
    monkeypatch.chdir(project)
    assert by_absolute_path == _found(["tests"]) == [("helpers.py", 5, "AMB101")]


def test_imports_start_above_the_top_package_of_a_linted_folder(tmp_path: Path) -> None:
    site = _site(tmp_path)
    assert import_root(site) == str(site)  # not a package: where imports start
    assert import_root(site / "aaa" / "_vendor") == str(site)  # inside aaa: above it
    assert import_root(site / "aaa" / "_vendor" / "client.py") == str(site)
    assert import_root(site / "app.py") == str(site)
    # No __init__.py, an identifier: a namespace package's folder, maybe.
    assert import_root(site / "elsewhere") == str(site)


def test_a_package_linted_from_inside_its_folder_is_named_from_above_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # lint_project/app.py imports `lint_project.net` and the settings name
    # `lint_project.legacy.slow_query`: from inside the package, its modules
    # were named `app`, `net`... and four of its nine findings were lost.
    project = Path(__file__).parent / "lint_project"
    from_outside = sorted(_found([str(project)]))
    assert len(from_outside) == 9
    monkeypatch.chdir(project)
    assert sorted(_found(["."])) == from_outside
