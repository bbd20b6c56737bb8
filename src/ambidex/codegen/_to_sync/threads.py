"""async -> sync, thread offloads: ``await asyncio.to_thread(f, *args)`` is ``f(*args)``.

Async code hands a blocking function to a worker thread so that the event
loop is not held while it runs, and awaits its result:

* ``await asyncio.to_thread(f, *args, **kwargs)``;
* ``await asyncio.get_running_loop().run_in_executor(executor, f, *args)``
  (``asyncio.get_event_loop()`` too).

Sync code has no loop to keep free, so its twin calls the function where it
stands and gets the same result or exception: ``f(*args, **kwargs)``. The
projects that keep a sync twin ship exactly that (psycopg 3.3.9:
``await asyncio.to_thread(self.cancel)`` -> ``self.cancel()``; pymongo 4.20.1:
``await asyncio.get_running_loop().run_in_executor(None, cb.fetch, context)``
-> ``cb.fetch(context)``).

Rewritten only when faithful: the call is awaited where it is made (a thread
kept for later, or handed to ``gather``, has no sync twin: the row's refusal
stands), the receiver of ``run_in_executor`` is a loop the port knows (the
call of ``asyncio.get_running_loop()``; on an object it cannot type, the
refusal is :meth:`SyncWalker.visit_Call`'s), and what the rewrite drops does
nothing (the executor: ``None``, a name or an attribute; never a call). The
edits keep the function's and the arguments' text, comments and layout; when
they cannot (a comment where the call's head is cut), nothing is rewritten
and the row's refusal stands.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ambidex.codegen._to_sync.visit import SyncWalker

#: The calls that run their first argument in a thread and give its result.
THREAD_CALLS = frozenset({"asyncio.to_thread", "asyncio.threads.to_thread"})
#: The calls whose value is the running event loop.
LOOP_GETTERS = frozenset({"asyncio.get_running_loop", "asyncio.get_event_loop",
                          "asyncio.events.get_running_loop", "asyncio.events.get_event_loop"})


def _inert(node: ast.expr) -> bool:
    """Whether evaluating ``node`` does nothing the rewrite could drop: a
    constant, a name, or attributes of a name."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, (ast.Constant, ast.Name))


def _past_blanks(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n\f\\":
        position += 1
    return position


def thread_offload(walker: SyncWalker, node: ast.Call) -> bool:
    """Rewrite ``node``, awaited where it is made, when it hands a function to
    a thread (see the module): True when done (the function and its
    arguments visited), False to leave it to the rest of the walk."""
    func = node.func
    qualified = walker.qualified_name(func)
    if qualified in THREAD_CALLS:
        if not node.args or isinstance(node.args[0], ast.Starred):
            return False
        dropped: list[ast.expr] = []
        target = node.args[0]
        rest: list[ast.AST] = [*node.args[1:], *node.keywords]
    elif isinstance(func, ast.Attribute) and func.attr == "run_in_executor" \
            and isinstance(func.value, ast.Call) and not func.value.args \
            and not func.value.keywords \
            and walker.qualified_name(func.value.func) in LOOP_GETTERS:
        if len(node.args) < 2 or node.keywords \
                or any(isinstance(a, ast.Starred) for a in node.args[:2]) \
                or not _inert(node.args[0]):
            return False
        dropped = [node.args[0]]
        target = node.args[1]
        rest = list(node.args[2:])
    else:
        return False
    source = walker.source
    text = source.text
    call_start, call_end = source.span(node)
    target_start, target_end = source.span(target)
    # The head: from the call's start to the function handed over (with the
    # executor and the comma after it), past the blanks, so that the function
    # starts where the call did.
    head_end = text.index("(", source.span(func)[1]) + 1
    # The blanks after the call's bracket: a call laid out one argument a line
    # keeps that layout after the function's new bracket.
    opening = text[head_end:_past_blanks(text, head_end)]
    if dropped:
        head_end = text.index(",", source.span(dropped[-1])[1]) + 1
    head_end = _past_blanks(text, head_end)
    # The gap after the function: its first comma becomes the call's bracket.
    rest.sort(key=lambda n: (n.lineno, n.col_offset))  # type: ignore[attr-defined]
    gap_end = source.span(rest[0])[0] if rest else call_end - 1
    gap = text[target_end:gap_end]
    comma = gap.find(",")
    if "#" in text[call_start:head_end] or "#" in gap[:comma if comma >= 0 else len(gap)] \
            or head_end > target_start or (rest and comma < 0):
        return False
    walker.edits.replace(call_start, head_end, "")
    if not isinstance(target, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)):
        # `lambda: x`, `f if c else g`: a call binds tighter; keep what is called.
        walker.edits.insert(target_start, "(")
        walker.edits.insert(target_end, ")")
    if comma >= 0:
        after = target_end + comma + 1
        while after < gap_end and text[after] in " \t":
            after += 1  # `f, a` -> `f(a`; a comment or a line break after it stays
        if after < len(text) and text[after] in "#\r\n\\":
            walker.edits.replace(target_end + comma, target_end + comma + 1, "(")
        else:
            walker.edits.replace(target_end + comma, after,
                                 "(" + (opening if "\n" in opening else ""))
    else:
        walker.edits.insert(target_end, "(")
    root: ast.expr = func.value.func if isinstance(func, ast.Attribute) \
        and isinstance(func.value, ast.Call) else func
    while isinstance(root, ast.Attribute):
        root = root.value
    if isinstance(root, ast.Name):
        walker.touched.add(root.id)
    walker.visit(target)
    for argument in rest:
        walker.visit(argument)
    return True


__all__ = ["LOOP_GETTERS", "THREAD_CALLS", "thread_offload"]
