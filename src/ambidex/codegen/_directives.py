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
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping

from ambidex._names import module_label
from ambidex.codegen._markers import MarkerKind, marker_comments

__all__ = ["CONFIG_KEYS", "apply_directives"]

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
        for node, qualname in _definitions(tree):
            for kind, name in wanted:
                if name not in (qualname, f"{module}.{qualname}"):
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


def _definitions(tree: ast.Module) -> Iterable[tuple[ast.stmt, str]]:
    todo: list[tuple[list[ast.stmt], str]] = [(tree.body, "")]
    while todo:
        body, prefix = todo.pop()
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qualname = prefix + node.name
                yield node, qualname
                if isinstance(node, ast.ClassDef):
                    todo.append((node.body, qualname + "."))
