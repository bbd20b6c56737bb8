"""async -> sync: what unasync does, with the AST's knowledge of the code.

The converter parses each module, decides what to change, and splices the
changes into the original text (:mod:`ambidex.codegen._source`), so every
byte it did not change -- comments, blank lines, layout -- is kept.

What it changes:

* ``async def`` -> ``def``; ``await x`` -> ``x``; ``async with`` /
  ``async for`` / ``async`` comprehensions lose their ``async``.
* Every name the rule table (:mod:`ambidex._rules`) knows, resolved through
  the module's imports: ``asyncio.sleep`` -> ``time.sleep`` (adding
  ``import time``), ``from asyncio import Lock`` -> ``from threading import
  Lock``, ``AsyncIterator`` -> ``Iterator``, ``__aenter__`` -> ``__enter__``,
  ``aclose`` -> ``close``, ``anext`` -> ``next``. The converter knows no
  primitive itself: a new primitive is a new row of the table.
* Typing that only means "a coroutine": ``Awaitable[T]`` and
  ``Coroutine[Any, Any, T]`` -> ``T``; ``AsyncGenerator[Y, S]`` ->
  ``Generator[Y, S, None]``.
* The user's renames and the ``_async`` -> ``_sync`` module segments
  (:mod:`ambidex.codegen._renames`), names inside ``__all__``, string
  annotations and ``getattr``-style strings included.
* Flavour markers: statements marked ``# ambidex: async-only`` are dropped,
  ``IS_ASYNC = True`` becomes ``False`` and ``if IS_ASYNC:`` statements are
  replaced by the branch for sync code.
* Imports that the rewrite left unused (they were used in the source) are
  dropped; imports that were already unused are kept (they may be
  re-exports or imported for their side effects).

What it refuses to do silently (an error diagnostic, nothing written):

* an async-only API of the table (``asyncio.gather``, ``asyncio.TaskGroup``,
  ``asyncio.wait_for``, ``asyncio.create_task``, ...) outside a block marked
  async-only, and any other call into an async-only module (``asyncio.*``)
  that the table has no row for;
* a call of a coroutine function of the converted code whose coroutine is
  not awaited where it is made (kept in a variable, passed on): in sync code
  the call would run at once, not when the coroutine is awaited. A lambda or
  a plain function that returns such a coroutine is a warning: the sync
  version returns the result instead, which is right when the caller awaits
  it at once;
* code inside an f-string whose positions this Python version reports
  wrongly (possible before 3.12): the f-string is named, never mangled.

Every output is compiled before it is returned; a failure there is an
internal error reported as a diagnostic, never written.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import CodeType
from typing import Any

from ambidex._rules import Kind, Rule, RuleTable
from ambidex.codegen._imports import (
    ModuleScan,
    already_imported,
    drop_unused_imports,
    isort_name_key,
    names_in_code,
    place_imports,
    remove_aliases,
    scan_module,
    used_names,
)
from ambidex.codegen._markers import MarkerComment, colour_marker, marker_comments
from ambidex.codegen._renames import Renames, RenameWalker, module_name_for
from ambidex.codegen._source import Conversion, Diagnostic, Edits, SourceText

#: Bumped whenever the output for the same input changes, so that generated
#: files made by an older converter are regenerated.
CONVERTER_VERSION = "1"

_ASYNC_KW = re.compile(r"async(?:\s|\\\n)+")
_AWAIT_KW = re.compile(r"await(?:\s|\\\n)*")

# Typing that only says "this is a coroutine": unwrapped to its result type.
_AWAITABLES = frozenset({"typing.Awaitable", "collections.abc.Awaitable"})
_COROUTINES = frozenset({"typing.Coroutine", "collections.abc.Coroutine"})
_ASYNC_GENERATORS = frozenset({"typing.AsyncGenerator", "collections.abc.AsyncGenerator"})


def _module_of(qualified: str) -> str:
    """The importable module of a dotted name: up to its first capitalised part.

    ``time.sleep`` -> ``time``; ``socket.socket`` -> ``socket``;
    ``ambidex.io.Stream.connect`` -> ``ambidex.io``.
    """
    parts = qualified.split(".")
    for index, part in enumerate(parts[:-1]):
        if index and part[:1].isupper():
            return ".".join(parts[:index])
    return ".".join(parts[:-1])


@dataclass
class _Tables:
    """What the converter reads from the rule table, for async -> sync."""

    to_sync: dict[str, Rule]
    """Dotted (or builtin) async name -> its row."""
    async_modules: frozenset[str]
    """Top-level modules that exist only in async code (``asyncio``)."""
    names: dict[str, str]
    """Bare identifiers renamed everywhere (the dunders)."""
    attributes: dict[str, str]
    """Method names that differ between the colours (``aclose`` -> ``close``)."""

    @classmethod
    def build(cls, table: RuleTable) -> _Tables:
        to_sync: dict[str, Rule] = {}
        names: dict[str, str] = {}
        attributes: dict[str, str] = {}
        ambiguous: set[str] = set()
        sync_roots = {rule.sync.split(".")[0] for rule in table.rules if rule.sync}
        async_roots = {rule.async_.split(".")[0] for rule in table.rules
                       if rule.async_ and "." in rule.async_}
        for name, rule in table.by_async.items():
            if rule.kind is Kind.NAME and "." not in name and rule.sync and "." not in rule.sync:
                names[name] = rule.sync
                continue
            if rule.kind is Kind.METHOD:
                async_attr = name.rsplit(".", 1)[-1]
                sync_attr = rule.sync.rsplit(".", 1)[-1] if rule.sync else None
                if sync_attr is not None and sync_attr != async_attr:
                    if attributes.get(async_attr, sync_attr) != sync_attr:
                        ambiguous.add(async_attr)
                    attributes[async_attr] = sync_attr
                continue
            to_sync[name] = rule
        for attr in ambiguous:
            del attributes[attr]
        for attr in names:
            attributes.pop(attr, None)
        return cls(to_sync, frozenset(async_roots - sync_roots), names, attributes)


_TABLES_CACHE: dict[int, tuple[RuleTable, _Tables]] = {}


def _tables(table: RuleTable) -> _Tables:
    cached = _TABLES_CACHE.get(id(table))
    if cached is None or cached[0] is not table:
        cached = (table, _Tables.build(table))
        _TABLES_CACHE[id(table)] = cached
    return cached[1]


@dataclass
class _Binding:
    """A name bound by an import: what it stands for and where it came from."""

    qualified: str
    node: ast.Import | ast.ImportFrom
    alias: ast.alias
    is_module: bool
    module_level: bool


@dataclass
class _Plan:
    """Statements the flavour markers remove or replace, found before the walk."""

    skip: set[int] = field(default_factory=set)
    """ids of statements (and discarded branches) not converted at all."""
    replacements: list[tuple[int, int, ast.If | None, list[ast.stmt], str]] = \
        field(default_factory=list)
    """(start, end, if-node, kept statements, how): applied after the walk."""


def _line_start(source: SourceText, lineno: int) -> int:
    return source.offset(lineno, 0)


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", None) or []
    return int(min([node.lineno, *(d.lineno for d in decorators)]))


def _is_flag(test: ast.expr) -> bool | None:
    """True for ``IS_ASYNC``, False for ``not IS_ASYNC``, None otherwise."""
    if isinstance(test, ast.Name) and test.id == "IS_ASYNC":
        return True
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) \
            and isinstance(test.operand, ast.Name) and test.operand.id == "IS_ASYNC":
        return False
    return None


def _bodies(node: ast.AST) -> Iterator[list[ast.stmt]]:
    for name in ("body", "orelse", "finalbody"):
        value = getattr(node, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            yield value
    for handler in getattr(node, "handlers", ()) or ():
        yield handler.body
    for case in getattr(node, "cases", ()) or ():
        yield case.body


class _SyncWalker(RenameWalker):
    def __init__(
        self,
        path: str,
        tree: ast.Module,
        source: SourceText,
        tables: _Tables,
        renames: Renames,
        qualified_renames: Mapping[str, str],
        coroutine_functions: frozenset[str],
        scan: ModuleScan,
    ) -> None:
        module_name = module_name_for(path)
        super().__init__(source, Edits(source), renames, module_name)
        self.is_package = path.replace("\\", "/").endswith("/__init__.py") or path == "__init__.py"
        self.path = path
        self.tree = tree
        self.tables = tables
        self.qualified_renames = qualified_renames
        self.coroutine_functions = coroutine_functions
        self.scan = scan
        self.diagnostics: list[Diagnostic] = []
        self.bindings: dict[str, _Binding] = {}
        self.local_names: set[str] = set()
        self.local_renames: dict[str, str] = {}
        self.decided_locals: set[str] = set()
        self.new_imports: set[str] = set()
        self.awaited: set[int] = set()
        self.returned: set[int] = set()
        self.class_coroutines: list[set[str]] = []
        self.plan = _Plan()
        self._markers: dict[int, MarkerComment] | None = None
        self.touched: set[str] = set()
        self.removed_aliases: set[int] = set()
        self.import_touched: set[int] = set()
        """ids of import statements whose names changed (to sort them again)."""
        self.import_names: dict[int, str] = {}
        """id of an alias -> its new name."""
        self.annotation_names: set[str] = set()
        self.explanations: list[str] = []
        self.scope: list[str] = []
        """Import names whose uses the rewrite replaced: candidates for becoming unused."""
        self.reported = False
        self.used_rules: set[Rule] = set()
        self._collect_names()

    # --- diagnostics -------------------------------------------------------------
    def report(self, node: ast.AST, message: str, *, error: bool = True) -> None:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0) + 1
        if self.source is not self._module_source:  # inside a string annotation
            line, col = self._string_anchor
        self.diagnostics.append(Diagnostic(self.path, line, col, message, error))

    # --- the module's names --------------------------------------------------------
    def _collect_names(self) -> None:
        self._module_source = self.source
        self._string_anchor = (1, 1)
        self.local_names = self.scan.local_names
        for node, top in self.scan.imports:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.bindings[alias.asname] = _Binding(alias.name, node, alias, True, top)
                    else:
                        root = alias.name.split(".")[0]
                        self.bindings[root] = _Binding(root, node, alias, True, top)
            else:
                if node.module == "__future__":
                    continue
                base = self.resolve_relative(node.module, node.level)
                for alias in node.names:
                    if alias.name == "*":
                        continue
                    local = alias.asname or alias.name
                    qualified = f"{base}.{alias.name}" if base else alias.name
                    if node.level and base is None:
                        qualified = "." * node.level + (node.module or "") + "." + alias.name
                    self.bindings[local] = _Binding(qualified, node, alias, False, top)
        self.import_decisions: dict[int, tuple[str, str]] = {}
        for local, binding in list(self.bindings.items()):
            if isinstance(binding.node, ast.ImportFrom):
                decision = self._decide_alias(binding.node, binding.alias)
                if decision is not None:
                    self.import_decisions[id(binding.alias)] = decision
                    self.decided_locals.add(local)

    def _decide_alias(self, node: ast.ImportFrom, alias: ast.alias) -> tuple[str, str] | None:
        """What becomes of ``from <module> import <alias>`` whose name the table renames.

        ("rename", new name) in the same module; ("builtin", name);
        ("move", import line) to another module, the code unchanged; or
        ("spell", qualified) when the local name changes: ``AsyncSocket`` is
        spelled ``socket.socket`` (with ``import socket``).
        """
        base = self.resolve_relative(node.module, node.level)
        if alias.name == "*" or base is None:
            return None
        qualified = f"{base}.{alias.name}"
        new = self.qualified_renames.get(qualified)
        if new is None:
            rule = self.tables.to_sync.get(qualified)
            if rule is not None and rule.sync is not None:
                new = rule.sync
        if new is None or new == qualified:
            return None
        local = alias.asname or alias.name
        new_module, _, new_name = new.rpartition(".")
        if new_module == base:
            if alias.asname is None:
                self.local_renames[local] = new_name
            return ("rename", new_name)
        if not new_module:
            self.local_renames[local] = new_name
            return ("builtin", new_name)
        if alias.asname or local == new_name:
            as_part = f" as {local}" if alias.asname else ""
            return ("move", f"from {new_module} import {new_name}{as_part}")
        self.local_renames[local] = new
        return ("spell", new)

    def qualified_name(self, node: ast.expr) -> str | None:
        """The dotted name an expression stands for, resolved through the imports."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        binding = self.bindings.get(node.id)
        if binding is not None:
            root = binding.qualified
        elif node.id in self.local_names:
            return None
        else:
            root = node.id  # a builtin
        return ".".join([root, *reversed(parts)])

    def spell(self, qualified: str) -> str:
        """How the output names ``qualified``: through an import, adding one if needed."""
        best: tuple[int, str] | None = None
        for local, binding in self.bindings.items():
            if not binding.module_level or local in self.local_renames:
                continue
            prefix = binding.qualified
            if (qualified == prefix or qualified.startswith(prefix + ".")) \
                    and (best is None or len(prefix) > best[0]):
                best = (len(prefix), local + qualified[len(prefix):])
        if best is not None:
            return best[1]
        if "." not in qualified:
            return qualified  # a builtin
        module = _module_of(qualified)
        if module.split(".")[0] in self.local_names:
            # `time` is also a variable of this module: import under a name nobody uses.
            alias = "_" + module.replace(".", "_")
            self.new_imports.add(f"import {module} as {alias}")
            return alias + qualified[len(module):]
        self.new_imports.add(f"import {module}")
        return qualified

    # --- the plan: flavour markers -------------------------------------------------
    def make_plan(self) -> None:
        for module_level, statement in ((True, s) for s in self.tree.body):
            if module_level and isinstance(statement, ast.Assign) \
                    and len(statement.targets) == 1 \
                    and isinstance(statement.targets[0], ast.Name) \
                    and statement.targets[0].id == "IS_ASYNC" \
                    and isinstance(statement.value, ast.Constant) \
                    and isinstance(statement.value.value, bool):
                # The output is sync whatever the source said: a fixed point, not a toggle.
                if statement.value.value is not False:
                    self.edits.replace_node(statement.value, "False")
        if "ambidex:" in self.source.text or "IS_ASYNC" in self.source.text:
            self._plan_body(self.tree.body)

    def _pragma(self, statement: ast.stmt) -> str | None:
        if self._markers is None:
            self._markers = marker_comments(self.source.text)
        return colour_marker(self._markers, statement)

    def _plan_body(self, body: list[ast.stmt]) -> None:
        removed = 0
        for statement in body:
            flag = _is_flag(statement.test) if isinstance(statement, ast.If) else None
            if self._pragma(statement) == "async-only":
                self._drop(statement)
                removed += 1
                continue
            if flag is not None and isinstance(statement, ast.If):
                keep = statement.orelse if flag else statement.body
                discard = statement.body if flag else statement.orelse
                for dropped in discard:
                    self.plan.skip.add(id(dropped))
                if not keep:
                    self._drop(statement)
                    removed += 1
                    continue
                start = _line_start(self.source, _first_line(statement))
                end = _line_start(self.source, statement.end_lineno + 1)  # type: ignore[operator]
                self.plan.replacements.append((start, end, statement, keep, "branch"))
                for kept in keep:
                    self._plan_statement(kept)
                continue
            self._plan_statement(statement)
        if body and removed == len(body):
            # Every statement of the block went: Python needs one.
            first = body[0]
            start = self._drop_start(first)
            indent = self._indent(first)
            self.plan.replacements.append((start, start, None, [], indent + "pass\n"))

    def _plan_statement(self, statement: ast.stmt) -> None:
        for body in _bodies(statement):
            self._plan_body(body)

    def _drop(self, statement: ast.stmt) -> None:
        self.plan.skip.add(id(statement))
        start = self._drop_start(statement)
        end = _line_start(self.source, statement.end_lineno + 1)  # type: ignore[operator]
        self.plan.replacements.append((start, end, None, [], ""))

    def _drop_start(self, statement: ast.stmt) -> int:
        """Where a dropped statement's text starts: its first line, and the blank
        lines above it when a blank line (or the end) also follows it, so that
        dropped methods leave no runs of blank lines while a dropped import keeps
        the blank line that ends its section."""
        lineno = _first_line(statement)
        after = statement.end_lineno or lineno
        if after < len(self.source.lines) and self.source.lines[after].strip():
            return _line_start(self.source, lineno)
        while lineno > 1 and not self.source.lines[lineno - 2].strip():
            lineno -= 1
        return _line_start(self.source, lineno)

    def _indent(self, statement: ast.stmt) -> str:
        """The indentation of a statement's line, as written (spaces or tabs)."""
        line = self.source.lines[statement.lineno - 1]
        return line[:len(line) - len(line.lstrip(" \t"))]

    def apply_plan(self) -> None:
        # Innermost first, so that an outer branch's text includes the inner result.
        for start, end, statement, keep, how in sorted(
            self.plan.replacements, key=lambda r: (r[1] - r[0], r[0])
        ):
            if how != "branch":
                if start == end:
                    self.edits.insert(start, how)
                else:
                    self.edits.replace_span(start, end, how)
                continue
            assert statement is not None
            first = keep[0]
            if first is statement.orelse[0] if statement.orelse else False:
                # `elif` chain: the kept part starts with `elif`, at the if's indentation.
                elif_start = self.source.offset(first.lineno, first.col_offset)
                if self.source.text.startswith("elif", elif_start) and isinstance(first, ast.If):
                    indent = self._indent(statement)
                    self.edits.replace_span(start, elif_start + 4, indent + "if")
                    continue
            # Comment lines above the first kept statement belong to the branch.
            keep_start = _line_start(self.source, _first_line(first))
            if keep is statement.body:
                header_end = statement.lineno + 1
            else:
                header_end = _first_line(first)
                for lineno in range(statement.body[-1].end_lineno or 0, _first_line(first)):
                    if re.match(r"\s*else\s*:", self.source.lines[lineno - 1]):
                        header_end = lineno + 1
            if header_end < _first_line(first):
                keep_start = _line_start(self.source, header_end)
            keep_end = _line_start(self.source, keep[-1].end_lineno + 1)  # type: ignore[operator]
            if _first_line(first) == statement.lineno:
                # `if IS_ASYNC: x` on one line.
                text = self.edits.render(self.source.offset(first.lineno, first.col_offset),
                                         keep_end)
                self.edits.replace_span(start, end, self._indent(statement) + text)
                continue
            text = self.edits.render(keep_start, keep_end)
            width = first.col_offset - statement.col_offset
            lines = text.splitlines(keepends=True)
            dedented = "".join(
                line[width:] if line[:width].isspace() and len(line) > width else
                (line.lstrip(" \t") if not line.strip() else line)
                for line in lines
            )
            self.edits.replace_span(start, end, dedented)

    # --- the walk -----------------------------------------------------------------
    # Dispatch by type, cached: the walk visits every node of every module.
    _dispatch: dict[type, Callable[[_SyncWalker, Any], None]] = {}

    def visit(self, node: ast.AST) -> None:
        if self.plan.skip and id(node) in self.plan.skip:
            return
        kind = type(node)
        method = self._dispatch.get(kind)
        if method is None:
            found: Callable[[_SyncWalker, Any], None] = getattr(
                type(self), "visit_" + kind.__name__, _SyncWalker.generic_visit)
            method = self._dispatch[kind] = found
        method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        start = self.source.offset(node.lineno, node.col_offset)
        match = _ASYNC_KW.match(self.source.text, start)
        if match is not None:
            self.edits.replace(match.start(), match.end(), "")
        name = ".".join([*self.scope, node.name])
        kind = "async generator -> generator" if id(node) in self.scan.generators \
            else "async def -> def"
        self.explanations.append(f"{self.path}:{node.lineno}:{node.col_offset + 1}: "
                                 f"{name}: {kind}")
        self.scope.append(node.name)
        self._visit_function(node)
        self.scope.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.scope.append(node.name)
        self._visit_function(node)
        self.scope.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.class_coroutines.append({
            s.name for s in node.body
            if isinstance(s, ast.AsyncFunctionDef) and id(s) not in self.scan.generators
        })
        self.scope.append(node.name)
        super().visit_ClassDef(node)
        self.scope.pop()
        self.class_coroutines.pop()

    def _drop_async_keyword(self, node: ast.AST) -> None:
        start = self.source.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        match = _ASYNC_KW.match(self.source.text, start)
        if match is not None:
            self.edits.replace(match.start(), match.end(), "")

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        self._drop_async_keyword(node)
        self.generic_visit(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self._drop_async_keyword(node)
        self.generic_visit(node)

    def visit_Await(self, node: ast.Await) -> None:
        start = self.source.offset(node.lineno, node.col_offset)
        match = _AWAIT_KW.match(self.source.text, start)
        if match is not None:
            self.edits.replace(match.start(), match.end(), "")
        self.awaited.add(id(node.value))
        self.visit(node.value)

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None:
            self.returned.add(id(node.value))
            self.visit(node.value)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.returned.add(id(node.body))
        super().visit_Lambda(node)

    # comprehensions: `async for` inside has no node position of its own
    def _visit_comprehension(self, elements: list[ast.expr],
                             generators: list[ast.comprehension]) -> None:
        previous_end = self.source.span(elements[-1])[1]
        for generator in generators:
            target_start = self.source.span(generator.target)[0]
            if generator.is_async:
                gap = self.source.text[previous_end:target_start]
                matches = list(re.finditer(r"async(?:\s|\\\n)+for\b", gap))
                if matches:
                    found = matches[-1]
                    self.edits.replace(previous_end + found.start(),
                                       previous_end + found.end() - 3, "")
            self.visit(generator.target)
            self.visit(generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
            previous_end = self.source.span(
                generator.ifs[-1] if generator.ifs else generator.iter)[1]
        for element in elements:
            self.visit(element)

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._visit_comprehension([node.elt], node.generators)

    def visit_SetComp(self, node: ast.SetComp) -> None:
        self._visit_comprehension([node.elt], node.generators)

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> None:
        self._visit_comprehension([node.elt], node.generators)

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._visit_comprehension([node.key, node.value], node.generators)

    # f-strings: positions of the code inside may be wrong before Python 3.12
    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        for value in node.values:
            if not isinstance(value, ast.FormattedValue):
                continue
            before = len(self.edits)
            self.visit(value.value)
            if value.format_spec is not None:
                self.visit(value.format_spec)
            if len(self.edits) != before and not self._located(value.value):
                self.edits.truncate(before)
                self.report(value, "cannot locate the code inside this f-string on Python "
                            f"{sys.version_info[0]}.{sys.version_info[1]}: move the "
                            "expression out of the f-string into a variable")

    def _located(self, node: ast.expr) -> bool:
        try:
            segment = self.source.segment(node)
            parsed = ast.parse(f"({segment})", mode="eval").body
        except (SyntaxError, ValueError):
            return False
        return ast.dump(parsed) == ast.dump(node)

    # names
    def rename_name(self, node: ast.Name) -> str | None:
        new = self._rename_name(node)
        if self._in_annotation:
            # Annotations inside functions are not compiled: remember their names so
            # that the imports they need are not taken for unused.
            self.annotation_names.add((new or node.id).split(".")[0])
        return new

    def _rename_name(self, node: ast.Name) -> str | None:
        if node.id in self.local_renames:
            new = self.local_renames[node.id]
            return self.spell(new) if "." in new else new
        if node.id in self.decided_locals:
            return None
        qualified = self.qualified_name(node)
        if qualified is not None:
            replaced = self._table_rewrite(node, qualified)
            if replaced is not None:
                return replaced
        return super().rename_name(node)

    def _table_rewrite(self, node: ast.expr, qualified: str) -> str | None:
        """The output's text for a name the table (or a dotted rename) knows.

        Sets ``self.reported`` when the name is an async-only API (reported).
        """
        self.reported = False
        new = self.qualified_renames.get(qualified)
        if new is not None:
            self.renames.used.add(qualified)
            return self.spell(new)
        rule = self.tables.to_sync.get(qualified)
        if rule is None:
            return None
        self.used_rules.add(rule)
        if rule.sync is None:
            self.report(node, f"{qualified} has no sync twin: {rule.advice()}")
            self.reported = True
            return None
        if rule.sync == qualified:
            return None
        return self.spell(rule.sync)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain: list[ast.Attribute] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            chain.append(current)
            current = current.value
        if not (isinstance(current, ast.Name) and current.id in self.bindings):
            super().visit_Attribute(node)
            return
        # The longest prefix of the chain that the table (or a dotted rename) knows.
        for index, part in enumerate(chain):
            qualified = self.qualified_name(part)
            if qualified is None:
                break
            replaced = self._table_rewrite(part, qualified)
            if self.reported:
                return
            if replaced is not None:
                self.touched.add(current.id)
                self.edits.replace_node(part, replaced)
                for outer in reversed(chain[:index]):
                    self.rename_attr(outer)
                return
        if self.bindings[current.id].is_module:
            # pkg._async.mod.Name: module path segments along the chain.
            for part in chain:
                new_segment = self.renames.segments.get(part.attr)
                if new_segment is not None:
                    end = self.source.span(part)[1]
                    self.edits.replace(end - len(part.attr), end, new_segment)
            self.visit(current)
            for part in reversed(chain):
                if part.attr not in self.renames.segments:
                    self.rename_attr(part)
            return
        super().visit_Attribute(node)

    def visit_Call(self, node: ast.Call) -> None:
        self._check_coroutine_call(node)
        qualified = self.qualified_name(node.func)
        reported = False
        if qualified is not None and qualified.split(".")[0] in self.tables.async_modules \
                and qualified not in self.tables.to_sync \
                and qualified not in self.qualified_renames:
            self.report(node, f"{qualified}() has no sync twin in the rule table: add a "
                        "[[tool.ambidex.rules]] row, or mark the statement "
                        "'# ambidex: async-only'")
            reported = True
        elif qualified is not None and qualified not in self.qualified_renames:
            rule = self.tables.to_sync.get(qualified)
            reported = rule is not None and rule.sync is None
        if reported:
            # asyncio.gather(self.a(), self.b()): one error for the call, not one
            # more for each coroutine handed to it.
            self.awaited.update(id(argument) for argument in node.args)
            self.awaited.update(id(keyword.value) for keyword in node.keywords)
        super().visit_Call(node)

    def _check_coroutine_call(self, node: ast.Call) -> None:
        func = node.func
        name: str | None = None
        if isinstance(func, ast.Name) and func.id in self.coroutine_functions:
            name = func.id
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.value.id in ("self", "cls") and self.class_coroutines \
                and func.attr in self.class_coroutines[-1]:
            name = f"{func.value.id}.{func.attr}"
        if name is None or id(node) in self.awaited:
            return
        if id(node) in self.returned:
            self.report(node, f"returns the coroutine of {name}() without awaiting it: the "
                        "sync version runs the call here and returns its result", error=False)
            return
        self.report(node, f"the coroutine of {name}() is not awaited where it is made: in sync "
                    "code the call would run here, not where it is awaited; await it here, "
                    "or mark the statement '# ambidex: async-only'")

    # typing that only means "a coroutine"
    def visit_Subscript(self, node: ast.Subscript) -> None:
        qualified = self.qualified_name(node.value)
        if qualified in _AWAITABLES or qualified in _COROUTINES:
            inner = node.slice
            if qualified in _COROUTINES:
                if not (isinstance(inner, ast.Tuple) and len(inner.elts) == 3):
                    self.generic_visit(node)
                    return
                inner = inner.elts[2]
            # Candidates for imports left unused: every name of the dropped part.
            self.touched.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
            self.visit(inner)
            start, end = self.source.span(inner)
            self.edits.replace_span(*self.source.span(node), self.edits.render(start, end))
            return
        self.generic_visit(node)
        if qualified in _ASYNC_GENERATORS:
            elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if len(elements) in (1, 2):
                end = self.source.span(elements[-1])[1]
                self.edits.insert(end, ", None" if len(elements) == 2 else ", None, None")

    def rename_in_string_expression(self, node: ast.Constant) -> None:
        anchor = self._string_anchor
        if self.source is self._module_source:
            self._string_anchor = (node.lineno, node.col_offset + 1)
        try:
            super().rename_in_string_expression(node)
        finally:
            self._string_anchor = anchor

    # imports
    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "__future__":
            return
        module_node = ast.ImportFrom(module=node.module, names=[], level=node.level)
        ast.copy_location(module_node, node)
        module_node.end_lineno, module_node.end_col_offset = node.end_lineno, node.end_col_offset
        super().visit_ImportFrom(module_node)
        handled: set[int] = set()
        for alias in node.names:
            decision = self.import_decisions.get(id(alias))
            if decision is None:
                continue
            handled.add(id(alias))
            qualified = f"{self.resolve_relative(node.module, node.level)}.{alias.name}"
            if qualified in self.qualified_renames:
                self.renames.used.add(qualified)
            else:
                self.used_rules.add(self.tables.to_sync[qualified])
            how, new = decision
            if how == "rename":
                alias_start = self.source.offset(alias.lineno, alias.col_offset)
                self.edits.replace(alias_start, alias_start + len(alias.name), new)
                self.import_names[id(alias)] = new
                self.import_touched.add(id(node))
            else:
                self._remove_alias(node, alias)
                if how == "move":
                    self.new_imports.add(new)
        for alias in node.names:
            if id(alias) in handled:
                continue
            renamed = self.renames.identifier(alias.name)
            if node.module is None and renamed is None:
                renamed = self.renames.segments.get(alias.name)
            if renamed is not None and renamed != alias.name:
                alias_start = self.source.offset(alias.lineno, alias.col_offset)
                self.edits.replace(alias_start, alias_start + len(alias.name), renamed)
                self.import_names[id(alias)] = renamed
                self.import_touched.add(id(node))
                if alias.asname is None:
                    self.local_renames.setdefault(alias.name, renamed)
        self._removed_aliases_fixup(node)

    def _remove_alias(self, node: ast.ImportFrom, alias: ast.alias) -> None:
        self.removed_aliases.add(id(alias))
        self.import_touched.add(id(node))
        self._pending_removals.setdefault(id(node), (node, []))[1].append(alias)

    def _removed_aliases_fixup(self, node: ast.ImportFrom) -> None:
        entry = self._pending_removals.pop(id(node), None)
        if entry is None:
            return
        remove_aliases(self.source, self.edits, node, entry[1])

    def run(self) -> None:
        self._pending_removals: dict[int, tuple[ast.ImportFrom, list[ast.alias]]] = {}
        self.make_plan()
        for statement in self.tree.body:
            self.visit(statement)
        self.apply_plan()
        if self.new_imports:
            missing = [line for line in self.new_imports
                       if not already_imported(self.tree, line)]
            for offset, text in place_imports(self.source, self.tree, missing):
                self.edits.insert(offset, text)


def _drop_unused_after_walk(walker: _SyncWalker, output: str, code: CodeType) -> str:
    """Drop module-level imports the conversion left unused (they were used in the source).

    Only names whose uses the walk replaced or dropped are candidates; an
    import that was already unused in the source stays (a re-export, or
    imported for its side effects).
    """
    candidates = set(walker.touched)
    if walker.plan.replacements:
        candidates.update(walker.bindings)  # dropped statements may have held any use
    candidates &= walker.scan.used
    if not candidates:
        return output
    used = names_in_code(code) | walker.annotation_names
    for statement in walker.tree.body:
        if not isinstance(statement, (ast.Import, ast.ImportFrom)) \
                or id(statement) in walker.plan.skip:
            continue
        if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
            continue
        unused = []
        for alias in statement.names:
            local = alias.asname or alias.name.split(".")[0]
            if alias.name == "*" or local not in candidates:
                continue
            if id(alias) in walker.removed_aliases:
                continue
            if walker.local_renames.get(local, local) not in used:
                unused.append(alias)
        if unused:
            saved = walker.edits.checkpoint()
            try:
                removable = [*unused, *(a for a in statement.names
                                        if id(a) in walker.removed_aliases)]
                remove_aliases(walker.source, walker.edits, statement, removable)
                candidate = walker.edits.apply()
            except ValueError:
                walker.edits.restore(saved)  # keep the import: the safe side
                continue
            walker.removed_aliases.update(id(a) for a in unused)
            walker.import_touched.add(id(statement))
            output = candidate
    return output


def _sort_import_names(walker: _SyncWalker) -> bool:
    """Re-sort the names of the ``from`` imports the conversion changed, as isort does.

    ``from typing import AsyncIterator, Awaitable, Callable`` becomes ``from
    typing import Iterator, Callable`` after the rewrite; sorted again it is
    ``from typing import Callable, Iterator``, which ruff's import sorting
    accepts. Only lists written one name per line or all on one line, with
    no comments among them, are touched.
    """
    changed = False
    for statement in walker.tree.body:
        if not isinstance(statement, ast.ImportFrom) or id(statement) not in walker.import_touched:
            continue
        kept = [a for a in statement.names if id(a) not in walker.removed_aliases]
        if not kept or len(kept) == len(statement.names) == 1:
            continue
        first, last = statement.names[0], statement.names[-1]
        start = walker.source.span(first)[0]
        end = walker.source.span(last)[1]
        region = walker.source.text[start:end]
        if "#" in region or "\\" in region:
            continue
        lines = region.count("\n")
        if lines and lines != len(statement.names) - 1:
            continue  # several names on some lines: leave the layout alone
        spelled = []
        for alias in kept:
            name = walker.import_names.get(id(alias), alias.name)
            spelled.append(f"{name} as {alias.asname}" if alias.asname else name)
        spelled.sort(key=isort_name_key)
        if lines:
            line = walker.source.lines[first.lineno - 1]
            indent = line[:len(line) - len(line.lstrip())]
            text = (",\n" + indent).join(spelled)
        else:
            text = ", ".join(spelled)
        if text != region:
            walker.edits.replace_span(start, end, text)
            changed = True
    return changed


def _async_definitions(trees: Mapping[str, ast.Module], scans: Mapping[str, ModuleScan],
                       ) -> tuple[frozenset[str], set[str]]:
    """Module-level coroutine functions, and every name the modules define."""
    coroutines: set[str] = set()
    defined: set[str] = set()
    for path, tree in trees.items():
        scan = scans[path]
        for statement in tree.body:
            if isinstance(statement, ast.AsyncFunctionDef) \
                    and id(statement) not in scan.generators:
                coroutines.add(statement.name)
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(statement.name)
            elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
                targets = statement.targets if isinstance(statement, ast.Assign) \
                    else [statement.target]
                defined.update(t.id for t in targets if isinstance(t, ast.Name))
        defined.update(scan.classes)
    return frozenset(coroutines), defined


def parse_modules(modules: Mapping[str, str]) -> tuple[dict[str, ast.Module], list[Diagnostic]]:
    """Parse every module; a syntax error is a located diagnostic."""
    trees: dict[str, ast.Module] = {}
    diagnostics: list[Diagnostic] = []
    for path, text in modules.items():
        try:
            trees[path] = ast.parse(text, filename=path)
        except SyntaxError as exc:
            diagnostics.append(Diagnostic(path, exc.lineno or 1, exc.offset or 1,
                                          f"syntax error: {exc.msg}"))
        except ValueError as exc:  # null bytes
            diagnostics.append(Diagnostic(path, 1, 1, f"cannot parse: {exc}"))
    return trees, diagnostics


def to_sync(
    modules: Mapping[str, str],
    *,
    table: RuleTable,
    renames: Mapping[str, str],
    async_prefix: bool = False,
) -> Conversion:
    """Convert async modules to sync, together (one module's names are known to the others).

    ``modules`` maps a display path (used in diagnostics and to resolve
    relative imports) to its source text. The result's ``outputs`` hold
    every module's sync text, unless a diagnostic is an error: then the
    caller must write nothing.
    """
    trees, diagnostics = parse_modules(modules)
    if diagnostics:
        return Conversion({}, diagnostics, [])
    scans = {path: scan_module(tree) for path, tree in trees.items()}
    coroutines, defined = _async_definitions(trees, scans)
    tables = _tables(table)
    names = Renames.build(renames, to="sync", defined=defined, async_prefix=async_prefix)
    for old, new in tables.names.items():
        names.names.setdefault(old, new)
    names.attributes.update(tables.attributes)
    qualified_renames = dict(names.modules)
    outputs: dict[str, str] = {}
    used_rules: set[Rule] = set()
    explanations: list[str] = []
    for path, tree in trees.items():
        text = modules[path]
        source = SourceText(text)
        walker = _SyncWalker(path, tree, source, tables, names, qualified_renames, coroutines,
                             scans[path])
        try:
            walker.run()
            output = walker.edits.apply()
        except (ValueError, RecursionError) as exc:
            diagnostics.extend(walker.diagnostics)
            diagnostics.append(Diagnostic(path, 1, 1, f"internal error: {exc}"))
            continue
        diagnostics.extend(walker.diagnostics)
        try:
            code = compile(output, path, "exec", dont_inherit=True)
            dropped = _drop_unused_after_walk(walker, output, code) != output
            if _sort_import_names(walker) or dropped:
                output = walker.edits.apply()
                compile(output, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            diagnostics.append(Diagnostic(
                path, exc.lineno or 1, exc.offset or 1,
                f"internal error: the sync output does not compile ({exc.msg}); "
                "please report this with the source"))
            continue
        outputs[path] = output
        used_rules.update(walker.used_rules)
        explanations.extend(walker.explanations)
    unused = [f"rename {key!r}" for key in sorted(names.user_keys - names.used)]
    unused += [f"rule async={rule.async_!r}" for rule in table.rules
               if rule.user and _rewrites(rule) and not _rule_used(rule, used_rules, names, tables)]
    return Conversion(outputs, diagnostics, explanations, unused)


def _rewrites(rule: Rule) -> bool:
    """Whether the row changes code towards sync (others serve the lint and detector)."""
    if rule.async_ is None or rule.sync is None:
        return False
    if rule.kind is Kind.METHOD:
        return rule.async_.rsplit(".", 1)[-1] != rule.sync.rsplit(".", 1)[-1]
    return rule.async_ != rule.sync


def _rule_used(rule: Rule, used_rules: set[Rule], names: Renames, tables: _Tables) -> bool:
    """Whether a row of the table rewrote anything in this conversion."""
    if rule in used_rules or rule.async_ is None:
        return rule in used_rules
    if rule.async_ in tables.names:  # a bare name, renamed wherever it appears
        return rule.async_ in names.used
    if rule.kind is Kind.METHOD:
        return rule.async_.rsplit(".", 1)[-1] in names.used_attributes
    return False


__all__ = ["drop_unused_imports", "place_imports", "remove_aliases", "to_sync", "used_names"]
# The names the sync -> async converter imported first; kept for it.
_drop_unused_imports = drop_unused_imports
_used_names = used_names
