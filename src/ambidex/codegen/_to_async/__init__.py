"""sync -> async: what a person does when porting a blocking client, automated.

The steps, on the call graph of all the modules converted together
(:mod:`ambidex._callgraph`, the same analysis the lint uses):

1. Find the blocking primitives the table has an awaited twin for, methods of
   tracked objects included: ``sock.recv(n)`` on a socket that came from
   ``socket.create_connection``; ``time.sleep``; ``with lock:`` on a
   ``threading.Lock``.
2. Replace each with its twin (``await sock.recv(n)``, the socket now an
   :class:`ambidex.io.AsyncSocket` from ``await AsyncSocket.create_connection``;
   ``await asyncio.sleep``; ``async with lock:`` on an ``asyncio.Lock``), and
   make the enclosing function ``async def``.
3. Await that function at every call site, and repeat for every caller, up
   the call graph, to a fixed point: methods through ``self``/``cls``,
   functions and classes across modules. A generator that must await becomes
   an async generator and the loops over it ``async for`` (comprehensions
   too); ``with`` over an object whose ``__enter__``/``__exit__`` must await
   becomes ``async with`` and that class gets ``__aenter__``/``__aexit__``;
   ``__iter__``/``__next__`` become ``__aiter__``/``__anext__`` (and
   ``StopIteration`` ``StopAsyncIteration``); ``Iterator[T]`` becomes
   ``AsyncIterator[T]`` and ``Generator[Y, S, R]`` ``AsyncGenerator[Y, S]``.
   A function made async keeps its return annotation (``-> T`` is right for
   ``async def``). Functions that do no I/O stay plain.
4. Add the imports the output needs (``import asyncio``,
   ``from ambidex.io import AsyncSocket``) where isort would put them, drop
   the ones the port left unused (``import time``), then apply the renames
   (:mod:`ambidex.codegen._renames`: the ``_sync`` -> ``_async`` module
   segments and the user's table).

A function handed as a callable to analysed code (``Pool(self._connect)``)
that goes async is awaited where that code calls it -- through the parameter
or the ``self.`` attribute it was stored in -- and ``Callable[..., R]``
becomes ``Callable[..., Awaitable[R]]`` there.

What cannot be converted is an error, located, and nothing is written: an
``__init__`` (or a property, a ``__del__``, a lambda, a function handed to
code that is not analysed or never calls it, a ``with`` statement that would
mix an async and a plain context manager) that would have to await. Python
cannot await there, and guessing would produce code that runs but never does
the I/O.
A blocking call with no twin (``open``, ``subprocess.run``, ``requests.get``)
reached from converted code is a warning with the table's advice: the output
is valid, but that call still blocks the loop. ``strict`` makes it, and every
other warning that doubts the output, an error.

The steps live in files named for them: :mod:`.flavour` (the ``# ambidex:
sync-only`` markers and ``IS_ASYNC`` branches, applied first), :mod:`.plan`
(which functions become async and why, the refusals, ``--explain``),
:mod:`.edit` (the text edits of one module), :mod:`.imports` (how those edits
spell names, and the imports they need) and :mod:`.finish` (unused imports
dropped, renames applied); this module runs them.

Edits are spliced into the original text at AST positions, so comments and
layout survive byte for byte where nothing changed; the output is compiled
before it is returned, and a failure to compile is reported, never written.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Mapping
from dataclasses import replace

from ambidex._callgraph import CallKind, Function, build, resolve_again
from ambidex._rules import Kind, RuleTable
from ambidex._toplevel import module_level_unawaited
from ambidex._unawaited import async_side, find_unawaited, twin_types
from ambidex.codegen._flags import declared_flags
from ambidex.codegen._renames import Renames
from ambidex.codegen._source import (
    Conversion,
    Diagnostic,
    line_end_of,
    python_lines,
    with_line_ends,
)
from ambidex.codegen._to_async.defer import LineMap
from ambidex.codegen._to_async.defer import defer_init_io as defer
from ambidex.codegen._to_async.edit import ModuleEditor, type_twins
from ambidex.codegen._to_async.finish import drop_unused_imports, rename
from ambidex.codegen._to_async.flavour import DROPPED, markers_step
from ambidex.codegen._to_async.leftout import calls_of_left_out
from ambidex.codegen._to_async.mainblock import async_main_blocks
from ambidex.codegen._to_async.plan import Planner
from ambidex.codegen._to_async.tls import TLSTest, tls_type_tests

__all__ = ["to_async"]


def to_async(
    modules: Mapping[str, str],
    *,
    table: RuleTable,
    renames: Mapping[str, str],
    async_prefix: bool | str = False,
    flags: Mapping[str, str] | None = None,
    rename_prose: bool = False,
    strict: bool = False,
    defer_init_io: bool = False,
    sort_imports: bool = True,
) -> Conversion:
    """Port ``modules`` (display path -> source), analysed together, to asyncio.

    Returns a :class:`~ambidex.codegen._source.Conversion` with an output for
    every input path. When any diagnostic is an error the outputs must not be
    written (``Conversion.failed``). ``async_prefix`` is accepted so that both
    converters take the same arguments; it renames only towards sync (``AsyncFoo``
    -> ``Foo``), so here it must be False. ``flags`` declares the project's colour
    flags (:mod:`ambidex.codegen._flags`); ``rename_prose`` is accepted for the
    same reason as ``async_prefix`` (prose is renamed towards sync only), and
    ``sort_imports`` too (this converter never moves an import statement; it
    places the ones it adds where isort would).
    ``explanations`` holds, for each function that changed colour, the chain of
    calls down to the primitive that forced it.

    Before returning, the outputs are checked (:mod:`ambidex._unawaited`): a
    call of a function that became async left unawaited, or a method called
    on a twin that the twin lacks, is an error (a bug of the port, never
    written); a call on a receiver of unknown type whose method name became
    async is a warning.

    With ``strict`` every warning that doubts the output is an error, so
    nothing is written: the unknown receivers, a blocking call with no twin
    that still blocks the loop (a selector polling the ported socket, ``open``),
    a coroutine overriding a method of a class outside the port, a call
    through a name bound elsewhere. Only the report of what ``defer_init_io``
    moved stays a warning.

    With ``defer_init_io``, the I/O of an ``__init__`` moves into the class's
    ``__enter__`` first (:mod:`.defer`), which then becomes ``__aenter__``
    (the message names ``__aenter__``, as the output does).
    """
    if async_prefix:
        raise ValueError("async_prefix applies towards sync only")
    originals = modules
    known_flags = declared_flags(flags)
    applied = {path: markers_step(text, known_flags) for path, text in modules.items()}
    modules = {path: text for path, (text, _, _) in applied.items()}
    # The trees the markers step parsed (the texts with flags): not parsed again.
    marked = {path: tree for path, (_, tree, _) in applied.items() if tree is not None}
    # Of those, the ones where it dropped lines: only there can a definition have gone.
    dropping = {path: tree for path, tree in marked.items() if applied[path][2]}
    line_maps: dict[str, LineMap] = {}
    runs: set[str] = set()
    deferred: list[Diagnostic] = []
    graph = build(modules, table, trees=marked)
    planner = Planner(graph)
    planner.run()
    if defer_init_io and any(
        "__init__ cannot be async" in d.message for d in planner.diagnostics
    ):
        modules, deferred, line_maps = defer(modules, graph, planner)
        graph = build(modules, table)
        planner = Planner(graph)
        planner.run()
    if not any(d.error for d in planner.diagnostics):
        # Demo blocks run by asyncio.run, deferred objects entered where made (.mainblock).
        mains, runs, unentered = async_main_blocks(graph, planner, deferred=bool(deferred))
    else:
        mains, unentered = {}, []
    if mains:
        modules = {**modules, **mains}
        graph = build(modules, table)
        planner = Planner(graph)
        planner.run()
    diagnostics = [
        Diagnostic(path, line, col + 1, f"cannot parse: {message}")
        for path, line, col, message in graph.syntax_errors
    ]
    planner.warn_blocking_without_twin()
    planner.warn_external_overrides()
    diagnostics += planner.diagnostics
    diagnostics += unentered  # deferred objects made at import time (.mainblock)
    if dropping:  # what the markers left out is called by no code kept (.leftout)
        diagnostics += calls_of_left_out(originals, dropping, graph)
    tls_tests: dict[str, list[TLSTest]] = {}  # isinstance(sock, ssl.SSLSocket) (.tls)
    for test in tls_type_tests(graph):
        if test.rewritten:
            tls_tests.setdefault(test.path, []).append(test)
        else:
            diagnostics.append(test.diagnostic())
    twins = type_twins(table)
    rename_table = Renames.build(dict(renames), to="async")
    outputs: dict[str, str] = {}
    output_trees: dict[str, ast.Module] = {}
    functions_of: dict[str, list[Function]] = {path: [] for path in graph.modules}
    for function in graph.functions.values():
        functions_of[function.module.path].append(function)
    for path, text in modules.items():
        module = graph.modules.get(path)
        if module is None:
            outputs[path] = text
            continue
        editor = ModuleEditor(
            planner, module, twins, functions_of[path], tls_tests=tls_tests.get(path, ()),
            runs_main=path in runs,
        )
        editor.run()
        diagnostics += editor.diagnostics
        # Each step hands on the tree of its text while it has one: parsed once
        # per distinct text, and the compile check and `verify` read the last one.
        tree: ast.Module | None = module.tree
        output = text
        if len(editor.edits):
            try:
                output, tree = drop_unused_imports(
                    module.tree, editor.edits.apply(), editor.edits.removed()
                )
            except ValueError as exc:  # overlapping edits: a bug here, not in the input
                diagnostics.append(
                    Diagnostic(path, 1, 1, f"internal error while converting: {exc}")
                )
        output, tree = rename(path, output, rename_table, diagnostics, tree)
        if DROPPED in output:
            output = "".join(
                line for line in python_lines(output) if line.strip() != DROPPED
            )
            output = output.rstrip("\r\n") + "\n"  # a dropped last statement leaves blank lines
            tree = None
        ended = with_line_ends(output, line_end_of(originals[path]))
        if ended != output:  # the file's lines end in \r\n or \r: so do the ones written
            output, tree = ended, None
        if output != originals[path]:  # the source itself parsed
            tree = compiled_past_refusals(path, output, tree, text, diagnostics)
        outputs[path] = output
        if tree is not None:
            output_trees[path] = tree
    if not any(d.error for d in diagnostics):
        diagnostics += verify(outputs, table, planner, sources=modules, trees=output_trees)
    if strict:
        # Every warning above says the output may block the loop or may be
        # wrong: a call that still blocks, a coroutine overriding an outside
        # class's method, a receiver of unknown type. With --strict each one
        # refuses the port. What --defer-init-io says it moved (`deferred`,
        # added below) reports what was done, not a doubt, and stays a warning.
        diagnostics = [replace(d, error=True) for d in diagnostics]
    explanations = [
        planner.explanation(graph.functions[key])
        for key in sorted(
            planner.reasons, key=lambda k: (graph.functions[k].module.path, graph.functions[k].line)
        )
    ]
    if line_maps:
        diagnostics = [
            replace(d, line=line_maps[d.path].source_line(d.line)) if d.path in line_maps else d
            for d in diagnostics
        ]
    diagnostics += deferred
    diagnostics.sort(key=lambda d: (d.path, d.line, d.col))
    unused = [f"rename {key!r}" for key in sorted(rename_table.user_keys - rename_table.used)]
    return Conversion(outputs, diagnostics, explanations, unused)


def compiled(
    path: str, output: str, tree: ast.Module | None, diagnostics: list[Diagnostic]
) -> ast.Module | None:
    """Compile a converted module (``tree``: its parse, when known); a failure
    is an internal error, added to ``diagnostics``. Returns the module's tree
    (None when it does not compile).

    Compiling the tree finds what compiling the text finds (both run the
    same compiler after the parser: ``await`` outside ``async def``,
    ``return`` outside a function, a misplaced ``nonlocal``), and a text
    that does not parse raises the same error from :func:`ast.parse`.
    """
    try:
        if tree is None:
            tree = ast.parse(output, filename=path)
        compile(tree, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        diagnostics.append(
            Diagnostic(
                path,
                exc.lineno or 1,
                exc.offset or 1,
                f"internal error: the converted module does not compile ({exc.msg})",
            )
        )
        return None
    return tree


def compiled_past_refusals(
    path: str, output: str, tree: ast.Module | None, source: str,
    diagnostics: list[Diagnostic],
) -> ast.Module | None:
    """:func:`compiled`, where a failure on a line a located refusal of this
    module already covers is not said again ("'yield from' inside async
    function" under the refusal of that ``yield from``), and never hides one
    on another line: the refused statement is made ``pass`` in a copy of the
    tree and the module compiled again, until it compiles or fails on a line
    no refusal covers, which is reported (at its line of ``source``, as
    every diagnostic is). A refused module is never written, so what it
    compiles to beyond that does not matter; only what would go unsaid."""
    failures: list[Diagnostic] = []
    compiled_tree = compiled(path, output, tree, failures)
    if not failures:
        return compiled_tree
    to_source = _source_lines(output, source)
    failure = replace(failures[0], line=to_source(failures[0].line))
    refused = {d.line for d in diagnostics if d.path == path and d.error}
    if failure.line in refused:
        try:
            work = ast.parse(output, filename=path)
        except SyntaxError:
            work = None  # a text that does not parse: no refusal covers that
        passed: set[int] = set()
        while work is not None and failure.line in refused:
            if failures[0].line in passed or not _made_pass(work, failures[0].line):
                break  # made `pass` already, or no statement there: say it
            passed.add(failures[0].line)
            failures = []
            if compiled(path, output, work, failures) is not None:
                return None  # every failure sits on a refused line: said already
            failure = replace(failures[0], line=to_source(failures[0].line))
    diagnostics.append(failure)
    return None


def _made_pass(tree: ast.Module, line: int) -> bool:
    """Replace the innermost statement spanning ``line`` with ``pass``;
    False when no statement spans it."""
    bodies: list[list[ast.stmt]] = [tree.body]
    found: tuple[list[ast.stmt], int] | None = None
    while bodies:
        body = bodies.pop()
        for index, statement in enumerate(body):
            if statement.lineno <= line <= (statement.end_lineno or statement.lineno):
                found = (body, index)
                # Its own blocks; an except handler or a match case holds some too.
                for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                    for child in getattr(statement, field, ()):
                        if not isinstance(child, ast.stmt):
                            bodies.append(child.body)
                    held = getattr(statement, field, None)
                    if held and isinstance(held[0], ast.stmt):
                        bodies.append(held)
                break
    if found is None:
        return False
    holder, index = found
    holder[index] = ast.copy_location(ast.Pass(), holder[index])
    return True


def verify(
    outputs: Mapping[str, str],
    table: RuleTable,
    planner: Planner,
    *,
    sources: Mapping[str, str],
    trees: Mapping[str, ast.Module] | None = None,
) -> list[Diagnostic]:
    """The guarantee, checked on the output: see :func:`to_async`. Findings
    are located in ``sources`` (the output has lines the port added).

    ``trees``: the syntax trees of some outputs, parsed from exactly those
    texts (the analysis reads them, it does not parse those texts again).
    What is checked is the output's text either way: a tree given here is
    the parse of that text, never the conversion's tree of the source.
    """
    made_async = [planner.graph.functions[key] for key in planner.reasons]
    names = {f.name for f in made_async if f.cls is not None}
    # The awaited methods of the twins the port brought in, and of what their
    # methods return (AsyncSocket -> its makefile's AsyncSocketIO).
    twins = twin_types(table)
    used: set[str] = set()
    for function in planner.graph.functions.values():
        for call in function.calls:
            if call.instance_type in twins:
                used.add(twins[call.instance_type])
            if call.rule is not None and call.rule.returns in twins:
                used.add(twins[call.rule.returns])
    grown = True
    while grown:
        grown = False
        for rule in table.rules:
            if (
                rule.kind is Kind.METHOD
                and rule.async_ is not None
                and rule.returns in twins
                and rule.async_.rsplit(".", 1)[0] in used
                and twins[rule.returns] not in used
            ):
                used.add(twins[rule.returns])
                grown = True
    for rule in table.rules:
        if (
            rule.kind is Kind.METHOD
            and rule.awaited
            and rule.async_ is not None
            and rule.async_.rsplit(".", 1)[0] in used
        ):
            names.add(rule.async_.rsplit(".", 1)[1])
    # The checks read calls only (no references, `with` or `for` sites): the
    # output is indexed, and its calls alone resolved, as the lint's check does.
    side = async_side(table)
    graph = resolve_again(
        build(outputs, side, trees=trees, lazy=True), side, kinds=(CallKind.CALL,)
    )
    found = find_unawaited(outputs, table, async_names=names, graph=graph)
    found += module_level_unawaited(graph)  # what no function holds (ambidex._toplevel)
    mappers: dict[str, Callable[[int], int]] = {}
    diagnostics = []
    for f in found:
        if f.path not in mappers:
            mappers[f.path] = _source_lines(outputs[f.path], sources.get(f.path, ""))
        line = mappers[f.path](f.line)
        diagnostics.append(Diagnostic(f.path, line, f.col, f.message, error=f.sure))
    return diagnostics


def _source_lines(output: str, source: str) -> Callable[[int], int]:
    """Output line -> source line: lines the port left alone match one to one,
    a changed line maps to the line it changed, an added line to the next one."""
    # autojunk: blank and docstring lines are too common to anchor on; the rest
    # of the lines the port left alone match one to one.
    matcher = difflib.SequenceMatcher(None, source.splitlines(), output.splitlines())
    blocks = matcher.get_opcodes()

    def source_line(line: int) -> int:
        index = line - 1
        for _tag, s1, s2, o1, o2 in blocks:
            if o1 <= index < o2:
                return min(s1 + (index - o1), max(s2 - 1, s1)) + 1
        return line

    return source_line
