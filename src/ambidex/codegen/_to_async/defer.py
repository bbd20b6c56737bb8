"""sync -> async, step 0b (opt-in): move the I/O out of ``__init__``.

Every blocking client of the standard library connects in its constructor::

    def __init__(self, host="", port=0, timeout=...):
        self._host = host
        self.timeout = timeout
        if host:
            (code, msg) = self.connect(host, port)      # I/O

``__init__`` cannot be async, so by default the port refuses (with the
location). With ``--defer-init-io`` (``defer_init_io = true`` in
``[tool.ambidex]``) the statements of ``__init__`` that would have to await
-- and the later ones that read what they assign -- move into the class's
``__enter__`` (made if the class has none, with an ``__exit__`` that calls
``close()``), which the port then turns into ``async def __aenter__``. The
constructor keeps the rest, and stores the arguments the moved code reads::

    def __init__(self, host="", port=0, timeout=...):
        self._host = host
        self.timeout = timeout
        self.__deferred_init_args = (host, port)

    async def __aenter__(self):
        host, port = self.__deferred_init_args
        if host:
            (code, msg) = await self.connect(host, port)
        return self

so ``async with SMTP(host) as smtp:`` connects where ``with SMTP(host) as
smtp:`` did. The port says what moved, where (a warning on ``__init__``).

This runs on the sync text before the real port, as the flavour markers do.
Lines are inserted, so the step returns a map that puts the port's
diagnostics back on the lines of the source.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field

from ambidex._callgraph import Call, CallGraph, Function
from ambidex.codegen._source import Diagnostic
from ambidex.codegen._to_async.flavour import DROPPED
from ambidex.codegen._to_async.plan import Planner

__all__ = ["LineMap", "defer_init_io"]

_ARGS = "__deferred_init_args"
"""Name-mangled per class (``self._SMTP__deferred_init_args``): a subclass that
defers its own I/O cannot clobber its base's."""


@dataclass
class LineMap:
    """Lines of the deferred text -> lines of the source."""

    inserted: list[tuple[int, int, int]] = field(default_factory=list)
    """(first new line, how many, source line they come from), in text order."""

    def source_line(self, line: int) -> int:
        shift = 0
        for first, count, origin in self.inserted:
            if line < first:
                break
            if line < first + count:
                return origin
            shift += count
        return line - shift


def defer_init_io(
    modules: Mapping[str, str], graph: CallGraph, planner: Planner
) -> tuple[dict[str, str], list[Diagnostic], dict[str, LineMap]]:
    """The modules with the I/O of each ``__init__`` moved to ``__enter__``.

    ``graph`` and ``planner`` (run) are the port's own analysis of ``modules``.
    Returns the new texts, the diagnostics (a warning per class that moved,
    an error where moving would change what the code means) and, per path,
    the map from new lines back to source lines.
    """
    texts = dict(modules)
    diagnostics: list[Diagnostic] = []
    maps: dict[str, LineMap] = {}
    by_path: dict[str, list[Function]] = {}
    for function in graph.functions.values():
        if function.name == "__init__" and function.cls is not None:
            by_path.setdefault(function.module.path, []).append(function)
    for path, inits in by_path.items():
        moves = []
        for init in inits:
            awaiting = [c for c in init.calls if _awaits(planner, c)]
            if awaiting:
                move = _plan_move(init, awaiting, graph, diagnostics)
                if move is not None:
                    moves.append(move)
        if moves:
            texts[path], maps[path] = _apply(texts[path], moves)
            for move in moves:
                diagnostics.append(move.message)
    return texts, diagnostics, maps


def _awaits(planner: Planner, call: Call) -> bool:
    if call.type_checking or call.offloaded or call.lambda_node is not None:
        return False
    if any(c.name == "__init__" for c in call.runs):
        return False  # a base's __init__: its own I/O is deferred with its class
    if planner.awaited_rule(call) is not None:
        return True
    return any(planner.is_async(c) and not c.is_generator for c in call.runs)


@dataclass
class _Move:
    init: Function
    statements: list[ast.stmt]
    names: list[str]
    enter: Function | None
    close: bool
    inherited_enter: bool
    """A base has ``__enter__``: the new one ends by calling it."""
    inherited_exit: bool
    message: Diagnostic


def _plan_move(
    init: Function, awaiting: list[Call], graph: CallGraph, diagnostics: list[Diagnostic]
) -> _Move | None:
    node = init.node
    cls = init.cls
    assert cls is not None
    nodes = {id(c.node) for c in awaiting}
    body = node.body
    moved: list[ast.stmt] = []
    assigned: set[str] = set()
    for statement in body:
        inside = {id(n) for n in ast.walk(statement)}
        if inside & nodes or _reads(statement) & assigned:
            moved.append(statement)
            assigned |= _assigns(statement)
    for statement in moved:
        for child in ast.walk(statement):
            if isinstance(child, (ast.Return, ast.Yield, ast.YieldFrom)):
                diagnostics.append(
                    Diagnostic(
                        init.module.path, child.lineno, child.col_offset + 1,
                        f"--defer-init-io cannot move the I/O of {init.display}: it "
                        "returns or yields from the code that would move",
                    )
                )
                return None
    if moved and moved[0] is body[0] and len(moved) == len(body) and _is_docstring(body[0]):
        return None
    args = node.args
    params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)][1:]
    params += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    kept_locals: set[str] = set()
    for statement in body:
        if statement not in moved:
            kept_locals |= _assigns(statement)
    names: list[str] = []
    own: set[str] = set()
    for statement in moved:
        for child in ast.walk(statement):
            if (
                isinstance(child, ast.Name)
                and isinstance(child.ctx, ast.Load)
                and child.id not in names
                and child.id not in own
                and (child.id in params or child.id in kept_locals)
            ):
                names.append(child.id)
        own |= _assigns(statement)
    order = {name: index for index, name in enumerate(params)}
    names.sort(key=lambda name: order.get(name, len(order)))
    enter = cls.methods.get("__enter__")
    bases = list(graph.resolver.mro(cls))
    close = any("close" in k.methods for k in bases)
    inherited_enter = any("__enter__" in k.methods for k in bases[1:])
    inherited_exit = any("__exit__" in k.methods for k in bases[1:])
    first, last = moved[0].lineno, moved[-1].end_lineno or moved[-1].lineno
    # Named as the output spells them: the moved I/O awaits, so the port turns
    # the __enter__/__exit__ written here into __aenter__/__aexit__.
    where = "__aenter__ (the async context manager entry: `async with "
    where += f"{cls.qualname}(...)`)"
    message = Diagnostic(
        init.module.path,
        node.lineno,
        node.col_offset + 1,
        f"--defer-init-io: lines {first}-{last} of {init.display} (the I/O, and what "
        f"depends on it) moved into {cls.qualname}.{where}"
        + ("" if enter is not None else f"; {cls.qualname} gets __aenter__/__aexit__")
        + f"; {', '.join(names) or 'no argument'} kept for it in self.{_ARGS}",
        error=False,
    )
    return _Move(init, moved, names, enter, close, inherited_enter, inherited_exit, message)


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _assigns(statement: ast.stmt) -> set[str]:
    """Names and ``self.x`` attributes a statement binds (``self.x`` as ``.x``)."""
    found: set[str] = set()
    for child in ast.walk(statement):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            found.add(child.id)
        elif isinstance(child, ast.Attribute) and isinstance(child.ctx, ast.Store):
            found.add("." + child.attr)
    return found


def _reads(statement: ast.stmt) -> set[str]:
    found: set[str] = set()
    for child in ast.walk(statement):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
            found.add(child.id)
        elif isinstance(child, ast.Attribute) and isinstance(child.ctx, ast.Load):
            found.add("." + child.attr)
    return found


def _apply(text: str, moves: list[_Move]) -> tuple[str, LineMap]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    # Insertions, by the source line they go before: (line index, new lines, origin).
    inserts: list[tuple[int, list[str], int]] = []
    for move in moves:
        node = move.init.node
        body_indent = " " * move.statements[0].col_offset
        method_indent = " " * node.col_offset
        moved_text: list[str] = []
        for statement in move.statements:
            first = statement.lineno - 1
            last = statement.end_lineno or statement.lineno
            for index in range(first, last):
                moved_text.append(lines[index])
                lines[index] = body_indent + DROPPED + "\n"
        packed = ", ".join(move.names) + ("," if len(move.names) == 1 else "")
        store = f"{body_indent}self.{_ARGS} = ({packed})\n"
        lines[move.statements[0].lineno - 1] = store
        unpack = [f"{{indent}}{packed} = self.{_ARGS}\n"] if move.names else []
        origin = move.statements[0].lineno
        enter = move.enter
        if enter is not None:
            target = enter.node.body[0]
            if _is_docstring(target) and len(enter.node.body) > 1:
                target = enter.node.body[1]
            indent = " " * target.col_offset
            block = [line.replace("{indent}", indent) for line in unpack]
            block += [_reindent(line, body_indent, indent) for line in moved_text]
            inserts.append((target.lineno - 1, block, origin))
        else:
            indent = body_indent
            returned = "super().__enter__()" if move.inherited_enter else "self"
            block = [
                "\n",
                f"{method_indent}def __enter__(self):\n",
                *(line.replace("{indent}", indent) for line in unpack),
                *moved_text,
                f"{indent}return {returned}\n",
            ]
            if not move.inherited_exit:
                block += [
                    "\n",
                    f"{method_indent}def __exit__(self, *exc_info):\n",
                    f"{indent}{'self.close()' if move.close else 'pass'}\n",
                ]
            end = node.end_lineno or node.lineno
            inserts.append((end, block, origin))
    inserts.sort(key=lambda item: item[0])
    line_map = LineMap()
    out: list[str] = []
    position = 0
    for index, block, origin in inserts:
        out += lines[position:index]
        line_map.inserted.append((len(out) + 1, len(block), origin))
        out += block
        position = index
    out += lines[position:]
    return "".join(out), line_map


def _reindent(line: str, old: str, new: str) -> str:
    if line.startswith(old):
        return new + line[len(old):]
    return line
