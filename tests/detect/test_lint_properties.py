"""The lint on random call graphs: exactly the blocking calls reachable from a coroutine.

Each example is a module of plain and ``async def`` functions that sleep,
call each other (recursion included), or hand each other to
``asyncio.to_thread``. A ``time.sleep`` must be reported exactly when some
coroutine reaches it through plain calls (not through a thread, and not
through another coroutine, which is a root of its own).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from ambidex.detect._lint import lint_sources


@dataclass(frozen=True)
class _Step:
    kind: str  # "sleep", "call", "thread"
    target: int = 0


@dataclass(frozen=True)
class _Function:
    is_async: bool
    steps: tuple[_Step, ...]


_step = st.one_of(
    st.just(_Step("sleep")),
    st.builds(_Step, st.sampled_from(["call", "thread"]), st.integers(0, 6)),
)
_program = st.lists(
    st.builds(_Function, st.booleans(), st.lists(_step, max_size=4).map(tuple)),
    min_size=1,
    max_size=7,
)


def _render(program: list[_Function]) -> tuple[str, dict[int, list[int]]]:
    """The module, and the lines of each function's sleeps."""
    lines = ["import asyncio", "import time", ""]
    sleeps: dict[int, list[int]] = {}
    for index, function in enumerate(program):
        lines.append(f"{'async ' if function.is_async else ''}def f{index}() -> None:")
        for step in function.steps:
            target = step.target % len(program)
            callee = program[target]
            if step.kind == "sleep":
                sleeps.setdefault(index, []).append(len(lines) + 1)
                lines.append("    time.sleep(0)")
            elif step.kind == "thread" and not callee.is_async and function.is_async:
                lines.append(f"    await asyncio.to_thread(f{target})")
            elif callee.is_async and function.is_async:
                lines.append(f"    await f{target}()")
            elif not callee.is_async:
                lines.append(f"    f{target}()")
        lines += ["    return None", ""]
    return "\n".join(lines), sleeps


def _expected(program: list[_Function], sleeps: dict[int, list[int]]) -> set[int]:
    """Lines of the sleeps some coroutine reaches through plain calls."""
    reached: set[int] = set()
    todo = [i for i, f in enumerate(program) if f.is_async]
    while todo:
        index = todo.pop()
        if index in reached:
            continue
        reached.add(index)
        for step in program[index].steps:
            target = step.target % len(program)
            threaded = step.kind == "thread" and program[index].is_async
            if step.kind != "sleep" and not program[target].is_async and not threaded:
                todo.append(target)
    return {line for index in reached for line in sleeps.get(index, [])}


@settings(max_examples=150, deadline=None)
@given(_program)
def test_exactly_the_sleeps_a_coroutine_reaches_through_plain_calls_are_found(
    program: list[_Function],
) -> None:
    source, sleeps = _render(program)
    result = lint_sources({"m.py": source})
    assert result.syntax_errors == []
    found = {f.line for f in result.findings if f.code == "AMB101"}
    assert found == _expected(program, sleeps), source
