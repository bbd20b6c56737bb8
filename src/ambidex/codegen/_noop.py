"""``ambidex generate`` with nothing to do, answered before the command line is parsed.

Most runs of ``ambidex generate`` (a pre-commit hook, a build hook, an
editor's save action) find every twin current. Finding that out reads and
hashes files, a few milliseconds; the command's own start costs ten times
more: argparse, pathlib (with urllib.parse and ipaddress), tomllib (with
typing, datetime, string and its regular expressions). So the ``ambidex``
executable asks :func:`up_to_date` first, for the plain ``ambidex generate``
only, and this module imports none of those.

The answer is True only when the full command would print nothing, write
nothing, delete nothing and exit 0. Anything else, or anything this check is
not sure of, is False, and the full command runs as if this module did not
exist: it prints every message, refuses every bad input and writes every
file. The check is narrower than the command, never wider:

* pyproject.toml is read by :mod:`ambidex._minitoml`, which gives up on any
  text beyond the plain part of TOML (tomllib then reads it, or says what is
  wrong with it);
* ``[tool.ambidex]`` may hold only keys whose checks are repeated here
  (``rules`` is not: the user's rows are checked by building the rule table);
* each row is checked as :func:`ambidex.codegen._generate.read_pairs` checks
  it, and folders must be spelt plainly (``a/b``, no ``.``, no empty part,
  not absolute);
* every target must carry the header of its source with both hashes current
  (computed by :mod:`ambidex.codegen._header`, as ``generate`` computes
  them), with no orphan and no leftover of an interrupted write.
"""

from __future__ import annotations

import keyword
import os

from ambidex._minitoml import loads
from ambidex._sourcetexts import found_python_files, read_source
from ambidex.codegen._header import (
    GENERATOR_VERSION,
    HEADER_FIRST,
    inputs_hash,
    inputs_settings,
    sha,
    split_generated,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

#: The keys of ``[tool.ambidex]`` whose checks this module repeats (a subset
#: of :data:`ambidex._config.KNOWN_KEYS`; any other key sends the command on).
CHECKED_KEYS = frozenset({"generate", "lint", "defer_init_io", "sync_only", "async_only"})
_ROW_KEYS = frozenset({"source", "target", "to", "rename", "async_prefix", "flags",
                       "rename_prose", "sort_imports"})
_SEGMENTS = {"sync": {"_async": "_sync"}, "async": {"_sync": "_async"}}
_TEMPORARY = ".ambidex-tmp"


class _Unsure(Exception):
    """The full command must answer."""


def up_to_date() -> bool:
    """Whether ``ambidex generate``, run in the current folder, would do nothing and exit 0."""
    try:
        return _up_to_date()
    except Exception:  # (an unreadable folder, a vanished file: the command says what)
        return False


def _up_to_date() -> bool:
    if os.sep != "/" or os.altsep:
        return False  # (Windows paths compare without case: pathlib's to say)
    found = _section()
    if found is None:
        return False
    root, section = found
    rows = section.get("generate", [])
    if type(rows) is not list:
        return False
    pairs = _pairs(root, rows)
    from ambidex import __version__

    for row, source, target in pairs:
        if not _current(row, source, target, section, __version__):
            return False
    return True


def _section() -> tuple[str, dict[str, Any]] | None:
    """The folder of the nearest pyproject.toml and its ``[tool.ambidex]``,
    when ``load_config`` would take it without a word; None for anything else."""
    start = os.path.realpath(os.getcwd())
    folder = start
    while True:
        candidate = "/pyproject.toml" if folder == "/" else folder + "/pyproject.toml"
        if os.path.isfile(candidate):
            break
        if folder == "/":
            return None  # (no pyproject.toml: rare enough to leave to the command)
        folder = os.path.dirname(folder)
    with open(candidate, encoding="utf-8") as handle:  # as Path.read_text reads it
        data = loads(handle.read())
    if data is None:
        return None
    tool = data.get("tool", {})
    if type(tool) is not dict:
        return None
    section = tool.get("ambidex", {})
    if type(section) is not dict or not CHECKED_KEYS.issuperset(section):
        return None
    lint = section.get("lint", {})
    if type(lint) is not dict or not all(
        key in ("blocking", "ignore") and type(value) is list
        and all(type(item) is str for item in value)
        for key, value in lint.items()
    ):
        return None
    return folder, section


def _pairs(root: str, rows: list[Any]) -> list[tuple[dict[str, Any], str, str]]:
    """(row, source folder, target folder) of each row, checked as ``read_pairs``
    checks it; raises :class:`_Unsure` where it would not take the row."""
    pairs: list[tuple[dict[str, Any], str, str]] = []
    for row in rows:
        if type(row) is not dict or not _ROW_KEYS.issuperset(row):
            raise _Unsure
        to = row.get("to", "sync")
        rename = row.get("rename", {})
        async_prefix = row.get("async_prefix", False)
        flags = row.get("flags", {})
        if not (
            to in ("sync", "async")
            and type(rename) is dict
            and all(type(k) is str and type(v) is str and _python_name(k) and _python_name(v)
                    for k, v in rename.items())
            and (type(async_prefix) is bool
                 or (type(async_prefix) is str and _python_name(async_prefix)))
            and not (async_prefix and to == "async")
            and type(flags) is dict
            and all(type(k) is str and k.isidentifier() and v in ("sync", "async")
                    for k, v in flags.items())
            and type(row.get("rename_prose", False)) is bool
            and type(row.get("sort_imports", True)) is bool
        ):
            raise _Unsure
        source, target = _joined(root, row.get("source")), _joined(root, row.get("target"))
        if os.path.exists(target) and not os.path.isdir(target):
            raise _Unsure
        real_source, real_target = os.path.realpath(source), os.path.realpath(target)
        if _nested(real_source, real_target):
            raise _Unsure
        for _, _, other in pairs:
            if _nested(os.path.realpath(other), real_target):
                raise _Unsure
        pairs.append((row, source, target))
    return pairs


def _python_name(text: str) -> bool:
    return all(part.isidentifier() and not keyword.iskeyword(part)
               for part in text.lstrip(".").split("."))


def _joined(root: str, folder: object) -> str:
    """``root / folder`` as pathlib spells it, for a plainly written relative folder."""
    if type(folder) is not str or any(part in ("", ".") for part in folder.split("/")):
        raise _Unsure
    return "/" + folder if root == "/" else f"{root}/{folder}"


def _nested(one: str, other: str) -> bool:
    """Whether two resolved folders are one, or one holds the other."""
    return one == other or _inside(one, other) or _inside(other, one)


def _inside(inner: str, outer: str) -> bool:
    return inner != outer and (outer == "/" or inner.startswith(outer + "/"))


def _current(row: dict[str, Any], source: str, target: str, section: Mapping[str, Any],
             version: str) -> bool:
    """Whether one row's twins are current, as ``survey`` decides it, with no
    orphan and no leftover of an interrupted write below its target."""
    if not os.path.isdir(source):
        return False
    files = found_python_files(source)
    files.sort(key=_split)
    texts = [(path[len(source) + 1 :], read_source(path)) for path in files]
    to = row.get("to", "sync")
    settings = inputs_settings(to, row.get("rename", {}), row.get("async_prefix", False),
                               row.get("flags", {}), row.get("rename_prose", False),
                               row.get("sort_imports", True), section, version,
                               GENERATOR_VERSION)
    expected_hash = inputs_hash(settings, texts)
    segments = _SEGMENTS[to]
    expected: set[str] = set()
    for relative, _ in texts:
        *folders, name = relative.split("/")
        twin = "/".join([target, *(segments.get(part, part) for part in folders), name])
        expected.add(twin)
        text = read_source(twin)
        parsed = split_generated(text)
        if parsed is None:
            return False
        body = text.split("\n", 3)[3] if text.count("\n") >= 3 else ""
        if parsed[1] != expected_hash or parsed[2] != sha(body.encode("utf-8")):
            return False
    found = found_python_files(target)
    for folder in {target, *(os.path.dirname(path) for path in found)}:
        try:
            with os.scandir(folder) as entries:
                if any(e.name.startswith(".") and e.name.endswith(_TEMPORARY) for e in entries):
                    return False
        except OSError:
            continue
    header = HEADER_FIRST.encode()
    for path in found:
        if path in expected:
            continue
        try:
            with open(path, "rb") as handle:
                if handle.readline().startswith(header):
                    return False  # an orphan: generate deletes it
        except OSError:
            continue
    return True


def _split(path: str) -> list[str]:
    return path.split("/")
