"""The lint's shortcuts on a large tree skip work, never findings.

On a site-packages the blocking check resolves only what it needs: the
functions handed to calls (for the slots they land in) and the calls of what
a coroutine reaches. Most names passed as arguments cannot name a function
(a parameter without a default, a loop item, a literal), and the call graph
tells them from their bindings without evaluating them. These tests pin that
the shortcut is sound -- a name it skips never evaluates to a function -- and
that the lazy graph hands over exactly what a fully resolved one does.
"""

from __future__ import annotations

import ast
import asyncio
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ambidex._callgraph import Call, CallKind, _resolve, build, resolve_again
from ambidex._rules import DEFAULT_TABLE
from ambidex._unawaited import Unawaited, async_side, calls_worth_checking, find_unawaited
from tests.detect.conftest import parsed

ROOT = Path(__file__).resolve().parents[2]

# Every way a name can be bound, and names that do or may name a function.
_KINDS = textwrap.dedent("""
    import functools
    import socket
    from types import ModuleType
    from collections.abc import Callable

    def helper(x):
        return x

    alias = helper
    literal = "text"
    counted = len(literal)

    class Box:
        items: list[int]

        def run(self, plain, fallback=helper, *rest, socket_module: ModuleType = socket,
                hook: Callable[[], None] = helper, number: int = 3, **extra):
            first, second = (1, 2)
            for item in [1, 2]:
                helper(item)
            with open("f") as handle:
                helper(handle)
            chosen = helper if plain else alias
            either = plain or helper
            bound = functools.partial(helper, 1)
            listed = [helper]
            squared = [n * n for n in range(3)]
            total = number + 1
            helper(self, plain, fallback, rest, socket_module, hook, number, extra,
                   first, second, item, handle, chosen, either, bound, listed, squared,
                   total, alias, literal, counted, Box, len, functools, helper)
            lambda: helper(plain)
            helper(self.run, socket.create_connection)
""")


def _modules() -> dict[str, str]:
    modules = {"kinds.py": _KINDS}
    for folder in ("src/ambidex", "examples"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            modules[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    return modules


def test_a_name_whose_bindings_cannot_give_a_function_never_evaluates_to_one() -> None:
    modules = _modules()
    graph = build(modules, DEFAULT_TABLE, trees=parsed(modules), keep_sites=True, lazy=True)
    resolver = graph.resolver
    skipped = kept = 0
    told: dict[str, bool] = {}
    for function in graph.functions.values():
        for pending in function.sites():
            if pending.kind is not CallKind.REF or pending.offload_parent is None:
                continue
            node = pending.node
            assert isinstance(node, (ast.Name, ast.Attribute))
            may = resolver.may_be_function(node, function)
            value = resolver.eval(node, function)
            if not may:
                skipped += 1
                assert value is None or value.function is None, (
                    function.display, ast.unparse(node)
                )
            else:
                kept += 1
            if function.module.path == "kinds.py" and isinstance(node, ast.Name):
                told[node.id] = may
    # The shortcut is not vacuous: it skips most arguments of a real tree.
    assert skipped > kept > 0
    never = {"self", "plain", "number", "first", "second", "item", "listed", "squared",
             "total", "literal", "Box", "len", "rest", "extra"}
    # Defaults that name code, imports, functions, and any value that is a name,
    # a call's result or a choice between values: these are evaluated.
    maybe = {"fallback", "socket_module", "hook", "handle", "chosen", "either", "bound",
             "alias", "counted", "functools", "helper"}
    assert {name for name in never | maybe if told[name]} == maybe


def test_the_lazy_graph_hands_over_the_functions_a_resolved_graph_does() -> None:
    modules = _modules()

    def handed(lazy: bool) -> list[tuple[str, int, int, str, str]]:
        graph = build(modules, DEFAULT_TABLE, trees=parsed(modules), keep_sites=True, lazy=lazy)
        found = []
        for call in graph.passed_references():
            assert call.passed_to is not None
            target, param = call.passed_to
            found.append((call.caller.module.path, call.line, call.col, target.key, param))
        return found

    eager = handed(lazy=False)
    assert eager  # the tree hands callables around (retry helpers, callbacks)
    assert handed(lazy=True) == eager


# Every reason the never-awaited check has to look at a call, and calls it ignores.
_REASONS = textwrap.dedent("""
    import asyncio
    import contextlib
    import socket
    from typing import TYPE_CHECKING

    from ambidex.io import AsyncSocket

    async def numbers():
        yield 1

    async def work():
        await asyncio.sleep(0)

    def hands_back():
        return work()

    async def main(host):
        sock = await AsyncSocket.create_connection((host, 1))
        with contextlib.closing(sock):
            pass
        sock.recv(10, socket.MSG_PEEK)
        sock.sendfile(None)
        sock.settimeout(3)
        for number in numbers():
            print(number)
        hands_back()
        work()
        asyncio.sleep(1)
        next(iter([]))
        if TYPE_CHECKING:
            work()
        print(len("x"), str(host).upper())
""")


def _never_awaited(modules: dict[str, str], keep: bool) -> tuple[list[Unawaited], int]:
    """The lint's never-awaited findings, and how many calls the graph held."""
    graph = resolve_again(
        build(modules, DEFAULT_TABLE, trees=parsed(modules), keep_sites=True),
        async_side(DEFAULT_TABLE),
        (CallKind.CALL,), keep=calls_worth_checking(DEFAULT_TABLE) if keep else None,
    )
    found = find_unawaited(modules, DEFAULT_TABLE, lenient=True, graph=graph)
    return found, sum(len(f.calls) for f in graph.functions.values())


def test_the_never_awaited_check_finds_the_same_in_the_calls_worth_checking_alone():
    modules = {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for folder in ("src/ambidex", "examples")
        for path in sorted((ROOT / folder).rglob("*.py"))
    }
    for path in sorted(Path(asyncio.__file__).parent.glob("*.py")):
        modules[f"stdlib/asyncio/{path.name}"] = path.read_text(encoding="utf-8")
    found, every = _never_awaited(modules, keep=False)
    kept_found, kept = _never_awaited(modules, keep=True)
    assert kept_found == found
    assert kept < every / 2  # no formality: most calls go
    found, _ = _never_awaited({"reasons.py": _REASONS}, keep=False)
    assert _never_awaited({"reasons.py": _REASONS}, keep=True)[0] == found
    # Every reason to look at a call stays: closing() on a twin, flags, a method
    # the twin lacks, an async generator in a for, a coroutine handed back, a
    # coroutine, a row's coroutine function.
    assert [f.line for f in found] == [20, 22, 23, 25, 27, 28, 29]


def test_the_never_awaited_check_finds_the_same_without_the_calls_slots() -> None:
    # The lint's second resolution decides no slots (resolve_again(slots=False)):
    # the slot a handed callable is called through is the blocking check's.
    modules = {**_modules(), "reasons.py": _REASONS}

    def resolved(slots: bool) -> tuple[list[Unawaited], int]:
        graph = resolve_again(
            build(modules, DEFAULT_TABLE, trees=parsed(modules), keep_sites=True),
            async_side(DEFAULT_TABLE), (CallKind.CALL,), slots=slots,
        )
        found = find_unawaited(modules, DEFAULT_TABLE, lenient=True, graph=graph)
        held = sum(call.slot is not None for f in graph.functions.values() for call in f.calls)
        return found, held

    found, with_slots = resolved(slots=True)
    assert with_slots > 0  # the tree calls what it was handed (factories, callbacks)
    assert resolved(slots=False) == (found, 0)
    assert found


def _call_fields(key: str, c: Call) -> tuple[object, ...]:
    return (
        key, c.kind, c.line, c.col, c.name, [f.key for f in c.callees],
        [f.key for f in c.overrides], c.rule, c.instance_type, c.through_self, c.slot,
    )


def test_the_lint_resolution_makes_no_plain_call_it_does_not_keep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # calls_worth_checking is asked before a plain call's Call is made: on a
    # site-packages ~100k of ~170k are not kept, and were made for nothing.
    modules = {**_modules(), "reasons.py": _REASONS}
    keep = calls_worth_checking(DEFAULT_TABLE)
    every = resolve_again(
        build(modules, DEFAULT_TABLE, keep_sites=True), async_side(DEFAULT_TABLE),
        (CallKind.CALL,),
    )
    expected = [
        _call_fields(f.key, c)
        for f in every.functions.values()
        for c in f.calls
        if keep(c, every.resolver)
    ]
    graph = build(modules, DEFAULT_TABLE, keep_sites=True)
    made: list[Call] = []

    def counted(*args: Any, **kwargs: Any) -> Call:
        call = Call(*args, **kwargs)
        made.append(call)
        return call

    monkeypatch.setattr(_resolve, "Call", counted)
    kept_graph = resolve_again(graph, async_side(DEFAULT_TABLE), (CallKind.CALL,), keep=keep)
    kept = [
        _call_fields(f.key, c)
        for f in kept_graph.functions.values()
        for c in f.calls
    ]
    assert kept == expected  # the same calls as asking each Call made
    assert len(expected) > 10
    # (next(it) is looked at as a step of a loop first: a FOR record, made.)
    assert sum(call.kind is CallKind.CALL for call in made) == len(kept)
