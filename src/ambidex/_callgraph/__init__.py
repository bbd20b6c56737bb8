"""The call graph the generator and the lint share: who calls what, resolved.

Both the sync -> async generator and the lint ask the same question of a set
of modules: *which calls reach a blocking primitive, and through whom?* They
answer it from this one analysis so they never disagree about what a name
means.

Given modules (display path -> source text) and the rule table, :func:`build`
parses each module once and walks it once. It indexes modules, classes,
functions and methods by qualified name; resolves imports between the modules
analysed together (absolute, relative, ``from x import y as z``,
``import x.y``); and records, for every function, each call it makes -- with
its position -- resolved to one of:

* another analysed function or method (plain calls, ``self.m()``/``cls.m()``
  through the enclosing class and its analysed bases, imported functions and
  classes; calling a class is calling its ``__init__``),
* a row of the table, by the dotted name the call spells once imports are
  resolved (``from time import sleep as nap; nap(1)`` is ``time.sleep``),
* a method of a tracked object: an object whose type is known from a row's
  ``returns`` (``sock = socket.create_connection(...)`` is a
  ``socket.socket``) or from an analysed constructor
  (``self.conn = Connection(...)``), followed through assignments to locals
  and ``self.`` attributes (assigned anywhere in the class), parameter
  annotations and ``with ... as x``.

``with x:`` and ``for _ in x:`` are recorded too (as the ``__enter__`` /
``__iter__`` they imply), and so are references to functions that are handed
somewhere instead of called (callbacks), because both clients care.

What it does not do, on purpose: it is not a type checker. Types flow through
assignments flow-insensitively (the first assignment that tells wins), through
annotations and through the table; anything else is "unknown" and its calls
resolve only by name. A call it cannot resolve is still recorded, with
``name=None`` when even the name is unknown, so callers can decide.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Collection, Mapping, Sequence

from ambidex._callgraph._index import _Indexer
from ambidex._callgraph._model import (
    _LINE_END,
    GENERATOR_OF,
    NO_CALLS,
    OFFLOAD_CALLS,
    OFFLOAD_METHODS,
    SITE_KINDS,
    Call,
    CallFilter,
    CallGraph,
    CallKind,
    Class,
    Evaluator,
    Function,
    Module,
    _Binding,
    _Pending,
    async_and_for_lines,
    dotted_of,
    own_calls,
    own_nodes,
    spelled,
)
from ambidex._callgraph._resolve import _Resolver
from ambidex._callgraph._slim import (
    DISPLAYS,
    graft,
    has_pruned,
    keep_definitions,
    pool_constants,
    prune_bodies,
    pruned_definitions,
    share_constants,
    slim_tree,
)
from ambidex._modulecalls import unused_results
from ambidex._names import module_label
from ambidex._rules import RuleTable

__all__ = [
    "GENERATOR_OF",
    "OFFLOAD_CALLS",
    "OFFLOAD_METHODS",
    "Call",
    "CallFilter",
    "CallGraph",
    "CallKind",
    "Class",
    "Evaluator",
    "Function",
    "Module",
    "WholeBodies",
    "async_and_for_lines",
    "build",
    "dotted_of",
    "own_calls",
    "own_nodes",
    "resolve_again",
    "spelled",
]


def build(
    modules: Mapping[str, str],
    table: RuleTable,
    *,
    trees: Mapping[str, ast.Module] | None = None,
    keep_sites: bool = False,
    lazy: bool = False,
    slim: bool = False,
    names: Mapping[str, str] | None = None,
) -> CallGraph:
    """Analyse ``modules`` (display path -> source) together.

    A module that does not parse is left out and reported in
    ``syntax_errors``; the rest are analysed as if it did not exist.
    ``trees`` are syntax trees already parsed from these texts (another
    graph's ``modules[path].tree``; the analysis does not change them), so
    that two analyses of one large tree parse it, and hold it, once.
    ``keep_sites`` keeps what the walk collected, so that
    :func:`resolve_again` can read the same modules through another table
    without parsing or walking them again. ``lazy`` resolves a function's
    calls when :meth:`CallGraph.calls_of` first asks for them (``calls`` is
    empty until then; the sites are kept). ``slim`` holds the trees it parses
    as read-only copies in a third of the memory (:mod:`._slim`: for an
    analysis that reads them only, such as the lint's), and keeps of a
    module's and a class's body only the definitions: what else is written
    there is read once, by the walk (the bindings keep their values); nor
    does it keep the texts (``Module.text`` is empty): a module keeps the
    lines the never-awaited check asks about (``Module.async_lines``), nor
    the import statements (``Module.imports`` is empty: the names they bind
    are bound). ``names`` gives modules their dotted names (display path ->
    name, unique: what the lint derives from the files' places on disk,
    :func:`ambidex._names.import_root`); a path without one is named by
    :func:`ambidex._names.module_label`.
    """
    parsed: dict[str, Module] = {}
    syntax_errors: list[tuple[str, int, int, str]] = []
    functions: dict[str, Function] = {}
    classes: dict[str, Class] = {}
    # One pool for all the slim copies: a line number or a string constant
    # repeated in many modules is one object (see slim_tree's ``shared``).
    pool: dict[object, object] = {}
    constants: dict[object, ast.AST] = {}
    # One import binding per dotted name, for all the slim copies' modules
    # (`import os` in a thousand modules binds one value).
    imports: dict[str, _Binding] = {}
    for path, text in modules.items():
        try:
            known = trees.get(path) if trees is not None else None
            tree = known if known is not None else ast.parse(text, filename=path)
        except SyntaxError as exc:
            syntax_errors.append(
                (path, exc.lineno or 1, (exc.offset or 1) - 1, exc.msg or "invalid syntax")
            )
            continue
        copied = False
        if slim and known is None:
            try:
                tree = slim_tree(tree, shared=pool)
                copied = True
            except RecursionError:  # too deep to rebuild: the parser's tree serves as well
                tree = ast.parse(text, filename=path)
        name = names.get(path) if names is not None else None
        module = parsed[path] = Module(path, name or module_label(path), text, tree)
        # Walked while its nodes are fresh in the processor's caches; the walk
        # reads one module and adds to the tables in the modules' order.
        walk = _Indexer(functions, classes, module, imports if copied else None)
        walk.run()
        made_functions, made_classes = walk.made_functions, walk.made_classes
        if slim:  # what the never-awaited check reads of the text; the rest is not held
            module.unused = unused_results(tree.body, text)
            # The import statements are the generator's (it adds after them),
            # read by no analysis: the walk bound their names (~6 MB of a
            # site-packages' nodes, which keep_definitions takes out of the tree).
            module.imports = []
        if copied:
            keep_definitions(tree, module.unused or frozenset())
            # What the walk's records refer to stays of the functions' bodies.
            module.reread = functools.partial(modules.__getitem__, path)
            try:
                refs = _referenced(made_functions, made_classes, module)
                prune_bodies(tree, refs)
                # What the functions kept of their constants: one node per value.
                pool_constants(tree, refs, constants)
            except RecursionError:  # what was pruned is put back when asked; the rest is whole
                pass
            # The tables of literals the module and its classes bind names to:
            # one node per value (read for their types; no function holds them).
            for scope in (module.symbols, *(cls.attrs for cls in made_classes)):
                for bindings in scope.values():
                    for binding in bindings:
                        expr = binding.expr
                        if (
                            type(expr) in DISPLAYS
                            and binding.kind == "value"
                            and not isinstance(binding.scope, Function)
                        ):
                            share_constants(expr, constants)  # type: ignore[arg-type]
            _freeze_bindings(
                module.symbols,
                *(fn.locals for fn in made_functions),
                *(cls.attrs for cls in made_classes),
            )
        if slim:
            module.async_lines = async_and_for_lines(text)
            module.text = ""
    if lazy:
        for function in functions.values():
            function._unresolved = True
        resolver = _Resolver(parsed, functions, classes, table)
        return CallGraph(parsed, functions, classes, syntax_errors, table, resolver)
    return _resolved(parsed, functions, classes, syntax_errors, table, keep_sites)


class WholeBodies:
    """Puts back what a slim build pruned from a function's body
    (:func:`ambidex._callgraph._slim.prune_bodies`), for a reader that walks
    all of it (the never-awaited check's parent maps): the definition's
    lines are parsed and copied again, and its pruned places are filled
    from the copy, so the nodes the call graph refers to stay the ones it
    has. The lines of the last module read are kept for its other
    functions (a reader asks about one module's functions in a row).
    """

    def __init__(self) -> None:
        self._module: Module | None = None
        self._lines: list[str] = []

    def restore(self, function: Function) -> bool:
        """Make ``function``'s definition whole again (nothing when it is);
        whether anything was put back."""
        module, node = function.module, function.node
        if module.reread is None or not has_pruned(node):
            return False
        if self._module is not module:
            self._module, self._lines = None, []
            text = module.reread()
            # (str.split is the regex's split when there is no \r: a read file has none)
            self._lines = _LINE_END.split(text) if "\r" in text else text.split("\n")
            self._module = module
        whole = self._parsed_again(node)
        if whole is None:  # the lines do not parse alone (`class A: def f(self): ...`)
            whole = pruned_definitions(
                slim_tree(ast.parse("\n".join(self._lines), filename=module.path))
            ).get((node.lineno, node.col_offset))
        if whole is not None and type(whole) is type(node):
            graft(node, whole)
            return True
        return False

    def _parsed_again(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST | None:
        """The definition parsed from its own lines (decorators to end), placed
        where it is in the module, as a slim tree; None if they do not parse
        into that definition."""
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        last = node.end_lineno or node.lineno
        segment = "\n".join(self._lines[first - 1 : last])
        indented = node.col_offset > 0
        # Blank lines before the segment put it at its own line numbers: the
        # parser skips them, where shifting the parsed tree after
        # (ast.increment_lineno) walked every node in Python: half the cost.
        shift = first - 2 if indented else first - 1
        try:  # a method's lines, indented, parse as the block of an `if`
            tree = ast.parse("\n" * max(shift, 0) + ("if 1:\n" + segment if indented else segment))
        except (SyntaxError, ValueError):
            return None
        if shift < 0:
            ast.increment_lineno(tree, shift)
        block = tree.body
        if indented:
            block = block[0].body if block and isinstance(block[0], ast.If) else []
        if len(block) != 1:
            return None
        whole = slim_tree(ast.Module([block[0]], []))
        found = whole.body[0]
        if (
            type(found) is not type(node)
            or (found.lineno, found.col_offset) != (node.lineno, node.col_offset)
        ):
            return None
        return found


def _freeze_bindings(*scopes: dict[str, Sequence[_Binding]]) -> None:
    """Hold each name's bindings in ``scopes`` in a tuple, once the walk has
    bound them all: a slim build's names are read, never bound again, and a
    tuple is smaller than a list (a site-packages binds ~300k names). A name
    bound once holds its binding itself, the sequence of itself alone
    (:class:`._model._Binding`): ~215k tuples of one fewer on a site-packages."""
    for scope in scopes:
        for name, bindings in scope.items():
            scope[name] = bindings[0] if len(bindings) == 1 else tuple(bindings)


def _referenced(functions: list[Function], classes: list[Class], module: Module) -> set[ast.AST]:
    """Every node of a module the walk's records refer to: the sites (and
    the lambdas, containers and calls around them) and what names are bound
    to. Whatever else a function's body holds, the call graph never reads
    again (:func:`ambidex._callgraph._slim.prune_bodies`)."""
    refs: set[ast.AST] = set()
    add = refs.add
    for function in functions:
        for item in function._pending:
            if type(item) is not _Pending:
                # A bare site: its node (a bare reference's call is a site too).
                add(item)  # type: ignore[arg-type]
                continue
            add(item.node)
            if item.offload_parent is not None:
                add(item.offload_parent)
            if item.lambda_node is not None:
                add(item.lambda_node)
            if item.container is not None:
                add(item.container)
        for bindings in function.locals.values():
            for binding in bindings:
                if binding.expr is not None:
                    add(binding.expr)
    for scope in (*(cls.attrs for cls in classes), module.symbols):
        for bindings in scope.values():
            for binding in bindings:
                if binding.expr is not None:
                    add(binding.expr)
    return refs


def resolve_again(
    graph: CallGraph,
    table: RuleTable,
    kinds: Collection[CallKind] = tuple(CallKind),
    keep: CallFilter | Callable[[Call, Evaluator], bool] | None = None,
    *,
    slots: bool = True,
) -> CallGraph:
    """The modules of ``graph`` (built with ``keep_sites``) with every call site
    of ``kinds`` resolved anew against ``table`` (the never-awaited check
    reads calls only: references, ``with`` and ``for`` sites are left out).
    With ``keep``, a function's ``calls`` hold only the calls it accepts (asked
    as each is resolved, with the resolver): the lint's never-awaited check
    says nothing about most calls, and holds only those it can report. With
    a :class:`CallFilter`, a plain call it does not keep is never made.
    ``slots=False`` leaves every call's :attr:`Call.slot` None: the slot a
    call of a handed callable goes through is the blocking check's and the
    generator's question, not the never-awaited check's, and deciding it
    for every call that runs nothing known (~100k on a site-packages) was
    ~1.5% of the lint.

    The lint reads one tree twice: for blocking calls with the table, then for
    coroutines never awaited with the table's async side. The walk that finds
    definitions, bindings and call sites does not depend on the table, so it
    is done once; what depends on it (types from rows, each call's row and
    callees) is decided again. The functions and classes are shared, and
    their calls replaced: ``graph`` must not be used after this. One thing
    decided with the first table is kept: which functions each call site
    may call, as indexed to type unannotated parameters (:mod:`._params`),
    when the first resolution indexed them.
    """
    for function in graph.functions.values():
        function.calls = NO_CALLS
        function._unresolved = False
    for cls in graph.classes.values():
        cls._bases = None
    # What the first resolution remembered answers for the other table: let
    # it go before the second remembers its own (on a site-packages, ~40 MB).
    # The call sites that pass something are the same list: handed over.
    # So are the modules' names, and those sites indexed by callee when the
    # first resolution indexed them (see ambidex._callgraph._params).
    spent = graph.resolver
    sites = None
    names = None
    callers = None
    if isinstance(spent, _Resolver):
        sites = spent._sites
        names = spent.by_name, spent.by_suffix
        callers = spent._sites_by_callee
        spent.forget()
    return _resolved(
        graph.modules, graph.functions, graph.classes, graph.syntax_errors, table, False, kinds,
        sites, keep, names, callers, slots,
    )


def _resolved(
    modules: dict[str, Module],
    functions: dict[str, Function],
    classes: dict[str, Class],
    syntax_errors: list[tuple[str, int, int, str]],
    table: RuleTable,
    keep_sites: bool,
    kinds: Collection[CallKind] = tuple(CallKind),
    sites: list[tuple[Function, ast.Call]] | None = None,
    keep: CallFilter | Callable[[Call, Evaluator], bool] | None = None,
    names: tuple[dict[str, Module], dict[str, list[Module]]] | None = None,
    callers: dict[str, list[tuple[Function, ast.Call]]] | None = None,
    slots: bool = True,
) -> CallGraph:
    """Every call site the walk collected (of ``kinds``), resolved against
    ``table``; ``slots``: whether calls record their slot (:func:`resolve_again`)."""
    resolver = _Resolver(modules, functions, classes, table, sites, names, callers)
    resolver.slots = slots
    if isinstance(keep, CallFilter):
        resolver.keep = keep  # (the resolver returns None for a call it does not keep)
        keep = None
    every = len(kinds) == len(CallKind)
    site_kinds = SITE_KINDS
    for function in functions.values():
        found: list[Call] = []
        held = function._pending
        for index, item in enumerate(held):
            if not every:
                kind = site_kinds[type(item)]
                if (item.kind if kind is None else kind) not in kinds:  # type: ignore[union-attr]
                    continue
            call = resolver.resolve(function, held, index)
            if call is not None and (keep is None or keep(call, resolver)):
                found.append(call)
        if found:  # (its calls were none until now)
            function.calls = found
        if not keep_sites:
            function._pending = NO_CALLS
    return CallGraph(modules, functions, classes, syntax_errors, table, resolver)
