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

# Reading a file, and finding the files of a folder, are in _sourcetexts (they
# import nothing heavy); the names stay importable from here.
from ambidex._sourcetexts import SKIPPED_FOLDERS as SKIPPED_FOLDERS
from ambidex._sourcetexts import decode_source as decode_source
from ambidex._sourcetexts import found_python_files
from ambidex._sourcetexts import read_source as read_source

# PEP 263: the declaration is a comment in line 1 or 2 matching this.
_CODING_TEXT = r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)"
"""A PEP 263 declaration, compiled when a line spells ``coding`` (an import of
this module compiles nothing: see :func:`encoding_of`)."""


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
    found = found_python_files(folder, skip)
    if os.sep != "/" or os.altsep:
        return sorted(Path(path) for path in found)
    # Sorted as the Paths sort (by their parts), without comparing Paths: every
    # text here is the folder's own text and then names joined by "/", so its
    # split orders as the parts do (the shared head compares equal in both).
    found.sort(key=_split)
    return [Path(path) for path in found]


def _split(path: str) -> list[str]:
    return path.split("/")
