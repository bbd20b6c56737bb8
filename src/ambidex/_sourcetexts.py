"""Python source files by their paths' texts: found and decoded, nothing heavy imported.

The part of :mod:`ambidex._sourcefiles` that a ``generate`` with nothing to do
runs before anything else (:mod:`ambidex.codegen._noop`): it imports neither
:mod:`pathlib` nor :mod:`re`. :mod:`ambidex._sourcefiles` makes its paths from
what is found here, so both read and find files the one way.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

#: Folders no command descends into.
SKIPPED_FOLDERS = frozenset({"__pycache__"})


def decode_source(data: bytes) -> str:
    """The text of a Python source file's bytes, decoded as Python decodes it.

    Raises ``SyntaxError`` for an unknown or inconsistent declaration (what
    the interpreter says too) and ``UnicodeDecodeError`` for bytes that are
    not in the declared encoding.
    """
    if b"coding" in data[: _two_lines_end(data)]:
        import io
        import tokenize

        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    else:
        encoding = "utf-8-sig"
    text = data.decode(encoding)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _two_lines_end(data: bytes) -> int:
    first = data.find(b"\n")
    if first < 0:
        return len(data)
    second = data.find(b"\n", first + 1)
    return len(data) if second < 0 else second


def read_source(path: str | os.PathLike[str]) -> str:
    """Read a Python file as the interpreter would (see :func:`decode_source`)."""
    with open(path, "rb") as handle:
        return decode_source(handle.read())


def found_python_files(folder: str | os.PathLike[str], skip: Iterable[str] = ()) -> list[str]:
    """The paths of the ``.py`` files under ``folder``, in the order found (see
    :func:`ambidex._sourcefiles.python_files`, which sorts them)."""
    skipped = SKIPPED_FOLDERS | frozenset(skip)
    found: list[str] = []
    entered: set[tuple[int, int]] = set()
    root = os.path.realpath(folder)
    stack = [os.fspath(folder)]
    while stack:
        current = stack.pop()
        try:
            info = os.stat(current)
        except OSError:
            continue
        if (info.st_dev, info.st_ino) in entered:
            continue
        entered.add((info.st_dev, info.st_ino))
        try:
            with os.scandir(current) as entries:
                listed = list(entries)
        except OSError:
            continue
        for entry in listed:
            try:
                is_dir = entry.is_dir()
            except OSError:  # a link loop, or a link to nowhere
                continue
            if is_dir:
                if entry.name in skipped or entry.name.startswith("."):
                    continue
                if entry.is_symlink():
                    real = os.path.realpath(entry.path)
                    if root == real or root.startswith(real.rstrip(os.sep) + os.sep):
                        continue  # a link to the tree's own root or above it
                stack.append(entry.path)
            elif entry.name.endswith(".py"):
                found.append(entry.path)
    return found
