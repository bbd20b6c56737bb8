"""sync -> async: the ``if __name__ == "__main__":`` demo, run by ``asyncio.run``.

The stdlib's clients end with a demo that drives the client at module level
(poplib's ``a = POP3(sys.argv[1]); a.user(...); ... a.quit()``). Ported as
written, each call made a coroutine nothing awaited, and running the port as
a script did nothing. What a person does instead is what this step does,
before the plan is made: the block's header line becomes ``async def
main():`` (its body's lines stay as they are, so they keep their numbers, and
the plan awaits the calls in it like in any coroutine), and the module ends
with the same test running it::

    async def main():              # was: if __name__ == "__main__":
        import sys
        a = await POP3(sys.argv[1]).__aenter__()
        ...

    if __name__ == "__main__":
        asyncio.run(main())

A class whose ``__init__`` I/O ``--defer-init-io`` moved into ``__aenter__``
is entered where the demo makes it (``X(...).__enter__()`` for the plan, which
makes it ``await X(...).__aenter__()``): constructing it connected, in the
sync code; the demo closes it itself, as before.

Only where the move keeps the block's meaning: it is the module's last
statement (nothing after it runs later than before), its header is one line
with no ``else``, it has no ``global`` statement, and it binds no name that
code outside it reads and the module does not bind itself (a function
reading a global the demo sets would find none). Otherwise the block stays
and each call in it is a located warning, as before (:mod:`ambidex._toplevel`).
The step runs only when the block calls something the plan made async; it
costs a second plan of the modules it changed. A deferred object the module's
own statements make at import time cannot be entered there: each is a located
warning (an error with ``--strict``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from ambidex._callgraph import CallGraph, Function, Module
from ambidex._modulecalls import is_main_block, module_level_calls
from ambidex.codegen._source import Diagnostic, SourceText
from ambidex.codegen._to_async.plan import Planner

__all__ = ["async_main_blocks"]

_NAMES = ("main", "_main", "_async_main")
"""What the demo's function is called: the first name the module does not use."""

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
           ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def async_main_blocks(
    graph: CallGraph, planner: Planner, *, deferred: bool
) -> tuple[dict[str, str], set[str], list[Diagnostic]]:
    """The texts of the modules this step changes (path -> new text; modules
    left as they are are not in it), the paths of those that now end with
    ``asyncio.run(main())``, and a located warning for each deferred object
    made at import time, where nothing can enter it. ``deferred``: ``--defer-init-io`` moved
    some ``__init__`` I/O, so objects of those classes made outside ``with`` in
    a function are entered where made too (ftplib's ``test()``: ``ftp =
    FTP(host)``, then ``ftp.login()``: the sync constructor connected)."""
    entering = _deferred_classes(graph) if deferred else set()
    functions: dict[str, list[Function]] = {}
    if entering:
        for function in graph.functions.values():
            functions.setdefault(function.module.path, []).append(function)
    changed: dict[str, str] = {}
    runs: set[str] = set()
    unentered: list[Diagnostic] = []
    for path, module in graph.modules.items():
        body = module.tree.body
        main = bool(body) and is_main_block(body[-1])
        if entering:
            unentered += _made_at_import_time(graph, module, entering)
        if path not in functions and not main:  # the usual module: nothing to read
            continue
        edits: list[tuple[int, int, str]] = []
        source = SourceText(module.text)
        if path in functions:
            edits += _entered_in_functions(graph, functions[path], source, entering)
        suffix = ""
        if main:
            block = body[-1]
            assert isinstance(block, ast.If)
            calls = [node for node, _, _, _ in module_level_calls([block])]
            name = next((n for n in _NAMES if not re.search(rf"\b{n}\b", module.text)), None)
            if (name is not None and _movable(block, body[:-1])
                    and any(_made_async(graph, planner, module, node) for node in calls)):
                edits += _main_edits(module, source, graph, block, calls, name, entering)
                header = f"if {ast.get_source_segment(module.text, block.test)}:"
                suffix = f"\n\n{header}\n    asyncio.run({name}())\n"
                runs.add(path)
        if not edits:
            continue
        text = module.text
        for begin, end, replacement in sorted(edits, reverse=True):
            text = text[:begin] + replacement + text[end:]
        if suffix and not text.endswith("\n"):
            text += "\n"
        changed[path] = text + suffix
    return changed, runs, unentered


def _made_at_import_time(
    graph: CallGraph, module: Module, entering: set[str]
) -> Iterator[Diagnostic]:
    """Deferred objects a module's own statements make (not its ``__main__``
    block, whose objects are entered, and not the item of a ``with``)."""
    body = module.tree.body
    if body and is_main_block(body[-1]):
        body = body[:-1]
    for node, in_main, statement, _ in module_level_calls(body):
        if in_main or any(isinstance(w, (ast.With, ast.AsyncWith))
                          and any(item.context_expr is node for item in w.items)
                          for w in ast.walk(statement)):
            continue
        if not _deferred_class(graph, module, node, entering):
            continue
        spelled = ast.unparse(node.func)
        yield Diagnostic(
            module.path, node.lineno, node.col_offset + 1,
            f"`{spelled}(...)` at import time: --defer-init-io moved the I/O of "
            f"{spelled}.__init__ into {spelled}.__aenter__, which nothing runs here, so "
            "this object is never entered (the sync code made it connected); make it "
            f"in an `async def` with `async with {spelled}(...)`", error=False)


def _made_async(graph: CallGraph, planner: Planner, module: Module, node: ast.Call) -> bool:
    value = graph.resolver.eval(node.func, module)
    return value is not None and value.function is not None and planner.is_async(value.function)


def _movable(block: ast.If, before: list[ast.stmt]) -> bool:
    """Moving the block's body into a function keeps its meaning (see the module)."""
    if block.orelse or block.test.end_lineno != block.lineno:
        return False
    stored: set[str] = set()
    for node in _own_nodes(block.body):
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return False
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stored.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stored.add(node.name)
        elif isinstance(node, ast.alias):
            stored.add((node.asname or node.name).split(".")[0])
    if not stored:
        return True
    bound: set[str] = set()
    read: set[str] = set()
    for statement in before:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name):
                (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, ast.alias):
                bound.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
    return not (stored & read) - bound


def _own_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """The nodes of ``body`` in its own scope: a nested function, class, lambda
    or comprehension is yielded (its name binds here) but not entered."""
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _SCOPES):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                stack.extend(node.decorator_list)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _main_edits(
    module: Module, source: SourceText, graph: CallGraph, block: ast.If,
    calls: list[ast.Call], name: str, entering: set[str],
) -> list[tuple[int, int, str]]:
    """The header line becomes ``async def main():``; each deferred object the
    block makes outside ``with`` is entered where it is made."""
    parents = {id(child): node for node in ast.walk(block) for child in ast.iter_child_nodes(node)}
    edits = [
        _entered(source, call) for call in calls
        if not isinstance(parents.get(id(call)), ast.withitem)
        and _deferred_class(graph, module, call, entering)
    ]
    start = source.offset(block.lineno, block.col_offset)
    test_end = source.offset(block.test.end_lineno or block.lineno, block.test.end_col_offset or 0)
    colon = module.text.index(":", test_end)
    edits.append((start, colon + 1, f"async def {name}():"))
    return edits


def _entered(source: SourceText, call: ast.Call) -> tuple[int, int, str]:
    # Spelled as the sync code would: the plan awaits it as `__aenter__`.
    _, end = source.span(call)
    return (end, end, ".__enter__()")


def _entered_in_functions(
    graph: CallGraph, functions: list[Function], source: SourceText, entering: set[str]
) -> list[tuple[int, int, str]]:
    """The objects of deferred classes the ``functions`` of one module make
    outside ``with``, entered where made."""
    names = {key.rsplit(".", 1)[-1].rsplit(":", 1)[-1] for key in entering}
    edits = []
    for function in functions:
        if function.name == "__init__":
            continue
        in_with: set[int] | None = None
        for call in function.calls:
            node = call.node
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else None)
            if called not in names or not _deferred_class(graph, function, node, entering):
                continue
            if in_with is None:
                in_with = {id(item.context_expr) for child in ast.walk(function.node)
                           if isinstance(child, (ast.With, ast.AsyncWith))
                           for item in child.items}
            if id(node) not in in_with:
                edits.append(_entered(source, node))
    return edits


def _deferred_classes(graph: CallGraph) -> set[str]:
    """The keys of the classes whose ``__init__`` I/O was deferred (it keeps
    the arguments for ``__enter__``), and of their subclasses."""
    own = {
        cls.key for cls in graph.classes.values()
        if (init := cls.methods.get("__init__")) is not None and any(
            isinstance(node, ast.Attribute) and node.attr == "__deferred_init_args"
            for node in ast.walk(init.node))
    }
    if not own:
        return own
    return {cls.key for cls in graph.classes.values()
            if any(base.key in own for base in graph.resolver.mro(cls))}


def _deferred_class(
    graph: CallGraph, scope: Module | Function, call: ast.Call, entering: set[str]
) -> bool:
    """``call`` makes an object of one of the ``entering`` classes."""
    if not entering:
        return False
    value = graph.resolver.eval(call.func, scope)
    return value is not None and value.cls is not None and value.instance is None \
        and value.cls.key in entering
