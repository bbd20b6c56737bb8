"""Reading ``[tool.ambidex]`` from the nearest pyproject.toml.

One loader for every part: the generator's pairs, the lint's settings and the
user's rows of the rule table all come from here, parsed once.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ambidex._rules import DEFAULT_TABLE, RuleTable, load_table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class ConfigError(ValueError):
    """pyproject.toml is unreadable or ``[tool.ambidex]`` is malformed."""


@dataclass(frozen=True)
class Config:
    """``[tool.ambidex]`` of one project, with paths resolved against its root."""

    root: Path
    """The folder holding pyproject.toml (the current folder when there is none)."""
    pyproject: Path | None
    section: Mapping[str, Any] = field(default_factory=dict)
    """The raw ``[tool.ambidex]`` table."""
    table: RuleTable = DEFAULT_TABLE
    """The default rule table extended with the user's ``[[tool.ambidex.rules]]``."""


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
    section = data.get("tool", {}).get("ambidex", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{pyproject}: [tool.ambidex] must be a table")
    try:
        table = load_table(section)
    except ValueError as exc:
        raise ConfigError(f"{pyproject}: {exc}") from exc
    return Config(root=pyproject.parent, pyproject=pyproject, section=section, table=table)
