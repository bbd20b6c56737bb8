"""async -> sync, one rule at a time: a small input and its exact output."""

from __future__ import annotations

import pytest

from tests.codegen.conftest import dedent, errors_of, run_to_sync, sync_of

GOLDEN = {
    "async def and await": (
        """\
        async def fetch(stream):
            data = await stream.read(10)  # keep this comment
            return await  stream.parse(data)
        """,
        """\
        def fetch(stream):
            data = stream.read(10)  # keep this comment
            return stream.parse(data)
        """,
    ),
    "decorated async def keeps its decorators": (
        """\
        @staticmethod
        @other(1)
        async def f():
            pass
        """,
        """\
        @staticmethod
        @other(1)
        def f():
            pass
        """,
    ),
    "async with and async for": (
        """\
        async def f(lock, items):
            async with lock:
                async for item in items:
                    print(item)
        """,
        """\
        def f(lock, items):
            with lock:
                for item in items:
                    print(item)
        """,
    ),
    "async comprehensions of every kind": (
        """\
        async def f(ait):
            a = [x async for x in ait if await x]
            b = {k: v async  for k, v in ait}
            c = {x async for x in ait}
            d = (await y.read() for y in ait)
        """,
        """\
        def f(ait):
            a = [x for x in ait if x]
            b = {k: v for k, v in ait}
            c = {x for x in ait}
            d = (y.read() for y in ait)
        """,
    ),
    "await inside an f-string": (
        """\
        async def f(s):
            return f"got {await s.read()!r} and {(await s.n()):>4}"
        """,
        """\
        def f(s):
            return f"got {s.read()!r} and {(s.n()):>4}"
        """,
    ),
    "dunders and builtins of the iteration protocol": (
        """\
        class It:
            def __aiter__(self):
                return self

            async def __anext__(self):
                raise StopAsyncIteration

        async def first(it):
            return await anext(aiter(it))
        """,
        """\
        class It:
            def __iter__(self):
                return self

            def __next__(self):
                raise StopIteration

        def first(it):
            return next(iter(it))
        """,
    ),
    "context manager dunders, aclose": (
        """\
        class C:
            async def __aenter__(self):
                return self

            async def __aexit__(self, *exc):
                await self.aclose()

            async def aclose(self):
                pass
        """,
        """\
        class C:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.close()

            def close(self):
                pass
        """,
    ),
    "asyncio.sleep becomes time.sleep, import asyncio goes, import time comes": (
        """\
        import asyncio


        async def wait():
            await asyncio.sleep(0.5)
        """,
        """\
        import time


        def wait():
            time.sleep(0.5)
        """,
    ),
    "from-imported primitives move module, the code stays": (
        """\
        from asyncio import Lock, sleep
        from asyncio import Queue as Q


        async def f():
            lock = Lock()
            await sleep(1)
            return Q()
        """,
        """\
        from queue import Queue as Q
        from threading import Lock
        from time import sleep


        def f():
            lock = Lock()
            sleep(1)
            return Q()
        """,
    ),
    "a renamed local name is spelled through its module": (
        """\
        from asyncio import QueueEmpty


        def f(q):
            try:
                q.get_nowait()
            except QueueEmpty:
                return None
        """,
        """\
        import queue


        def f(q):
            try:
                q.get_nowait()
            except queue.Empty:
                return None
        """,
    ),
    "asyncio synchronisation primitives": (
        """\
        import asyncio

        class P:
            def __init__(self):
                self.lock: asyncio.Lock = asyncio.Lock()
                self.ready = asyncio.Event()
                self.q: asyncio.Queue[int] = asyncio.Queue()
        """,
        """\
        import queue
        import threading

        class P:
            def __init__(self):
                self.lock: threading.Lock = threading.Lock()
                self.ready = threading.Event()
                self.q: queue.Queue[int] = queue.Queue()
        """,
    ),
    "ambidex.io streams": (
        """\
        from ambidex.io import AsyncStream


        async def talk(host: str) -> AsyncStream:
            stream = await AsyncStream.connect(host, 1)
            await stream.write(b"x")
            return stream
        """,
        """\
        from ambidex.io import Stream


        def talk(host: str) -> Stream:
            stream = Stream.connect(host, 1)
            stream.write(b"x")
            return stream
        """,
    ),
    "typing: Awaitable and Coroutine unwrap, AsyncGenerator grows its third argument": (
        """\
        from typing import Any, AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine


        def f(cb: Callable[..., Awaitable[int]], c: Coroutine[Any, Any, str]) -> None: ...
        async def g() -> AsyncGenerator[int, None]:
            yield 1
        async def h() -> AsyncIterator[AsyncGenerator[bytes]]:
            yield 1
        """,
        """\
        from typing import Callable, Generator, Iterator


        def f(cb: Callable[..., int], c: str) -> None: ...
        def g() -> Generator[int, None, None]:
            yield 1
        def h() -> Iterator[Generator[bytes, None, None]]:
            yield 1
        """,
    ),
    "collections.abc and contextlib": (
        """\
        import contextlib
        from collections.abc import AsyncIterator


        @contextlib.asynccontextmanager
        async def cm() -> AsyncIterator[None]:
            async with contextlib.AsyncExitStack() as stack:
                await stack.enter_async_context(other())
                yield
        """,
        """\
        import contextlib
        from collections.abc import Iterator


        @contextlib.contextmanager
        def cm() -> Iterator[None]:
            with contextlib.ExitStack() as stack:
                stack.enter_context(other())
                yield
        """,
    ),
    "string annotations, __all__ and getattr-style strings": (
        """\
        __all__ = ["AsyncClient", "helper"]

        class AsyncClient:
            async def aclose(self) -> None: ...

        def helper(c: "AsyncClient", d: "list[AsyncClient] | None") -> "Awaitable[int]":
            if hasattr(c, "aclose"):
                return getattr(c, "aclose")()
        """,
        """\
        __all__ = ["Client", "helper"]

        class Client:
            def close(self) -> None: ...

        def helper(c: "Client", d: "list[Client] | None") -> "Awaitable[int]":
            if hasattr(c, "close"):
                return getattr(c, "close")()
        """,
    ),
    "imports that were unused in the source are kept": (
        """\
        import asyncio  # re-exported on purpose
        import os


        def f():
            return os.sep
        """,
        """\
        import asyncio  # re-exported on purpose
        import os


        def f():
            return os.sep
        """,
    ),
}


@pytest.mark.parametrize("name", list(GOLDEN))
def test_golden(name: str) -> None:
    source, expected = GOLDEN[name]
    assert sync_of(source, renames={"AsyncClient": "Client"}) == dedent(expected)


def test_module_paths_in_imports_relative_and_absolute() -> None:
    source = """\
    from .._async.pool import AsyncPool
    from .._backends.auto import AutoBackend
    from . import _async
    import pkg._async.mod
    from pkg._async import conn as c

    x = pkg._async.mod.Thing, AsyncPool, AutoBackend, _async, c
    """
    expected = """\
    from .._sync.pool import Pool
    from .._backends.sync import AutoBackend
    from . import _sync
    import pkg._sync.mod
    from pkg._sync import conn as c

    x = pkg._sync.mod.Thing, Pool, AutoBackend, _sync, c
    """
    renames = {"AsyncPool": "Pool", "pkg._backends.auto": "pkg._backends.sync"}
    assert sync_of(source, path="src/pkg/_async/m.py", renames=renames) == dedent(expected)


def test_async_prefix_strips_names_the_source_defines_only() -> None:
    source = """\
    from typing import AsyncIterator
    from other import AsyncThing


    class AsyncPool:
        pass


    async def AsyncHelper(p: AsyncPool) -> AsyncIterator[AsyncThing]:
        yield AsyncPool()
    """
    expected = """\
    from typing import Iterator
    from other import AsyncThing


    class Pool:
        pass


    def Helper(p: Pool) -> Iterator[AsyncThing]:
        yield Pool()
    """
    assert sync_of(source, async_prefix=True) == dedent(expected)


def test_async_only_statements_are_dropped_with_their_block() -> None:
    source = """\
    import asyncio  # ambidex: async-only


    async def run(tasks):
        results = []
        async with asyncio.TaskGroup() as group:  # ambidex: async-only
            for task in tasks:
                group.create_task(task())
        for task in tasks:
            results.append(await task())
        return results


    def only_sync():  # ambidex: sync-only
        return 1
    """
    expected = """\
    def run(tasks):
        results = []
        for task in tasks:
            results.append(task())
        return results


    def only_sync():  # ambidex: sync-only
        return 1
    """
    assert sync_of(source) == dedent(expected)


def test_a_block_left_empty_gets_pass() -> None:
    source = """\
    async def f(x):
        if x:
            await x.wait()  # ambidex: async-only
        return x
    """
    expected = """\
    def f(x):
        if x:
            pass
        return x
    """
    assert sync_of(source) == dedent(expected)


def test_is_async_flips_and_branches_are_chosen_and_dedented() -> None:
    source = """\
    IS_ASYNC = True


    async def f(stream):
        if IS_ASYNC:
            # the async way
            await stream.drain()
        else:
            # the sync way
            stream.flush()
            for x in range(2):
                print(x)
        if not IS_ASYNC:
            print("sync only")
        if IS_ASYNC:
            print("async only")
        elif stream:
            print("elif")
        else:
            print("else")
        return IS_ASYNC
    """
    expected = """\
    IS_ASYNC = False


    def f(stream):
        # the sync way
        stream.flush()
        for x in range(2):
            print(x)
        print("sync only")
        if stream:
            print("elif")
        else:
            print("else")
        return IS_ASYNC
    """
    assert sync_of(source) == dedent(expected)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        ("await asyncio.gather(a(), b())", "asyncio.gather"),
        ("asyncio.create_task(a())", "asyncio.create_task"),
        ("await asyncio.wait_for(a(), 1)", "asyncio.wait_for"),
        ("asyncio.get_running_loop()", "asyncio.get_running_loop"),
        ("asyncio.get_event_loop().call_soon(print)", "asyncio.get_event_loop"),
    ],
)
def test_async_only_apis_are_located_errors(call: str, name: str) -> None:
    source = f"""\
    import asyncio


    async def main(a, b):
        {call}
    """
    errors = errors_of(source)
    assert [(d.line, name in d.message) for d in errors][:1] == [(5, True)]


def test_task_group_is_reported_where_it_is_named() -> None:
    source = """\
    from asyncio import TaskGroup


    async def main(a):
        async with TaskGroup() as group:
            group.create_task(a())
    """
    (error,) = errors_of(source)
    assert (error.line, error.col) == (5, 16)
    assert "asyncio.TaskGroup has no sync twin" in error.message
    assert str(error).startswith("pkg/_async/mod.py:5:16: ")


def test_async_only_apis_inside_marked_blocks_are_fine() -> None:
    source = """\
    import asyncio


    async def main(a, b):
        await asyncio.gather(a(), b())  # ambidex: async-only
        if IS_ASYNC:
            asyncio.get_running_loop()
    """
    assert "gather" not in sync_of(source)


def test_a_coroutine_kept_for_later_is_an_error() -> None:
    source = """\
    async def fetch():
        return 1


    async def main():
        pending = fetch()
        return await pending
    """
    (error,) = errors_of(source)
    assert error.line == 6 and "not awaited where it is made" in error.message


def test_a_lambda_returning_a_coroutine_is_a_warning() -> None:
    source = """\
    class C:
        async def fetch(self):
            return 1

        def later(self):
            return lambda: self.fetch()
    """
    result = run_to_sync(source)
    assert not result.failed
    (warning,) = result.diagnostics
    assert warning.line == 6 and not warning.error
    assert "self.fetch()" in warning.message


def test_calling_an_async_generator_without_await_is_fine() -> None:
    source = """\
    async def numbers():
        yield 1


    async def main():
        it = numbers()
        return [x async for x in it]
    """
    assert "it = numbers()" in sync_of(source)


def test_a_source_that_does_not_parse_is_a_located_error() -> None:
    result = run_to_sync("async def f(:\n    pass\n", path="x/a.py")
    (error,) = result.diagnostics
    assert str(error).startswith("x/a.py:1:")
    assert result.outputs == {}


def test_the_output_always_compiles() -> None:
    # `await` alone on a continuation line: removing it must not break the line.
    source = """\
    async def f(s):
        x = (await
             s.read())
        return x
    """
    output = sync_of(source)
    compile(output, "out.py", "exec")


def test_a_user_rule_is_one_row() -> None:
    from ambidex._rules import DEFAULT_TABLE, rule_from_toml

    table = DEFAULT_TABLE.extended([rule_from_toml(
        {"sync": "mylib.Client.fetch", "async": "mylib.AsyncClient.afetch", "kind": "method"})])
    source = """\
    import mylib


    async def f(c: mylib.AsyncClient):
        return await c.afetch()
    """
    output = sync_of(source, table=table)
    assert "c.fetch()" in output


def test_an_import_used_only_in_a_string_annotation_stays() -> None:
    source = """\
    from __future__ import annotations

    import asyncio
    from typing import Optional

    from pkg import Thing

    x: "Optional[Thing]" = None


    async def f(t: Thing) -> None:
        await asyncio.sleep(0)
    """
    output = sync_of(source)
    assert "from typing import Optional\n" in output
    assert "from pkg import Thing\n" in output
    assert "import asyncio" not in output and "import time\n" in output


def test_an_import_used_only_in_an_annotation_inside_a_function_stays() -> None:
    # Such annotations are never compiled, so only the syntax tree knows the use.
    source = """\
    from __future__ import annotations

    import asyncio
    from collections.abc import Callable


    class C:
        def __init__(self) -> None:
            self.handler: Callable[[int], None] | None = None
            self.lock = asyncio.Lock()
    """
    output = sync_of(source)
    assert "from collections.abc import Callable\n" in output
    assert "import asyncio" not in output


def test_a_twin_module_shadowed_by_a_variable_is_imported_under_another_name() -> None:
    source = """\
    import asyncio


    async def nap(time: float) -> None:
        await asyncio.sleep(time)
    """
    expected = """\
    import time as _time


    def nap(time: float) -> None:
        _time.sleep(time)
    """
    assert sync_of(source) == dedent(expected)


def test_tab_indented_blocks_keep_their_tabs() -> None:
    source = "async def f(x):\n\tif x:\n\t\tawait x.wait()  # ambidex: async-only\n\treturn x\n"
    assert sync_of(source) == "def f(x):\n\tif x:\n\t\tpass\n\treturn x\n"


def test_new_imports_go_where_isort_puts_them() -> None:
    source = """\
    \"\"\"Doc.\"\"\"

    from __future__ import annotations

    import asyncio
    import os
    from collections import deque
    from typing import AsyncIterator, Awaitable, Callable

    from ambidex.io import AsyncStream


    async def f(cb: Callable[[], Awaitable[None]]) -> AsyncIterator[AsyncStream]:
        lock = asyncio.Lock()
        await asyncio.sleep(os.cpu_count() or 0)
        yield deque()
    """
    expected = """\
    \"\"\"Doc.\"\"\"

    from __future__ import annotations

    import os
    import threading
    import time
    from collections import deque
    from typing import Callable, Iterator

    from ambidex.io import Stream


    def f(cb: Callable[[], None]) -> Iterator[Stream]:
        lock = threading.Lock()
        time.sleep(os.cpu_count() or 0)
        yield deque()
    """
    assert sync_of(source) == dedent(expected)


def test_a_module_without_standard_imports_gets_a_section_of_its_own() -> None:
    source = """\
    from __future__ import annotations

    from ambidex.io import AsyncSocket, AsyncStream


    async def f(s: AsyncStream) -> None:
        await AsyncSocket.create_connection(("localhost", 1))
    """
    expected = """\
    from __future__ import annotations

    import socket

    from ambidex.io import Stream


    def f(s: Stream) -> None:
        socket.create_connection(("localhost", 1))
    """
    assert sync_of(source) == dedent(expected)


def test_dropped_methods_take_their_blank_lines_with_them() -> None:
    source = """\
    class C:
        def a(self):
            pass

        async def b(self):  # ambidex: async-only
            pass

        def c(self):
            pass

        async def d(self):  # ambidex: async-only
            pass
    """
    expected = """\
    class C:
        def a(self):
            pass

        def c(self):
            pass
    """
    assert sync_of(source) == dedent(expected)


def test_dropped_imports_keep_the_blank_line_between_sections() -> None:
    source = """\
    from __future__ import annotations

    import asyncio  # ambidex: async-only
    import collections  # ambidex: async-only
    from types import TracebackType

    from ambidex import sansio  # ambidex: async-only
    from ambidex.io import AsyncStream
    """
    expected = """\
    from __future__ import annotations

    from types import TracebackType

    from ambidex.io import Stream
    """
    assert sync_of(source) == dedent(expected)


def test_dotted_renames_follow_the_imports() -> None:
    source = """\
    import httpx
    from httpx import AsyncClient as AC
    from anyio import sleep


    async def get(url: str) -> str:
        async with httpx.AsyncClient() as client:
            r = await client.get(url)
        async with AC():
            await sleep(1)
        return r.text
    """
    expected = """\
    from time import sleep

    import httpx
    from httpx import Client as AC


    def get(url: str) -> str:
        with httpx.Client() as client:
            r = client.get(url)
        with AC():
            sleep(1)
        return r.text
    """
    renames = {"httpx.AsyncClient": "httpx.Client", "anyio.sleep": "time.sleep"}
    assert sync_of(source, renames=renames) == dedent(expected)


def test_a_new_import_goes_below_a_shebang_and_licence_comments() -> None:
    source = """\
    #!/usr/bin/env python
    # Licence: MIT
    async def f() -> None:
        import asyncio
        await asyncio.sleep(1)
    """
    expected = """\
    #!/usr/bin/env python
    # Licence: MIT

    import time

    def f() -> None:
        import asyncio
        time.sleep(1)
    """
    assert sync_of(source) == dedent(expected)


def test_broken_output_is_an_internal_error_never_an_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Simulate a splicing bug: the converter must catch it by compiling.
    from ambidex.codegen import _source

    real_apply = _source.Edits.apply
    monkeypatch.setattr(_source.Edits, "apply", lambda self: real_apply(self) + "def (:\n")
    result = run_to_sync("async def f():\n    await g()\n", path="m.py")
    (error,) = result.diagnostics
    assert error.error and "internal error" in error.message and error.path == "m.py"
    assert result.outputs == {}


def test_coroutines_handed_to_an_async_only_api_are_one_error() -> None:
    source = """\
    import asyncio


    class C:
        async def a(self):
            pass

        async def both(self):
            await asyncio.gather(self.a(), self.a())
    """
    (error,) = errors_of(source)
    assert "asyncio.gather has no sync twin" in error.message
