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

The steps live in files named for them: :mod:`.resolve` (what each name
of a module stands for, how the output spells one), :mod:`.flavour` (the
``# ambidex: async-only`` markers and ``IS_ASYNC`` branches), :mod:`.visit`
(the walk that rewrites every node) and :mod:`.post` (imports left unused,
their order); this module runs them over the modules together.

Every output is compiled before it is returned; a failure there is an
internal error reported as a diagnostic, never written.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator, Mapping
from dataclasses import replace

from ambidex._names import import_bindings, module_name_for
from ambidex._rules import Kind, Rule, RuleTable
from ambidex.codegen._flags import declared_flags
from ambidex.codegen._imports import ModuleScan, scan_module
from ambidex.codegen._renames import Renames
from ambidex.codegen._source import (
    Conversion,
    Diagnostic,
    SourceText,
    line_end_of,
    with_line_ends,
)
from ambidex.codegen._to_sync.futures import returned_futures
from ambidex.codegen._to_sync.leftout import names_of_left_out
from ambidex.codegen._to_sync.outside import OutsideReader
from ambidex.codegen._to_sync.post import (
    drop_unused_after_walk,
    sort_import_names,
    sort_import_statements,
)
from ambidex.codegen._to_sync.resolve import Tables, tables_for
from ambidex.codegen._to_sync.threads import PortClasses
from ambidex.codegen._to_sync.visit import SyncWalker

#: Bumped whenever the output for the same input changes, so that generated
#: files made by an older converter are regenerated.
CONVERTER_VERSION = "1"


def _async_definitions(trees: Mapping[str, ast.Module], scans: Mapping[str, ModuleScan],
                       methods: set[str], coroutine_methods: set[str],
                       ) -> tuple[frozenset[str], set[str]]:
    """Module-level coroutine functions, and every name the modules define; adds
    the names of the top-level classes' methods to ``methods``, and of those that
    are only ever coroutine functions (``async def``, not a generator; aiokafka's
    ``AIOKafkaClient.send`` is one, ``AIOKafkaConnection.send`` returns a future) to
    ``coroutine_methods``."""
    coroutines: set[str] = set()
    defined: set[str] = set()
    plain: set[str] = set()
    for path, tree in trees.items():
        scan = scans[path]
        for statement in _top_statements(tree.body):
            if isinstance(statement, ast.ClassDef):
                methods.update(s.name for s in statement.body
                               if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)))
                for s in statement.body:
                    if isinstance(s, ast.AsyncFunctionDef) and id(s) not in scan.generators:
                        coroutine_methods.add(s.name)
                    elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        plain.add(s.name)
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
    coroutine_methods -= plain
    return frozenset(coroutines), defined


def _top_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """A module's top-level statements, and those in the branches of a top-level
    ``if`` or ``try`` (a version switch, an optional import's fallback), which
    define the module's names as much as the ones at its top."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.If):
            yield from _top_statements(statement.body)
            yield from _top_statements(statement.orelse)
        elif hasattr(statement, "handlers"):  # try, try/except*
            for block in (getattr(statement, "body", []), getattr(statement, "orelse", []),
                          getattr(statement, "finalbody", []),
                          *(h.body for h in getattr(statement, "handlers", []))):
                yield from _top_statements(block)


def _coroutines_by_module(trees: Mapping[str, ast.Module], scans: Mapping[str, ModuleScan],
                          ) -> dict[str, set[str]]:
    """Each named module's coroutine functions (``async def``, not generators) at
    its top or in a top-level ``if``/``try``'s branches, by module name, with
    those it re-exports (``from .remote import fetch`` in a package's
    ``__init__``), followed through the port's modules until nothing is added."""
    found: dict[str, set[str]] = {}
    imports: list[tuple[str, str, str]] = []  # (module, local name, dotted name)
    for path, tree in trees.items():
        module = module_name_for(path)
        if module is None:
            continue
        names = found.setdefault(module, set())
        package = os.path.basename(path) == "__init__.py"
        for statement in _top_statements(tree.body):
            if isinstance(statement, ast.AsyncFunctionDef) \
                    and id(statement) not in scans[path].generators:
                names.add(statement.name)
            elif isinstance(statement, ast.ImportFrom):
                imports.extend((module, local, imported) for local, imported, _, _
                               in import_bindings(statement, module, package))
    added = True
    while added:
        added = False
        for module, local, imported in imports:
            source, _, name = imported.rpartition(".")
            if local not in found[module] and name in found.get(source, ()):
                found[module].add(local)
                added = True
    return found


def _coroutine_names(path: str, tree: ast.Module, by_module: Mapping[str, set[str]],
                     everywhere: frozenset[str]) -> frozenset[str]:
    """The bare names that call one of the port's coroutine functions in the module
    at ``path``: its own, and those it imports (anywhere in it) from the module
    that defines them. A module without a name, or with a ``from x import *`` of
    a module of the port, gets every module's (``everywhere``): a name may come
    from any of them."""
    module = module_name_for(path)
    if module is None:
        return everywhere
    names = set(by_module.get(module, ()))
    package = os.path.basename(path) == "__init__.py"
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if any(alias.name == "*" for alias in node.names):
            return everywhere
        for local, imported, _, _ in import_bindings(node, module, package):
            source, _, name = imported.rpartition(".")
            if name in by_module.get(source, ()):
                names.add(local)
    return frozenset(names)


def _bound_at_top(trees: Mapping[str, ast.Module]) -> dict[str, frozenset[str] | None]:
    """Each named module of the port: the names it binds at its top (or in a
    top-level ``if``/``try``'s branches: a ``def``, a ``class``, an assignment,
    an import), None when it has a ``from x import *`` (any name may be bound)."""
    bound: dict[str, frozenset[str] | None] = {}
    for path, tree in trees.items():
        module = module_name_for(path)
        if module is None:
            continue
        names: set[str] = set()
        starred = False
        package = os.path.basename(path) == "__init__.py"
        for statement in _top_statements(tree.body):
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(statement.name)
            elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = statement.targets if isinstance(statement, ast.Assign) \
                    else [statement.target]
                names.update(n.id for t in targets for n in ast.walk(t)
                             if isinstance(n, ast.Name))
            elif isinstance(statement, (ast.Import, ast.ImportFrom)):
                if isinstance(statement, ast.ImportFrom) \
                        and any(alias.name == "*" for alias in statement.names):
                    starred = True
                    break
                names.update(local for local, _, _, _
                             in import_bindings(statement, module, package))
        bound[module] = None if starred else frozenset(names)
    return bound


def _module_coroutines(tree: ast.Module, scan: ModuleScan) -> list[str]:
    """The module's top-level coroutine functions (``async def``, not generators)."""
    return [s.name for s in tree.body
            if isinstance(s, ast.AsyncFunctionDef) and id(s) not in scan.generators]


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
    async_prefix: bool | str = False,
    flags: Mapping[str, str] | None = None,
    rename_prose: bool = False,
    strict: bool = False,
    sort_imports: bool = True,
) -> Conversion:
    """Convert async modules to sync, together (one module's names are known to the others).

    ``modules`` maps a display path (used in diagnostics and to resolve
    relative imports) to its source text. The result's ``outputs`` hold
    every module's sync text, unless a diagnostic is an error: then the
    caller must write nothing.

    ``flags`` declares the project's colour flags (name -> the colour in which
    it is True, :mod:`ambidex.codegen._flags`); ``IS_ASYNC`` is always known.
    ``rename_prose`` renames the user's names inside prose too (docstrings,
    messages, comments), word by word. ``async_prefix``: ``True`` renames each
    ``AsyncFoo`` the modules define to ``Foo``, a string (``"Sync"``) to
    ``SyncFoo`` as unasync does. With ``strict`` every warning is an error. With
    ``sort_imports`` (the default) an import statement the renames changed moves
    to where isort puts it in its run of imports; without, it stays where it was
    (as projects' own scripts leave it). Two copies of one package (the same
    module names under two folders) convert each as they would alone.
    """
    copies = _copies(modules)
    if len(copies) > 1:
        # The same module name under two folders (two unpacked downloads of one
        # package): each copy's imports are its own, so each converts alone.
        parts = [to_sync(copy, table=table, renames=renames, async_prefix=async_prefix,
                         flags=flags, rename_prose=rename_prose, strict=strict,
                         sort_imports=sort_imports) for copy in copies]
        unused = [u for u in parts[0].unused if all(u in p.unused for p in parts)]
        return Conversion({p: t for part in parts for p, t in part.outputs.items()},
                          [d for part in parts for d in part.diagnostics],
                          [e for part in parts for e in part.explanations], unused)
    known_flags = declared_flags(flags)
    trees, diagnostics = parse_modules(modules)
    if diagnostics:
        return Conversion({}, diagnostics, [])
    scans = {path: scan_module(tree) for path, tree in trees.items()}
    methods: set[str] = set()
    coroutine_methods: set[str] = set()
    coroutines, defined = _async_definitions(trees, scans, methods, coroutine_methods)
    frozen_coroutine_methods = frozenset(coroutine_methods)
    frozen_methods = frozenset(methods)
    futures = returned_futures(trees, scans, modules)
    outside = OutsideReader(list(trees))
    port_classes = PortClasses(trees, modules)
    port_coroutines = frozenset(
        f"{module}.{name}" for path in trees
        if (module := module_name_for(path)) is not None
        for name in _module_coroutines(trees[path], scans[path]))
    port_coroutine_names = frozenset(q.rsplit(".", 1)[1] for q in port_coroutines)
    tables = tables_for(table)
    names = Renames.build(renames, to="sync", defined=defined, async_prefix=async_prefix,
                          rename_prose=rename_prose)
    for old, new in tables.names.items():
        names.names.setdefault(old, new)
    if rename_prose:
        # The table's type names in prose too: "an AsyncIterator" -> "an Iterator".
        for dotted, rule in tables.to_sync.items():
            old, new = dotted.rsplit(".", 1)[-1], (rule.sync or "").rsplit(".", 1)[-1]
            if rule.kind is Kind.NAME and old[:1].isupper() and new and old != new:
                names.prose.setdefault(old, new)
    names.attributes.update(tables.attributes)
    qualified_renames = dict(names.modules)
    outputs: dict[str, str] = {}
    used_rules: set[Rule] = set()
    explanations: list[str] = []
    skips: dict[str, set[int]] = {}
    by_module = _coroutines_by_module(trees, scans)
    port_modules = _bound_at_top(trees)
    for path, tree in trees.items():
        text = modules[path]
        source = SourceText(text)
        walker = SyncWalker(path, tree, source, tables, names, qualified_renames,
                            _coroutine_names(path, tree, by_module, coroutines),
                            scans[path], flags=known_flags)
        walker.port_names = frozenset(defined)
        walker.port_modules = port_modules
        walker.port_methods = frozen_methods
        walker.port_coroutine_methods = frozen_coroutine_methods
        walker.returned_futures = futures
        walker.outside = outside
        walker.port_classes = port_classes
        walker.port_coroutines = port_coroutines
        walker.port_coroutine_names = port_coroutine_names
        try:
            walker.run()
            output = walker.edits.apply()
        except RecursionError:
            # Python 3.10's parser takes nesting that the walk cannot follow (3.11's
            # refuses it first): the same "cannot parse" as convert_guarded's.
            diagnostics.extend(walker.diagnostics)
            diagnostics.append(Diagnostic(path, 1, 1, "cannot parse: too deeply nested "
                                          "to analyse (RecursionError)"))
            continue
        except ValueError as exc:
            diagnostics.extend(walker.diagnostics)
            diagnostics.append(Diagnostic(path, 1, 1, f"internal error: {exc}"))
            continue
        diagnostics.extend(walker.diagnostics)
        try:
            code = compile(output, path, "exec", dont_inherit=True)
            dropped = drop_unused_after_walk(walker, output, code) != output
            names_sorted = sort_import_names(walker)
            moved = sort_imports and sort_import_statements(walker)
            if moved or names_sorted or dropped:
                output = walker.edits.apply()
                compile(output, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            diagnostics.append(Diagnostic(
                path, exc.lineno or 1, exc.offset or 1,
                f"internal error: the sync output does not compile ({exc.msg}); "
                "please report this with the source"))
            continue
        output = with_line_ends(output, line_end_of(text))  # \r\n or \r files: as theirs
        if output[:1] in ("\n", "\r") and text[:1] not in ("\n", "\r"):
            output = output.lstrip("\r\n")  # a dropped first statement left its blank lines
        outputs[path] = output
        # A method the rename of another replaces is not left out: its name stays.
        skips[path] = walker.plan.skip - walker.renamed_over
        used_rules.update(walker.used_rules)
        explanations.extend(walker.explanations)
    # What the markers left out is named by no code kept (.leftout).
    diagnostics += names_of_left_out(trees, skips)
    unused = [f"rename {key!r}" for key in sorted(names.user_keys - names.used)]
    unused += [f"rule async={rule.async_!r}" for rule in table.rules
               if rule.user and _rewrites(rule) and not _rule_used(rule, used_rules, names, tables)]
    if strict:
        diagnostics = [d if d.error else replace(d, error=True) for d in diagnostics]
    return Conversion(outputs, diagnostics, explanations, unused)


def _copies(modules: Mapping[str, str]) -> list[dict[str, str]]:
    """``modules`` split into one group per folder its module names start below,
    when two of those folders hold a module of the same name (``a-1/pkg/util.py``
    and ``b-2/pkg/util.py``: no import reaches through a folder that is not an
    identifier, so each is its own ``pkg.util``); else one group, all of them."""
    groups: dict[str, dict[str, str]] = {}
    roots_of: dict[str, set[str]] = {}
    for path, text in modules.items():
        name = module_name_for(path)
        folders = path.replace("\\", "/").split("/")[:-1]
        if name is not None:
            depth = name.count(".") + (1 if path.replace("\\", "/").endswith("/__init__.py")
                                       or path == "__init__.py" else 0)
            root = "/".join(folders[:len(folders) - depth])
            roots_of.setdefault(name, set()).add(root)
        else:
            root = "/".join(folders)
        groups.setdefault(root, {})[path] = text
    if all(len(roots) < 2 for roots in roots_of.values()):
        return [dict(modules)]
    return list(groups.values())


def _rewrites(rule: Rule) -> bool:
    """Whether the row changes code towards sync (others serve the lint and detector)."""
    if rule.async_ is None or rule.sync is None:
        return False
    if rule.kind is Kind.METHOD:
        return rule.async_.rsplit(".", 1)[-1] != rule.sync.rsplit(".", 1)[-1]
    return rule.async_ != rule.sync


def _rule_used(rule: Rule, used_rules: set[Rule], names: Renames, tables: Tables) -> bool:
    """Whether a row of the table rewrote anything in this conversion."""
    if rule in used_rules or rule.async_ is None:
        return rule in used_rules
    if rule.async_ in tables.names:  # a bare name, renamed wherever it appears
        return rule.async_ in names.used
    if rule.kind is Kind.METHOD:
        return rule.async_.rsplit(".", 1)[-1] in names.used_attributes
    return False


__all__ = ["CONVERTER_VERSION", "parse_modules", "to_sync"]
