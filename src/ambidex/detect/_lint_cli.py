"""``ambidex lint PATH...``: the command-line face of :mod:`ambidex.detect._lint`.

Behaves like ruff: quiet when clean, one ``path:line:col: CODE message`` line
per finding, a one-line summary on standard error, exit 0 when clean, 1 with
findings, 2 when an input cannot be read or parsed (the other files are still
linted and reported). Settings come from ``[tool.ambidex.lint]`` of the
nearest pyproject.toml::

    [tool.ambidex.lint]
    blocking = ["mylib.legacy.fetch"]   # more names that block, besides the table
    ignore = ["tests/fixtures/*"]       # globs of paths not to lint
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ambidex._config import ConfigError, load_config
from ambidex.detect._lint import (
    SYNTAX_ERROR,
    Finding,
    LintResult,
    collect_files,
    lint_sources,
)


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _strings(section: object, key: str, where: str) -> list[str]:
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: [tool.ambidex.lint] must be a table")
    value: object = section.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: [tool.ambidex.lint] '{key}' must be a list of strings")
    return [str(v) for v in value]


def lint_paths(paths: Sequence[str], *, strict: bool = False) -> LintResult:
    """Lint the files under ``paths`` with the settings of their pyproject.toml.

    Raises :class:`ambidex._config.ConfigError` for a malformed configuration.
    """
    start = Path(paths[0]) if paths else Path.cwd()
    config = load_config(start if start.is_dir() else start.parent)
    section = config.section.get("lint", {})
    where = str(config.pyproject or "pyproject.toml")
    blocking = _strings(section, "blocking", where)
    ignore = _strings(section, "ignore", where)
    sources: dict[str, str] = {}
    unreadable: list[Finding] = []
    for file in collect_files(paths, ignore, config.root):
        display = _display(file)
        try:
            sources[display] = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            unreadable.append(Finding(display, 1, 1, SYNTAX_ERROR, f"cannot read: {reason}"))
    result = lint_sources(sources, table=config.table, blocking=blocking, strict=strict)
    result.syntax_errors[:0] = unreadable
    return result


def run_lint(args: argparse.Namespace) -> int:
    """Entry point of ``ambidex lint`` (see the module docstring for the contract)."""
    paths: list[str] = list(args.paths) or ["."]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        for path in missing:
            print(f"{path}:1:1: {SYNTAX_ERROR} no such file or folder", file=sys.stderr)
        return 2
    try:
        result = lint_paths(paths, strict=bool(getattr(args, "strict", False)))
    except ConfigError as exc:
        print(f"ambidex lint: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "format", "text") == "json":
        every = [*result.syntax_errors, *result.findings]
        json.dump([f.as_json() for f in every], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for finding in result.syntax_errors:
            print(finding, file=sys.stderr)
        for finding in result.findings:
            print(finding)
            if finding.fix and finding.code != "AMB101":
                print(f"    fix: {finding.fix}")
        errors = sum(f.severity == "error" for f in result.findings)
        infos = len(result.findings) - errors
        if result.findings:
            notes = f" ({infos} informational)" if infos else ""
            print(f"Found {len(result.findings)} finding(s){notes}.", file=sys.stderr)
    return result.exit_code
