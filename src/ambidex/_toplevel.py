"""The guarantee at module level: code outside any function cannot await.

The output check (:func:`ambidex._unawaited.find_unawaited`) reads the calls
inside functions; a module's own statements, a class body's, and the stdlib's
``if __name__ == "__main__":`` demo blocks (smtplib, ftplib, poplib...) call
functions too. Once those became coroutine functions, such a call makes a
coroutine that nothing awaits: the port would be a silent half-port. Each one
is reported at its place:

* at import time (a module's or a class body's statements): an error, since
  importing the port would leave a coroutine un-awaited;
* in the ``if __name__ == "__main__":`` block: a warning (an error with
  ``--strict``): importing the port runs none of it, and running the module as
  a script needs an ``async def main()`` run by ``asyncio.run``, which is a
  person's call to make.

A call handed to another call (``asyncio.run(main())``) or written in a
lambda is taken care of by what receives it.

The lint (``AMB301``) asks the same question of code written for asyncio
(``port=False``), where a ``main()`` written without ``asyncio.run`` is the
same bug. It reports the calls that stand as a statement of their own (the
coroutine is made and dropped on the spot) at import time and in the
``__main__`` block alike: a coroutine kept in a name (``coro = main()``) may be
run later, and the lint keeps of a module's body only what it reads here
(:func:`ambidex._callgraph._slim.keep_definitions`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ambidex._callgraph import CallGraph, Module
from ambidex._callgraph._slim import is_main_block
from ambidex._unawaited import Unawaited

__all__ = ["module_level_unawaited"]


def module_level_unawaited(graph: CallGraph, *, port: bool = True) -> list[Unawaited]:
    """The calls outside every function that make a coroutine nobody awaits.

    ``port``: the port's check of its output (every such call, worded for the
    port); else the lint's (the calls that are statements of their own).
    """
    findings: list[Unawaited] = []
    # A method call whose name no coroutine function has is not resolved (the
    # cost of resolving every module-level call of a large tree).
    methods = {f.name for f in graph.functions.values() if f.is_async}
    if not methods:
        return findings
    for module in graph.modules.values():
        for node, in_main, statement in _top_level_calls(module.tree.body, False):
            if not port and not (isinstance(statement, ast.Expr) and statement.value is node):
                continue
            if isinstance(node.func, ast.Attribute) and node.func.attr not in methods:
                continue
            function = _coroutine_function(graph, module, node)
            if function is None:
                continue
            spelled = ast.unparse(node.func) + ("()" if not node.args and not node.keywords
                                                else "(...)")
            called = f"coroutine never awaited: `{spelled}` ({function}() is async) is called"
            if not port:
                where = ("in the `if __name__ == \"__main__\":` block" if in_main
                         else "outside any function, at import time")
                message = (f"{called} {where}, where nothing awaits it: the coroutine is made "
                           "and dropped; run it with `asyncio.run(...)` or call it from an "
                           "`async def`")
            elif in_main:
                message = (f"{called} in the `if __name__ == \"__main__\":` block, where nothing "
                           "awaits it: running the module as a script makes the coroutine "
                           "and drops it; put that code in an `async def main()` and call "
                           "`asyncio.run(main())`")
            else:
                message = (f"{called} outside any function, where nothing can await it: "
                           "importing the port would leave it un-awaited; call it from an "
                           "`async def`, or leave it out with '# ambidex: sync-only'")
            findings.append(Unawaited(module.path, node.lineno, node.col_offset + 1, message,
                                      not in_main or not port))
    return findings


def _coroutine_function(graph: CallGraph, module: Module, node: ast.Call) -> str | None:
    """The display name of the coroutine function ``node`` surely calls, or None."""
    value = graph.resolver.eval(node.func, module)
    function = value.function if value is not None else None
    if function is None or not function.is_async or function.is_generator:
        return None
    return function.qualname.replace(".<locals>", "")


def _top_level_calls(
    body: list[ast.stmt], in_main: bool
) -> Iterator[tuple[ast.Call, bool, ast.stmt]]:
    """The calls in ``body`` outside every function and lambda, with whether
    they stand in an ``if __name__ == "__main__":`` block and the statement
    they are in; a call handed to another call is left out (what receives it
    takes care of it)."""
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in statement.decorator_list:
                for call, main in _calls_in(decorator, in_main):
                    yield call, main, statement
            continue
        main = in_main or is_main_block(statement)
        for field, value in ast.iter_fields(statement):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield from _top_level_calls(value, main if field == "body" else in_main)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.ExceptHandler):
                        if item.type is not None:
                            for call, inner in _calls_in(item.type, in_main):
                                yield call, inner, statement
                        yield from _top_level_calls(item.body, in_main)
                    elif isinstance(item, ast.match_case):
                        yield from _top_level_calls(item.body, in_main)
                    elif isinstance(item, ast.AST):
                        for call, inner in _calls_in(item, in_main):
                            yield call, inner, statement
            elif isinstance(value, ast.AST):
                for call, inner in _calls_in(value, in_main):
                    yield call, inner, statement


def _calls_in(node: ast.AST, in_main: bool) -> Iterator[tuple[ast.Call, bool]]:
    # A loop, not recursion: an annotation or an expression nested a thousand
    # deep (the lint reads such a module from the parser's tree) is walked too.
    todo = [node]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Call):
            yield node, in_main
            todo.append(node.func)
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                # Handed to the call (asyncio.run(main())): the receiver's business.
                if not isinstance(argument, ast.Call):
                    todo.append(argument)
                else:
                    todo.append(argument.func)
                    todo.extend([*argument.args, *(k.value for k in argument.keywords)])
            continue
        todo.extend(ast.iter_child_nodes(node))
