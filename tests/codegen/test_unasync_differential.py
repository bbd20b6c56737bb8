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
    "sync code does not have: ambidex writes T, unasync keeps the coroutine type",
    "generator arity": "typing.Generator takes three arguments; unasync turns "
    "AsyncGenerator[Y, S] into Generator[Y, S], which type checkers reject",
    "foreign Async names": "unasync renames every Async* name to Sync*, including other "
    "libraries' (AsyncExitStack -> SyncExitStack does not exist); ambidex renames the "
    "names the source defines and the ones the table or the user names",
    "flavour markers": "IS_ASYNC branches and '# ambidex: async-only' statements are resolved "
    "by ambidex; unasync keeps both colours' code",
    "strings": "unasync renames any string that is exactly an Async* name; ambidex renames "
    "strings only where the code uses them as names (__all__, annotations, getattr)",
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


def classify(u: ast.AST, a: ast.AST) -> str | None:
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    if isinstance(u, defs) and isinstance(a, defs):
        # Judge a definition by its name only, not by everything in its body.
        if u.name != a.name:
            return classify(ast.Name(u.name), ast.Name(a.name))
    us, as_ = ast.unparse(u), ast.unparse(a)
    if "IS_ASYNC" in us or "ambidex:" in us:
        return "flavour markers"
    if re.search(r"\b(Awaitable|Coroutine)\[", us):
        return "coroutine typing"
    if re.search(r"\basyncio\.", us) and not re.search(r"\basyncio\.", as_):
        return "asyncio twin"
    if re.search(r"\b(anext|aiter)\(", us):
        return "builtin twin"
    if re.search(r"\.(aclose|enter_async_context)\b|\baclose\b", us):
        return "method twin"
    if re.search(r"Generator\[", us) and as_.count(",") == us.count(",") + 1:
        return "generator arity"
    if isinstance(u, ast.Constant) and isinstance(a, ast.Constant) \
            and re.fullmatch(r"Sync\w+", str(u.value)):
        return "strings"
    if re.search(r"\bSync[A-Z]\w*", us) and re.sub(r"\bSync([A-Z])", r"Async\1", us) \
            in (as_, re.sub(r"\bSync([A-Z])", r"\1", us)):
        return "foreign Async names"
    if re.sub(r"\bSync([A-Z])", r"\1", us) == as_:
        return "foreign Async names"
    return None


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
        theirs = ast.parse(unasync_text(modules[path]))
        ours = ast.parse(output)
        u_body, a_body = _body(theirs), _body(ours)
        if len(u_body) != len(a_body):
            unexplained.append(f"{path}: {len(u_body)} vs {len(a_body)} statements")
            continue
        for u_statement, a_statement in zip(u_body, a_body, strict=True):
            statements += 1
            for context in differences(u_statement, a_statement):
                # Judge the difference by its closest enclosing node that explains it.
                reason = next((r for r in (classify(u, a) for u, a in context[:4]) if r), None)
                if reason is None:
                    u, a = context[0]
                    unexplained.append(
                        f"{path}:{getattr(u, 'lineno', '?')}: unasync {ast.unparse(u)[:120]!r}"
                        f" vs ambidex {ast.unparse(a)[:120]!r}")
                else:
                    seen[reason] += 1
    return seen, unexplained, statements


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
    allowed = re.compile(r"(asyncio\.\w+(\(\))? has no sync twin|the coroutine of .* is not "
                         r"awaited where it is made)")
    assert [str(d) for d in errors if not allowed.match(d.message)] == []
    for diagnostic in errors:
        line = modules[diagnostic.path].splitlines()[diagnostic.line - 1]
        name = re.search(r"(asyncio\.\w+|[\w.]+\(\))", diagnostic.message)
        assert name is not None
        tail = name.group(1).removesuffix("()").split(".")[-1]
        assert tail in line, (str(diagnostic), line)


@pytest.mark.parametrize("reason", sorted(DELIBERATE))
def test_each_deliberate_difference_has_a_reason(reason: str) -> None:
    assert len(DELIBERATE[reason]) > 40
