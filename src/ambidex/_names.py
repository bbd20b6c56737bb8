"""Module names: the one answer to "what is this file called, and what does an
import in it bind?", for the call graph, both converters and the lint.

A display path names a module the way an import would: ``src/pkg/mod.py`` is
``pkg.mod`` (the ``src`` layout's directory is not part of the name),
``pkg/__init__.py`` is ``pkg``. Relative imports resolve against that name:
``from ..util import x`` in ``pkg/sub/mod.py`` binds ``x`` to ``pkg.util.x``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Literal

__all__ = [
    "absolute_module",
    "import_bindings",
    "is_package_path",
    "module_label",
    "module_name_for",
]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _parts(path: str) -> list[str]:
    normalized = path.replace("\\", "/")
    if normalized.endswith(".py"):
        normalized = normalized[:-3]
    parts = [p for p in normalized.split("/") if p not in ("", ".", "..")]
    if parts and parts[0] == "src":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return parts


def module_name_for(path: str) -> str | None:
    """The dotted module name of a display path, or None when it is not one
    (not a ``.py`` file, or its own name is not an identifier).

    ``src/pkg/_async/x.py`` -> ``pkg._async.x``; ``pkg/__init__.py`` -> ``pkg``.
    No import passes through a folder whose name is not an identifier, so the
    name starts below the last such folder (an unpacked sdist:
    ``aiohttp-3.14.5/aiohttp/client.py`` -> ``aiohttp.client``;
    ``aiofiles-25.1.0/src/aiofiles/base.py`` -> ``aiofiles.base``).
    """
    if not path.replace("\\", "/").endswith(".py"):
        return None
    parts = _parts(path)
    for index in range(len(parts) - 1, -1, -1):
        if not _IDENTIFIER.match(parts[index]):
            parts = parts[index + 1:]
            if parts and parts[0] == "src":
                parts = parts[1:]
            break
    return ".".join(parts) or None


def module_label(path: str) -> str:
    """A name for any path, for indexing, unique among the paths of one run:
    :func:`module_name_for` when every part of the path is an identifier, else
    the path's parts joined by dots (two unpacked sdists each with a
    ``util.py`` are two modules); ``__main__`` when there are none."""
    parts = _parts(path)
    if all(_IDENTIFIER.match(p) for p in parts) and (name := module_name_for(path)):
        return name
    return ".".join(parts) or "__main__"


def is_package_path(path: str) -> bool:
    """Whether the path is a package's ``__init__.py`` (relative imports start there)."""
    normalized = path.replace("\\", "/")
    return normalized == "__init__.py" or normalized.endswith("/__init__.py")


def absolute_module(
    module_name: str | None, is_package: bool, module: str | None, level: int
) -> str | None:
    """The absolute module of ``from <level dots><module> import ...`` written in
    ``module_name``; None when it reaches above the top (or ``module_name`` is
    unknown) or names nothing."""
    if level == 0:
        return module
    if module_name is None:
        return None
    parts = module_name.split(".")
    keep = len(parts) - level + (1 if is_package else 0)
    if keep < 0:
        return None
    return ".".join([*parts[:keep], *([module] if module else [])]) or None


def import_bindings(
    node: ast.Import | ast.ImportFrom,
    module_name: str | None,
    is_package: bool,
    *,
    above_top: Literal["dots", "name"] = "dots",
) -> Iterator[tuple[str, str, ast.alias, bool]]:
    """What an import statement binds: (local name, dotted name, alias, is a module).

    ``import a.b`` binds ``a`` to ``a``; ``import a.b as c`` binds ``c`` to
    ``a.b``; ``from .x import y as z`` binds ``z`` to ``<package>.x.y``. A
    relative import that cannot be resolved binds to its spelling with the dots
    (``..x.y``), or with ``above_top="name"`` to the name after the dots
    (``x.y``: the call graph then finds a module by that name if it can).
    ``*`` and ``__future__`` bind nothing.
    """
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                yield alias.asname, alias.name, alias, True
            else:
                root = alias.name.split(".")[0]
                yield root, root, alias, True
        return
    if node.module == "__future__":
        return
    base = absolute_module(module_name, is_package, node.module, node.level)
    for alias in node.names:
        if alias.name == "*":
            continue
        if base is not None:
            dotted = f"{base}.{alias.name}"
        elif node.level and above_top == "name":
            dotted = f"{node.module}.{alias.name}" if node.module else alias.name
        elif node.level:
            dotted = "." * node.level + (node.module or "") + "." + alias.name
        else:
            dotted = alias.name
        yield alias.asname or alias.name, dotted, alias, False
