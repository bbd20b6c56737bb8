"""``generate``'s survey reads paths off their texts where pathlib would parse a
new path for each answer: the answers must be pathlib's own."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from ambidex._sourcefiles import python_files
from ambidex.codegen import _generate

_NAMES = ["a.py", "a-b.py", "a0.py", "B.py", "z.py", "\u00e9t\u00e9.py", "_x.py"]
_FOLDERS = ["", "a", "a-b", "a0", "a.b", "A", "sub/deeper", "_async", "_async/_inner"]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for folder in _FOLDERS:
        for name in _NAMES:
            path = tmp_path / "pkg" / folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("x = 1\n")
    return tmp_path / "pkg"


@pytest.mark.parametrize("spelling", ["plain", "dot", "trailing", "double", "relative"])
def test_the_files_found_are_in_the_order_paths_sort_in(
    tree: Path, spelling: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder: str | Path = tree
    if spelling == "dot":
        monkeypatch.chdir(tree.parent)
        folder = "./pkg"
    elif spelling == "trailing":
        folder = f"{tree}/"
    elif spelling == "double":
        folder = f"{tree.parent}//pkg"
    elif spelling == "relative":
        monkeypatch.chdir(tree.parent)
        folder = "pkg"
    found = python_files(folder)
    assert found == sorted(found)
    assert len(found) == len(_NAMES) * len(_FOLDERS)


@pytest.mark.parametrize(
    ("path", "folder"),
    [
        ("/r/pkg/_async/m.py", "/r/pkg/_async"),
        ("/r/pkg/_async/sub/m.py", "/r/pkg/_async"),
        ("/r/pkg/_async_more/m.py", "/r/pkg/_async"),  # a longer name, not a folder below
        ("/r/pkg/_async", "/r/pkg/_async"),  # the folder itself
        ("/r/other/m.py", "/r/pkg"),
        ("/m.py", "/"),
        ("pkg/m.py", "pkg"),
        ("pkg/m.py", "."),
        ("m.py", "/r"),
    ],
)
def test_a_path_is_displayed_relative_to_a_folder_as_pathlib_says(path: str, folder: str) -> None:
    try:
        expected = PurePosixPath(path).relative_to(PurePosixPath(folder)).as_posix()
    except ValueError:
        expected = PurePosixPath(path).as_posix()
    assert _generate._display(Path(path), Path(folder)) == expected


@pytest.mark.skipif(os.sep != "/", reason="POSIX paths")
@pytest.mark.parametrize("to", ["sync", "async"])
def test_a_target_is_where_pathlib_puts_it(tree: Path, to: str) -> None:
    pair = _generate.Pair(tree, tree.parent / "out", to)
    segments = {"sync": {"_async": "_sync"}, "async": {"_sync": "_async"}}[to]
    for file in python_files(tree):
        relative = file.relative_to(pair.source)
        parts = [segments.get(part, part) for part in relative.parts[:-1]]
        assert _generate.target_of(pair, file) == pair.target.joinpath(*parts, relative.name)
    with pytest.raises(ValueError):
        _generate.target_of(pair, tree.parent / "elsewhere.py")
