"""ambidex vs unasync on the same async code: equal wherever unasync is right.

Both outputs are parsed and compared as syntax trees, which is "modulo
whitespace and comments". Where the trees differ, every difference must be
one of the deliberate ones below, each with its reason; anything else fails
the test. The corpus is this suite's realistic package plus the modules of
the installed ``redis.asyncio`` that ambidex converts (the others use
async-only APIs such as ``asyncio.gather`` and are refused with located
errors, which is checked too).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio
import tokenize_rt
import unasync

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

#: Where ambidex and unasync deliberately differ, and why ambidex is right.
DELIBERATE = {
    "asyncio twin": "unasync leaves asyncio.sleep / asyncio.Lock / asyncio.Event... in sync "
    "code, where they return never-awaited coroutines or need a running loop; ambidex "
    "uses the rule table's twin (time.sleep, threading.Lock, ...)",
    "method twin": "aclose / enter_async_context are the async names of close / enter_context: "
    "unasync keeps them, so the sync object is asked for a method it does not have",
    "builtin twin": "anext() / aiter() have sync twins next() / iter(); unasync keeps them",
    "coroutine typing": "Awaitable[T] and Coroutine[Any, Any, T] describe a coroutine, which "
    "sync code does not have: ambidex writes T, unasync keeps the coroutine type (and a "
    "union of both, X | Awaitable[X], is X: `None | None` raises where it is evaluated)",
    "generator arity": "typing.Generator takes three arguments; unasync turns "
    "AsyncGenerator[Y, S] into Generator[Y, S], which type checkers reject",
    "foreign Async names": "unasync renames every Async* name to Sync*, including other "
    "libraries' (AsyncExitStack -> SyncExitStack does not exist) and any string that is "
    "exactly such a name, prose or not; ambidex renames the names the source defines and "
    "the ones the table or the user names, in code and in strings the code uses as names",
    "thread offload": "`loop = asyncio.get_event_loop()` then `await loop.run_in_executor(ex, "
    "f, *a)`: unasync keeps both, and the sync code gets a future from a loop that is not "
    "running and returns it; ambidex calls f(*a) and drops the local",
    "flavour markers": "IS_ASYNC branches and '# ambidex: async-only' statements are resolved "
    "by ambidex; unasync keeps both colours' code",
}

CORPUS = Path(__file__).parent / "corpus" / "_async"
REDIS = Path(redis.asyncio.__file__).parent


def unasync_text(source: str) -> str:
    rule = unasync.Rule("/", "/", additional_replacements={"_async": "_sync"})
    tokens = tokenize_rt.src_to_tokens(source)
    return str(tokenize_rt.tokens_to_src(rule._unasync_tokens(tokens)))


def defined_async_names(modules: dict[str, str]) -> set[str]:
    names = set()
    for text in modules.values():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and re.match(r"Async[A-Z]", node.name):
                names.add(node.name)
    return names


def _body(tree: ast.Module) -> list[ast.stmt]:
    return [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]


Pair = tuple[ast.AST, ast.AST]


def differences(u: object, a: object, outer: tuple[Pair, ...] = ()) -> Iterator[list[Pair]]:
    """The smallest pairs of subtrees where the trees differ, each with its enclosing pairs
    (innermost first), so that a difference can be judged in its context."""
    if type(u) is not type(a) or not isinstance(u, ast.AST):
        if type(u) is not type(a):
            yield list(outer)
        return
    assert isinstance(a, ast.AST)
    here = ((u, a), *outer)
    for name in u._fields:
        uv, av = getattr(u, name, None), getattr(a, name, None)
        if isinstance(uv, list) and isinstance(av, list):
            if len(uv) != len(av):
                yield list(here)
                return
            for x, y in zip(uv, av, strict=True):
                if isinstance(x, ast.AST):
                    yield from differences(x, y, here)
                elif x != y:
                    yield list(here)
                    return
        elif isinstance(uv, ast.AST):
            yield from differences(uv, av, here)
        elif uv != av:
            yield list(here)
            return


class _DropLoops(ast.NodeTransformer):
    """``loop = asyncio.get_event_loop()`` goes; ``loop.run_in_executor(ex, f, *a)`` is
    ``f(*a)``."""

    def __init__(self, loops: set[str]) -> None:
        self.loops = loops

    def visit_Assign(self, node: ast.Assign) -> ast.AST | None:
        if any(isinstance(t, ast.Name) and t.id in self.loops for t in node.targets):
            return None
        return self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "run_in_executor" \
                and isinstance(func.value, ast.Name) and func.value.id in self.loops:
            return ast.Call(node.args[1], node.args[2:], [])
        return node


class _Deliberate(ast.NodeTransformer):
    """Applies to unasync's tree the changes ambidex makes on purpose (tree-level ones)."""

    def __init__(self) -> None:
        self.applied: set[str] = set()

    def visit_If(self, node: ast.If) -> ast.AST | list[ast.stmt] | None:
        test = node.test
        flag = isinstance(test, ast.Name) and test.id == "IS_ASYNC"
        negated = isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) \
            and isinstance(test.operand, ast.Name) and test.operand.id == "IS_ASYNC"
        if not (flag or negated):
            return self.generic_visit(node)
        self.applied.add("flavour markers")
        kept = node.orelse if flag else node.body
        return [self.visit(statement) for statement in kept] or None

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        if any(isinstance(t, ast.Name) and t.id == "IS_ASYNC" for t in node.targets):
            self.applied.add("flavour markers")
            node.value = ast.Constant(False)
        return self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        getters = {"asyncio.get_event_loop()", "asyncio.get_running_loop()"}
        loops = {t.id for s in ast.walk(node) if isinstance(s, ast.Assign)
                 and ast.unparse(s.value) in getters for t in s.targets if isinstance(t, ast.Name)}
        receivers = {id(c.func.value) for c in ast.walk(node) if isinstance(c, ast.Call)
                     and isinstance(c.func, ast.Attribute) and c.func.attr == "run_in_executor"}
        for name in ast.walk(node):
            if isinstance(name, ast.Name) and name.id in loops and isinstance(name.ctx, ast.Load) \
                    and id(name) not in receivers:
                loops.discard(name.id)
        if loops:
            node = _DropLoops(loops).visit(node)
            self.applied.add("thread offload")
        return self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)  # Awaitable[X] is X by now: X | X says X
        if not isinstance(node.op, ast.BitOr):
            return node
        operands: list[ast.expr] = []
        current: ast.expr = node
        while isinstance(current, ast.BinOp) and isinstance(current.op, ast.BitOr):
            operands.append(current.right)
            current = current.left
        operands = [current, *reversed(operands)]
        kept = [o for i, o in enumerate(operands)
                if ast.dump(o) not in {ast.dump(p) for p in operands[:i]}]
        if len(kept) == len(operands):
            return node
        self.applied.add("coroutine typing")
        result = kept[0]
        for operand in kept[1:]:
            result = ast.BinOp(result, ast.BitOr(), operand)
        return result

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        name = ast.unparse(node.value).rsplit(".", 1)[-1]
        elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if name == "Awaitable":
            self.applied.add("coroutine typing")
            return node.slice
        if name == "Coroutine" and len(elements) == 3:
            self.applied.add("coroutine typing")
            return elements[2]
        if name == "Generator" and len(elements) < 3:
            self.applied.add("generator arity")
            node.slice = ast.Tuple([*elements, *[ast.Constant(None)] * (3 - len(elements))])
        return node


def _table_twins() -> tuple[dict[str, str], dict[str, str]]:
    """(asyncio.X -> its sync twin, AsyncX -> its twin's name) from the rule table."""
    dotted, names = {}, {}
    for rule in DEFAULT_TABLE.rules:
        if rule.async_ and rule.sync:
            if rule.async_.startswith("asyncio."):
                dotted[rule.async_] = rule.sync
            names[rule.async_.rsplit(".", 1)[-1]] = rule.sync.rsplit(".", 1)[-1]
    return dotted, names


_DOTTED_TWINS, _NAME_TWINS = _table_twins()
_TEXT_RULES: list[tuple[str, re.Pattern[str], str]] = [
    ("method twin", re.compile(r"\baclose\b"), "close"),
    ("method twin", re.compile(r"\benter_async_context\b"), "enter_context"),
    ("builtin twin", re.compile(r"\banext\("), "next("),
    ("builtin twin", re.compile(r"\baiter\("), "iter("),
]


def normalize(node: ast.AST, defined: set[str]) -> tuple[str, set[str]]:
    """unasync's text of ``node`` with every deliberate difference applied, and which
    ones applied. ``defined`` are the Sync* names ambidex was told to produce."""
    transformer = _Deliberate()
    tree = transformer.visit(ast.parse(ast.unparse(node)))
    for body_owner in ast.walk(tree):
        for field_name in ("body", "orelse", "finalbody"):
            body = getattr(body_owner, field_name, None)
            if isinstance(body, list) and body == [] and field_name == "body":
                body.append(ast.Pass())
    text = ast.unparse(tree)
    applied = set(transformer.applied)
    for dotted, twin in _DOTTED_TWINS.items():
        new = re.sub(rf"\b{re.escape(dotted)}\b", twin, text)
        if new != text:
            applied.add("asyncio twin")
            text = new
    for reason, pattern, replacement in _TEXT_RULES:
        new = pattern.sub(replacement, text)
        if new != text:
            applied.add(reason)
            text = new

    def foreign(match: re.Match[str]) -> str:
        name = match.group(0)
        if name in defined:
            return name
        applied.add("foreign Async names")
        original = "Async" + name[4:]
        return _NAME_TWINS.get(original, original)

    text = re.sub(r"\bSync[A-Z]\w*", foreign, text)
    return text, applied


def explain(u: ast.AST, a: ast.AST, defined: set[str]) -> set[str] | None:
    """The deliberate differences that turn unasync's ``u`` into ambidex's ``a``
    exactly, or None when they do not."""
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    if isinstance(u, defs) and isinstance(a, defs) and u.name != a.name:
        # Judge a definition's name alone, not everything in its body.
        text, applied = normalize(ast.Name(u.name), defined)
        return applied if text == a.name else None
    text, applied = normalize(u, defined)
    if text == ast.unparse(a) or ast.dump(ast.parse(text)) == ast.dump(ast.parse(ast.unparse(a))):
        return applied
    return None


def judge(path: str, theirs_text: str, ours_text: str, seen: Counter[str],
          unexplained: list[str], defined: set[str]) -> int:
    """Compare one module's two outputs; returns the number of statements compared."""
    u_body, a_body = _body(ast.parse(theirs_text)), _body(ast.parse(ours_text))
    if len(u_body) != len(a_body):
        unexplained.append(f"{path}: {len(u_body)} vs {len(a_body)} statements")
        return 0
    for u_statement, a_statement in zip(u_body, a_body, strict=True):
        for context in differences(u_statement, a_statement):
            # The closest enclosing node whose difference the deliberate ones explain.
            for u, a in context[:4]:
                reasons = explain(u, a, defined)
                if reasons:
                    seen.update(reasons)
                    break
            else:
                u, a = context[0]
                unexplained.append(
                    f"{path}:{getattr(u, 'lineno', '?')}: unasync {ast.unparse(u)[:120]!r}"
                    f" vs ambidex {ast.unparse(a)[:120]!r}")
    return len(u_body)


def compare(modules: dict[str, str]) -> tuple[Counter[str], list[str], int]:
    """(deliberate differences seen, unexplained ones, statements compared)."""
    renames = {name: "Sync" + name[5:] for name in defined_async_names(modules)}
    result = to_sync(modules, table=DEFAULT_TABLE, renames=renames)
    seen: Counter[str] = Counter()
    unexplained: list[str] = []
    statements = 0
    for path, output in result.outputs.items():
        if any(d.error and d.path == path for d in result.diagnostics):
            continue
        statements += judge(path, unasync_text(modules[path]), output, seen, unexplained,
                            set(renames.values()))
    return seen, unexplained, statements


@pytest.mark.parametrize(
    ("mistake", "fixed"),
    [
        ("time.sleep(0)", "time.sleep(1)"),          # a changed argument
        ("line = stream", "lines = stream"),         # a renamed variable
        ("return self", "return None"),              # a changed value
        ("def echo(", "def echo2("),                 # a renamed method
    ],
)
def test_the_comparison_catches_a_wrong_output(mistake: str, fixed: str) -> None:
    # The judge must not explain away real differences: sabotage a correct output.
    modules = {f"corpus/_async/{p.name}": p.read_text() for p in sorted(CORPUS.glob("*.py"))}
    renames = {name: "Sync" + name[5:] for name in defined_async_names(modules)}
    outputs = to_sync(modules, table=DEFAULT_TABLE, renames=renames).outputs
    sabotaged = [path for path, text in outputs.items() if mistake in text]
    assert sabotaged, mistake
    path = sabotaged[0]
    unexplained: list[str] = []
    judge(path, unasync_text(modules[path]), outputs[path].replace(mistake, fixed, 1),
          Counter(), unexplained, set(renames.values()))
    assert unexplained != []


def test_the_realistic_corpus_matches_unasync_but_for_deliberate_differences() -> None:
    modules = {f"corpus/_async/{p.name}": p.read_text() for p in sorted(CORPUS.glob("*.py"))}
    seen, unexplained, statements = compare(modules)
    assert unexplained == []
    assert statements >= 10
    # The corpus exercises these on purpose; each is a place where unasync is wrong.
    assert {"asyncio twin", "method twin", "flavour markers", "coroutine typing",
            "generator arity"} <= set(seen)


def redis_modules() -> dict[str, str]:
    return {
        "redis/asyncio/" + p.relative_to(REDIS).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(REDIS.rglob("*.py"))
    }


def test_redis_asyncio_matches_unasync_where_ambidex_converts_it() -> None:
    _seen, unexplained, statements = compare(redis_modules())
    assert unexplained == []
    assert statements >= 50


def test_redis_asyncio_modules_ambidex_refuses_are_refused_for_async_only_apis() -> None:
    modules = redis_modules()
    result = to_sync(modules, table=DEFAULT_TABLE, renames={})
    errors = [d for d in result.diagnostics if d.error]
    assert errors, "redis.asyncio uses asyncio.gather & co: some modules must be refused"
    # Redis.__await__ (`return self.initialize().__await__()`) has no sync meaning:
    # its sync twin would call itself for ever (test_sync_awaitable_objects.py).
    # `await loop.run_in_executor(...)` on a loop the port cannot type is refused at
    # the await (test_sync_thread_offloads.py), beside `loop = asyncio.get_event_loop()`;
    # so is awaiting a method that redis/_parsers (outside the port) defines as
    # `async def` (AsyncCommandsParser.initialize: test_sync_outside_classes.py).
    # A method awaited on an attribute kept from a parameter annotated with such a
    # class (`self._policy_resolver = policy_resolver`) is refused the same way.
    kept = r"(made by [\w.]+\(\)|annotated [\w.]+)"
    method = re.compile(r"`[\w.]+\.(\w+)\(\.\.\.\)`(: [\w.]+ is " + kept + "( or " + kept
                        + r")*, .* is a "
                        r"coroutine function \(async def in | is an event loop's method)")
    allowed = re.compile(r"(asyncio\.\w+(\(\))? has no sync twin|the coroutine of .* is not "
                         r"awaited where it is made|instances of [\w.]+ are awaitable|"
                         + method.pattern + ")")
    assert [str(d) for d in errors if not allowed.match(d.message)] == []
    for diagnostic in errors:
        line = modules[diagnostic.path].splitlines()[diagnostic.line - 1]
        if "are awaitable" in diagnostic.message:
            assert "__await__" in line, (str(diagnostic), line)
            continue
        awaited = method.match(diagnostic.message)
        if awaited is not None:
            assert f".{awaited.group(1)}(" in line, (str(diagnostic), line)
            continue
        name = re.search(r"(asyncio\.\w+|[\w.]+\(\))", diagnostic.message)
        assert name is not None
        tail = name.group(1).removesuffix("()").split(".")[-1]
        assert tail in line, (str(diagnostic), line)


@pytest.mark.parametrize("reason", sorted(DELIBERATE))
def test_each_deliberate_difference_has_a_reason(reason: str) -> None:
    assert len(DELIBERATE[reason]) > 40
