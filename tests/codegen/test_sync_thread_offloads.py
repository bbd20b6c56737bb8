"""Towards sync, handing a function to a thread and awaiting it is calling it.

``await asyncio.to_thread(f, *args)`` and ``await
asyncio.get_running_loop().run_in_executor(None, f, *args)`` run ``f`` in a
worker thread so that the loop is not blocked, and give its result. Sync code
has no loop to keep free: its twin calls ``f(*args)``. That is what the
projects that keep a sync twin ship: psycopg 3.3.9 (``await
asyncio.to_thread(self.cancel)`` in ``connection_async.py``, ``self.cancel()``
in ``connection.py``) and pymongo 4.20.1 (``await
asyncio.get_running_loop().run_in_executor(None, cb.fetch, context)`` in
``asynchronous/auth_oidc.py``, ``cb.fetch(context)`` in the sync branch of
``synchronous/auth_oidc.py``).

Only the call awaited where it is made is rewritten, and only when the port
knows the receiver is an event loop (``asyncio.get_running_loop()``,
``asyncio.get_event_loop()``): ``await self._loop.run_in_executor(...)`` on a
loop the port cannot type gave a future the sync code returned or dropped
(aiofiles 25.1.0, aiohttp 3.14.5: the work ran later, in a thread nobody waited
for); it is refused at its place. So is an executor argument the rewrite would
drop that does something (a call).
"""

from __future__ import annotations

import ast
import warnings

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

OFFLOADS = '''\
import asyncio
from asyncio import get_running_loop


class Connection:
    def __init__(self, executor=None):
        self._executor = executor
        self.cancelled = 0

    def cancel(self, by=1):
        self.cancelled += by
        return self.cancelled

    async def cancel_in_thread(self):
        return await asyncio.to_thread(self.cancel)

    async def cancel_more(self, *args, **kwargs):
        return await asyncio.to_thread(
            self.cancel,  # the work
            *args,
            **kwargs,
        )

    async def fetch(self, cb, context):
        first = await asyncio.get_running_loop().run_in_executor(None, cb, context)
        second = await asyncio.get_event_loop().run_in_executor(self._executor, cb, first)
        return await get_running_loop().run_in_executor(None, (cb), second)
'''


def _run(output: str) -> dict[str, object]:
    namespace: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        exec(compile(output, "offloads.py", "exec"), namespace)
    return namespace


def test_awaiting_a_function_handed_to_a_thread_becomes_calling_it() -> None:
    result = to_sync({"offloads.py": OFFLOADS}, table=DEFAULT_TABLE, renames={})
    assert [str(d) for d in result.diagnostics] == []
    out = result.outputs["offloads.py"]
    assert "        return self.cancel()\n" in out
    assert "        return self.cancel(  # the work\n            *args,\n" in out
    assert "first = cb(context)" in out
    assert "second = cb(first)" in out
    assert "return (cb)(second)" in out
    assert "import asyncio" not in out and "get_running_loop" not in out
    namespace = _run(out)
    connection = namespace["Connection"]()  # type: ignore[operator]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert connection.cancel_in_thread() == 1
        assert connection.cancel_more(by=2) == 3
        assert connection.fetch(lambda x: x + 1, 1) == 4


UNTYPED = '''\
class File:
    def __init__(self, file, loop, executor):
        self._file = file
        self._loop = loop
        self._executor = executor

    async def read(self, size=-1):
        return await self._loop.run_in_executor(self._executor, self._file.read, size)
'''


def test_awaiting_run_in_executor_on_a_loop_the_port_cannot_type_is_refused() -> None:
    # aiofiles 25.1.0 threadpool/utils.py:43: the sync twin returned the future.
    result = to_sync({"files.py": UNTYPED}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.col, d.error) for d in result.diagnostics]
    assert found == [(8, 22, True)], result.diagnostics
    assert result.failed
    assert "run_in_executor" in result.diagnostics[0].message


MADE_ELSEWHERE = '''\
import asyncio


def make_pool():
    return None


async def later(f):
    task = asyncio.to_thread(f)
    return await task


async def pool(f):
    return await asyncio.get_running_loop().run_in_executor(make_pool(), f)
'''


def test_a_thread_offload_not_awaited_where_made_or_with_an_executor_that_acts_is_refused() -> None:
    result = to_sync({"later.py": MADE_ELSEWHERE}, table=DEFAULT_TABLE, renames={})
    assert result.failed
    errors = [(d.line, d.error) for d in result.diagnostics if d.error]
    assert (9, True) in errors and (14, True) in errors, result.diagnostics


LAYOUTS = [
    ("asyncio.to_thread(f)", "f()"),
    ("asyncio.to_thread(f,)", "f()"),
    ("asyncio.to_thread( f , 1 )", "f(1)"),
    ("asyncio.to_thread((f), 1, k=2)", "f(1, k=2)"),
    ("asyncio.to_thread(\n        f,\n        *args,  # the rest\n        **kwargs,\n    )",
     "f(*args, **kwargs)"),
    ("asyncio.to_thread(lambda: 1)", "(lambda: 1)()"),
    ("asyncio.to_thread(f if flag else g, 1)", "(f if flag else g)(1)"),
    ("asyncio.to_thread(functools.partial(f, 1), 2)", "functools.partial(f, 1)(2)"),
    ("asyncio.get_running_loop().run_in_executor(None, f)", "f()"),
    ("asyncio.get_running_loop().run_in_executor(\n        self.pool, f, 1\n    )", "f(1)"),
    ("asyncio.get_event_loop().run_in_executor(None, lambda: 1)", "(lambda: 1)()"),
]


def test_every_layout_of_a_thread_offload_becomes_the_same_call_of_the_function() -> None:
    for spelled, expected in LAYOUTS:
        source = ("import asyncio\nimport functools\n\n\nasync def run(self, f, g, flag, args, "
                  f"kwargs):\n    return await {spelled}\n")
        result = to_sync({"m.py": source}, table=DEFAULT_TABLE, renames={})
        assert not result.failed, (spelled, result.diagnostics)
        tree = ast.parse(result.outputs["m.py"])
        function = tree.body[-1]
        assert isinstance(function, ast.FunctionDef)
        returned = function.body[-1]
        assert isinstance(returned, ast.Return) and returned.value is not None
        assert ast.dump(returned.value) == ast.dump(ast.parse(expected, mode="eval").body), \
            (spelled, result.outputs["m.py"])


ANYIO = '''\
import anyio
import anyio.to_thread
import trio
from anyio import to_thread


def double(x):
    return 2 * x


async def run(path, limiter):
    a = await anyio.to_thread.run_sync(double, path)
    b = await to_thread.run_sync(double, a, abandon_on_cancel=True, limiter=limiter)
    c = await trio.to_thread.run_sync(
        double,
        b,
        cancellable=True,  # trio's older spelling
    )
    return await to_thread.run_sync(double, c, limiter=None)
'''


def test_awaiting_anyio_or_trio_run_sync_becomes_calling_the_function() -> None:
    # aiobotocore 3.10.0 session.py:239, httpxsession.py:323, credentials.py:763.
    # run_sync's keywords (abandon_on_cancel, cancellable, limiter, thread_name)
    # are its own, never the function's: they say how the thread may be left on
    # cancellation and how many run at once, which a sync call has no use for.
    result = to_sync({"m.py": ANYIO}, table=DEFAULT_TABLE, renames={})
    assert [str(d) for d in result.diagnostics] == []
    out = result.outputs["m.py"]
    assert "    a = double(path)\n" in out
    assert "    b = double(a)\n" in out
    assert "    c = double(\n        b,  # trio's older spelling\n    )\n" in out
    assert "    return double(c)\n" in out
    assert "import" not in out and "to_thread" not in out
    namespace = _run(out)
    assert namespace["run"](1, None) == 16  # type: ignore[operator]


ANYIO_ACTING = '''\
import anyio
import trio
from anyio import to_thread


async def run(f):
    a = await to_thread.run_sync(f, 1, limiter=anyio.CapacityLimiter(2))
    b = await trio.to_thread.run_sync(f, a, unknown=True)
    c = await trio.to_thread.run_sync(f, limiter=None, *a)
    return c
'''


def test_anyio_run_sync_with_a_keyword_that_acts_or_is_unknown_is_refused_at_its_place() -> None:
    result = to_sync({"m.py": ANYIO_ACTING}, table=DEFAULT_TABLE, renames={})
    assert result.failed
    # trio need not be installed: the refusal cannot come from reading it.
    errors = sorted(d.line for d in result.diagnostics if d.error)
    assert errors == [7, 8, 9], result.diagnostics
    assert all("run_sync" in d.message for d in result.diagnostics), result.diagnostics


LOOP_LOCAL = '''\
import asyncio


class Payload:
    def __init__(self, value, executor=None):
        self._value = value
        self._executor = executor

    def _read_all(self):
        return self._value * 2

    async def read(self):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._read_all)

    async def read_twice(self, extra):
        loop = asyncio.get_event_loop()  # the running one
        first = await loop.run_in_executor(self._executor, self._read_all)
        if extra:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                None, lambda: first + extra
            )
        return first
'''


def test_a_loop_local_only_used_to_hand_functions_to_threads_goes_and_the_calls_are_made() -> None:
    # aiohttp 3.14.5 payload.py:721-722, redis.asyncio http/http_client.py:
    # `loop = asyncio.get_running_loop()` then `await loop.run_in_executor(None, f)`.
    # The sync twin is what the one-line spelling gives (pymongo's auth_oidc.py).
    result = to_sync({"payload.py": LOOP_LOCAL}, table=DEFAULT_TABLE, renames={})
    assert [str(d) for d in result.diagnostics] == []
    out = result.outputs["payload.py"]
    assert "loop" not in out and "import asyncio" not in out, out
    assert "    def read(self):\n        return self._read_all()\n" in out
    assert "    def read_twice(self, extra):\n        first = self._read_all()\n" \
        "        if extra:\n            return (lambda: first + extra)(\n" in out, out
    payload = _run(out)["Payload"](21)  # type: ignore[operator]
    assert payload.read() == 42
    assert payload.read_twice(1) == 43
    assert payload.read_twice(0) == 42


LOOP_USED_OTHERWISE = '''\
import asyncio


async def close_later(f):
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(None, f)
    return await future


async def hand_over(f, use):
    loop = asyncio.get_running_loop()
    use(loop)
    return await loop.run_in_executor(None, f)


async def inner(f):
    loop = asyncio.get_running_loop()

    async def run():
        return await loop.run_in_executor(None, f)
    return await run()


async def pool(f, make_pool):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(make_pool(), f)
'''


def test_a_loop_local_kept_handed_on_or_used_otherwise_stays_refused_on_both_lines() -> None:
    # aiohttp payload.py:682-683 keeps the future (`close_future = ...`).
    result = to_sync({"m.py": LOOP_USED_OTHERWISE}, table=DEFAULT_TABLE, renames={})
    assert result.failed
    errors = {d.line for d in result.diagnostics if d.error}
    assert {5, 7, 11, 13, 17, 20, 25, 26} <= errors, result.diagnostics
    assert 6 in {d.line for d in result.diagnostics}, result.diagnostics


LOOP_ALONE = '''\
import asyncio


class Payload:
    def __init__(self, value):
        self._value = value

    def _read_all(self):
        return self._value * 2

    async def read(self, running):
        if running:
            loop = asyncio.get_running_loop()  # the one that runs us
        else:
            loop = asyncio.get_event_loop()
        return await loop.run_in_executor(None, self._read_all)

    async def read_in(self, lock):
        with lock:
            loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._read_all)
'''


def test_a_loop_local_alone_in_its_block_leaves_pass_where_it_was() -> None:
    # The offloads become calls and the assignments go, as when the block has
    # other statements; a block left with nothing keeps a `pass` (before, the
    # assignment alone in its block kept the local, and both lines were refused).
    result = to_sync({"payload.py": LOOP_ALONE}, table=DEFAULT_TABLE, renames={})
    assert [str(d) for d in result.diagnostics] == []
    out = result.outputs["payload.py"]
    assert "loop" not in out and "import asyncio" not in out, out
    assert "        if running:\n            pass  # the one that runs us\n" \
        "        else:\n            pass\n        return self._read_all()\n" in out, out
    assert "        with lock:\n            pass\n        return self._read_all()\n" in out, out
    namespace = _run(out)
    payload = namespace["Payload"](21)  # type: ignore[operator]
    assert payload.read(True) == 42 and payload.read(False) == 42
    import threading
    assert payload.read_in(threading.Lock()) == 42


LOOP_ATTRIBUTES = '''\
import asyncio
from asyncio import AbstractEventLoop


class SSLContextProvider:
    def __init__(self, certs, loop: asyncio.AbstractEventLoop):
        self._certs = certs
        self._loop = loop

    def _create(self):
        return sorted(self._certs)

    async def context(self):
        return await self._loop.run_in_executor(None, self._create)


class Reader:
    def __init__(self, value, executor=None):
        self._value = value
        self._executor = executor
        self._loop = asyncio.get_running_loop()

    def _read(self, n):
        return self._value[:n]

    async def read(self, n):
        return await self._loop.run_in_executor(self._executor, self._read, n)


class Opener:
    def __init__(self, loop: "AbstractEventLoop"):
        self._loop = loop

    async def open(self, f, *args):
        return await self._loop.run_in_executor(
            None,
            f,  # what opens
            *args,
        )
'''


def test_a_loop_kept_on_an_attribute_only_to_hand_functions_to_threads_becomes_calls() -> None:
    # aiormq 7.2.4 connection.py:268-279: `self._loop = loop` (a parameter annotated
    # asyncio.AbstractEventLoop), then `await self._loop.run_in_executor(None,
    # self._create_context)`. Every read of the attribute is such an awaited call:
    # the calls are made; an attribute the getter gave goes with its assignment,
    # one a parameter gave stays (the twin keeps its signature).
    result = to_sync({"ssl.py": LOOP_ATTRIBUTES}, table=DEFAULT_TABLE, renames={})
    errors = [str(d) for d in result.diagnostics if d.error]
    assert errors == [], result.diagnostics
    out = result.outputs["ssl.py"]
    assert "run_in_executor" not in out and "get_running_loop" not in out, out
    assert "        return self._create()\n" in out, out
    assert "        self._executor = executor\n\n    def _read" in out, out
    assert "        return self._read(n)\n" in out, out
    assert "        return f(  # what opens\n            *args,\n        )\n" in out, out
    namespace = _run(out)
    assert namespace["SSLContextProvider"]({3, 1}, None).context() == [1, 3]  # type: ignore[operator]
    assert namespace["Reader"]("abc").read(2) == "ab"  # type: ignore[operator]
    assert namespace["Opener"](None).open(lambda *a: a, 1, 2) == (1, 2)  # type: ignore[operator]


LOOP_ATTRIBUTES_UNKNOWN = [
    # aiofiles 25.1.0 tempfile/temptypes.py:66: `self._loop = loop`, no annotation.
    '''\
class Untyped:
    def __init__(self, loop):
        self._loop = loop

    async def read(self, f):
        return await self._loop.run_in_executor(None, f)
''',
    '''\
import asyncio


class AlsoScheduled:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop

    def later(self, f):
        self._loop.call_soon(f)

    async def read(self, f):
        return await self._loop.run_in_executor(None, f)
''',
    # aiohttp 3.14.5 web_request.py hands `self._loop` on (clone) and returns it.
    '''\
import asyncio


class HandedOn:
    def __init__(self):
        self._loop = asyncio.get_running_loop()

    def clone(self):
        return HandedOn(self._loop)

    async def read(self, f):
        return await self._loop.run_in_executor(None, f)
''',
    '''\
import asyncio


class SetElsewhere:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop

    async def read(self, f):
        return await self._loop.run_in_executor(None, f)


def reset(obj, other):
    obj._loop = other
''',
    '''\
import asyncio


class Base:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop

    async def read(self, f):
        return await self._loop.run_in_executor(None, f)


class Sub(Base):
    def later(self, f):
        return getattr(self, "_loop").call_soon(f)
''',
    '''\
import asyncio


class Public:
    def __init__(self):
        self.loop = asyncio.get_running_loop()

    async def read(self, f):
        return await self.loop.run_in_executor(None, f)
''',
    '''\
import asyncio


class InBody:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop

    running = property(lambda self: self._loop)

    async def read(self, f):
        return await self._loop.run_in_executor(None, f)
''',
    '''\
import asyncio
from outside import Base


class FromOutside(Base):
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop

    async def read(self, f):
        return await self._loop.run_in_executor(None, f)
''',
    '''\
import asyncio


class Rebound:
    def __init__(self, loop: asyncio.AbstractEventLoop, other):
        loop = loop or other
        self._loop = loop

    async def read(self, f):
        return await self._loop.run_in_executor(None, f)
''',
    '''\
import asyncio


class InClosure:
    def __init__(self):
        self._loop = asyncio.get_running_loop()

    async def read(self, f):
        def inner(self):
            return self._loop
        return await self._loop.run_in_executor(None, f)
''',
    '''\
import asyncio


class Shadowed:
    def __init__(self, loop: asyncio.AbstractEventLoop, make):
        def later(loop):
            self._loop = loop
        make(later)

    async def read(self, f):
        return await self._loop.run_in_executor(None, f)
''',
    '''\
import asyncio


class SetByName:
    def __init__(self, loop: asyncio.AbstractEventLoop, other):
        self._loop = loop
        object.__setattr__(self, "_loop", other)

    async def read(self, f):
        return await self._loop.run_in_executor(None, f)
''',
    '''\
import asyncio
import dataclasses


@dataclasses.dataclass
class Fields:
    _loop: object

    def reset(self):
        self._loop = asyncio.get_running_loop()

    async def read(self, f):
        return await self._loop.run_in_executor(None, f)
''',
    '''\
import asyncio


class WithMeta(metaclass=type):
    def __init__(self):
        self._loop = asyncio.get_running_loop()

    async def read(self, f):
        return await self._loop.run_in_executor(None, f)
''',
    '''\
import asyncio


class Defaulted:
    def __init__(self, *, loop: asyncio.AbstractEventLoop = None):
        self._loop = loop

    async def read(self, f):
        return await self._loop.run_in_executor(None, f)
''',
]


#: Why each of LOOP_ATTRIBUTES_UNKNOWN is refused, as the refusal says it.
WHY_UNKNOWN = [
    "not self._loop: it is assigned at line 3 from `loop`, which the port cannot tell is "
    "the event loop",
    "not self._loop: it is used otherwise at line 9",
    "not self._loop: it is used otherwise at line 9",
    "not self._loop: the port names it elsewhere too (line 13)",
    "not self._loop: the port names it elsewhere too (line 14)",
    "not self.loop: it is a public attribute (line 6)",
    "not self._loop: it is named at line 8 where `self` may be another object",
    "not self._loop: the class has a base the port does not hold (Base)",
    "not self._loop: it is assigned at line 7 from `loop`, which the port cannot tell",
    "not self._loop: it is named at line 10 where `self` may be another object",
    "not self._loop: it is assigned at line 7 from `loop`, which the port cannot tell",
    "not self._loop: the port names it elsewhere too (line 7)",
    "not self._loop: the class's body binds it at line 7",
    "not self._loop: the class names a metaclass or class keywords",
    "not self._loop: it is assigned at line 6 from `loop`, which the port cannot tell",
]


def test_a_loop_attribute_not_known_to_be_the_loop_or_used_otherwise_stays_refused() -> None:
    # Refused at the call, saying why the attribute is not known to be the loop.
    assert len(WHY_UNKNOWN) == len(LOOP_ATTRIBUTES_UNKNOWN)
    for source, why in zip(LOOP_ATTRIBUTES_UNKNOWN, WHY_UNKNOWN, strict=True):
        result = to_sync({"m.py": source}, table=DEFAULT_TABLE, renames={})
        assert result.failed, source
        line = next(n for n, text in enumerate(source.splitlines(), 1)
                    if "run_in_executor" in text)
        refused = [d for d in result.diagnostics if d.error and "run_in_executor" in d.message]
        assert [d.line for d in refused] == [line], (source, result.diagnostics)
        assert why in refused[0].message, (source, refused[0].message)


LOOP_DANGLING = '''\
import asyncio


class Payload:
    def __init__(self, value):
        self._value = value

    def _read_all(self):
        return self._value * 2

    async def read(self):
        loop = asyncio.get_running_loop()  # an older version handed it over
        return await asyncio.to_thread(self._read_all)

    async def read_later(self):
        loop = asyncio.get_event_loop()

        def inner():
            return loop
        return await asyncio.to_thread(self._read_all)
'''


def test_a_loop_local_read_by_nothing_goes() -> None:
    # The offload spelled on one line (asyncio.to_thread) left the local dangling:
    # in a coroutine the loop getter has no effect but its value, which nothing
    # reads, so the twin drops it. One a closure reads stays refused.
    result = to_sync({"payload.py": LOOP_DANGLING}, table=DEFAULT_TABLE, renames={})
    refused = [d.line for d in result.diagnostics if d.error]
    assert refused == [16], result.diagnostics
    out = result.outputs["payload.py"]
    assert "    def read(self):\n        return self._read_all()\n" in out, out


def test_the_port_s_classes_are_read_only_in_modules_that_spell_the_name() -> None:
    # A subclass in another module, spelled through a module (`a.Base`), is related
    # and its `self._loop` is seen; a module that only says `get_running_loop`
    # (which has "_loop" in it, not as a word) is never walked.
    from ambidex.codegen._to_sync.threads import PortClasses

    texts = {
        "pkg/a.py": "import asyncio\n\n\nclass Base:\n    def __init__(self):\n"
                    "        self._loop = asyncio.get_running_loop()\n",
        "pkg/b.py": "from pkg import a\n\n\nclass Sub(a.Base):\n    def later(self, f):\n"
                    "        self._loop.call_soon(f)\n",
        "pkg/c.py": "import asyncio\n\n\nclass Other:\n    async def run(self):\n"
                    "        return asyncio.get_running_loop()\n",
    }
    port = PortClasses({p: ast.parse(t) for p, t in texts.items()}, texts)
    up, down = port.related("Base")
    assert up == {"Base"} and down == {"Base", "Sub"}
    assert port.bases_of("Sub") == {"Base"} and port.bases_of("Missing") is None
    places = [(owner.name if owner else None, on_self, path, line)
              for owner, on_self, path, line in port.places("_loop")]
    assert places == [("Base", True, "pkg/a.py", 6), ("Sub", True, "pkg/b.py", 6)]
    assert "pkg/c.py" not in port._classes
    assert all(path != "pkg/c.py" for _, path in port._places)
