"""sync -> async, step 2: the edits of one module, spliced into its text.

Given the plan (:mod:`.plan`), :class:`ModuleEditor` rewrites one module:
``def`` -> ``async def``, ``await`` at each call of something that became
async, the table's twins for the primitives (``await asyncio.sleep``,
``AsyncSocket``), ``with``/``for`` -> ``async with``/``async for``, the
iterator and context-manager dunders and types (``__next__`` ->
``__anext__``, ``Iterator[T]`` -> ``AsyncIterator[T]``), and the imports the
output needs, placed where isort would put them (:mod:`.imports`).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from functools import cached_property

from ambidex._callgraph import Call, CallKind, Class, Function, Module, dotted_of, own_nodes
from ambidex._callgraph._model import branch_parents
from ambidex._modulecalls import child_nodes
from ambidex._rules import Kind, Rule, RuleTable
from ambidex.codegen._renames import string_body
from ambidex.codegen._source import Diagnostic, Edits, SourceText
from ambidex.codegen._to_async.imports import ImportSpeller
from ambidex.codegen._to_async.plan import Planner
from ambidex.codegen._to_async.tls import TLSTest

#: Dunders that become their async twins when they must await.
#: Builtins that read every item of what they are given (so a list of the
#: items is the same reading): an async generator expression handed to one
#: becomes an async list comprehension.
_CONSUMES_ALL = frozenset(
    {"sum", "list", "tuple", "set", "frozenset", "sorted", "min", "max", "dict", "bytes",
     "bytearray"}
)
_DUNDER_TWINS = {"__enter__": "__aenter__", "__exit__": "__aexit__", "__next__": "__anext__"}


_ITERATOR_TWINS = {
    "typing.Iterator": "typing.AsyncIterator",
    "typing.Iterable": "typing.AsyncIterable",
    "typing.Generator": "typing.AsyncGenerator",
    "collections.abc.Iterator": "collections.abc.AsyncIterator",
    "collections.abc.Iterable": "collections.abc.AsyncIterable",
    "collections.abc.Generator": "collections.abc.AsyncGenerator",
}
_CONTEXTMANAGER = {"contextlib.contextmanager": "contextlib.asynccontextmanager"}

#: Subscripts whose strings are values, not types: left as written.
_VALUE_SUBSCRIPTS = frozenset(
    {"typing.Literal", "typing_extensions.Literal", "typing.Annotated",
     "typing_extensions.Annotated"}
)

_LEAF_FIELDS = frozenset({"ctx", "op", "ops"})
"""Fields that hold only leaves no type is named in (``Load``, ``Add``, ``Eq``):
the type pass does not visit them."""

_VISITED_FIELDS: dict[type, tuple[str, ...]] = {}
"""Per node class: its fields but the leaf ones, in order (filled on first use)."""


def type_twins(table: RuleTable) -> dict[str, str]:
    """Types the port replaces everywhere: ``socket.socket`` -> ``ambidex.io.AsyncSocket``."""
    twins: dict[str, str] = {}
    for rule in table.rules:
        if rule.sync is None or rule.async_ is None or "." not in rule.sync:
            continue
        if rule.kind is Kind.CALL and rule.returns == rule.sync and not rule.awaited:
            twins[rule.sync] = rule.async_
        elif (
            rule.kind is Kind.NAME
            and rule.receiver_typed is None  # renamed only where its receiver was
            and rule.sync.split(".")[0] not in ("typing", "collections", "contextlib")
        ):
            twins[rule.sync] = rule.async_
    return twins


def statement_parents(root: ast.AST) -> dict[int, ast.AST]:
    """:func:`branch_parents` of ``root``'s children and of the children of its
    statements (those of nested blocks, ``except`` handlers and ``match``
    cases too), and of nothing deeper: where a node is found here, its parent
    is the one :func:`branch_parents` gives (a node has one parent), for a
    walk of the statements alone instead of every node below them."""
    parents: dict[int, ast.AST] = {}
    todo: list[ast.AST] = [root]
    node_type = ast.AST
    constant = ast.Constant
    holders = (ast.stmt, ast.excepthandler, ast.match_case)
    fields_of = _VISITED_FIELDS
    while todo:
        node = todo.pop()
        kind = type(node)
        fields = fields_of.get(kind)
        if fields is None:
            fields = fields_of[kind] = tuple(
                name for name in kind._fields if name not in _LEAF_FIELDS
            )
        for name in fields:
            value = getattr(node, name, None)
            if isinstance(value, node_type):
                if type(value) is not constant:
                    parents[id(value)] = node
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, node_type) and type(item) is not constant:
                        parents[id(item)] = node
                        if isinstance(item, holders):
                            todo.append(item)
    return parents


class ModuleEditor(ImportSpeller):
    """The edits of one module."""

    def __init__(
        self,
        planner: Planner,
        module: Module,
        type_twins: Mapping[str, str],
        functions: list[Function] | None = None,
        *,
        tls_tests: Sequence[TLSTest] = (),
        runs_main: bool = False,
    ) -> None:
        """``functions``: the graph's functions defined in ``module``, in the graph's
        order (found here when not given; a caller editing every module groups
        them once instead of scanning the whole graph for each module).
        ``tls_tests``: its ``isinstance(sock, ssl.SSLSocket)`` calls that become
        ``ambidex.io.speaks_tls(sock)``, or with a tuple of types
        ``(ambidex.io.speaks_tls(sock) or isinstance(sock, rest))`` (:mod:`.tls`
        finds them). ``runs_main``:
        the module ends with ``asyncio.run(main())`` (:mod:`.mainblock`), whose
        import it needs."""
        self.planner = planner
        self.graph = planner.graph
        self.module = module
        self.source = SourceText(module.text)
        self.edits = Edits(self.source, module.tree)
        self.type_twins = type_twins
        self.needed: set[tuple[str, str | None]] = set()
        self.provided: set[tuple[str, str | None]] = set()
        """Imports the output has because an import statement was renamed."""
        self.done: set[int] = set()
        self.async_items: set[int] = set()
        self.async_withs: list[ast.With] = []
        """ids of nodes already replaced (their insides are not edited again)."""
        if functions is None:
            functions = [f for f in self.graph.functions.values() if f.module is module]
        self.functions = functions
        self.by_node = {id(f.node): f for f in self.functions}
        self.diagnostics: list[Diagnostic] = []
        self.tls_tests = tls_tests
        self.runs_main = runs_main
        self._local_parents: dict[int, dict[int, ast.AST]] = {}
        """Per outermost function node: :func:`branch_parents` of it (:meth:`parent_in`)."""
        self._statement_parents: dict[int, dict[int, ast.AST]] = {}
        """Per outermost function node: :func:`statement_parents` of it (:meth:`parent_in`)."""
        self.in_string = False
        """:meth:`rewrite_types` is editing the parse of a string annotation."""
        self.awaited_strings: set[int] = set()
        """ids of string annotations of callables whose calls are awaited (:meth:`annotated`)."""

    @cached_property
    def parents(self) -> dict[int, ast.AST]:
        """``id(node) -> parent`` over the module, made on first use (a module
        with nothing to await never asks)."""
        return branch_parents(self.module.tree)

    def parent_in(self, node: ast.AST, function: Function | None) -> ast.AST | None:
        """The parent of ``node``, a node of ``function``'s (a call it makes, a
        statement or a comprehension of its body): found in the parent map of
        the outermost function holding it, made once per such function, as the
        output's check does; the module's map only for a node found there
        without a parent (the function's own node). The answer is the
        module map's: a subtree's nodes have the same parents in both. A module
        whose functions await in a few places walks those functions only."""
        if function is not None:
            outer = function
            while outer.parent is not None:
                outer = outer.parent
            key = id(outer.node)
            local = self._local_parents.get(key)
            if local is None:
                # Most nodes asked about sit right under a statement (a call
                # made a statement's value, a `with` item): their parent is
                # found among the statements' own children, without the map
                # of every node below them.
                near = self._statement_parents.get(key)
                if near is None:
                    near = self._statement_parents[key] = statement_parents(outer.node)
                parent = near.get(id(node))
                if parent is not None:
                    return parent
                local = self._local_parents[key] = branch_parents(outer.node)
            parent = local.get(id(node))
            if parent is not None:
                return parent
        return self.parents.get(id(node))

    # --- the edits ----------------------------------------------------------------------
    def run(self) -> None:
        for function in self.functions:
            if self.planner.is_async(function):
                self.make_async(function)
        for function in self.functions:
            self.rewrite_calls(function)
            self.await_callable_annotations(function)
        self.rewrite_iter_protocol()
        self.rewrite_module_level_calls()
        self.rewrite_types(self.module.tree, self.module)
        self.rewrite_tls_tests()
        if self.runs_main:
            self.spell("asyncio.run")
        self.check_mixed_withs()
        self.add_imports()

    def rewrite_tls_tests(self) -> None:
        """``isinstance(sock, ssl.SSLSocket)`` -> ``ambidex.io.speaks_tls(sock)``:
        the callee replaced, the type argument dropped; ``isinstance(sock,
        (ssl.SSLSocket, T))`` -> ``(ambidex.io.speaks_tls(sock) or
        isinstance(sock, T))``: the same test put in front, the element left out
        of the tuple (its parentheses too when one type is left), everything else
        kept with the edits the walk made inside it (see :mod:`.tls`)."""
        if not self.tls_tests:
            return
        speaks_tls = self.spell("ambidex.io.speaks_tls")  # its import: only when used
        for test in self.tls_tests:
            call = test.call
            if test.ssl_type is None:
                self.edits.replace_node(call.func, speaks_tls)
                _, first_end = self.source.span(call.args[0])
                _, second_end = self.source.span(call.args[1])
                self.edits.replace(first_end, second_end, "")
                continue
            types = call.args[1]
            assert isinstance(types, ast.Tuple)
            rest = [t for t in types.elts if t is not test.ssl_type]
            index = types.elts.index(test.ssl_type)
            start, end = self.source.span(test.ssl_type)
            if index + 1 < len(types.elts):  # `A, ` up to the next element
                end = self.source.span(types.elts[index + 1])[0]
            else:  # `, A` from the previous one
                start = self.source.span(types.elts[index - 1])[1]
            self.edits.replace(start, end, "")
            if len(rest) == 1:  # `(T)` or `(T,)`: T alone
                tuple_start, tuple_end = self.source.span(types)
                rest_start, rest_end = self.source.span(rest[0])
                if self.source.text[tuple_start] == "(":
                    self.edits.replace(tuple_start, min(rest_start, start), "")
                    self.edits.replace(max(rest_end, end), tuple_end, "")
            call_start, call_end = self.source.span(call)
            tested = self.edits.render(*self.source.span(call.args[0]))
            self.edits.insert(call_start, f"({speaks_tls}({tested}) or ")
            self.edits.insert(call_end, ")")

    def insert_keyword(self, node: ast.stmt) -> None:
        self.edits.insert(self.source.offset(node.lineno, node.col_offset), "async ")

    def def_name_offset(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
        start = self.source.offset(node.lineno, node.col_offset)
        return self.source.text.index(node.name, start)

    def await_callable_annotations(self, function: Function) -> None:
        """``connect: Callable[[], Conn]`` -> ``Callable[[], Awaitable[Conn]]`` where an
        async callable is now handed in (an annotated local, global or attribute
        whose calls are awaited: :meth:`annotated`)."""
        args = function.node.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            if (function.key, arg.arg) in self.planner.handed_params:
                self.await_callable_return(arg.annotation, function)

    def await_callable_return(self, annotation: ast.expr | None, scope: Function | Module) -> None:
        """``Callable[[A], R]`` -> ``Callable[[A], Awaitable[R]]``, also inside
        ``Optional[...]``, ``Union[...]`` and ``... | None``."""
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            self.await_callable_return(annotation.left, scope)
            self.await_callable_return(annotation.right, scope)
            return
        if not isinstance(annotation, ast.Subscript):
            return
        dotted = self.graph.dotted_name(annotation.value, scope)
        elements = annotation.slice
        if dotted in ("typing.Optional", "typing.Union"):
            for element in elements.elts if isinstance(elements, ast.Tuple) else [elements]:
                self.await_callable_return(element, scope)
            return
        if dotted not in ("typing.Callable", "collections.abc.Callable"):
            return
        if isinstance(elements, ast.Tuple) and len(elements.elts) == 2:
            returns = elements.elts[1]
            awaitable = self.spell("collections.abc.Awaitable", bare=True)
            start, end = self.source.span(returns)
            self.edits.insert(start, f"{awaitable}[")
            self.edits.insert(end, "]")

    @cached_property
    def watched_names(self) -> frozenset[str]:
        """The names whose annotations :meth:`annotated` may edit: the locks
        that stay threading locks, the callables whose calls are awaited."""
        planner = self.planner
        return frozenset(ident[2] for ident in (*planner.sync_locks, *planner.awaited_callables))

    @cached_property
    def class_annotations(self) -> dict[int, Class]:
        """``id(node) -> class`` of the annotations in this module's class bodies."""
        return {
            id(statement): cls
            for cls in self.graph.classes.values()
            if cls.module is self.module
            for statement in cls.node.body
            if isinstance(statement, ast.AnnAssign)
        }

    def annotated(self, node: ast.AnnAssign, scope: Function | Module) -> None:
        """The annotation of what the plan says more about than its type: a
        lock that stays a threading lock keeps it (``_lock: threading.Lock``
        in the class body, ``self._lock = threading.Lock()`` in ``__init__``);
        a callable whose calls the port awaits returns an awaitable
        (``self._reader: Callable[[A], R]`` -> ``Callable[[A], Awaitable[R]]``).
        A local, a global, a ``self.`` attribute or one in a class body, each
        known as the calls and ``with`` blocks know it
        (:meth:`Planner.lock_identity`)."""
        target = node.target
        if isinstance(target, ast.Name):
            name = target.id
        elif isinstance(target, ast.Attribute):
            name = target.attr
        else:
            return
        if name not in self.watched_names:
            return
        cls = self.class_annotations.get(id(node))
        if cls is not None:
            ident = self.planner.attr_identity(cls, name)
        elif isinstance(scope, Function):
            ident = self.planner.lock_identity(target, scope)
        elif isinstance(target, ast.Name):
            ident = ("global", self.module.path, name)
        else:
            return
        if ident in self.planner.sync_locks:
            self.done.add(id(node.annotation))
        elif ident in self.planner.awaited_callables:
            if isinstance(node.annotation, ast.Constant):  # its parse: rewrite_string_annotation
                self.awaited_strings.add(id(node.annotation))
            else:
                self.await_callable_return(node.annotation, scope)

    def goes_async(self, call: Call) -> bool:
        """A call whose callee the port made async: awaited where its caller is."""
        return self.planner.goes_async(call)

    def make_async(self, function: Function) -> None:
        node = function.node
        self.insert_keyword(node)
        twin = _DUNDER_TWINS.get(function.name)
        if function.name == "__iter__" and function.is_generator:
            twin = "__aiter__"
        if twin is not None:
            offset = self.def_name_offset(node)
            self.edits.replace(offset, offset + len(function.name), twin)
        if function.name == "__anext__" or twin == "__anext__":
            for child in own_nodes(node):
                if isinstance(child, ast.Name) and child.id == "StopIteration":
                    self.edits.replace_node(child, "StopAsyncIteration")
                    self.done.add(id(child))
        if function.is_generator:
            self.make_async_generator(function)

    def make_async_generator(self, function: Function) -> None:
        node = function.node
        for child in own_nodes(node):
            if isinstance(child, ast.YieldFrom):
                self.error(
                    child,
                    f"{function.display} becomes an async generator, where "
                    "`yield from` is not allowed: write `async for x in ...: yield x`",
                )
            elif isinstance(child, ast.Return) and child.value is not None:
                self.error(
                    child,
                    f"{function.display} becomes an async generator, where "
                    "`return value` is not allowed: return without a value",
                )
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            dotted = self.graph.dotted_name(target, function.parent or self.module)
            if dotted in _CONTEXTMANAGER:
                self.edits.replace_node(target, self.spell(_CONTEXTMANAGER[dotted]))
                self.done.add(id(target))
        returns = node.returns
        if returns is None:
            return
        base = returns.value if isinstance(returns, ast.Subscript) else returns
        dotted = self.graph.dotted_name(base, function)
        twin = _ITERATOR_TWINS.get(dotted or "")
        if twin is None:
            return
        self.edits.replace_node(base, self.spell(twin, bare=isinstance(base, ast.Name)))
        self.done.add(id(base))
        if (
            twin.endswith("Generator")
            and isinstance(returns, ast.Subscript)
            and isinstance(returns.slice, ast.Tuple)
            and len(returns.slice.elts) == 3
        ):
            # Generator[Y, S, R] -> AsyncGenerator[Y, S]: async generators return nothing.
            yield_, send, _return = returns.slice.elts
            text = f"{self.source.segment(yield_)}, {self.source.segment(send)}"
            self.edits.replace_node(returns.slice, text)
            self.done.add(id(returns.slice))

    def error(self, node: ast.AST, message: str) -> None:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        self.diagnostics.append(Diagnostic(self.module.path, line, col + 1, message))

    def rename_dunder_call(self, call: Call) -> None:
        """``x.__enter__()`` spelled out, where ``__enter__`` became ``__aenter__``:
        the call follows the method's new name."""
        func = call.node.func if isinstance(call.node, ast.Call) else None
        if not isinstance(func, ast.Attribute) or id(func) in self.done:
            return
        twin = _DUNDER_TWINS.get(func.attr)
        if twin is None or not all(c.name == func.attr for c in call.runs):
            return
        self.done.add(id(func))
        end = self.source.span(func)[1]
        self.edits.replace(end - len(func.attr), end, twin)

    def await_(self, node: ast.expr, function: Function) -> None:
        parent = self.parent_in(node, function)
        if isinstance(parent, ast.Await):
            return  # already awaited in the source (an async def next to the sync code)
        wrap = (
            (isinstance(parent, (ast.Attribute, ast.Subscript)) and parent.value is node)
            or (isinstance(parent, ast.Call) and parent.func is node)
            or (isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Pow))
        )
        start, end = self.source.span(node)
        self.edits.insert(start, "(await " if wrap else "await ")
        if wrap:
            self.edits.insert(end, ")")

    def replace_callee(self, call: Call, rule: Rule) -> None:
        """Spell the twin of ``rule`` at ``call``: a whole name, or a method's name."""
        assert isinstance(call.node, ast.Call) and rule.async_ is not None
        func = call.node.func
        if id(func) in self.done:
            return
        node = call.node
        arguments = len(node.args) + len(node.keywords)
        with_args = rule.args_twin is not None and arguments > rule.twin_args
        if rule.kind is Kind.METHOD and rule.sync is not None and not (
            isinstance(func, ast.Attribute) and func.attr == rule.sync.rsplit(".", 1)[1]
        ):
            # Called through a name bound to the method (`self._send =
            # self.sock.sendall; self._send(data)`): the receiver is not in
            # sight, and the call keeps its own name. Fine when the twin is the
            # same method awaited; not when the twin is another name or takes
            # the receiver as an argument.
            twin = rule.args_twin if with_args and rule.args_twin else rule.async_
            if (
                rule.receiver_arg
                or with_args
                or twin.rsplit(".", 1)[1] != rule.sync.rsplit(".", 1)[1]
            ):
                self.error(
                    node,
                    f"`{ast.unparse(func)}(...)` calls {rule.sync} through a name bound to "
                    f"it, and its twin {twin} cannot be spelled here (it needs the "
                    "receiver, or another name); call the method on its object",
                )
            self.done.add(id(func))
            return
        if (
            rule.kind is Kind.METHOD
            and (rule.receiver_arg or with_args)
            and isinstance(func, ast.Attribute)
        ):
            # ctx.wrap_socket(sock, ...) -> wrap_socket(ctx, sock, ...);
            # event.wait(5) -> wait_event(event, 5)
            receiver = self.source.segment(func.value)
            twin = rule.args_twin if with_args and rule.args_twin else rule.async_
            self.edits.replace_node(func, self.spell(twin))
            self.done.add(id(func))
            first = node.args[0] if node.args else (node.keywords[0].value if node.keywords
                                                    else None)
            if first is None:
                end = self.source.span(node)[1]
                self.edits.insert(end - 1, receiver)
            else:
                start = self.source.span(first)[0]
                if node.keywords and first is node.keywords[0].value:
                    start = self.source.span(node.keywords[0])[0]
                self.edits.insert(start, f"{receiver}, ")
            return
        if rule.kind is Kind.METHOD:
            # The receiver stays as written (an object, or a class whose name the
            # type pass renames); only a method whose twin is named differently
            # (ExitStack.close -> AsyncExitStack.aclose) changes.
            if isinstance(func, ast.Attribute):
                new = rule.async_.rsplit(".", 1)[1]
                if new != func.attr:
                    end = self.source.span(func)[1]
                    self.edits.replace(end - len(func.attr), end, new)
            return
        spelled = self.spell(rule.async_)
        if self.source.segment(func) != spelled:
            bound = self.bound_elsewhere(func, call.caller)
            if bound is not None:
                self.diagnostics.append(
                    Diagnostic(
                        self.module.path,
                        node.lineno,
                        node.col_offset + 1,
                        f"`{ast.unparse(func)}(...)` calls {rule.sync} through `{bound}`, "
                        f"bound to it elsewhere (a parameter's default, an attribute); the "
                        f"port calls {rule.async_} here directly, so another callable given "
                        f"for `{bound}` is ignored",
                        error=False,
                    )
                )
            self.edits.replace_node(func, spelled)
        self.done.add(id(func))

    def bound_elsewhere(self, func: ast.expr, scope: Function) -> str | None:
        """The name ``func`` is when it holds the blocking callable itself, bound
        elsewhere (a parameter ``connect``, ``self._connect``, a class attribute
        ``self.sock_factory``), else None. A module given in place of another
        (``s = self.socket_module; s.socket(...)``) is followed, not reported."""
        owner = scope
        while owner.parent is not None:
            owner = owner.parent
        args = owner.node.args.args
        first = args[0].arg if owner.cls is not None and args else None
        if isinstance(func, ast.Attribute):
            if isinstance(func.value, ast.Name) and func.value.id == first:
                return ast.unparse(func)
            return None
        if not isinstance(func, ast.Name):
            return None
        bindings = None
        function: Function | None = scope
        while function is not None and bindings is None:
            bindings = function.locals.get(func.id)
            function = function.parent
        if bindings is None:
            bindings = self.module.symbols.get(func.id, [])
        if bindings and all(b.kind == "import" for b in bindings):
            return None
        return func.id

    def rewrite_calls(self, function: Function) -> None:
        converted = self.planner.is_async(function) or function.is_async
        for call in function.calls:
            if call.type_checking or call.offloaded:
                continue
            if call.kind is CallKind.CALL:
                assert isinstance(call.node, ast.Call)
                rule = call.rule
                if self.goes_async(call):
                    if converted and call.lambda_node is None:
                        self.await_(call.node, function)
                        self.rename_dunder_call(call)
                elif rule is not None and rule.async_ is not None and rule.sync is not None:
                    if "." not in rule.sync:
                        continue  # next()/iter(): left alone (see awaited_rule)
                    if rule.kind is Kind.NAME:
                        # contextlib.closing(x): aclosing only suits an object whose
                        # close is awaited, under `async with`; the verifier refuses
                        # closing() of such an object, and the rest stays as it was.
                        continue
                    if self.planner.awaited_rule(call) is not None:
                        if converted and call.lambda_node is None:
                            self.replace_callee(call, rule)
                            self.await_(call.node, function)
                    elif not self.stays_threading_lock(call.node, function):
                        self.replace_callee(call, rule)
            elif call.kind is CallKind.WITH and converted:
                if self.planner.awaited_rule(call) is not None or any(
                    self.planner.is_async(c) for c in call.runs
                ):
                    self.async_with(call)
            elif call.kind is CallKind.FOR and converted:
                if self.planner.awaited_rule(call) is not None or any(
                    self.planner.is_async(c) for c in call.runs
                ):
                    self.async_for(call)

    def rewrite_module_level_calls(self) -> None:
        """Constructors run at import time (``LOCK = threading.Lock()``) get their twin.

        The call graph records calls inside functions only; a module-level lock
        left a ``threading.Lock`` would be taken with ``async with`` by the
        converted functions, which fails at run time. A module-level call whose
        twin must be awaited cannot be converted: import time cannot await.
        """
        table = self.graph.table
        todo: list[ast.AST] = list(self.module.tree.body)
        while todo:
            node = todo.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            todo.extend(child_nodes(node))
            if not isinstance(node, ast.Call) or id(node.func) in self.done:
                continue
            dotted = self.graph.dotted_name(node.func, self.module)
            rule = table.by_sync.get(dotted) if dotted else None
            if (
                rule is None
                or rule.kind is not Kind.CALL
                or rule.async_ is None
                or rule.sync is None
                or "." not in rule.sync
            ):
                continue
            if rule.awaited:
                if rule.blocks:
                    self.error(
                        node,
                        f"{rule.sync} runs at import time, where nothing can be awaited; "
                        "move it into an async function (e.g. an async `connect()`)",
                    )
                continue
            if self.stays_threading_lock(node, None):
                continue
            self.edits.replace_node(node.func, self.spell(rule.async_))
            self.done.add(id(node.func))

    def stays_threading_lock(self, node: ast.Call, function: Function | None) -> bool:
        """``self._lock = threading.Lock()`` for a lock no guarded block awaits on:
        it stays a threading lock (the type pass must not rename it, nor the
        annotation of ``self._lock: threading.Lock = threading.Lock()``)."""
        if not self.planner.sync_locks:
            return False
        statement = self.parent_in(node, function)
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
        elif isinstance(statement, ast.AnnAssign):
            target = statement.target
        else:
            return False
        if function is not None:
            ident = self.planner.lock_identity(target, function)
        elif isinstance(target, ast.Name):
            owner = self.parents.get(id(statement))
            classes = [c for c in self.graph.classes.values() if c.node is owner]
            ident = (
                ("attr", classes[0].key, target.id)
                if classes
                else ("global", self.module.path, target.id)
            )
        else:
            return False
        if ident not in self.planner.sync_locks:
            return False
        self.done.add(id(node.func))  # its annotation: annotated()
        return True

    def async_with(self, call: Call) -> None:
        self.async_items.add(id(call.node))
        statement = self.parent_in(call.node, call.caller)
        if not isinstance(statement, ast.With) or id(statement) in self.done:
            return
        self.done.add(id(statement))
        self.async_withs.append(statement)
        self.insert_keyword(statement)

    def check_mixed_withs(self) -> None:
        """``with a, b:`` where only ``a`` went async cannot be ``async with a, b:``."""
        for statement in self.async_withs:
            plain = [i for i in statement.items if id(i) not in self.async_items]
            if plain:
                self.error(
                    plain[0].context_expr,
                    f"`{self.source.segment(plain[0].context_expr)}` is not an async context "
                    "manager, but it shares a `with` statement with one that now is; split "
                    "the statement into nested `with` blocks",
                )

    def async_for(self, call: Call) -> None:
        node = call.node
        if isinstance(node, ast.Call):  # next(it) on an async generator: await anext(it)
            if id(node.func) not in self.done and isinstance(node.func, ast.Name):
                self.done.add(id(node.func))
                self.edits.replace_node(node.func, "anext")
                self.await_(node, call.caller)
            return
        if isinstance(node, ast.For):
            if id(node) not in self.done:
                self.done.add(id(node))
                self.insert_keyword(node)
            return
        if isinstance(node, ast.comprehension) and not node.is_async:
            target = self.source.offset(node.target.lineno, node.target.col_offset)
            keyword = self.source.text.rfind("for", 0, target)
            self.edits.insert(keyword, "async ")
            self.collect_for_consumer(node, call.caller)

    def collect_for_consumer(self, comprehension: ast.comprehension, function: Function) -> None:
        """``sum(x for x in agen())``: a generator expression made async, handed
        to a builtin that reads all of it, becomes an async list comprehension
        (``sum([x async for x in agen()])``), which reads the same items. Other
        receivers (``any`` stops early) are left to the verifier to refuse."""
        genexp = self.parent_in(comprehension, function)
        call = self.parent_in(genexp, function) if isinstance(genexp, ast.GeneratorExp) else None
        if (
            not isinstance(genexp, ast.GeneratorExp)
            or id(genexp) in self.done
            or not isinstance(call, ast.Call)
            or genexp not in call.args
        ):
            return
        func = call.func
        if isinstance(func, ast.Attribute):
            consumer = func.attr == "join"
        else:
            consumer = (
                isinstance(func, ast.Name)
                and func.id in _CONSUMES_ALL
                and self.graph.dotted_name(func, self.module) == func.id
            )
        start, end = self.source.span(genexp)
        text = self.source.text
        if not consumer or text[start] != "(" or text[end - 1] != ")":
            return
        self.done.add(id(genexp))
        self.edits.insert(start + 1, "[")
        self.edits.insert(end - 1, "]")

    def rewrite_iter_protocol(self) -> None:
        """``__iter__`` returning self becomes ``__aiter__`` where ``__next__`` went async."""
        for function in self.functions:
            cls = function.cls
            if cls is None or function.name != "__iter__" or function.is_generator:
                continue
            nxt = self.graph.method(cls, "__next__")
            if nxt is not None and self.planner.is_async(nxt):
                offset = self.def_name_offset(function.node)
                self.edits.replace(offset, offset + len("__iter__"), "__aiter__")

    def rewrite_types(self, node: ast.AST, scope: Function | Module) -> None:
        """Replace every name of a type with a twin (``socket.socket`` -> ``AsyncSocket``).

        Visits every node of the module, in :func:`ast.iter_child_nodes` order,
        reading each node's fields itself (no generators per node: a third
        less time), but the leaves that cannot name a type (constants, the
        ``Load``/``Store`` of a name, operators). Inside a ``def`` the scope is
        that function for its arguments and body, the enclosing one for its
        decorators and return annotation. A name (half the nodes visited) is
        looked at where its parent's fields are read, without a call of its
        own: it has nothing below it to visit.
        """
        if id(node) in self.done:
            return
        kind = type(node)
        if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            inner = self.by_node.get(id(node), scope)
            # In the order of its fields, as iter_child_nodes gives them.
            self.rewrite_types(node.args, inner)
            for statement in node.body:
                self.rewrite_types(statement, inner)
            for child in node.decorator_list:
                self.rewrite_types(child, scope)
            if node.returns is not None:
                self.rewrite_string_annotations(node.returns, scope)
                self.rewrite_types(node.returns, scope)
            for child in getattr(node, "type_params", ()):
                self.rewrite_types(child, scope)
            return
        if kind is ast.Name:
            self.rewrite_name(node, scope)  # type: ignore[arg-type]
            return
        if kind is ast.Attribute:
            assert isinstance(node, ast.Attribute)
            if type(node.ctx) is ast.Load and self.names_twin(node, scope):
                return
        elif kind is ast.alias or kind is ast.Constant:
            return
        elif kind is ast.AnnAssign:
            assert isinstance(node, ast.AnnAssign)
            if self.watched_names:
                self.annotated(node, scope)
            self.rewrite_string_annotations(node.annotation, scope)
        elif kind is ast.arg:
            assert isinstance(node, ast.arg)
            if node.annotation is not None:
                self.rewrite_string_annotations(node.annotation, scope)
        fields = _VISITED_FIELDS.get(kind)
        if fields is None:
            fields = _VISITED_FIELDS[kind] = tuple(
                name for name in kind._fields if name not in _LEAF_FIELDS
            )
        name_type = ast.Name
        for name in fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if type(item) is name_type:
                        self.rewrite_name(item, scope)
                    elif isinstance(item, ast.AST) and type(item) is not ast.Constant:
                        self.rewrite_types(item, scope)
            elif type(value) is name_type:
                assert isinstance(value, ast.Name)
                self.rewrite_name(value, scope)
            elif isinstance(value, ast.AST) and type(value) is not ast.Constant:
                self.rewrite_types(value, scope)

    def rewrite_string_annotations(self, node: ast.expr, scope: Function | Module) -> None:
        """The types named in an annotation's strings (``sock: "socket.socket"``,
        ``Optional["socket.socket"]``) renamed as plain ones are: the string is
        parsed, :meth:`rewrite_types` edits the parse, and the string's body is
        replaced. A string with an escape or a prefix, a ``Literal``'s or an
        ``Annotated``'s strings, and a string the plan keeps (a threading lock's
        annotation) are left as written."""
        kind = type(node)
        if kind is ast.Constant:
            assert isinstance(node, ast.Constant)
            if isinstance(node.value, str) and id(node) not in self.done:
                self.rewrite_string_annotation(node, scope)
        elif kind is ast.BinOp:
            assert isinstance(node, ast.BinOp)
            self.rewrite_string_annotations(node.left, scope)
            self.rewrite_string_annotations(node.right, scope)
        elif kind is ast.Subscript:
            assert isinstance(node, ast.Subscript)
            if self.graph.dotted_name(node.value, scope) in _VALUE_SUBSCRIPTS:
                return
            self.rewrite_string_annotations(node.slice, scope)
        elif kind is ast.Tuple or kind is ast.List:
            assert isinstance(node, (ast.Tuple, ast.List))
            for element in node.elts:
                self.rewrite_string_annotations(element, scope)

    def rewrite_string_annotation(self, node: ast.Constant, scope: Function | Module) -> None:
        body = string_body(self.source, node)
        if body is None:
            return
        text = self.source.text[body[0] : body[1]]
        if text != text.strip() or "\n" in text:
            return
        try:
            expression = ast.parse(text, mode="eval").body
        except SyntaxError:
            return
        self.done.add(id(node))
        outer_source, outer_edits = self.source, self.edits
        inner_source = SourceText(text)
        inner_edits = Edits(inner_source)
        self.source, self.edits, self.in_string = inner_source, inner_edits, True
        try:
            self.rewrite_types(expression, scope)
            if id(node) in self.awaited_strings:
                self.await_callable_return(expression, scope)
        finally:
            self.source, self.edits, self.in_string = outer_source, outer_edits, False
        if len(inner_edits):
            self.edits.replace(body[0], body[1], inner_edits.apply())

    def rewrite_name(self, node: ast.Name, scope: Function | Module) -> None:
        """:meth:`rewrite_types` of a name (nothing is below it)."""
        if type(node.ctx) is ast.Load and id(node) not in self.done:
            self.names_twin(node, scope)

    def names_twin(self, node: ast.Name | ast.Attribute, scope: Function | Module) -> bool:
        """:meth:`rewrite_type`, asked only when the dotted name is one it can
        rename (most names are not: their dotted name is all that is read)."""
        dotted = dotted_of(self.graph.resolver.eval(node, scope))
        return dotted in self.renamed_types and self.rewrite_type(node, scope)

    @cached_property
    def renamed_types(self) -> frozenset[str]:
        """The dotted names :meth:`rewrite_type` may rename: a type with a twin,
        or a row renamed where its receiver's type is caught around it."""
        by_sync = self.graph.table.by_sync
        return frozenset(self.type_twins).union(
            dotted
            for dotted, rule in by_sync.items()
            if rule.async_ is not None and rule.receiver_typed is not None
        )

    def rewrite_type(self, node: ast.Name | ast.Attribute, scope: Function | Module) -> bool:
        """Rename ``node`` if it names a type with a twin; whether it did."""
        dotted = self.graph.dotted_name(node, scope)
        twin = self.type_twins.get(dotted or "")
        if twin is not None and dotted is not None:
            self.rename_type(node, dotted, twin)
            return True
        rule = self.graph.table.by_sync.get(dotted or "")
        if (
            rule is not None
            and dotted is not None
            and rule.async_ is not None
            and rule.receiver_typed is not None
            and self.caught_around(node, rule.receiver_typed, scope)
        ):
            self.rename_type(node, dotted, rule.async_)
            return True
        return False

    def caught_around(self, node: ast.AST, type_: str, scope: Function | Module) -> bool:
        """``node`` is in the ``except`` of a ``try`` whose body calls a method of
        an object of ``type_`` (one the port converts, so its exceptions are the
        twin's)."""
        if not isinstance(scope, Function):
            return False
        handler = self.parents.get(id(node))
        while handler is not None and not isinstance(handler, ast.ExceptHandler):
            handler = self.parents.get(id(handler))
        statement = self.parents.get(id(handler)) if handler is not None else None
        if not isinstance(statement, ast.Try):
            return False
        inside = {id(n) for part in statement.body for n in ast.walk(part)}
        return any(
            id(call.node) in inside and call.instance_type == type_ for call in scope.calls
        )

    def rename_type(self, node: ast.Name | ast.Attribute, dotted: str, twin: str) -> None:
        self.done.add(id(node))
        sync_module, _, sync_name = dotted.rpartition(".")
        twin_module, _, twin_name = twin.rpartition(".")
        if (
            isinstance(node, ast.Name)
            and not self.in_string  # (the import's edit is the module's, not the string's)
            and sync_module == twin_module
            and node.id == sync_name
            and self.module.imported_as(node.id) == dotted
        ):
            # `from ambidex.io import Stream`: rename the import and its uses, so the
            # port reads as if written against AsyncStream (and ports back the same).
            self.edits.replace_node(node, twin_name)
            self.rename_import(sync_module, sync_name, twin_name)
            return
        self.edits.replace_node(node, self.spell(twin))

