"""sync -> async, step 2b: how the output spells a name, and the imports it needs.

Every edit that puts a name into the output (``asyncio.sleep``,
``AsyncSocket``, a renamed import) asks :meth:`ImportSpeller.spell` how to
write it, which notes the import the name needs; when the edits are done,
:meth:`ImportSpeller.add_imports` adds the missing ones where isort would
put them (joining an existing ``from m import ...``, opening a section the
module lacks). It lives apart from :mod:`.edit` because it decides only about
import statements and spelling, never about colour.
"""

from __future__ import annotations

import ast
import sys

from ambidex._callgraph import Module
from ambidex.codegen._imports import (
    import_section,
    import_sort_key,
    statement_key,
)
from ambidex.codegen._source import Edits, SourceText


class ImportSpeller:
    """The spelling and import part of :class:`~.edit.ModuleEditor`."""

    module: Module
    source: SourceText
    edits: Edits
    needed: set[tuple[str, str | None]]
    """Imports the output needs (module, name or None for ``import module``)."""
    provided: set[tuple[str, str | None]]
    done: set[int]

    def spell(self, dotted: str, *, bare: bool | None = None) -> str:
        """How the output names ``dotted``, noting the import it needs.

        ``asyncio.sleep`` -> ``asyncio.sleep`` (``import asyncio``);
        ``ambidex.io.AsyncSocket.create_connection`` -> ``AsyncSocket.create_connection``
        (``from ambidex.io import AsyncSocket``); ``anext`` -> ``anext``. A class
        of a dotted package is imported by name (``from ambidex.io import X``),
        anything of a top-level module is spelled through it (``asyncio.Lock``),
        unless ``bare`` says otherwise.
        """
        parts = dotted.split(".")
        if len(parts) == 1:
            return dotted
        for index in range(1, len(parts)):
            if parts[index][:1].isupper():
                module, name = ".".join(parts[:index]), parts[index]
                if bare is False or (bare is None and "." not in module):
                    break
                bound = self.module.imported_as(name)
                if bound != f"{module}.{name}":
                    self.needed.add((module, name))
                return ".".join(parts[index:])
        else:
            index = len(parts) - 1
        module = ".".join(parts[:index])
        top = module.split(".")[0]
        if self.module.imported_as(top) != top:
            self.needed.add((module, None))
        return dotted

    def add_imports(self) -> None:
        self.needed -= self.provided
        if not self.needed:
            return
        lines = sorted(f"import {m}" for m, n in self.needed if n is None)
        froms: dict[str, list[str]] = {}
        for module, name in self.needed:
            if name is not None:
                froms.setdefault(module, []).append(name)
        # A name from a module the code already imports from joins that statement.
        for statement in self.module.tree.body:
            if (
                isinstance(statement, ast.ImportFrom)
                and statement.level == 0
                and statement.module in froms
                and statement.names[-1].name != "*"
            ):
                names = sorted(froms.pop(statement.module))
                end = self.source.span(statement.names[-1])[1]
                self.edits.insert(end, "".join(f", {name}" for name in names))
        if not lines and not froms:
            return
        lines += [
            f"from {m} import {', '.join(sorted(names))}" for m, names in sorted(froms.items())
        ]
        body = self.module.tree.body
        leading: list[ast.Import | ast.ImportFrom] = []
        for statement in body:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                leading.append(statement)
            elif not (statement is body[0] and isinstance(statement, ast.Expr)):
                break
        imports = [s for s in leading if import_section(s) != "future"]
        if imports:
            self.place_imports(imports, lines)
            return
        futures = [s for s in body if isinstance(s, ast.ImportFrom) and s.module == "__future__"]
        if futures and futures[-1].end_lineno is not None:
            offset = self.source.offset(futures[-1].end_lineno + 1, 0)
            self.edits.insert(offset, "\n" + "".join(line + "\n" for line in lines))
            return
        first = body[0] if body else None
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
            and first.end_lineno is not None
        ):
            offset = self.source.offset(first.end_lineno + 1, 0)
            prefix = "" if self.source.text[:offset].endswith(("\n", "\r")) else "\n"
            self.edits.insert(offset, prefix + "\n" + "".join(line + "\n" for line in lines))
        else:
            self.edits.insert(0, "".join(line + "\n" for line in lines) + "\n")

    def place_imports(self, imports: list[ast.Import | ast.ImportFrom], lines: list[str]) -> None:
        """Insert ``lines`` where isort would: into their section, in order.

        Sections are standard library, other absolute imports, relative
        imports; ``import x`` lines sort before ``from x import y`` lines. A
        section the module does not have yet is opened, set off by blank lines.
        """
        order = ["stdlib", "absolute", "relative"]
        new: dict[str, list[str]] = {}
        for line in lines:
            module = line.split()[1]
            section = "stdlib" if module.split(".")[0] in sys.stdlib_module_names else "absolute"
            new.setdefault(section, []).append(line)

        def start(statement: ast.stmt) -> int:
            return self.source.offset(statement.lineno, 0)

        def after(statement: ast.stmt) -> int:
            assert statement.end_lineno is not None
            return self.source.offset(statement.end_lineno + 1, 0)

        for section, section_lines in new.items():
            members = [s for s in imports if import_section(s) == section]
            section_lines.sort(key=import_sort_key)
            if members:
                for line in section_lines:
                    following = next(
                        (s for s in members if statement_key(s) > import_sort_key(line)), None
                    )
                    offset = start(following) if following is not None else after(members[-1])
                    self.edits.insert(offset, line + "\n")
                continue
            text = "".join(line + "\n" for line in section_lines)
            later = [s for s in imports if order.index(import_section(s)) > order.index(section)]
            if later:
                self.edits.insert(start(later[0]), text + "\n")
            else:
                self.edits.insert(after(imports[-1]), "\n" + text)

    def rename_import(self, module: str, old: str, new: str) -> None:
        for statement in self.module.imports:
            if not isinstance(statement, ast.ImportFrom) or statement.module != module:
                continue
            for alias in statement.names:
                if alias.name == old and alias.asname is None and id(alias) not in self.done:
                    self.done.add(id(alias))
                    self.edits.replace_node(alias, new)
                    self.provided.add((module, new))
