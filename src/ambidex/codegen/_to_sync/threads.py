"""async -> sync, thread offloads: ``await asyncio.to_thread(f, *args)`` is ``f(*args)``.

Async code hands a blocking function to a worker thread so that the event
loop is not held while it runs, and awaits its result:

* ``await asyncio.to_thread(f, *args, **kwargs)``;
* ``await asyncio.get_running_loop().run_in_executor(executor, f, *args)``
  (``asyncio.get_event_loop()`` too);
* ``loop = asyncio.get_running_loop()`` then ``await loop.run_in_executor(
  executor, f, *args)``, when the local is used for nothing else
  (:func:`offload_loops`): the assignment goes, the calls are made;
* ``await anyio.to_thread.run_sync(f, *args, limiter=...)`` and trio's
  ``trio.to_thread.run_sync``, whose keywords are their own (how the thread
  may be left on cancellation, how many run at once, its name): a call in
  the caller's thread has no use for them, so they go when they are names or
  constants; a keyword that acts or that run_sync does not have is refused
  at the call (aiobotocore 3.10.0's ``httpxsession.py`` hand-writes
  ``self._build_ssl_contexts(self._proxy_urls)`` as the other branch of its
  ``await anyio.to_thread.run_sync(self._build_ssl_contexts, self._proxy_urls)``).

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

#: The calls that run their first argument in a thread and give its result,
#: handing it their other arguments, keywords too.
THREAD_CALLS = frozenset({"asyncio.to_thread", "asyncio.threads.to_thread"})
#: The calls that run their first argument in a thread and give its result,
#: handing it their other positional arguments; their keywords are their own.
RUN_SYNC_CALLS = frozenset({"anyio.to_thread.run_sync", "trio.to_thread.run_sync"})
#: ``run_sync``'s own keywords (anyio 4, trio 0.23+): how the thread may be
#: left when the task is cancelled, how many threads run at once, the thread's
#: name. A sync call runs in the caller's thread, cannot be cancelled and
#: holds no thread of a pool: it has no use for them.
RUN_SYNC_KEYWORDS = frozenset({"abandon_on_cancel", "cancellable", "limiter", "thread_name"})
#: The calls whose value is the running event loop.
LOOP_GETTERS = frozenset({"asyncio.get_running_loop", "asyncio.get_event_loop",
                          "asyncio.events.get_running_loop", "asyncio.events.get_event_loop"})


def _inert(node: ast.expr) -> bool:
    """Whether evaluating ``node`` does nothing the rewrite could drop: a
    constant, a name, or attributes of a name."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, (ast.Constant, ast.Name))


def _run_sync_unfaithful(node: ast.Call) -> str | None:
    """Why ``run_sync(f, *args, **own)`` cannot become ``f(*args)``, or None."""
    if not node.args or isinstance(node.args[0], ast.Starred):
        return "the function is not its first argument"
    for keyword in node.keywords:
        if keyword.arg is None or keyword.arg not in RUN_SYNC_KEYWORDS:
            return (f"`{ast.unparse(keyword)}` is not one of its own keywords "
                    f"({', '.join(sorted(RUN_SYNC_KEYWORDS))})")
        if not _inert(keyword.value):
            return (f"`{ast.unparse(keyword)}` does something the sync call would drop "
                    "(a name or a constant drops nothing)")
        if (keyword.lineno, keyword.col_offset) < (node.args[-1].lineno,
                                                   node.args[-1].col_offset):
            return f"`{ast.unparse(keyword)}` comes before a positional argument"
    return None


def _offload_shape(node: ast.Call) -> bool:
    """Whether ``x.run_in_executor(executor, f, *args)`` has the shape the
    rewrite takes: no keywords, the executor and the function not starred,
    the executor inert."""
    return len(node.args) >= 2 and not node.keywords \
        and not any(isinstance(a, ast.Starred) for a in node.args[:2]) \
        and _inert(node.args[0])


def _own_scope(function: ast.AsyncFunctionDef,
               ) -> tuple[list[ast.AST], set[str], dict[int, ast.AST]]:
    """The nodes of ``function``'s own scope (comprehensions in, nested
    functions, lambdas and classes out), the names written anywhere in what is
    out (nested scopes' names and parameters: a closure may read or rebind a
    local), and each own node's parent."""
    own: list[ast.AST] = []
    nested: set[str] = set()
    parents: dict[int, ast.AST] = {}
    todo: list[ast.AST] = list(function.body)
    for statement in function.body:
        parents[id(statement)] = function
    while todo:
        node = todo.pop()
        own.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            if not isinstance(node, ast.Lambda):
                nested.add(node.name)
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name):
                    nested.add(inner.id)
                elif isinstance(inner, ast.arg):
                    nested.add(inner.arg)
            continue
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
            todo.append(child)
    return own, nested, parents


def offload_loops(walker: SyncWalker, function: ast.AsyncFunctionDef,
                  ) -> tuple[list[ast.Assign], list[ast.Call]]:
    """``loop = asyncio.get_running_loop()`` and the ``await
    loop.run_in_executor(executor, f, *args)`` calls of ``function`` whose
    local is only ever used so (aiohttp 3.14.5 ``payload.py``, redis.asyncio's
    ``http_client.py``): the assignments to drop and the calls
    :func:`thread_offload` rewrites to ``f(*args)``, as it does the one-line
    ``asyncio.get_running_loop().run_in_executor(...)``.

    A local qualifies when each of its bindings is a statement of its own
    ``name = <loop getter>()`` in a block with other statements, and each read
    of it is the receiver of ``run_in_executor``, awaited where it is called,
    in the rewrite's shape (:func:`_offload_shape`), outside an f-string. Any
    other binding (a parameter, a loop, ``global``, ``except ... as``, an
    import), any other use (kept, handed on, another loop method, a closure
    reading it) leaves the local and its refusals as they were."""
    own, nested, parents = _own_scope(function)
    arguments = function.args
    spoiled = set(nested) | {a.arg for a in (*arguments.posonlyargs, *arguments.args,
                                             *arguments.kwonlyargs)}
    spoiled.update(a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None)
    bindings: dict[str, list[ast.Assign]] = {}
    text = walker.source.text
    for node in own:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call) \
                and not node.value.args and not node.value.keywords \
                and walker.qualified_name(node.value.func) in LOOP_GETTERS:
            name = node.targets[0].id
            parent = parents[id(node)]
            block: list[ast.AST] = next(
                (getattr(parent, field) for field in ("body", "orelse", "finalbody")
                 if node in getattr(parent, field, ())), [])
            start, end = walker.source.span(node)
            line_start = text.rfind("\n", 0, start) + 1
            line_end = text.find("\n", end)
            rest = text[end:line_end if line_end >= 0 else len(text)].strip()
            if len(block) < 2 or text[line_start:start].strip() \
                    or (rest and not rest.startswith("#")):
                spoiled.add(name)
            bindings.setdefault(name, []).append(node)
    drops = {id(b.targets[0]) for found in bindings.values() for b in found}
    uses: dict[str, list[ast.Call]] = {}
    for node in own:
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            spoiled.update(node.names)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            spoiled.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            spoiled.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            spoiled.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            spoiled.add(node.rest)
        elif isinstance(node, ast.Name) and node.id in bindings:
            if not isinstance(node.ctx, ast.Load):
                if id(node) not in drops:
                    spoiled.add(node.id)
                continue
            attribute = parents.get(id(node))
            call = parents.get(id(attribute))
            awaited = parents.get(id(call))
            if not (isinstance(attribute, ast.Attribute) and attribute.attr == "run_in_executor"
                    and isinstance(call, ast.Call) and call.func is attribute
                    and isinstance(awaited, ast.Await) and _offload_shape(call)):
                spoiled.add(node.id)
                continue
            above: ast.AST | None = awaited
            while above is not None and not isinstance(above, ast.JoinedStr):
                above = parents.get(id(above))
            if above is not None:
                spoiled.add(node.id)
                continue
            uses.setdefault(node.id, []).append(call)
    names = [n for n in bindings if n not in spoiled and n in uses]
    return [b for n in names for b in bindings[n]], [c for n in names for c in uses[n]]


def _past_blanks(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n\f\\":
        position += 1
    return position


def thread_offload(walker: SyncWalker, node: ast.Call) -> bool:
    """Rewrite ``node``, awaited where it is made, when it hands a function to
    a thread (see the module): True when done (the function and its
    arguments visited), False to leave it to the rest of the walk.

    anyio's and trio's ``run_sync`` have no row in the table: when they
    cannot be rewritten, the refusal is here, at the call."""
    qualified = walker.qualified_name(node.func)
    if qualified not in RUN_SYNC_CALLS:
        return _offload(walker, node, qualified)
    if _offload(walker, node, qualified):
        return True
    why = _run_sync_unfaithful(node) or "a comment sits where the call would be cut"
    walker.report(node, f"`{qualified}(...)` runs a function in a thread; its sync twin "
                  f"calls the function, but {why}: spell it `await {qualified}(f, *args)` "
                  "(run_sync's own keywords given names or constants, no comment inside), "
                  "or mark the statement '# ambidex: async-only'")
    for child in ast.iter_child_nodes(node):
        walker.visit(child)
    return True


def _offload(walker: SyncWalker, node: ast.Call, qualified: str | None) -> bool:
    func = node.func
    own: list[ast.keyword] = []  # run_sync's keywords, dropped
    if qualified in THREAD_CALLS:
        if not node.args or isinstance(node.args[0], ast.Starred):
            return False
        dropped: list[ast.expr] = []
        target = node.args[0]
        rest: list[ast.AST] = [*node.args[1:], *node.keywords]
    elif qualified in RUN_SYNC_CALLS:
        own = node.keywords
        if _run_sync_unfaithful(node) is not None:
            return False
        dropped = []
        target = node.args[0]
        rest = list(node.args[1:])
    elif isinstance(func, ast.Attribute) and func.attr == "run_in_executor" and (
            (isinstance(func.value, ast.Call) and not func.value.args
             and not func.value.keywords
             and walker.qualified_name(func.value.func) in LOOP_GETTERS)
            or id(node) in walker.loop_offloads):
        if not _offload_shape(node):
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
    own_start = own_end = 0
    if own:
        # run_sync's keywords come after every positional argument (checked):
        # they go from the end of the last positional one to their own end.
        own_start = source.span(rest[-1])[1] if rest else target_end
        own_end = max(source.span(k)[1] for k in own)
        if "#" in text[own_start:own_end]:
            return False
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
    gap_end = source.span(rest[0])[0] if rest else (own_start if own else call_end - 1)
    gap = text[target_end:gap_end]
    comma = gap.find(",")
    if "#" in text[call_start:head_end] or "#" in gap[:comma if comma >= 0 else len(gap)] \
            or head_end > target_start or (rest and comma < 0):
        return False
    walker.edits.replace(call_start, head_end, "")
    if own:
        walker.edits.replace(own_start, own_end, "")
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
    for keyword in own:
        walker.touched.update(n.id for n in ast.walk(keyword.value) if isinstance(n, ast.Name))
    walker.visit(target)
    for argument in rest:
        walker.visit(argument)
    return True


__all__ = ["LOOP_GETTERS", "RUN_SYNC_CALLS", "THREAD_CALLS", "offload_loops", "thread_offload"]
