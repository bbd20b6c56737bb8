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
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ambidex._callgraph import CallGraph, Module
from ambidex._unawaited import Unawaited

__all__ = ["module_level_unawaited"]


def module_level_unawaited(graph: CallGraph) -> list[Unawaited]:
    """The calls outside every function that make a coroutine nobody awaits."""
    findings: list[Unawaited] = []
    for module in graph.modules.values():
        if "async def" not in module.text:
            continue  # nothing there is a coroutine function it could call
        for node, in_main in _top_level_calls(module.tree.body, False):
            function = _coroutine_function(graph, module, node)
            if function is None:
                continue
            spelled = ast.unparse(node.func) + ("()" if not node.args and not node.keywords
                                                else "(...)")
            if in_main:
                message = (f"coroutine never awaited: `{spelled}` ({function}() is async) is "
                           "called in the `if __name__ == \"__main__\":` block, where nothing "
                           "awaits it: running the module as a script makes the coroutine "
                           "and drops it; put that code in an `async def main()` and call "
                           "`asyncio.run(main())`")
            else:
                message = (f"coroutine never awaited: `{spelled}` ({function}() is async) is "
                           "called outside any function, where nothing can await it: "
                           "importing the port would leave it un-awaited; call it from an "
                           "`async def`, or leave it out with '# ambidex: sync-only'")
            findings.append(Unawaited(module.path, node.lineno, node.col_offset + 1, message,
                                      not in_main))
    return findings


def _coroutine_function(graph: CallGraph, module: Module, node: ast.Call) -> str | None:
    """The display name of the coroutine function ``node`` surely calls, or None."""
    value = graph.resolver.eval(node.func, module)
    function = value.function if value is not None else None
    if function is None or not function.is_async or function.is_generator:
        return None
    return function.qualname.replace(".<locals>", "")


def _top_level_calls(body: list[ast.stmt], in_main: bool) -> Iterator[tuple[ast.Call, bool]]:
    """The calls in ``body`` outside every function and lambda, with whether
    they stand in an ``if __name__ == "__main__":`` block; a call handed to
    another call is left out (what receives it takes care of it)."""
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in statement.decorator_list:
                yield from _calls_in(decorator, in_main)
            continue
        main = in_main or _is_main_test(statement)
        for field, value in ast.iter_fields(statement):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield from _top_level_calls(value, main if field == "body" else in_main)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.ExceptHandler):
                        if item.type is not None:
                            yield from _calls_in(item.type, in_main)
                        yield from _top_level_calls(item.body, in_main)
                    elif isinstance(item, ast.match_case):
                        yield from _top_level_calls(item.body, in_main)
                    elif isinstance(item, ast.AST):
                        yield from _calls_in(item, in_main)
            elif isinstance(value, ast.AST):
                yield from _calls_in(value, in_main)


def _calls_in(node: ast.AST, in_main: bool) -> Iterator[tuple[ast.Call, bool]]:
    if isinstance(node, ast.Lambda):
        return
    if isinstance(node, ast.Call):
        yield node, in_main
        yield from _calls_in(node.func, in_main)
        for argument in [*node.args, *(k.value for k in node.keywords)]:
            # Handed to the call (asyncio.run(main())): the receiver's business.
            if not isinstance(argument, ast.Call):
                yield from _calls_in(argument, in_main)
            else:
                yield from _calls_in(argument.func, in_main)
                for inner in [*argument.args, *(k.value for k in argument.keywords)]:
                    yield from _calls_in(inner, in_main)
        return
    for child in ast.iter_child_nodes(node):
        yield from _calls_in(child, in_main)


def _is_main_test(statement: ast.stmt) -> bool:
    """``if __name__ == "__main__":`` (either way round)."""
    if not isinstance(statement, ast.If) or not isinstance(statement.test, ast.Compare):
        return False
    test = statement.test
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
        isinstance(s, ast.Constant) and s.value == "__main__" for s in sides
    )
