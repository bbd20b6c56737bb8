"""Marker directives by qualified name: third-party code ported without editing it.

Everything a ``# ambidex:`` colour marker says on a statement can be said
from outside, naming the definition instead::

    ambidex port --to async --sync-only Client.__getitem__ --sync-only Client.__setitem__ ...

    [tool.ambidex]
    sync_only = ["pymemcache.client.base.Client.__getitem__"]
    async_only = ["Client.stream"]

A name is a definition's qualified name in its module (``Client.__getitem__``,
``helper``) or that name behind the module's dotted name
(``pymemcache.client.base.Client.__getitem__``). The directive is applied by
putting the marker on the definition's first line in the text handed to the
converter -- the same marker, read by the same parser
(:mod:`ambidex.codegen._markers`), so a directive and a marker never mean two
different things, and line numbers do not move.

The lint's ``allow-blocking`` has the same by-name form (``ambidex lint
--allow-blocking Client.fetch=reason``, ``[tool.ambidex.lint] allow_blocking``);
it resolves names with :func:`names_definition` here, and applies them in
:mod:`ambidex.detect._lint` (a finding, not a line to mark, is what it silences).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping

from ambidex._names import module_label
from ambidex.codegen._markers import MarkerKind, marker_comments

__all__ = ["CONFIG_KEYS", "apply_directives", "definitions", "names_definition", "split_reason"]

#: ``[tool.ambidex]`` keys, and the marker each stands for.
CONFIG_KEYS: dict[str, MarkerKind] = {"sync_only": "sync-only", "async_only": "async-only"}


def apply_directives(
    modules: Mapping[str, str], directives: Mapping[MarkerKind, Iterable[str]]
) -> tuple[dict[str, str], list[str]]:
    """``modules`` with each named definition marked; and the names that
    matched no definition (in the order given)."""
    wanted = {(kind, name) for kind, names in directives.items() for name in names}
    if not wanted:
        return dict(modules), []
    used: set[tuple[MarkerKind, str]] = set()
    out: dict[str, str] = {}
    for path, text in modules.items():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            out[path] = text  # the converter reports it
            continue
        module = module_label(path)
        lines = text.splitlines(keepends=True)
        existing = marker_comments(text)
        for node, qualname in definitions(tree):
            for kind, name in wanted:
                if not names_definition(name, module, qualname):
                    continue
                used.add((kind, name))
                decorators = getattr(node, "decorator_list", [])
                first = min([node.lineno, *(d.lineno for d in decorators)])
                if first in existing:
                    continue  # already marked in the source
                line = lines[first - 1]
                body = line.rstrip("\r\n")
                ending = line[len(body):] or "\n"
                lines[first - 1] = f"{body}  # ambidex: {kind}{ending}"
        out[path] = "".join(lines)
    unused = [name for kind, names in directives.items() for name in names
              if (kind, name) not in used]
    return out, unused


def names_definition(name: str, module: str, qualname: str) -> bool:
    """Whether ``name`` names the definition ``qualname`` of ``module``: its
    qualified name alone, or behind the module's dotted name -- or behind the
    end of it, since a module may be labelled by its path (``generate`` and
    :func:`ambidex.detect._lint.lint_sources` label ``vendor/pkg/mod.py``
    ``vendor.pkg.mod``) while users name it by import (``pkg.mod.Client.fetch``)."""
    if name == qualname:
        return True
    prefix, dot, rest = name.rpartition("." + qualname) if name.endswith(qualname) else ("", "", "")
    return bool(dot) and not rest and (module == prefix or module.endswith("." + prefix))


_QUALNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")


def split_reason(entry: str) -> tuple[str, str]:
    """``"pkg.mod.Client.fetch = reason"`` -> ``("pkg.mod.Client.fetch", "reason")``.

    The reason is optional (``""`` when absent). Raises ValueError when the
    name is not a dotted name: a typo must not become a name that matches nothing.
    """
    name, _, reason = entry.partition("=")
    name = name.strip()
    if not _QUALNAME.match(name):
        raise ValueError(f"{name!r} is not a qualified name (pkg.mod.Class.method or Class.method)")
    return name, reason.strip()


def definitions(tree: ast.Module) -> Iterable[tuple[ast.stmt, str]]:
    """Every function and class of a module, nested ones included, with its
    qualified name in the module (``Client.fetch``)."""
    todo: list[tuple[list[ast.stmt], str]] = [(tree.body, "")]
    while todo:
        body, prefix = todo.pop()
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qualname = prefix + node.name
                yield node, qualname
                if isinstance(node, ast.ClassDef):
                    todo.append((node.body, qualname + "."))
