"""Module names: the one answer to "what is this file called, and what does an
import in it bind?", for the call graph, both converters and the lint.

A display path names a module the way an import would: ``src/pkg/mod.py`` is
``pkg.mod`` (the ``src`` layout's directory is not part of the name),
``pkg/__init__.py`` is ``pkg``. Relative imports resolve against that name:
``from ..util import x`` in ``pkg/sub/mod.py`` binds ``x`` to ``pkg.util.x``.

A path on disk is named from where its imports start (:func:`import_root`),
not from the filesystem's root: ``ambidex lint /abs/.venv/lib/python3.11/site-packages``
names ``site-packages/requests/api.py`` ``requests.api``, as Python imports it.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from typing import Literal

__all__ = [
    "absolute_module",
    "import_bindings",
    "import_root",
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


#: The files that mark a project's root: where its imports start.
_PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")


def import_root(path: str | os.PathLike[str]) -> str:
    """The folder the imports of the files at ``path`` start from, made absolute.

    It is what Python would have on ``sys.path`` for them:

    * a package's folder (it holds ``__init__.py``), or a file in one, starts
      above its top package;
    * a folder whose name is an identifier may be a namespace package's
      (``tests/`` without ``__init__.py``, imported as ``tests.helpers``):
      imports start higher, at the first folder up that is a project's root
      (``pyproject.toml``, ``setup.py``, ``setup.cfg``), the working folder,
      or a folder whose name no import can spell (``site-packages``, a
      checkout named ``my-app``), else at the filesystem's root;
    * any other folder is where they start (``site-packages``).

    ``src/pkg/mod.py`` of a project is below its root, and named ``pkg.mod``
    all the same (:func:`module_label` drops a leading ``src``). The path is
    taken as written (``..`` and links are not resolved), so a file found under
    ``path`` is below the answer: :func:`os.path.relpath` of the file from
    here, through :func:`module_label`, is its name.
    """
    folder = os.path.abspath(path)
    if not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        above = os.path.dirname(folder)
        if above == folder:
            return folder
        folder = above
    here = os.path.abspath(os.curdir)
    while (
        _IDENTIFIER.match(os.path.basename(folder))
        and folder != here
        and not any(os.path.isfile(os.path.join(folder, f)) for f in _PROJECT_FILES)
    ):
        above = os.path.dirname(folder)
        if above == folder:
            break
        folder = above
    return folder


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
