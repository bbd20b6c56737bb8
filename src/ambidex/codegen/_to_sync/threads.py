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
import re
from collections.abc import Iterator, Mapping
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
                  ) -> tuple[list[ast.Assign], list[ast.Call], list[ast.Assign]]:
    """``loop = asyncio.get_running_loop()`` and the ``await
    loop.run_in_executor(executor, f, *args)`` calls of ``function`` whose
    local is only ever used so (aiohttp 3.14.5 ``payload.py``, redis.asyncio's
    ``http_client.py``): the assignments to drop and the calls
    :func:`thread_offload` rewrites to ``f(*args)``, as it does the one-line
    ``asyncio.get_running_loop().run_in_executor(...)``, and of the assignments
    those that become ``pass`` (alone in their block, which must keep a
    statement: ``if running: loop = asyncio.get_running_loop()``).

    A local qualifies when each of its bindings is a statement of its own
    ``name = <loop getter>()`` on its own line, and each read (there may be
    none)
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
    blocks: dict[int, list[ast.AST]] = {}  # a binding -> the block it stands in
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
            if not block or text[line_start:start].strip() \
                    or (rest and not rest.startswith("#")):
                spoiled.add(name)
            blocks[id(node)] = block
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
    # A local nothing reads goes too (the offload spelled on one line left it
    # dangling): in a coroutine the getter does nothing but give the loop. Unless
    # the function may read its locals by name.
    by_name = any(isinstance(node, ast.Name) and node.id in _READS_LOCALS for node in own)
    names = [n for n in bindings if n not in spoiled and (n in uses or not by_name)]
    dropped = [b for n in names for b in bindings[n]]
    return dropped, [c for n in names for c in uses.get(n, [])], _passes(dropped, blocks)


def _passes(dropped: list[ast.Assign], blocks: dict[int, list[ast.AST]]) -> list[ast.Assign]:
    """Of the statements ``dropped``, those that become ``pass``: the first of
    each block that would be left with no statement at all."""
    gone = {id(statement) for statement in dropped}
    passes: list[ast.Assign] = []
    seen: set[int] = set()
    for statement in dropped:
        block = blocks[id(statement)]
        if id(block) not in seen and all(id(s) in gone for s in block):
            seen.add(id(block))
            first = block[0]
            assert isinstance(first, ast.Assign)
            passes.append(first)
    return passes


#: The annotations that say a parameter is the event loop.
LOOP_TYPES = frozenset({"asyncio.AbstractEventLoop", "asyncio.events.AbstractEventLoop"})
#: The builtins that read a function's locals by their names.
_READS_LOCALS = frozenset({"locals", "vars", "eval", "exec"})
#: Bases that hold no attribute of their instances.
_PLAIN_BASES = frozenset({"object", "Generic", "Protocol", "ABC"})
#: The builtins that read or set an attribute named by a string.
_BY_NAME = frozenset({"getattr", "setattr", "hasattr", "delattr"})


class PortClasses:
    """What the port's modules say of their classes and attributes, read
    without types and only when asked: a module is walked for a name only when
    its text spells that name as a word (the attribute ``_loop`` is not read in a
    module that only says ``get_running_loop``); each module at most once for
    its classes."""

    def __init__(self, trees: Mapping[str, ast.Module], texts: Mapping[str, str]) -> None:
        self._trees = trees
        self._texts = texts
        self._classes: dict[str, dict[str, set[str]]] = {}
        """Per module walked: each class name it defines -> the bases it names."""
        self._places: dict[tuple[str, str], list[tuple[ast.ClassDef | None, bool, str, int]]] = {}

    def _spelling(self, name: str) -> list[str]:
        """The modules whose text has ``name`` as a word."""
        word = re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)")
        return [path for path, text in self._texts.items()
                if name in text and word.search(text)]

    def _module_classes(self, path: str) -> dict[str, set[str]]:
        found = self._classes.get(path)
        if found is None:
            found = self._classes[path] = {}
            for node in ast.walk(self._trees[path]):
                if isinstance(node, ast.ClassDef):
                    named = found.setdefault(node.name, set())
                    for base in node.bases:
                        if isinstance(base, ast.Subscript):
                            base = base.value
                        while isinstance(base, ast.Call):
                            base = base.func
                        named.add(base.attr if isinstance(base, ast.Attribute)
                                  else base.id if isinstance(base, ast.Name) else "?")
        return found

    def bases_of(self, name: str) -> set[str] | None:
        """The last part of each base the port's classes named ``name`` (nested
        ones too) name, or None when the port defines no class of that name."""
        found: set[str] | None = None
        for path in self._spelling(name) if name.isidentifier() else ():
            named = self._module_classes(path).get(name)
            if named is not None:
                found = (found or set()) | named
        return found

    def related(self, name: str) -> tuple[set[str], set[str]]:
        """The class names that may share an instance with class ``name``: its
        bases (``"?"`` for a base that is not a name) and its subclasses in the
        port, by name, ``name`` in both."""
        up = {name}
        todo = [name]
        while todo:
            for base in self.bases_of(todo.pop()) or ():
                if base not in up:
                    up.add(base)
                    todo.append(base)
        down = {name}
        todo = [name]
        while todo:
            below = todo.pop()
            for path in self._spelling(below):  # a subclass's module spells its base
                for cls, named in self._module_classes(path).items():
                    if below in named and cls not in down:
                        down.add(cls)
                        todo.append(cls)
        return up, down

    def places(self, attr: str) -> Iterator[tuple[ast.ClassDef | None, bool, str, int]]:
        """Each place the port names the attribute ``attr`` (``x.attr``, or
        ``getattr(x, "attr")`` and the like, or the name as any other string):
        (the class it is in, or None, whether the object is ``self``, the
        module's path, the line). Module by module, each walked once for it: a
        caller that stops at the first place it cannot accept walks no more."""
        for path in self._spelling(attr):
            found = self._places.get((attr, path))
            if found is None:
                found = self._places[(attr, path)] = self._module_places(attr, path)
            yield from found

    def _module_places(self, attr: str, path: str,
                       ) -> list[tuple[ast.ClassDef | None, bool, str, int]]:
        found: list[tuple[ast.ClassDef | None, bool, str, int]] = []
        todo: list[tuple[ast.AST, ast.ClassDef | None]] = [(self._trees[path], None)]
        while todo:
            node, owner = todo.pop()
            if isinstance(node, ast.ClassDef):
                owner = node
            elif isinstance(node, ast.Attribute) and node.attr == attr:
                found.append((owner, isinstance(node.value, ast.Name)
                              and node.value.id == "self", path, node.lineno))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in _BY_NAME and len(node.args) >= 2 \
                    and isinstance(node.args[1], ast.Constant) \
                    and node.args[1].value == attr:
                first = node.args[0]
                found.append((owner, isinstance(first, ast.Name) and first.id == "self",
                              path, node.lineno))
                todo.extend((child, owner) for child in (node.args[0], *node.args[2:],
                                                         *node.keywords))
                continue
            elif isinstance(node, ast.Constant) and node.value == attr:
                # The name as a string anywhere else (object.__setattr__(self,
                # "_loop", x), self.__dict__["_loop"], __slots__): cannot tell.
                found.append((None, False, path, node.lineno))
            todo.extend((child, owner) for child in ast.iter_child_nodes(node))
        return found


def _loop_parameter(walker: SyncWalker, function: ast.FunctionDef | ast.AsyncFunctionDef,
                    name: str) -> bool:
    """Whether ``name`` is a parameter of ``function`` annotated as the event
    loop (``loop: asyncio.AbstractEventLoop``, ``"AbstractEventLoop"``), with
    no default, that the function never binds again."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaulted = {id(a) for a in positional[len(positional) - len(arguments.defaults):]} \
        | {id(a) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
           if d is not None}
    found = next((a for a in (*positional, *arguments.kwonlyargs) if a.arg == name), None)
    if found is None or id(found) in defaulted:
        return False  # a default (None, most often) is not the loop
    annotation = found.annotation
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value.strip(), mode="eval").body
        except SyntaxError:
            return False
    if annotation is None or walker.qualified_name(annotation) not in LOOP_TYPES:
        return False
    # Bound again, or a parameter of a function inside it of the same name (where
    # `self.x = loop` would be that one's).
    return not any((isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load))
                   or (isinstance(n, ast.arg) and n.arg == name and n is not found)
                   for n in ast.walk(function))


def offload_attributes(walker: SyncWalker, cls: ast.ClassDef,
                       ) -> tuple[list[ast.Assign], list[ast.Call], list[ast.Assign],
                                  dict[str, str]]:
    """``self._loop`` kept on an attribute only to hand functions to threads
    (aiormq 7.2.4 ``connection.py``: ``self._loop = loop``, a parameter
    annotated ``asyncio.AbstractEventLoop``, then ``await
    self._loop.run_in_executor(None, self._create_context)``): the calls
    :func:`thread_offload` rewrites to ``f(*args)``, the assignments to drop
    and those of them that become ``pass``, as :func:`offload_loops` gives for
    a local.

    The attribute is the loop, provably, when each assignment of ``self.<attr>``
    in the class's methods is a statement ``self.<attr> = <loop getter>()`` on
    its own line (of a private attribute: it goes, and what it gave is read by
    no one) or ``self.<attr> = loop`` with ``loop`` a parameter of the method
    annotated as the event loop and never bound again (it stays: the twin keeps
    its signature). It is used for nothing else when each read of it in the
    class is the receiver of ``run_in_executor``, awaited where it is called,
    in the rewrite's shape, outside an f-string, and nothing else in the port
    names the attribute: not on another object, not in a base or a subclass
    (by name), not through ``getattr``-like builtins, not in the class's body.
    Anything else leaves every call refused, as one on a loop the port cannot
    type is; the last item says why, per attribute, with the place."""
    text = walker.source.text
    candidates: set[str] = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.Attribute) and node.attr == "run_in_executor" \
                and isinstance(node.value, ast.Attribute) \
                and isinstance(node.value.value, ast.Name) and node.value.value.id == "self":
            candidates.add(node.value.attr)
    if not candidates:
        return [], [], [], {}
    why: dict[str, tuple[int, str]] = {}

    def spoil(attr: str, line: int, said: str) -> None:
        if attr not in why or line < why[attr][0]:
            why[attr] = (line, said)

    for attr in candidates if cls.keywords else ():  # a metaclass may do anything
        spoil(attr, cls.lineno, "the class names a metaclass or class keywords, which may "
              "set it")
    for statement in cls.body:  # bound in the class's body: a property, a default
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound = {statement.name}
        elif isinstance(statement, ast.AnnAssign) and statement.value is None:
            # `_loop: T` alone binds nothing, but a class decorator (dataclass,
            # attrs) makes it a parameter of __init__ that sets it.
            bound = {statement.target.id} if cls.decorator_list \
                and isinstance(statement.target, ast.Name) else set()
        elif not (isinstance(statement, ast.AnnAssign) and statement.value is None):
            bound = {n.id for n in ast.walk(statement)
                     if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
        else:
            continue
        for attr in bound & candidates:
            spoil(attr, statement.lineno, f"the class's body binds it at line {statement.lineno}")
    # The class's own nodes, each with its parent and the method it is in; `self`
    # in a nested function that has a parameter of that name is not the class's.
    parents: dict[int, ast.AST] = {}
    owners: dict[int, ast.FunctionDef | ast.AsyncFunctionDef | None] = {}
    todo: list[tuple[ast.AST, ast.FunctionDef | ast.AsyncFunctionDef | None]] = []
    for statement in cls.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            parents[id(statement)] = cls
            todo.extend((child, statement) for child in ast.iter_child_nodes(statement))
            for child in ast.iter_child_nodes(statement):
                parents[id(child)] = statement
        elif not isinstance(statement, ast.ClassDef):
            todo.append((statement, None))  # the body's own code: no method's `self`
    reads: dict[str, list[ast.Call]] = {}
    stores: dict[str, list[ast.Assign]] = {}
    blocks: dict[int, list[ast.AST]] = {}
    while todo:
        node, method = todo.pop()
        owners[id(node)] = method
        if isinstance(node, ast.ClassDef):
            continue  # its `self` is its own
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and any(
                a.arg == "self" for a in (*node.args.posonlyargs, *node.args.args,
                                          *node.args.kwonlyargs)):
            method = None
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
            todo.append((child, method))
        if not (isinstance(node, ast.Attribute) and node.attr in candidates
                and isinstance(node.value, ast.Name) and node.value.id == "self"):
            continue
        attr = node.attr
        parent = parents.get(id(node))
        if method is None:
            spoil(attr, node.lineno, f"it is named at line {node.lineno} where `self` may "
                  "be another object")
        elif isinstance(node.ctx, ast.Load):
            call = parents.get(id(parent))
            awaited = parents.get(id(call))
            above: ast.AST | None = awaited
            while above is not None and not isinstance(above, (ast.JoinedStr, ast.ClassDef)):
                above = parents.get(id(above))
            if isinstance(parent, ast.Attribute) and parent.attr == "run_in_executor" \
                    and isinstance(call, ast.Call) and call.func is parent \
                    and isinstance(awaited, ast.Await) and _offload_shape(call) \
                    and not isinstance(above, ast.JoinedStr):
                reads.setdefault(attr, []).append(call)
            else:
                spoil(attr, node.lineno, f"it is used otherwise at line {node.lineno}")
        elif isinstance(parent, ast.Assign) and parent.targets == [node]:
            value = parent.value
            if isinstance(value, ast.Name) and _loop_parameter(walker, method, value.id):
                continue  # stays: the parameter's value, the loop
            getter = isinstance(value, ast.Call) and not value.args and not value.keywords \
                and walker.qualified_name(value.func) in LOOP_GETTERS
            block: list[ast.AST] = next(
                (getattr(above_, field) for above_ in (parents.get(id(parent)),)
                 for field in ("body", "orelse", "finalbody")
                 if parent in getattr(above_, field, ())), [])
            start, end = walker.source.span(parent)
            line_end = text.find("\n", end)
            rest = text[end:line_end if line_end >= 0 else len(text)].strip()
            if not getter:
                spoil(attr, node.lineno, f"it is assigned at line {node.lineno} from "
                      f"`{ast.unparse(value)}`, which the port cannot tell is the event loop "
                      "(asyncio.get_running_loop(), or a parameter annotated "
                      "asyncio.AbstractEventLoop, would be)")
            elif not attr.startswith("_"):
                spoil(attr, node.lineno, f"it is a public attribute (line {node.lineno}): "
                      "code outside the port may read it")
            elif not block or text[text.rfind("\n", 0, start) + 1:start].strip() \
                    or (rest and not rest.startswith("#")):
                spoil(attr, node.lineno, f"its assignment at line {node.lineno} is not a "
                      "statement on a line of its own")
            else:
                blocks[id(parent)] = block
                stores.setdefault(attr, []).append(parent)
        else:  # unpacked, augmented, deleted, a loop's or a with's target
            spoil(attr, node.lineno, f"it is bound otherwise at line {node.lineno}")
    names = [a for a in sorted(candidates) if a in reads and a not in why]
    if names:
        port = walker.port_classes
        up, down = port.related(cls.name)
        outside = sorted(b for b in up if b not in _PLAIN_BASES and port.bases_of(b) is None)
        related = up | down
        for attr in names:
            if outside:
                spoil(attr, cls.lineno, f"the class has a base the port does not hold "
                      f"({', '.join(outside)}), which may set or read it")
            elif not any(isinstance(n, ast.Attribute) and n.attr == attr
                         and isinstance(n.ctx, ast.Store) and owners.get(id(n)) is not None
                         for n in ast.walk(cls)):
                spoil(attr, cls.lineno, "the class's methods never assign it")
            if attr in why:
                continue
            for owner, on_self, path, line in port.places(attr):
                if not ((owner is cls and on_self and _plain_reference(cls, attr))
                        or (on_self and owner is not None and owner is not cls
                            and owner.name not in related)):
                    where = f"line {line}" if path == walker.path else f"{path}:{line}"
                    spoil(attr, cls.lineno, f"the port names it elsewhere too ({where})")
                    break
        names = [a for a in names if a not in why]
    dropped = [s for a in names for s in stores.get(a, [])]
    return dropped, [c for a in names for c in reads[a]], _passes(dropped, blocks), \
        {a: said for a, (_, said) in why.items()}


def _plain_reference(cls: ast.ClassDef, attr: str) -> bool:
    """Whether the class names ``attr`` only as ``self.<attr>`` (not through
    ``getattr(self, "<attr>")``, which the walk of the class does not judge)."""
    return not any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                   and n.func.id in _BY_NAME and len(n.args) >= 2
                   and isinstance(n.args[1], ast.Constant) and n.args[1].value == attr
                   for n in ast.walk(cls))


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


__all__ = ["LOOP_GETTERS", "LOOP_TYPES", "RUN_SYNC_CALLS", "THREAD_CALLS", "PortClasses",
           "offload_attributes", "offload_loops", "thread_offload"]
