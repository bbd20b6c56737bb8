"""Imports in generated code: where new ones go, which old ones go, and their order.

The converters add imports (``import time`` for ``time.sleep``) and leave
others unused (``import asyncio`` once every ``asyncio.sleep`` is gone).
Generated code is read and linted like hand-written code, so this module
puts new imports where isort would (the standard library's section, in
order), removes a name from an import without disturbing its neighbours,
and finds which names a module still uses -- from its syntax tree, or more
cheaply from its compiled code.
"""

from __future__ import annotations

import ast
import dis
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from types import CodeType
from typing import Any

from ambidex.codegen._source import Edits, SourceText

# A string that may name code (a forward reference, an __all__ entry), not prose.
_CODE_STRING = re.compile(r"[\w.\[\], |]{1,200}")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _line_start(source: SourceText, lineno: int) -> int:
    return source.offset(lineno, 0)


@dataclass
class ModuleScan:
    """What one walk over a module finds, for everything that needs the whole module."""

    imports: list[tuple[ast.Import | ast.ImportFrom, bool]] = field(default_factory=list)
    """Every import statement, and whether it is at module level."""
    local_names: set[str] = field(default_factory=set)
    used: set[str] = field(default_factory=set)
    """Names the module uses: loaded names, and the words of strings that look like
    code (forward references, ``__all__``), which keeps an import on the safe side."""
    generators: set[int] = field(default_factory=set)
    """ids of the ``async def`` nodes that contain ``yield`` (async generators)."""
    classes: set[str] = field(default_factory=set)


_SCOPES = (ast.FunctionDef, ast.Lambda, ast.ClassDef)


def scan_module(tree: ast.Module, code_string: re.Pattern[str] = _CODE_STRING) -> ModuleScan:
    """Walk ``tree`` once; ``code_string`` tells which strings may name code."""
    scan = ModuleScan()
    module_level = {id(s) for s in tree.body}
    # (node, the async def whose body it is in, or None)
    stack: list[tuple[ast.AST, ast.AsyncFunctionDef | None]] = [(tree, None)]
    while stack:
        node, owner = stack.pop()
        kind = type(node)
        if kind is ast.Name:
            if type(node.ctx) is ast.Store:  # type: ignore[attr-defined]
                scan.local_names.add(node.id)  # type: ignore[attr-defined]
            else:
                scan.used.add(node.id)  # type: ignore[attr-defined]
            continue
        if kind is ast.Constant:
            value = node.value  # type: ignore[attr-defined]
            if type(value) is str and code_string.fullmatch(value):
                scan.used.update(_WORD.findall(value))
            continue
        if kind is ast.Import or kind is ast.ImportFrom:
            scan.imports.append((node, id(node) in module_level))  # type: ignore[arg-type]
            continue
        if kind is ast.AsyncFunctionDef:
            scan.local_names.add(node.name)  # type: ignore[attr-defined]
            owner = node  # type: ignore[assignment]
        elif isinstance(node, _SCOPES):
            if isinstance(node, ast.ClassDef):
                scan.classes.add(node.name)
            if not isinstance(node, ast.Lambda):
                scan.local_names.add(node.name)
            owner = None
        elif kind is ast.arg:
            scan.local_names.add(node.arg)  # type: ignore[attr-defined]
        elif (kind is ast.Yield or kind is ast.YieldFrom) and owner is not None:
            scan.generators.add(id(owner))
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        stack.append((item, owner))
            elif isinstance(value, ast.AST):
                stack.append((value, owner))
    return scan


def already_imported(tree: ast.Module, line: str) -> bool:
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)) \
                and ast.unparse(statement) == line:
            return True
    return False


def _import_insertion_point(source: SourceText, tree: ast.Module) -> int:
    """After the module's leading imports (or its docstring / __future__ import)."""
    last: ast.stmt | None = None
    for index, statement in enumerate(tree.body):
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            last = statement
        elif index == 0 and isinstance(statement, ast.Expr) \
                and isinstance(statement.value, ast.Constant) \
                and isinstance(statement.value.value, str):
            last = statement
        elif isinstance(statement, (ast.If, ast.Try)) and last is not None:
            continue  # `if TYPE_CHECKING:` / `try: import x` among the imports
        else:
            break
    if last is None:
        return 0
    return _line_start(source, last.end_lineno + 1)  # type: ignore[operator]


def import_sort_key(line: str) -> tuple[int, str]:
    """Where a new import line sorts within its section (isort's order)."""
    words = line.split()
    return (0 if words[0] == "import" else 1, words[1].lower())


def statement_key(statement: ast.Import | ast.ImportFrom) -> tuple[int, str]:
    """:func:`import_sort_key` of an import statement already in the module."""
    if isinstance(statement, ast.Import):
        return (0, statement.names[0].name.lower())
    return (1, (statement.module or "").lower())


def import_section(statement: ast.Import | ast.ImportFrom) -> str:
    """isort's section of an import: future, stdlib, absolute (third and first party), relative."""
    if isinstance(statement, ast.ImportFrom):
        if statement.level:
            return "relative"
        if statement.module == "__future__":
            return "future"
        module = statement.module or ""
    else:
        module = statement.names[0].name
    return "stdlib" if module.split(".")[0] in sys.stdlib_module_names else "absolute"


def _is_stdlib(statement: ast.stmt) -> bool:
    return isinstance(statement, (ast.Import, ast.ImportFrom)) \
        and import_section(statement) == "stdlib"


def place_imports(source: SourceText, tree: ast.Module, lines: list[str]) -> list[tuple[int, str]]:
    """(offset, text) insertions that put new standard-library imports where isort would.

    Into the module's standard-library section, in order (``import x`` lines
    before ``from x import y`` lines, each sorted by module); when the module
    has no such section, a new one after ``from __future__`` imports (or the
    docstring), set off by a blank line.
    """
    leading: list[ast.Import | ast.ImportFrom] = []
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            leading.append(statement)
        elif not (isinstance(statement, ast.Expr) and statement is tree.body[0]):
            break
    stdlib = [s for s in leading if _is_stdlib(s)]
    insertions: list[tuple[int, str]] = []
    if not stdlib:
        others = [s for s in leading if not (isinstance(s, ast.ImportFrom)
                                             and s.module == "__future__")]
        text = "".join(f"{line}\n" for line in sorted(lines, key=import_sort_key))
        if others:
            return [(_line_start(source, others[0].lineno), text + "\n")]
        offset = _import_insertion_point(source, tree)
        if offset == 0:
            # Below a shebang, an encoding line or a licence comment, never above.
            lineno = 1
            while lineno <= len(source.lines) and source.lines[lineno - 1].lstrip()[:1] == "#":
                lineno += 1
            offset = _line_start(source, lineno)
            return [(offset, ("\n" if offset else "") + text + "\n")]
        return [(offset, "\n" + text)]
    for line in sorted(lines, key=import_sort_key):
        key = import_sort_key(line)
        following = next((s for s in stdlib if statement_key(s) > key), None)
        if following is not None:
            offset = _line_start(source, following.lineno)
        else:
            offset = _line_start(source, stdlib[-1].end_lineno + 1)  # type: ignore[operator]
        insertions.append((offset, f"{line}\n"))
    return insertions


def _blank_line_before(source: SourceText, edits: Edits, offset: int) -> bool:
    """The output's text before ``offset`` (a line start) ends in a blank line:
    the source's, or one that an insertion made there."""
    inserted = "".join(e.text for e in edits.at(offset))
    if inserted:
        return inserted.endswith(("\n\n", "\r\r", "\r\n\r\n"))
    before = source.text[:offset].splitlines()
    return bool(before) and not before[-1].strip() and edits.untouched(offset - 1)


def remove_aliases(source: SourceText, edits: Edits,
                   node: ast.Import | ast.ImportFrom, aliases: list[ast.alias]) -> None:
    """Remove some names from an import statement; the whole statement if all go."""
    if len(aliases) == len(node.names):
        start = source.offset(node.lineno, node.col_offset)
        line_start = _line_start(source, node.lineno)
        end = _line_start(source, node.end_lineno + 1)  # type: ignore[operator]
        rest = source.text[source.span(node)[1]:end]
        if source.text[line_start:start].strip() or (
                rest.strip() and not rest.strip().startswith("#")):
            edits.replace_span(start, source.span(node)[1], "pass")
        else:
            if _blank_line_before(source, edits, line_start) and end < len(source.text) \
                    and not source.lines[node.end_lineno].strip():  # type: ignore[index]
                # Between two blank lines (or at the top, a new import set off
                # before it): one blank line is enough where it stood.
                end = _line_start(source, node.end_lineno + 2)  # type: ignore[operator]
            edits.replace_span(line_start, end, "")
        return
    removed = {id(a) for a in aliases}
    names = node.names
    for index, alias in enumerate(names):
        if id(alias) not in removed:
            continue
        a_start, a_end = source.span(alias)
        if index + 1 < len(names) and id(names[index + 1]) not in removed:
            edits.replace_span(a_start, source.span(names[index + 1])[0], "")
        else:
            # The last kept name before it ends the range (drops the comma too).
            previous = index - 1
            while previous >= 0 and id(names[previous]) in removed:
                previous -= 1
            if previous < 0:
                edits.replace_span(a_start, source.span(names[index + 1])[0], "")
            else:
                edits.replace_span(source.span(names[previous])[1], a_end, "")


def used_names(tree: ast.Module, code_string: re.Pattern[str] = _CODE_STRING) -> set[str]:
    """:func:`used_names_pure`'s set, walked in C when ``ambidex._callgraph._walk``
    was built (the same loop, statement by statement: see the C file)."""
    walk = _c_walk()
    if walk is None:
        return used_names_pure(tree, code_string)
    used: set[str] = walk.used_names(tree, ast.AST, ast.Name, ast.Constant, ast.Store,
                                     code_string.fullmatch, _WORD.findall, _NAMED_FIELDS,
                                     _NO_NAMES)
    return used


@cache
def _c_walk() -> Any:
    """The C walks (``ambidex._callgraph._walk``), or None (see :func:`ambidex._compiled.load`)."""
    from ambidex._compiled import load

    return load("ambidex._callgraph._walk")


def used_names_pure(tree: ast.Module, code_string: re.Pattern[str] = _CODE_STRING) -> set[str]:
    """Names a module uses: loaded names, and the words of strings that look like code.

    Strings count because a name may be used only in a forward reference or
    in ``__all__``; a string that merely looks like code keeps an import that
    could have gone, which is the safe side. ``code_string`` is what looks
    like code (the sync -> async converter has its own, stricter about prose).

    The same set as :func:`scan_module`'s ``used``, from a walk that collects
    nothing else: every changed module of a port is read here (and the
    source of each that may lose an import), so it is read often. The
    fields that hold no name (``ctx``, ``op``, ``ops``) are not visited.
    """
    used: set[str] = set()
    add = used.add
    fullmatch = code_string.fullmatch
    fields_of = _NAMED_FIELDS
    node_type = ast.AST
    todo: list[ast.AST] = [tree]
    pop, push = todo.pop, todo.append
    while todo:
        node = pop()
        kind = type(node)
        if kind is ast.Name:
            if type(node.ctx) is not ast.Store:  # type: ignore[attr-defined]
                add(node.id)  # type: ignore[attr-defined]
            continue
        if kind is ast.Constant:
            value = node.value  # type: ignore[attr-defined]
            if type(value) is str and fullmatch(value):
                used.update(_WORD.findall(value))
            continue
        fields = fields_of.get(kind)
        if fields is None:
            fields = fields_of[kind] = tuple(f for f in kind._fields if f not in _NO_NAMES)
        for name in fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, node_type):
                        push(item)
            elif isinstance(value, node_type):
                push(value)
    return used


_NO_NAMES = frozenset({"ctx", "op", "ops"})
"""Fields that hold an operator or a name's context: never a name."""
_NAMED_FIELDS: dict[type, tuple[str, ...]] = {}
"""Per node class: its fields but :data:`_NO_NAMES`, in order (:func:`used_names`)."""


def drop_unused_imports(text: str, original_used: set[str], candidates: set[str]) -> str:
    """Drop the module-level imports of ``text`` that it no longer uses.

    Only names in ``candidates`` that were used in the source
    (``original_used``, see :func:`used_names`) are dropped: an import that
    was already unused stays (a re-export, or imported for its side
    effects). Parses ``text``; the sync -> async converter uses this too.
    """
    if not candidates & original_used:
        return text
    tree = ast.parse(text)
    source = SourceText(text)
    edits = Edits(source)
    for statement, unused in unused_imports(tree, used_names(tree), original_used, candidates):
        remove_aliases(source, edits, statement, unused)
    return edits.apply() if len(edits) else text


def unused_imports(
    tree: ast.Module, used: set[str], original_used: set[str], candidates: set[str] | None = None
) -> Iterator[tuple[ast.Import | ast.ImportFrom, list[ast.alias]]]:
    """Each module-level import of ``tree`` (``__future__`` aside) with its names to drop.

    A name goes when ``tree`` no longer uses it (``used``), the source did
    (``original_used``) and, if ``candidates`` is given, it is one of them;
    ``*`` never goes. Statements that keep every name are not yielded.
    """
    for statement in tree.body:
        if not isinstance(statement, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
            continue
        unused = []
        for alias in statement.names:
            if alias.name == "*":
                continue
            local = alias.asname or alias.name.split(".")[0]
            if local not in used and local in original_used \
                    and (candidates is None or local in candidates):
                unused.append(alias)
        if unused:
            yield statement, unused




def names_in_code(code: CodeType) -> set[str]:
    """Every name a compiled module may use, read from its code objects.

    Module-level code also holds the import statements' own stores, so it is
    read instruction by instruction (loads only); nested code (functions,
    classes) by its ``co_names``. String constants that look like code (string
    annotations, ``__all__``) count too. Cheaper than parsing the output
    again, and on the safe side: an attribute of the same name counts as a use.
    """
    names: set[str] = set()
    stack: list[tuple[object, bool]] = [(code, True)]
    while stack:
        item, module_level = stack.pop()
        if isinstance(item, CodeType):
            if module_level:
                instructions = list(dis.get_instructions(item))
                for index, instruction in enumerate(instructions):
                    value = instruction.argval
                    if instruction.opname.startswith(("STORE_", "IMPORT_", "DELETE_")):
                        continue
                    if isinstance(value, str):
                        names.add(value)
                        if _CODE_STRING.fullmatch(value):
                            names.update(_WORD.findall(value))
                    elif isinstance(value, (tuple, frozenset)) and not (
                        index + 1 < len(instructions)
                        and instructions[index + 1].opname == "IMPORT_NAME"
                    ):  # a tuple of constants, but not an import's list of names
                        stack.append((value, False))
                    elif isinstance(value, CodeType):
                        stack.append((value, False))
            else:
                names.update(item.co_names)
                stack.extend((const, False) for const in item.co_consts)
        elif isinstance(item, str):
            if _CODE_STRING.fullmatch(item):
                names.update(_WORD.findall(item))
        elif isinstance(item, (tuple, frozenset)):
            stack.extend((const, False) for const in item)
    return names


def isort_name_key(name: str) -> tuple[int, str]:
    """isort's order by type: CONSTANTS, then Classes, then functions and variables."""
    bare = name.split(" ")[0]
    if bare.isupper() and len(bare) > 1:
        return (0, bare)
    if bare[:1].isupper():
        return (1, bare)
    return (2, bare)
