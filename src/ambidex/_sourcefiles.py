"""Python source files on disk: found, read and written the way Python treats them.

Every command that reads user code (``generate``, ``port``, ``lint``) goes
through here, so they agree on three things that are easy to get wrong:

* **Encoding.** A file is decoded as the interpreter would decode it: UTF-8
  unless a PEP 263 declaration (``# -*- coding: latin-1 -*-`` in one of the
  first two lines) says otherwise, a UTF-8 byte order mark dropped. Output
  keeps the declaration and is encoded with it (:func:`encoding_of`), so a
  latin-1 module stays a latin-1 module.
* **Line ends.** ``\\r\\n`` and ``\\r`` read as ``\\n`` (universal newlines).
* **Folders.** :func:`python_files` walks a tree following symbolic links, but
  never into a folder it has already entered: a link loop (``a/b -> ..``)
  ends the descent instead of raising ``ELOOP`` after forty levels.

This module imports nothing heavy: ``generate`` on an up-to-date tree reads
every source through it and must stay fast.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

# PEP 263: the declaration is a comment in line 1 or 2 matching this.
_CODING_TEXT = r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)"
"""A PEP 263 declaration, compiled when a line spells ``coding`` (an import of
this module compiles nothing: see :func:`encoding_of`)."""

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


class SourceFiles(Mapping[str, str]):
    """Display path -> the text of its file, read (:func:`read_source`) at
    each access and never kept: what a caller hands an analysis of a whole
    tree (``lint`` over a site-packages) so that no one holds every text at
    once (30 MB there). Reading a file is cheap next to parsing it.
    """

    def __init__(self, files: Mapping[str, Path]) -> None:
        self._files = dict(files)

    def __getitem__(self, path: str) -> str:
        return read_source(self._files[path])

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


def encoding_of(text: str) -> str:
    """The encoding a text declares in its first two lines (PEP 263), else ``utf-8``.

    Used to write output in the encoding its (kept) declaration names.
    """
    for line in text.split("\n", 2)[:2]:
        match = re.match(_CODING_TEXT, line) if "coding" in line else None
        if match:
            try:
                return codecs.lookup(match.group(1)).name
            except LookupError:
                return "utf-8"
        if line.strip() and not line.lstrip().startswith("#"):
            break  # a declaration after code does not count
    return "utf-8"


TOO_DEEP = "cannot parse: too deeply nested for Python's parser (RecursionError)"


def too_deep(modules: Mapping[str, str]) -> list[str]:
    """The paths of ``modules`` (path -> text) that :func:`ast.parse` cannot nest deep enough for.

    A 20,000-term expression is valid Python, but the parser raises
    ``RecursionError`` on it. The tools report such a file as one they
    cannot parse, and go on with the others; this finds it after a
    ``RecursionError`` escaped from work on many files at once.
    """
    import ast

    found = []
    for path, text in modules.items():
        try:
            ast.parse(text)
        except RecursionError:
            found.append(path)
        except (SyntaxError, ValueError):
            continue  # reported, with its location, by whoever parses it
    return found


def python_files(folder: str | os.PathLike[str], skip: Iterable[str] = ()) -> list[Path]:
    """The ``.py`` files under ``folder``, sorted, each folder entered once.

    Symbolic links to folders are followed (a package may be linked in), but
    a folder whose real path was already entered is not entered again, and a
    link to ``folder`` itself or to a folder above it is not followed at all
    (it would bring the whole tree, generated twins included, in again under
    a deeper name). So a link loop ends. Folders named in ``skip``, ``__pycache__`` and hidden
    folders are not entered. A folder that vanishes or cannot be listed is
    passed over.
    """
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
    if os.sep != "/" or os.altsep:
        return sorted(Path(path) for path in found)
    # Sorted as the Paths sort (by their parts), without comparing Paths: every
    # text here is the folder's own text and then names joined by "/", so its
    # split orders as the parts do (the shared head compares equal in both).
    found.sort(key=_split)
    return [Path(path) for path in found]


def _split(path: str) -> list[str]:
    return path.split("/")
