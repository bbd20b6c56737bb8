"""The static lint: blocking calls reachable from ``async def``, through the call graph.

A linter that only looks inside ``async def`` bodies (ruff's ASYNC rules)
sees ``time.sleep`` written directly in a coroutine, and nothing else. The
calls that block event loops in practice are further down: a handler calls
``load()``, which calls ``fetch()``, which calls ``requests.get``. This lint
follows those calls -- through methods, ``self.x`` objects, imported and
renamed names (``from time import sleep as nap``) -- with the same analysis
the generator uses (:mod:`ambidex._callgraph`), so "this blocks" means the
same thing in both tools.

Codes:

* ``AMB101`` -- a blocking call (a table row with ``blocks``, or a name in
  ``[tool.ambidex.lint] blocking``) reached from an ``async def``. One finding
  per call site, with the shortest chain from a coroutine, and the row's
  advice. Exit status 1.
* ``AMB102`` / ``AMB103`` (``--strict``) -- an ``# ambidex: allow-blocking``
  comment that silences nothing / that gives no reason. Exit status 1.
  The same for an allow given by qualified name (below), and one that names
  no definition at all, located where it was given (its line of
  pyproject.toml, or ``--allow-blocking``).

Code that must not be edited (vendored, third-party) is allowed by name:
``ambidex lint --allow-blocking pkg.mod.Client.fetch=reason`` (repeatable) or
``[tool.ambidex.lint] allow_blocking = ["pkg.mod.Client.fetch = reason"]``.
A name resolves as ``--sync-only`` does (:mod:`ambidex.codegen._directives`:
``Client.fetch`` or the same behind the module's dotted name). It allows the
AMB101 findings on the lines of that definition -- the calls written in its
body, as an allow comment on each of those lines would; not what the calls it
makes reach (name those too), and not the other codes.
* ``AMB301`` -- a coroutine never awaited: a call of an ``async def`` (or of
  an awaited twin from the table, or of a plain function that returns such a
  coroutine) that is neither awaited nor handed to ``create_task``,
  ``gather``, ``ensure_future``, a ``TaskGroup`` or the like (or to any
  call, or stored in a local that is awaited later); or a method
  called on a twin from the table (``AsyncSocket``) that the twin does not
  have. The message says why the callee is a coroutine, through the chain
  of plain functions that return it (:mod:`ambidex._unawaited`, the check the
  generator runs on its own output). Exit status 1.
* ``AMB201`` -- information: an ``async def`` that is async only in name,
  because every ``await`` in it hands a blocking call to a thread. It does
  not block the loop, so it does not change the exit status; it is worth
  knowing because such a function holds a thread for its whole duration.

Not findings, on purpose: a blocking function passed by reference to
``asyncio.to_thread``, ``loop.run_in_executor``, ``executor.submit`` or
``ambidex.offload.run_in_thread`` (or called in a lambda handed to one); code
under ``if TYPE_CHECKING:``; calls of ``async def`` functions (they are
checked as roots of their own). The analysis is static: a call through an
object whose type it cannot tell (an unannotated parameter, a dict lookup) is
resolved by name only, so the lint can miss blocking calls; what it reports,
it reports with the chain that proves it.
"""

from __future__ import annotations

import ast
import fnmatch
import os
from collections import deque
from collections.abc import ItemsView, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ambidex._callgraph import (
    OFFLOAD_CALLS,
    OFFLOAD_METHODS,
    Call,
    CallGraph,
    CallKind,
    Class,
    Function,
    resolve_again,
)
from ambidex._callgraph import build as build_callgraph
from ambidex._callgraph import own_nodes as _own_nodes
from ambidex._callgraph import spelled as dotted_spelling
from ambidex._config import Config, ConfigError, load_config, locate_line
from ambidex._gc import paused as paused_gc
from ambidex._names import import_root, module_label
from ambidex._rules import DEFAULT_TABLE, RuleTable
from ambidex._sourcefiles import TOO_DEEP, SourceFiles, too_deep
from ambidex._toplevel import module_level_unawaited
from ambidex._unawaited import async_side, calls_worth_checking, find_unawaited
from ambidex.codegen._directives import definitions, names_definition, split_reason
from ambidex.codegen._markers import marker_comments

BLOCKING = "AMB101"
UNUSED_ALLOW = "AMB102"
ALLOW_WITHOUT_REASON = "AMB103"
FAKE_ASYNC = "AMB201"
NEVER_AWAITED = "AMB301"
SYNTAX_ERROR = "AMB999"

_SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".venv",
        "venv",
        "__pycache__",
        "node_modules",
        "build",
        "dist",
        ".tox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".bench-cache",
    }
)


@dataclass(frozen=True)
class Finding:
    """One reported problem, printed ``path:line:col: CODE message`` (col 1-based)."""

    path: str
    line: int
    col: int
    code: str
    message: str
    severity: str = "error"
    """"error" (counts for the exit status) or "info" (does not)."""
    chain: tuple[str, ...] = ()
    """For AMB101: the functions from the coroutine down to the one that blocks."""
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}"

    def as_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.col,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "chain": list(self.chain),
            "fix": self.fix,
        }


@dataclass
class LintResult:
    findings: list[Finding] = field(default_factory=list)
    """Sorted by path, line, column."""
    syntax_errors: list[Finding] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """2 if any input did not parse, else 1 if any error finding, else 0."""
        if self.syntax_errors:
            return 2
        return 1 if any(f.severity == "error" for f in self.findings) else 0


@dataclass
class _Allow:
    line: int
    col: int
    reason: str
    used: bool = False


@dataclass(frozen=True)
class AllowByName:
    """An ``allow-blocking`` given by qualified name, and where it was given
    (a line of pyproject.toml, or ``--allow-blocking`` on the command line)."""

    name: str
    reason: str
    path: str
    line: int = 1
    col: int = 1


def _named_spans(
    trees: Mapping[str, tuple[str, ast.Module]], allows: Sequence[AllowByName]
) -> list[tuple[int, str, int, int]]:
    """(index in ``allows``, path, first line, last line) of every definition
    an allow names (its decorators included); ``trees``: path -> (the
    module's dotted name, its tree)."""
    spans: list[tuple[int, str, int, int]] = []
    if not allows:
        return spans
    for path, (module, tree) in trees.items():
        for node, qualname in definitions(tree):
            for index, allow in enumerate(allows):
                if names_definition(allow.name, module, qualname):
                    decorators = getattr(node, "decorator_list", [])
                    first = min([node.lineno, *(d.lineno for d in decorators)])
                    spans.append((index, path, first, node.end_lineno or node.lineno))
    return spans


def _allow_comments(text: str) -> dict[int, _Allow]:
    """``# ambidex: allow-blocking`` comments by line, read by the one marker
    parser (:mod:`ambidex.codegen._markers`: a comment, never a string)."""
    return {
        line: _Allow(line, marker.col, marker.reason)
        for line, marker in marker_comments(text).items()
        if marker.kind == "allow-blocking"
    }


class _Linter:
    def __init__(self, graph: CallGraph, extra_blocking: Iterable[str]) -> None:
        self.graph = graph
        self.extra = frozenset(extra_blocking)
        self._reaches: dict[str, bool] = {}
        # Callables handed to analysed code, by the slot they land in: a call
        # through the slot (`attempt()`, `self._factory()`) may run any of them.
        self.handed: dict[tuple[str, str, str], list[Function]] = {}
        for call in graph.passed_references():
            if call.passed_to is not None and not call.offloaded:
                function, param = call.passed_to
                slots = [("param", function.key, param)]
                slots += graph.attribute_slots_fed_by(function, param)
                for slot in slots:
                    self.handed.setdefault(slot, []).extend(call.callees)

    def blocking_name(self, call: Call) -> str | None:
        """The name to report if ``call`` blocks, else None."""
        if call.kind is CallKind.REF or call.offloaded or call.type_checking:
            return None
        if call.rule is not None and call.rule.blocks:
            return call.rule.sync
        if call.name is not None and self.extra:
            if call.name in self.extra:
                return call.name
            # A user name for analysed code matches by suffix: lint_sources
            # names modules by their path (tests.pkg.mod), users by import (pkg.mod).
            for name in self.extra:
                if call.name.endswith("." + name):
                    return name
        return None

    @staticmethod
    def describe(call: Call, name: str) -> tuple[str, str]:
        """What blocks, and the advice, as the finding says them."""
        rule = call.rule
        if rule is None:
            return name, "run it with asyncio.to_thread"
        if call.kind is CallKind.WITH and call.instance_type is not None:
            twin = rule.async_.rsplit(".", 1)[0] if rule.async_ else None
            fix = f"use `async with` on {twin}" if twin else rule.advice()
            return f"`with` on {call.instance_type}", fix
        return name, rule.advice()

    def edges(self, call: Call) -> Iterable[Function]:
        """The sync functions ``call`` may run: its callees, what was handed
        to the slot it calls through, and -- for ``self.m()``/``cls.m()``,
        whose instance may be of any analysed subclass -- every override."""
        if call.kind is CallKind.REF or call.offloaded or call.type_checking:
            return ()
        callees = call.runs if call.through_self else call.callees
        if call.slot is not None:
            callees = (*callees, *self.handed.get(call.slot, ()))
        return (c for c in callees if not c.is_async)

    def dispatched_edges(
        self, call: Call, bound: Class | None
    ) -> Iterable[tuple[Function, Class | None]]:
        """:meth:`edges`, each with the class its ``self`` is known to be an
        instance of (None: any subclass of its own class).

        In a chain ``AsyncClient.get() -> Commands.get() -> self._call()``,
        ``self`` is an ``AsyncClient`` all along: the mixin's ``self._call()``
        runs ``AsyncClient._call`` (or an override below it), never the sync
        ``Client._call`` that the mixin's other subclass has. So a call on
        ``self`` in a function reached that way runs what ``bound`` and its
        subclasses have, and the callee keeps the narrower class.
        """
        if not call.through_self:
            return ((callee, None) for callee in self.edges(call))
        resolver = self.graph.resolver
        name = _called_name(call)
        runs: Iterable[Function] = call.runs
        if bound is not None and name is not None:
            runs = resolver.dispatch(bound, name)
        found: list[tuple[Function, Class | None]] = []
        for callee in runs:
            if callee.is_async:
                continue
            own = callee.cls
            narrower = bound if bound is not None else _self_class(call.caller)
            if (
                own is None
                or narrower is None
                or narrower is own
                # Every subclass of `own` is `narrower` or below it: nothing to narrow.
                or len(resolver.subclasses(own)) == len(resolver.subclasses(narrower)) + 1
                or own not in resolver.mro(narrower)
            ):
                # (Defined below `narrower`: self is one of the callee's class.)
                found.append((callee, None))
            else:
                found.append((callee, narrower))  # inherited: self is still a `narrower`
        if call.slot is not None:
            found.extend((c, None) for c in self.handed.get(call.slot, ()) if not c.is_async)
        return found

    @staticmethod
    def through_override(call: Call, callee: Function) -> str | None:
        """How the finding says that ``call`` reached ``callee`` as an
        override (a subclass's method a call on ``self`` may run), else None."""
        if not call.through_self or callee in call.callees:
            return None
        where = f"{call.caller.module.path}:{call.line}:{call.col + 1}"
        return f"the override {callee.display} of `{_called_spelling(call)}()` at {where}"

    def findings(self) -> list[Finding]:
        roots = [f for f in self.graph.functions.values() if f.is_async]
        # A function is visited once per class its `self` is known to be
        # (None: its own class, the usual case; see dispatched_edges).
        seen: set[tuple[str, str | None]] = {(f.key, None) for f in roots}
        # Each function with its chain from a coroutine, and the overrides
        # that chain went through (said in the finding: the base's code calls
        # a name, and the reader must see which subclass's method blocks).
        queue: deque[
            tuple[Function, Class | None, tuple[Function, ...], tuple[str, ...]]
        ] = deque((f, None, (f,), ()) for f in roots)
        reported: dict[tuple[str, int, int], Finding] = {}
        while queue:
            function, bound, chain, through = queue.popleft()
            for call in self.graph.calls_of(function):
                name = self.blocking_name(call)
                if name is not None:
                    where = (function.module.path, call.line, call.col)
                    if where not in reported:
                        what, fix = self.describe(call, name)
                        path = " -> ".join(f.display for f in chain)
                        via = "".join(f"; through {step}" for step in through)
                        reported[where] = Finding(
                            function.module.path,
                            call.line,
                            call.col + 1,
                            BLOCKING,
                            f"{what} blocks the event loop; reached from {path}{via}; {fix}",
                            chain=tuple(f.display for f in chain),
                            fix=fix,
                        )
                for callee, narrower in self.dispatched_edges(call, bound):
                    state = (callee.key, narrower.key if narrower is not None else None)
                    if state not in seen:
                        seen.add(state)
                        step = self.through_override(call, callee)
                        queue.append(
                            (
                                callee,
                                narrower,
                                (*chain, callee),
                                (*through, step) if step else through,
                            )
                        )
        return list(reported.values())

    def reaches_blocking(self, function: Function) -> bool:
        if function.key in self._reaches:
            return self._reaches[function.key]
        self._reaches[function.key] = False  # cycles: assume not, until shown
        result = any(
            self.blocking_name(c) is not None
            or any(self.reaches_blocking(callee) for callee in self.edges(c))
            for c in self.graph.calls_of(function)
        )
        self._reaches[function.key] = result
        return result

    def fake_async(self) -> list[Finding]:
        found: list[Finding] = []
        for function in self.graph.functions.values():
            if not function.is_async or function.is_generator:
                continue
            awaits = [n for n in _own_nodes(function.node) if isinstance(n, ast.Await)]
            if not awaits or not all(_is_offload_await(a) for a in awaits):
                continue
            offloaded = [c for c in self.graph.calls_of(function) if c.offloaded]
            if not any(
                (c.rule is not None and c.rule.blocks)
                or any(self.reaches_blocking(callee) for callee in c.callees)
                for c in offloaded
            ):
                continue
            node = function.node
            found.append(
                Finding(
                    function.module.path,
                    node.lineno,
                    node.col_offset + 1,
                    FAKE_ASYNC,
                    f"{function.display} is async only in name: every await in it hands blocking "
                    "work to a thread; it holds a thread for its whole run",
                    severity="info",
                    fix="port what it calls to async, or make it a plain function and offload "
                    "it at the call site",
                )
            )
        return found


def _self_class(function: Function) -> Class | None:
    """The class whose ``self`` a function (or the method it is nested in) has."""
    scope: Function | None = function
    while scope is not None:
        if scope.cls is not None:
            return scope.cls
        scope = scope.parent
    return None


def _called_attribute(call: Call) -> ast.Attribute | None:
    """``self.m`` of a call on ``self`` (``self.m()``, ``for _ in self.m()``)."""
    node = call.node
    target = node.iter if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)) else node
    if isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute):
        return target.func
    return None


def _called_name(call: Call) -> str | None:
    attribute = _called_attribute(call)
    return attribute.attr if attribute is not None else None


def _called_spelling(call: Call) -> str:
    attribute = _called_attribute(call)
    return dotted_spelling(attribute) if attribute is not None else "?"


def _is_offload_await(node: ast.Await) -> bool:
    call = node.value
    if not isinstance(call, ast.Call):
        return False
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in OFFLOAD_METHODS:
        return True
    # Spelled names only: "to_thread" / "asyncio.to_thread" / "run_in_thread".
    spelled = dotted_spelling(func)
    return any(spelled == name or name.endswith("." + spelled) for name in OFFLOAD_CALLS)


def lint_sources(
    modules: Mapping[str, str],
    *,
    table: RuleTable = DEFAULT_TABLE,
    blocking: Iterable[str] = (),
    strict: bool = False,
    allow_blocking: Sequence[AllowByName] = (),
) -> LintResult:
    """Lint ``modules`` (display path -> source), analysed together.

    ``blocking`` adds dotted names that count as blocking besides the table's
    rows (``[tool.ambidex.lint] blocking``). ``allow_blocking`` allows the
    blocking calls written in the definitions it names. With ``strict``, allows
    (comments or names) that silence nothing, or that give no reason, are
    findings too.
    """
    with paused_gc():  # millions of AST nodes, no cycles among them (ambidex._gc)
        return _lint_sources(modules, table=table, blocking=blocking, strict=strict,
                             allow_blocking=allow_blocking)


def _analyse(
    modules: Mapping[str, str], table: RuleTable, blocking: Iterable[str],
    names: Mapping[str, str] | None = None,
) -> tuple[CallGraph, list[Finding], list[Finding]]:
    """Both analyses of ``modules``: the graph (its calls spent), the blocking
    findings (AMB101, AMB201) and the never-awaited ones (AMB301). ``names``:
    the modules' dotted names, when known from the files (:func:`lint_paths`)."""
    # The blocking check resolves the calls of what a coroutine reaches, when
    # it reaches it (lazy): a few percent of a large tree's functions.
    graph = build_callgraph(modules, table, keep_sites=True, lazy=True, slim=True, names=names)
    linter = _Linter(graph, blocking)
    blocking_findings = [*linter.findings(), *linter.fake_async()]
    # The never-awaited check reads the same modules through the table's async
    # side: the call sites are resolved again (the parse and the walk are
    # shared), and the first resolution's calls go as these are made.
    del linter
    async_graph = resolve_again(
        graph, async_side(table), kinds=(CallKind.CALL,), keep=calls_worth_checking(table),
        slots=False,  # the slots were the blocking check's
    )
    found = find_unawaited({}, table, lenient=True, graph=async_graph)  # the graph's modules
    found += module_level_unawaited(async_graph, port=False)  # what no function holds
    unawaited = [Finding(f.path, f.line, f.col, NEVER_AWAITED, f.message) for f in found if f.sure]
    return async_graph, blocking_findings, unawaited


def _lint_sources(
    modules: Mapping[str, str], *, table: RuleTable, blocking: Iterable[str], strict: bool,
    allow_blocking: Sequence[AllowByName],
    allow_comments: Mapping[str, dict[int, _Allow]] | None = None,
    names: Mapping[str, str] | None = None,
) -> LintResult:
    """:func:`lint_sources`; ``allow_comments`` are :func:`_allow_comments` of
    the modules' texts when the caller read them already (the graph keeps no
    text); ``names`` the modules' dotted names when the caller knows them
    from the files (else each is named by its display path)."""
    result = LintResult()
    if allow_comments is None:
        allow_comments = {path: _allow_comments(text) for path, text in modules.items()}
    try:
        graph, blocking_findings, unawaited = _analyse(modules, table, blocking, names)
    except RecursionError:
        # One module too deep for the parser (or for the analysis' walks)
        # must not cost the findings of all the others: name it, lint the rest.
        deep = too_deep(modules) or _too_deep_to_analyse(modules, table)
        result.syntax_errors = [Finding(path, 1, 1, SYNTAX_ERROR, TOO_DEEP) for path in deep]
        modules = {path: text for path, text in modules.items() if path not in deep}
        graph, blocking_findings, unawaited = _analyse(modules, table, blocking, names)
    for path, line, col, message in graph.syntax_errors:
        result.syntax_errors.append(
            Finding(path, line, col + 1, SYNTAX_ERROR, f"cannot parse: {message}")
        )
    allows = {path: allow_comments[path] for path in graph.modules}
    spans = _named_spans({path: (m.name, m.tree) for path, m in graph.modules.items()},
                         allow_blocking)
    named: set[int] = {index for index, _path, _first, _last in spans}
    silenced: set[int] = set()
    del graph
    kept: list[Finding] = []
    for finding in [*blocking_findings, *unawaited]:
        by_name = [index for index, path, first, last in spans
                    if finding.code == BLOCKING and path == finding.path
                    and first <= finding.line <= last]
        silenced.update(by_name)
        allow = allows.get(finding.path, {}).get(finding.line)
        if allow is not None:
            allow.used = True
            continue
        if not by_name:
            kept.append(finding)
    if strict:
        kept.extend(_unused_names(allow_blocking, named, silenced))
        for path, by_line in allows.items():
            for allow in by_line.values():
                if not allow.used:
                    kept.append(
                        Finding(
                            path,
                            allow.line,
                            allow.col,
                            UNUSED_ALLOW,
                            "'# ambidex: allow-blocking' silences nothing on this line; remove it",
                        )
                    )
                elif not allow.reason:
                    kept.append(
                        Finding(
                            path,
                            allow.line,
                            allow.col,
                            ALLOW_WITHOUT_REASON,
                            "'# ambidex: allow-blocking' gives no reason; say why blocking is "
                            "acceptable here",
                        )
                    )
    kept.sort(key=lambda f: (f.path, f.line, f.col, f.code))
    result.findings = kept
    return result


def _unused_names(
    allows: Sequence[AllowByName], named: set[int], silenced: set[int]
) -> Iterable[Finding]:
    """``--strict``'s findings on allows by name: one that names no definition,
    silences nothing, or gives no reason."""
    for index, allow in enumerate(allows):
        if index not in named:
            problem = (UNUSED_ALLOW, "matches no definition in the linted files; fix or remove it")
        elif index not in silenced:
            problem = (UNUSED_ALLOW, "silences nothing; remove it")
        elif not allow.reason:
            problem = (ALLOW_WITHOUT_REASON,
                       "gives no reason; say why blocking is acceptable there")
        else:
            continue
        code, message = problem
        yield Finding(allow.path, allow.line, allow.col, code,
                      f"allow_blocking {allow.name!r} {message}")


def _too_deep_to_analyse(modules: Mapping[str, str], table: RuleTable) -> list[str]:
    """The modules that parse but whose analysis alone exhausts the stack."""
    found = []
    for path, text in modules.items():
        try:
            build_callgraph({path: text}, table)
        except RecursionError:
            found.append(path)
    return found


def collect_files(
    paths: Sequence[str | os.PathLike[str]], ignore: Sequence[str] = (), root: Path | None = None
) -> list[Path]:
    """The .py files under ``paths``, without tool folders and ``ignore`` globs.

    Globs match the path relative to ``root`` (the project's folder) or its
    file name: ``"tests/fixtures/*"``, ``"*_pb2.py"``.
    """
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for folder, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
                files.extend(Path(folder, n) for n in sorted(names) if n.endswith(".py"))
        else:
            files.append(path)
    if not ignore:
        return files
    kept = []
    for file in files:
        candidates = [file.as_posix(), file.name]
        if root is not None:
            try:
                candidates.append(file.resolve().relative_to(root.resolve()).as_posix())
            except ValueError:
                pass
        if not any(fnmatch.fnmatch(c, glob) for c in candidates for glob in ignore):
            kept.append(file)
    return kept


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


class _Displays:
    """:func:`_display` for many files, resolving each folder once.

    A path resolves part by part (a stat each, in Python): a site-packages'
    ~2,700 files, each resolved whole, cost ~2% of its lint. A file that is
    not a symlink resolves to its folder's resolved path and its own name,
    so only the folders are resolved (and remembered), and a file that is a
    link whole, as :func:`_display` does.
    """

    def __init__(self) -> None:
        self.cwd = Path.cwd().resolve()
        self.folders: dict[Path, Path] = {}

    def __call__(self, path: Path) -> str:
        if path.name in ("", ".", "..") or path.is_symlink():
            resolved = path.resolve()
        else:
            folder = self.folders.get(path.parent)
            if folder is None:
                folder = self.folders[path.parent] = path.parent.resolve()
            resolved = folder / path.name
        try:
            return resolved.relative_to(self.cwd).as_posix()
        except ValueError:
            return path.as_posix()


def _strings(section: object, key: str, where: str) -> list[str]:
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: [tool.ambidex.lint] must be a table")
    value: object = section.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: [tool.ambidex.lint] '{key}' must be a list of strings")
    return [str(v) for v in value]


def _configured_allows(config: Config, entries: Sequence[str]) -> list[AllowByName]:
    """``[tool.ambidex.lint] allow_blocking``, each located at its string in
    pyproject.toml (else at the key's line); validated at load (ambidex._config)."""
    path = _display(config.pyproject) if config.pyproject else "pyproject.toml"
    key_line = locate_line(config.text, "allow_blocking")
    lines = config.text.splitlines()
    allows = []
    for entry in entries:
        name, reason = split_reason(entry)
        line, col = key_line, 1
        for number in range(key_line, len(lines) + 1):
            found = max(lines[number - 1].find(f'"{entry}'), lines[number - 1].find(f"'{entry}"))
            if found >= 0:
                line, col = number, found + 1
                break
        allows.append(AllowByName(name, reason, path, line, col))
    return allows


def _given_allows(entries: Sequence[str]) -> list[AllowByName]:
    allows = []
    for entry in entries:
        try:
            name, reason = split_reason(entry)
        except ValueError as exc:
            raise ConfigError(f"--allow-blocking {entry!r}: {exc}") from exc
        allows.append(AllowByName(name, reason, "--allow-blocking"))
    return allows


def lint_paths(
    paths: Sequence[str], *, strict: bool = False, allow_blocking: Sequence[str] = ()
) -> LintResult:
    """Lint the files under ``paths`` with the settings of their pyproject.toml.

    ``allow_blocking`` holds ``--allow-blocking`` values (``QUALNAME[=reason]``),
    used besides ``[tool.ambidex.lint] allow_blocking``. Raises
    :class:`ambidex._config.ConfigError` for a malformed configuration or value.
    """
    start = Path(paths[0]) if paths else Path.cwd()
    config = load_config(start if start.is_dir() else start.parent)
    section = config.section.get("lint", {})
    where = str(config.pyproject or "pyproject.toml")
    blocking = _strings(section, "blocking", where)
    ignore = _strings(section, "ignore", where)
    allows = [*_given_allows(allow_blocking),
              *_configured_allows(config, _strings(section, "allow_blocking", where))]
    # Each text is read once, as the analysis parses it (_LintFiles: the
    # allow comments are taken then, and what does not read is reported);
    # no one holds them all (SourceFiles).
    files: dict[str, Path] = {}
    # Each module named as Python imports it: from where the imports of its
    # linted folder start, not from the filesystem's root or the working
    # folder (its display path's): `import requests` is site-packages/requests.
    names: dict[str, str] = {}
    shown = _Displays()
    for given in paths:
        root = import_root(given)
        for file in collect_files([given], ignore, config.root):
            display = shown(file)
            files[display] = file
            names[display] = module_label(os.path.relpath(os.path.abspath(file), root))
    sources = _LintFiles(files)
    if len(set(names.values())) < len(names) and _collide(names, sources):
        # Two roots with a file at the same place below them (`lint a b`, each
        # with pkg/util.py): names must be unique, the display paths' are.
        names = {}
    with paused_gc():  # as lint_sources
        result = _lint_sources(sources, table=config.table, blocking=blocking,
                               strict=strict, allow_blocking=allows,
                               allow_comments=sources.allow_comments, names=names)
    result.syntax_errors[:0] = [sources.unreadable[p] for p in files if p in sources.unreadable]
    return result


class _LintFiles(SourceFiles):
    """The files :func:`lint_paths` hands the analysis, each read once: as the
    analysis parses it (its pass over :meth:`items`). Reading a file takes
    its allow comments (``allow_comments``, by display path); a file that
    cannot be read is left out of :meth:`items` and reported (``unreadable``).
    Reading every file first, for its comments and to know it reads, and
    again to parse it was ~1% of a site-packages' lint.
    """

    def __init__(self, files: Mapping[str, Path]) -> None:
        super().__init__(files)
        self.allow_comments: dict[str, dict[int, _Allow]] = {}
        self.unreadable: dict[str, Finding] = {}

    def __getitem__(self, path: str) -> str:
        text = super().__getitem__(path)  # as Python reads it: PEP 263, no BOM
        if path not in self.allow_comments:
            self.allow_comments[path] = _allow_comments(text)
        return text

    def read(self, path: str) -> str | None:
        """The text of ``path``, or None if it does not read (then it is reported)."""
        try:
            return self[path]
        except (OSError, UnicodeDecodeError, SyntaxError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.unreadable.setdefault(
                path, Finding(path, 1, 1, SYNTAX_ERROR, f"cannot read: {reason}")
            )
            return None

    def items(self) -> ItemsView[str, str]:
        return _ReadableItems(self)


class _ReadableItems(ItemsView[str, str]):
    """:meth:`_LintFiles.items`: the files that read, each with its text."""

    _mapping: _LintFiles

    def __iter__(self) -> Iterator[tuple[str, str]]:
        files = self._mapping
        for path in files:
            text = files.read(path)
            if text is not None:
                yield path, text


def _collide(names: Mapping[str, str], files: _LintFiles) -> bool:
    """Whether two of the files that read have one name (those that do not
    read are not analysed: they take no name)."""
    by_name: dict[str, list[str]] = {}
    for path, name in names.items():
        by_name.setdefault(name, []).append(path)
    return any(
        sum(files.read(path) is not None for path in paths) > 1
        for paths in by_name.values()
        if len(paths) > 1
    )
