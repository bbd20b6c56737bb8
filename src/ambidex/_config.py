"""Reading ``[tool.ambidex]`` from the nearest pyproject.toml.

One loader for every part: the generator's pairs, the lint's settings and the
user's rows of the rule table all come from here, parsed once.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ambidex._rules import RuleTable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class ConfigError(ValueError):
    """pyproject.toml is unreadable or ``[tool.ambidex]`` is malformed.

    The message starts with ``path:line:col:`` where the offending key or
    table can be found in the file, so that editors jump to it.
    """


#: The keys ``[tool.ambidex]`` may hold. Anything else is an error: a
#: misspelt ``[[tool.ambidex.generat]]`` that was silently ignored would leave
#: ``generate --check`` green while nothing is checked. A part that reads a
#: new key adds it here.
KNOWN_KEYS = frozenset(
    {"generate", "rules", "lint", "defer_init_io", "sync_only", "async_only"}
)
_LINT_KEYS = frozenset({"blocking", "ignore", "allow_blocking"})


class Config:
    """``[tool.ambidex]`` of one project, with paths resolved against its root.

    A plain class, not a dataclass: ``generate`` on an up-to-date tree reads
    the configuration and nothing else, and importing :mod:`dataclasses`
    (which imports :mod:`inspect`, :mod:`ast`, :mod:`dis` and :mod:`tokenize`)
    was a tenth of its time.
    """

    def __init__(
        self,
        root: Path,
        pyproject: Path | None,
        section: Mapping[str, Any] | None = None,
        user_table: RuleTable | None = None,
        text: str = "",
    ) -> None:
        self.root = root
        """The folder holding pyproject.toml (the current folder when there is none)."""
        self.pyproject = pyproject
        self.section: Mapping[str, Any] = {} if section is None else section
        """The raw ``[tool.ambidex]`` table."""
        self.user_table = user_table
        """The rule table with the user's ``[[tool.ambidex.rules]]``; None when there are none."""
        self.text = text
        """The text of pyproject.toml, to locate errors in it (tomllib gives no lines)."""

    def __repr__(self) -> str:
        return f"Config(root={self.root!r}, pyproject={self.pyproject!r})"

    @property
    def table(self) -> RuleTable:
        """The default rule table extended with the user's ``[[tool.ambidex.rules]]``.

        Built (imported) only when asked for: ``generate`` on an up-to-date
        tree never asks. The user's rows are built, and checked, at load.
        """
        if self.user_table is not None:
            return self.user_table
        from ambidex._rules import DEFAULT_TABLE

        return DEFAULT_TABLE

    def locate(self, key: str, index: int | None = None) -> str:
        """``path:line:1`` of ``[tool.ambidex]``'s ``key`` (its ``index``-th row, 0-based)."""
        return f"{self.pyproject}:{locate_line(self.text, key, index)}:1"


def locate_line(text: str, key: str, index: int | None = None) -> int:
    """The 1-based line where ``[tool.ambidex]``'s ``key`` is written, else 1.

    A row of an array of tables is found by its ``[[tool.ambidex.KEY]]``
    header; a plain key by ``KEY =`` or a ``[tool.ambidex.KEY]`` header. This
    is a search, not a TOML parser: an inline spelling that it does not
    recognise is reported at line 1, which still names the file.
    """
    name = re.escape(key)
    if index is not None:
        headers = list(re.finditer(
            rf"^[ \t]*\[\[[ \t]*tool\.ambidex\.{name}[ \t]*\]\]", text, re.MULTILINE))
        if index < len(headers):
            return text.count("\n", 0, headers[index].start()) + 1
    match = re.search(
        rf"^[ \t]*(?:\[\[?[ \t]*tool\.ambidex\.{name}\b|\"?{name}\"?[ \t]*=)",
        text, re.MULTILINE)
    return 1 if match is None else text.count("\n", 0, match.start()) + 1


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(start: Path | None = None) -> Config:
    """Load ``[tool.ambidex]`` from the nearest pyproject.toml at or above ``start``."""
    pyproject = find_pyproject(start or Path.cwd())
    if pyproject is None:
        return Config(root=(start or Path.cwd()).resolve(), pyproject=None)
    try:
        # Small, and read once per process where async code asks (detect caches it).
        text = pyproject.read_text(encoding="utf-8")  # ambidex: allow-blocking read once
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{pyproject}: {exc}") from exc
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{pyproject}:{locate_line(text, 'tool')}:1: [tool] must be a table")
    section = tool.get("ambidex", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{pyproject}:{locate_line(text, 'ambidex')}:1: "
                          "[tool.ambidex] must be a table")
    config = Config(root=pyproject.parent, pyproject=pyproject, section=section, text=text)
    for key in section:
        if key not in KNOWN_KEYS:
            raise ConfigError(f"{config.locate(key)}: [tool.ambidex]: unknown key {key!r}; "
                              f"known: {sorted(KNOWN_KEYS)}")
    _check_lint(config)
    if "rules" not in section:
        return config
    from ambidex._rules import load_table

    try:
        table = load_table(section)
    except ValueError as exc:
        row = re.match(r"\[\[tool\.ambidex\.rules\]\] #(\d+)", str(exc))
        where = config.locate("rules", int(row.group(1)) - 1 if row else None)
        raise ConfigError(f"{where}: {exc}") from exc
    return Config(root=pyproject.parent, pyproject=pyproject, section=section,
                  user_table=table, text=text)


def _check_lint(config: Config) -> None:
    """``[tool.ambidex.lint]``: a table of known keys, each a list of strings."""
    if "lint" not in config.section:
        return
    lint = config.section["lint"]
    where = config.locate("lint")
    if not isinstance(lint, dict):
        raise ConfigError(f"{where}: [tool.ambidex.lint] must be a table")
    for key, value in lint.items():
        if key not in _LINT_KEYS:
            raise ConfigError(f"{where}: [tool.ambidex.lint]: unknown key {key!r}; "
                              f"known: {sorted(_LINT_KEYS)}")
        at = config.locate(key) if key == "allow_blocking" else where
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{at}: [tool.ambidex.lint] {key!r} must be a list of strings")
        if key == "allow_blocking":
            from ambidex.codegen._directives import split_reason

            for entry in value:
                try:
                    split_reason(entry)
                except ValueError as exc:
                    raise ConfigError(f"{at}: [tool.ambidex.lint] allow_blocking: {exc}") from exc
