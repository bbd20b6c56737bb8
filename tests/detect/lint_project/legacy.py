"""A vendored helper that blocks, listed in pyproject.toml's [tool.ambidex.lint] blocking."""

import ctypes


def slow_query(sql: str) -> int:
    # The table knows nothing about ctypes; the project's settings say this blocks.
    return int(ctypes.c_int(len(sql)).value)
