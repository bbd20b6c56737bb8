"""async -> sync, names: what each name of a module stands for, and how to spell one.

:class:`Resolver` reads a module's imports into bindings (``from asyncio
import Lock as L`` binds ``L`` to ``asyncio.Lock``), decides up front what
becomes of each imported name the table or the renames change, resolves an
expression to the dotted name it stands for, and spells a dotted name in the
output (through an existing import, or a new one).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass

from ambidex._names import import_bindings, is_package_path, module_name_for
from ambidex._rules import Kind, Rule, RuleTable
from ambidex.codegen._imports import ModuleScan
from ambidex.codegen._renames import Renames, RenameWalker
from ambidex.codegen._source import Diagnostic, Edits, SourceText


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
class Tables:
    """What the converter reads from the rule table, for async -> sync."""

    to_sync: dict[str, Rule]
    """Dotted (or builtin) async name -> its row."""
    async_modules: frozenset[str]
    """Top-level modules that exist only in async code (``asyncio``)."""
    names: dict[str, str]
    """Bare identifiers renamed everywhere (the dunders)."""
    attributes: dict[str, str]
    """Method names that differ between the colours (``aclose`` -> ``close``)."""
    loop_methods: frozenset[str] = frozenset()
    """Names of the async-only methods of asyncio's event loop (``run_in_executor``)."""
    method_owners: frozenset[str] = frozenset()
    """The async types whose methods have rows (``mylib.AsyncClient`` of a user's
    ``mylib.AsyncClient.afetch``): types the table knows."""

    @classmethod
    def build(cls, table: RuleTable) -> Tables:
        to_sync: dict[str, Rule] = {}
        names: dict[str, str] = {}
        attributes: dict[str, str] = {}
        ambiguous: set[str] = set()
        sync_roots = {rule.sync.split(".")[0] for rule in table.rules
                      if rule.sync and not rule.towards_sync_only}
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
        owners = frozenset(rule.async_.rsplit(".", 1)[0] for rule in table.rules
                           if rule.kind is Kind.METHOD and rule.async_ and "." in rule.async_)
        loop = frozenset(rule.async_.rsplit(".", 1)[1] for rule in table.rules
                         if rule.kind is Kind.METHOD and rule.sync is None and rule.async_
                         and rule.async_.startswith("asyncio.AbstractEventLoop."))
        return cls(to_sync, frozenset(async_roots - sync_roots), names, attributes, loop,
                   owners)


_TABLES_CACHE: dict[int, tuple[RuleTable, Tables]] = {}


def tables_for(table: RuleTable) -> Tables:
    cached = _TABLES_CACHE.get(id(table))
    if cached is None or cached[0] is not table:
        cached = (table, Tables.build(table))
        _TABLES_CACHE[id(table)] = cached
    return cached[1]


def imported_name(module: str | None, name: str) -> str:
    """The dotted name ``from <module> import <name>`` binds: a builtin bare,
    as the table's rows name builtins (``from builtins import anext``)."""
    return name if module == "builtins" else f"{module}.{name}"


@dataclass
class Binding:
    """A name bound by an import: what it stands for and where it came from."""

    qualified: str
    node: ast.Import | ast.ImportFrom
    alias: ast.alias
    is_module: bool
    module_level: bool


class Resolver(RenameWalker):
    """A module's names: what each imported name stands for, and how the output spells
    a dotted name. Holds the state of one module's conversion."""

    def __init__(
        self,
        path: str,
        tree: ast.Module,
        source: SourceText,
        tables: Tables,
        renames: Renames,
        qualified_renames: Mapping[str, str],
        coroutine_functions: frozenset[str],
        scan: ModuleScan,
    ) -> None:
        module_name = module_name_for(path)
        super().__init__(source, Edits(source, tree), renames, module_name)
        self.is_package = is_package_path(path)
        self.path = path
        self.tree = tree
        self.tables = tables
        self.qualified_renames = qualified_renames
        self.coroutine_functions = coroutine_functions
        self.scan = scan
        self.diagnostics: list[Diagnostic] = []
        self.bindings: dict[str, Binding] = {}
        self.local_names: set[str] = set()
        self.local_renames: dict[str, str] = {}
        self.decided_locals: set[str] = set()
        self.new_imports: set[str] = set()
        self.awaited: set[int] = set()
        self.returned: set[int] = set()
        self.class_coroutines: list[set[str]] = []
        self.made_outside: list[dict[str, list[tuple[str, str]]]] = []
        """Per class being walked: its attributes made by classes from outside the port."""
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
    def report(self, node: ast.AST, message: str, *, error: bool = True,
               same_as: str | None = None) -> None:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0) + 1
        if self.source is not self._module_source:  # inside a string annotation
            line, col = self._string_anchor
        self.diagnostics.append(Diagnostic(self.path, line, col, message, error, same_as))

    # --- the module's names --------------------------------------------------------
    def _collect_names(self) -> None:
        self._module_source = self.source
        self._string_anchor = (1, 1)
        self.local_names = self.scan.local_names
        for node, top in self.scan.imports:
            for local, qualified, alias, is_module in import_bindings(
                    node, self.module_name, self.is_package):
                self.bindings[local] = Binding(qualified, node, alias, is_module, top)
        self.import_decisions: dict[int, tuple[str, str]] = {}
        for local, binding in list(self.bindings.items()):
            if isinstance(binding.node, ast.ImportFrom):
                decision = self._decide_alias(binding.node, binding.alias)
                if decision is not None and decision[0] in ("spell", "move") \
                        and not binding.module_level and len(binding.node.names) == 1:
                    decision = self._lazy(local, binding.alias, decision)
                if decision is not None:
                    self.import_decisions[id(binding.alias)] = decision
                    self.decided_locals.add(local)
        # A lazy import of several names, some of which stay: the moved ones get a
        # lazy import of their own, on the next line.
        for local, binding in self.bindings.items():
            decision = self.import_decisions.get(id(binding.alias))
            if decision is not None and decision[0] in ("spell", "move") \
                    and not binding.module_level and isinstance(binding.node, ast.ImportFrom) \
                    and any(id(a) not in self.import_decisions for a in binding.node.names):
                line = self._lazy(local, binding.alias, decision)[1]
                self.import_decisions[id(binding.alias)] = ("lazy_add", line)

    def _lazy(self, local: str, alias: ast.alias, decision: tuple[str, str]) -> tuple[str, str]:
        """A lazy import (inside a function) of a name that moves to another
        module stays lazy: the statement is rewritten where it is."""
        how, new = decision
        if how == "move":
            return ("lazy", new)
        module, _, name = new.rpartition(".")
        if alias.asname:
            self.local_renames.pop(local, None)
            return ("lazy", f"from {module} import {name} as {alias.asname}")
        self.local_renames[local] = name
        return ("lazy", f"from {module} import {name}")

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
        qualified = imported_name(base, alias.name)
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
        if root == "builtins" and len(parts) == 1:
            # `builtins.anext` is `anext`: the table's rows name builtins bare
            # (pymongo's helpers spell `anext = builtins.anext`).
            return parts[0]
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
