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
same bug. Both read the calls through one walk
(:func:`ambidex._modulecalls.module_level_calls`); the lint reports, at import
time and in the ``__main__`` block alike, the ones whose coroutine is dropped
(``main()``, in a ``try``, a ``with`` or a loop too) or used on the spot as the
value it would return (``a, b = fetch()``, ``if ready():``, ``@deco()``), and
not a coroutine kept for later (``coro = main()`` with ``coro`` named again,
``[a(), b()]``), which may be run later; a coroutine bound to a name that
nothing names again (``forgotten = main()``) is kept for nothing and reported.
It keeps of a module's body only the statements holding such a call
(:func:`ambidex._callgraph._slim.keep_definitions`).
"""

from __future__ import annotations

import ast

from ambidex._callgraph import CallGraph, Module
from ambidex._modulecalls import bound_to_an_unused_name, module_level_calls
from ambidex._unawaited import Unawaited

__all__ = ["module_level_unawaited"]


def module_level_unawaited(graph: CallGraph, *, port: bool = True) -> list[Unawaited]:
    """The calls outside every function that make a coroutine nobody awaits.

    ``port``: the port's check of its output (every such call, worded for the
    port); else the lint's (the calls whose coroutine is dropped or used on the
    spot: :mod:`ambidex._modulecalls`).
    """
    findings: list[Unawaited] = []
    # A method call whose name no coroutine function has is not resolved (the
    # cost of resolving every module-level call of a large tree).
    methods = {f.name for f in graph.functions.values() if f.is_async}
    if not methods:
        return findings
    for module in graph.modules.values():
        unused = frozenset() if port else module.unused_results()
        for node, in_main, statement, kept in module_level_calls(module.tree.body,
                                                                 unused=unused):
            if not port and kept:
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
                bound = bound_to_an_unused_name(statement, node, unused) if unused else None
                held = "bound to" if getattr(statement, "value", None) is node else "held in"
                what = ("the coroutine is made and dropped" if _stands_alone(statement, node) else
                        f"the coroutine is {held} `{bound}`, which nothing names again"
                        if bound is not None else
                        "the coroutine is used as a value there (unpacked, tested, "
                        "iterated, an operand or a decorator), not what it returns")
                message = (f"{called} {where}, where nothing awaits it: {what}; run it "
                           "with `asyncio.run(...)` or call it from an `async def`")
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


def _stands_alone(statement: ast.stmt, node: ast.Call) -> bool:
    """Whether ``node`` is a statement of its own somewhere in ``statement``'s blocks."""
    return any(isinstance(s, ast.Expr) and s.value is node for s in ast.walk(statement))


def _coroutine_function(graph: CallGraph, module: Module, node: ast.Call) -> str | None:
    """The display name of the coroutine function ``node`` surely calls, or None."""
    value = graph.resolver.eval(node.func, module)
    function = value.function if value is not None else None
    if function is None or not function.is_async or function.is_generator:
        return None
    return function.qualname.replace(".<locals>", "")
