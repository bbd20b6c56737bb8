"""AMB301: a coroutine never awaited, found through the call graph.

The mistake asyncio users make most: calling a coroutine function without
``await``. ruff and flake8-async catch it when the callee is ``asyncio.sleep``
written in the same function; this rule knows every ``async def`` of the
project, the table's awaited twins, and the plain functions that hand a
coroutine back to their caller (the chain the message spells out). The same
check runs inside the sync -> async generator over its own output.
"""

from __future__ import annotations

import textwrap

from ambidex.detect._lint import NEVER_AWAITED, lint_sources

HAND_WRITTEN = textwrap.dedent(
    """\
    import asyncio

    from ambidex.io import AsyncSocket


    class Client:
        async def fetch(self, key: str) -> bytes:
            await asyncio.sleep(0)
            return key.encode()

        def fetch_later(self, key: str):
            return self.fetch(key)  # a plain function handing a coroutine back

        async def forgets(self) -> None:
            self.fetch("a")                      # line 15: never awaited
            self.fetch_later("b")                # line 16: never awaited, through fetch_later
            x = self.fetch("c")                  # line 17: stored, never used

        async def fine(self) -> None:
            await self.fetch("a")
            await self.fetch_later("b")
            task = asyncio.create_task(self.fetch("c"))
            await asyncio.gather(self.fetch("d"), *(self.fetch(k) for k in "ef"))
            async with asyncio.TaskGroup() as group:
                group.create_task(self.fetch("g"))
            coros = [self.fetch(k) for k in "hi"]
            await asyncio.wait_for(self.fetch("j"), 5)
            await asyncio.gather(*coros)
            await task


    async def raw(host: str, port: int) -> None:
        sock = await AsyncSocket.create_connection((host, port))
        sock.sendall(b"x")                       # line 34: the twin's sendall is awaited
        sock.settimeout(3)                       # plain on the twin: fine
        f = sock.makefile("rb")
        f.readline()                             # line 37: the file's readline is awaited
        await f.readline()
        sock.sendfile(f)                         # line 39: AsyncSocket has no sendfile
    """
)


def test_forgotten_awaits_are_found_with_why_the_callee_is_a_coroutine():
    result = lint_sources({"client.py": HAND_WRITTEN})
    found = {(f.line, f.code): f.message for f in result.findings if f.code == NEVER_AWAITED}
    assert sorted(line for line, _ in found) == [15, 16, 17, 34, 37, 39]
    assert "`self.fetch(...)` (Client.fetch() is async)" in found[(15, NEVER_AWAITED)]
    assert (
        "Client.fetch_later() returns the coroutine of self.fetch(...) (client.py:12)"
        in found[(16, NEVER_AWAITED)]
    )
    assert "ambidex.io.AsyncSocket.sendall is a coroutine function" in found[(34, NEVER_AWAITED)]
    assert "ambidex.io.AsyncSocketIO.readline" in found[(37, NEVER_AWAITED)]
    assert "AsyncSocket has no method `sendfile`" in found[(39, NEVER_AWAITED)]
    assert result.exit_code == 1


def test_code_that_awaits_everything_is_clean():
    clean = "\n".join(
        line if "# line" not in line else line[: len(line) - len(line.lstrip())] + "pass"
        for line in HAND_WRITTEN.splitlines()
    )
    result = lint_sources({"client.py": clean})
    assert [f for f in result.findings if f.code == NEVER_AWAITED] == []


MODULE_LEVEL = textwrap.dedent(
    """\
    import asyncio


    async def main() -> None:
        await asyncio.sleep(0)


    class Service:
        async def start(self) -> None:
            await asyncio.sleep(0)

        main()                                   # line 12: in a class body, at import


    main()                                       # line 15: at import time
    asyncio.run(main())                          # handed to asyncio.run: fine
    coro = main()                                # kept: what becomes of it is not read
    asyncio.run(coro)
    helpers = [lambda: main()]                   # in a lambda: the caller's business
    if __name__ == "__main__":
        main()                                   # line 21: run as a script
        Service().start()                        # line 22: a method, as a script
        asyncio.run(Service().start())
    """
)


def test_a_coroutine_called_at_module_level_or_in_a_class_body_is_never_awaited():
    result = lint_sources({"app.py": MODULE_LEVEL})
    found = {f.line: f.message for f in result.findings if f.code == NEVER_AWAITED}
    assert sorted(found) == [12, 15, 21, 22]
    assert "`main()` (main() is async)" in found[15]
    assert "asyncio.run" in found[15]
    assert "`Service().start()` (Service.start() is async)" in found[22]
    assert result.exit_code == 1


MODULE_LEVEL_VALUES = textwrap.dedent(
    """\
    import asyncio
    import contextlib


    async def fetch() -> tuple[int, int]:
        await asyncio.sleep(0)
        return 1, 2


    async def deco(name: str):
        await asyncio.sleep(0)


    first, second = fetch()                      # line 14: unpacked: a TypeError
    try:
        fetch()                                  # line 16: dropped, inside a try
    except OSError:
        pass
    with contextlib.suppress(OSError):
        fetch()                                  # line 20: dropped, inside a with
    for _ in range(2):
        fetch()                                  # line 22: dropped, inside a loop
    if fetch():                                  # line 23: a coroutine is always true
        pass
    total = 1 + fetch()[0]                       # line 25: subscripted


    @deco("x")                                   # line 28: applied as a decorator
    def handler() -> None:
        pass


    later = fetch()                              # kept in a name: may be run later
    batch = [fetch(), fetch()]                   # in a list named below: may be gathered
    asyncio.run(later)
    print(batch)
    """
)


def test_a_coroutine_used_as_a_value_or_dropped_inside_blocks_at_module_level_is_found():
    # The lint saw only calls standing alone at module level (the port's check
    # sees them all): these were never reported.
    result = lint_sources({"app.py": MODULE_LEVEL_VALUES})
    found = {f.line: f.message for f in result.findings if f.code == NEVER_AWAITED}
    assert sorted(found) == [14, 16, 20, 22, 23, 25, 28]
    assert "made and dropped" in found[16]
    assert "used as a value" in found[14]
    assert "`deco(...)` (deco() is async)" in found[28]


def test_a_module_that_runs_its_coroutines_with_asyncio_run_is_clean():
    clean = "\n".join(line for line in MODULE_LEVEL.splitlines()
                      if "# line" not in line)
    result = lint_sources({"app.py": clean})
    assert [str(f) for f in result.findings if f.code == NEVER_AWAITED] == []


MODULE_LEVEL_UNUSED = textwrap.dedent(
    """\
    import asyncio


    async def fetch() -> int:
        await asyncio.sleep(0)
        return 1


    forgotten = fetch()                          # line 9: bound, never named again
    answer: int = fetch()                        # line 10: annotated, never named again
    kept = fetch()                               # named below: may be run later
    asyncio.run(kept)


    class Settings:
        default = fetch()                        # line 16: a class attribute nothing reads
        shared = fetch()                         # read through the class below


    print(Settings.shared)
    """
)


def test_a_coroutine_bound_at_module_level_to_a_name_never_named_again_is_never_awaited():
    # `x = coro()` counted as "kept for later" even when nothing ever names x
    # again: that coroutine is never awaited (RuntimeWarning when it is collected).
    result = lint_sources({"app.py": MODULE_LEVEL_UNUSED})
    found = {f.line: f.message for f in result.findings if f.code == NEVER_AWAITED}
    assert sorted(found) == [9, 10, 16]
    assert "bound to `forgotten`, which nothing names again" in found[9]
    assert "bound to `default`" in found[16]


MODULE_LEVEL_UNUSED_CONTAINERS = textwrap.dedent(
    """\
    import asyncio


    async def fetch() -> int:
        await asyncio.sleep(0)
        return 1


    batch = [fetch(), fetch()]                   # line 9: a list nothing names again
    nested = ({"a": fetch()}, [1])               # line 10: inside a dict inside a tuple
    jobs = [fetch() for _ in range(2)]           # line 11: a comprehension's elements
    kept = [fetch()]                             # named below: may be run later
    asyncio.run(kept[0])
    names = ["fetch", "kept"]                    # no call: nothing to say
    """
)


def test_coroutines_held_in_a_container_bound_to_a_name_never_named_again_are_never_awaited():
    # `batch = [f(), g()]` counted as "kept for later" even when nothing ever
    # names batch again: neither coroutine is ever awaited.
    result = lint_sources({"app.py": MODULE_LEVEL_UNUSED_CONTAINERS})
    found = sorted((f.line, f.col, f.message) for f in result.findings
                   if f.code == NEVER_AWAITED)
    assert [(line, col) for line, col, _ in found] == [(9, 10), (9, 19), (10, 17), (11, 9)]
    assert "the coroutine is held in `batch`, which nothing names again" in found[0][2]
    assert "held in `nested`" in found[2][2] and "held in `jobs`" in found[3][2]
