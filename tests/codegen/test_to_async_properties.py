"""sync -> async on random call graphs: the output compiles, and exactly the right functions
changed colour.

Each example is a module of functions that sleep, take a lock (around nothing,
or around a sleep), do nothing blocking, call each other (recursion included)
and iterate each other when they are generators. A function must become async
exactly when it reaches a blocking primitive through calls or loops; the lock
becomes an asyncio lock, and every block taking it ``async with``, exactly when
some block it guards awaits (else it stays a threading lock: held across no
await, it is right and cheaper); every other function must stay plain; and the
output must compile (``await`` / ``async for`` / ``async
with`` outside an ``async def`` is a compile-time error, so compiling checks
that every call site was handled).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_async import to_async


@dataclass(frozen=True)
class _Step:
    kind: str  # "sleep", "lock", "locked_sleep", "pure", "call" (a statement), "nested"
    target: int = 0


@dataclass(frozen=True)
class _Function:
    generator: bool
    steps: tuple[_Step, ...]


_step = st.one_of(
    st.just(_Step("sleep")),
    st.just(_Step("lock")),
    st.just(_Step("locked_sleep")),
    st.just(_Step("pure")),
    st.builds(_Step, st.sampled_from(["call", "nested"]), st.integers(min_value=0, max_value=5)),
)
_function = st.builds(_Function, st.booleans(), st.lists(_step, max_size=4).map(tuple))
_program = st.lists(_function, min_size=1, max_size=6)


def _render(program: list[_Function]) -> str:
    lines = ["import threading", "import time", "", "LOCK = threading.Lock()", ""]
    for index, function in enumerate(program):
        lines.append(f"def f{index}() -> object:")
        for step in function.steps:
            if step.kind == "sleep":
                lines.append("    time.sleep(0)")
            elif step.kind == "lock":
                lines += ["    with LOCK:", "        pass"]
            elif step.kind == "locked_sleep":
                lines += ["    with LOCK:", "        time.sleep(0)"]
            elif step.kind == "pure":
                lines.append("    x = len('abc')")
            else:
                target = step.target % len(program)
                generator = program[target].generator
                if step.kind == "call" and generator:
                    lines += [f"    for _ in f{target}():", "        pass"]
                elif step.kind == "call":
                    lines.append(f"    f{target}()")
                elif generator:
                    lines.append(f"    y = sorted([str(v) for v in f{target}()])[0:1]")
                else:
                    lines.append(f"    y = str(f{target}()).upper() + repr([f{target}()][0])")
        lines.append("    yield 1" if function.generator else "    return None")
        lines.append("")
    return "\n".join(lines)


def _lock_converts(program: list[_Function]) -> bool:
    return any(s.kind == "locked_sleep" for f in program for s in f.steps)


def _must_be_async(program: list[_Function]) -> set[int]:
    blocking = {"sleep", "locked_sleep", *(("lock",) if _lock_converts(program) else ())}
    reaches = {i for i, f in enumerate(program) if any(s.kind in blocking for s in f.steps)}
    changed = True
    while changed:
        changed = False
        for i, function in enumerate(program):
            if i in reaches:
                continue
            callees = {
                s.target % len(program) for s in function.steps if s.kind in ("call", "nested")
            }
            if callees & reaches:
                reaches.add(i)
                changed = True
    return reaches


@settings(max_examples=150, deadline=None)
@given(_program)
def test_random_call_graphs_port_to_code_that_compiles_with_the_right_colours(
    program: list[_Function],
) -> None:
    source = _render(program)
    result = to_async({"m.py": source}, table=DEFAULT_TABLE, renames={})
    assert result.diagnostics == [], [str(d) for d in result.diagnostics]
    output = result.outputs["m.py"]
    compile(output, "m.py", "exec", dont_inherit=True)
    expected = _must_be_async(program)
    for index in range(len(program)):
        is_async = f"async def f{index}()" in output
        assert is_async == (index in expected), (index, source, output)
    # Porting is idempotent: the output has nothing left to port.
    again = to_async({"m.py": output}, table=DEFAULT_TABLE, renames={})
    assert again.diagnostics == [] and again.outputs["m.py"] == output
    # The lock is the module's: one colour for it, whoever takes it.
    takes_lock = any(s.kind in ("lock", "locked_sleep") for f in program for s in f.steps)
    if _lock_converts(program):
        assert "LOCK = asyncio.Lock()" in output and "    with LOCK" not in output
    elif takes_lock:
        assert "LOCK = threading.Lock()" in output and "async with LOCK" not in output
    if not expected:
        assert "await" not in output
