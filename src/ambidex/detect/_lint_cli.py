"""``ambidex lint PATH...``: the command-line face of :mod:`ambidex.detect._lint`.

Behaves like ruff: quiet when clean, one ``path:line:col: CODE message`` line
per finding, a one-line summary on standard error, exit 0 when clean, 1 with
findings, 2 when an input cannot be read or parsed (the other files are still
linted and reported). Settings come from ``[tool.ambidex.lint]`` of the
nearest pyproject.toml::

    [tool.ambidex.lint]
    blocking = ["mylib.legacy.fetch"]   # more names that block, besides the table
    ignore = ["tests/fixtures/*"]       # globs of paths not to lint
    allow_blocking = ["vendor.lib.Client.fetch = reason"]  # as --allow-blocking QUALNAME=reason
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ambidex._config import ConfigError
from ambidex.detect._lint import SYNTAX_ERROR, lint_paths


def run_lint(args: argparse.Namespace) -> int:
    """Entry point of ``ambidex lint`` (see the module docstring for the contract)."""
    paths: list[str] = list(args.paths) or ["."]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        for path in missing:
            print(f"{path}:1:1: {SYNTAX_ERROR} no such file or folder", file=sys.stderr)
        return 2
    try:
        result = lint_paths(paths, strict=bool(getattr(args, "strict", False)),
                            allow_blocking=list(getattr(args, "allow_blocking", None) or []))
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
