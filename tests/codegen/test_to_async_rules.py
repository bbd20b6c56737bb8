"""sync -> async, rule by rule: each rewrite a person makes by hand, and each refusal."""

from __future__ import annotations

import textwrap

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._source import Conversion, Diagnostic
from ambidex.codegen._to_async import to_async
from ambidex.codegen._to_sync import to_sync


def convert(source: str, path: str = "mod.py") -> Conversion:
    return to_async({path: textwrap.dedent(source)}, table=DEFAULT_TABLE, renames={})


def async_of(source: str) -> str:
    result = convert(source)
    assert result.diagnostics == [], [str(d) for d in result.diagnostics]
    output = result.outputs["mod.py"]
    compile(output, "mod.py", "exec")
    return output


def errors_of(source: str) -> list[Diagnostic]:
    result = convert(source)
    assert result.failed, "expected the conversion to be refused"
    return [d for d in result.diagnostics if d.error]


def test_an_aliased_sleep_is_recognised_and_its_import_replaced() -> None:
    output = async_of("""
        from time import sleep as nap

        def wait() -> None:
            nap(1)
    """)
    assert output == textwrap.dedent("""
        import asyncio

        async def wait() -> None:
            await asyncio.sleep(1)
    """)


def test_callers_are_awaited_up_the_call_graph_and_bystanders_stay_plain() -> None:
    output = async_of("""
        import time

        def leaf() -> None:
            time.sleep(0.1)

        def middle() -> int:
            leaf()
            return 1

        def top() -> int:
            return middle() + pure()

        def pure() -> int:
            return 2
    """)
    assert "async def leaf()" in output
    assert "async def middle()" in output
    assert "    await leaf()\n" in output
    assert "    return await middle() + pure()\n" in output
    assert "\ndef pure() -> int:" in output


def test_an_await_is_parenthesised_where_precedence_needs_it() -> None:
    output = async_of("""
        import socket

        def read(sock: socket.socket) -> str:
            return sock.recv(10).decode() + str(sock.recv(1)[0])
    """)
    assert "return (await sock.recv(10)).decode() + str((await sock.recv(1))[0])" in output
    assert "async def read(sock: AsyncSocket) -> str:" in output
    assert "from ambidex.io import AsyncSocket" in output


def test_a_threading_lock_held_across_an_await_becomes_an_asyncio_lock_taken_with_async_with(
) -> None:
    output = async_of("""
        import time
        from threading import Lock

        LOCK_TIMEOUT = 1

        class Counter:
            def __init__(self) -> None:
                self.lock = Lock()
                self.value = 0

            def bump(self) -> int:
                with self.lock:
                    time.sleep(0.01)
                    self.value += 1
                    return self.value
    """)
    assert "self.lock = asyncio.Lock()" in output
    assert "    async def bump(self) -> int:\n        async with self.lock:" in output
    assert "from threading import Lock" not in output
    assert "    def __init__(self) -> None:" in output


def test_a_class_whose_exit_awaits_gets_aenter_and_aexit_and_its_users_async_with() -> None:
    output = async_of("""
        import socket

        class Conn:
            def __init__(self, sock: socket.socket) -> None:
                self.sock = sock

            def __enter__(self) -> "Conn":
                return self

            def __exit__(self, *exc: object) -> None:
                self.sock.close()

        def use(sock: socket.socket) -> None:
            with Conn(sock) as conn:
                pass
    """)
    assert "async def __aenter__(self)" in output
    assert "async def __aexit__(self, *exc: object) -> None:\n        await self.sock.close()" in (
        output
    )
    assert "async def use(sock: AsyncSocket) -> None:\n    async with Conn(sock) as conn:" in output


def test_the_iterator_protocol_becomes_the_async_iterator_protocol() -> None:
    output = async_of("""
        import socket

        class Lines:
            def __init__(self, sock: socket.socket) -> None:
                self.sock = sock

            def __iter__(self) -> "Lines":
                return self

            def __next__(self) -> bytes:
                data = self.sock.recv(100)
                if not data:
                    raise StopIteration
                return data

        def count(lines: Lines) -> int:
            n = 0
            for _line in lines:
                n += 1
            return n
    """)
    assert '    def __aiter__(self) -> "Lines":' in output
    assert "    async def __anext__(self) -> bytes:" in output
    assert "raise StopAsyncIteration" in output
    assert "async def count(lines: Lines) -> int:" in output
    assert "    async for _line in lines:" in output


def test_a_generator_becomes_an_async_generator_and_its_consumers_async_for() -> None:
    output = async_of("""
        import time
        from typing import Generator

        def ticks(n: int) -> Generator[int, None, None]:
            for i in range(n):
                time.sleep(0.01)
                yield i

        def total(n: int) -> int:
            return sum([t for t in ticks(n)])
    """)
    assert "async def ticks(n: int) -> AsyncGenerator[int, None]:" in output
    assert "from typing import AsyncGenerator" in output
    assert "return sum([t async for t in ticks(n)])" in output
    assert "async def total(n: int) -> int:" in output


def test_a_blocking_call_with_no_twin_is_a_warning_with_the_tables_advice() -> None:
    result = convert("""
        import time

        def load(path: str) -> str:
            time.sleep(0)
            with open(path) as f:
                return f.read()
    """)
    assert not result.failed
    warnings = [d for d in result.diagnostics if not d.error]
    assert [(d.line, d.col) for d in warnings] == [(6, 10), (7, 16)]
    assert "open blocks and has no asyncio twin" in warnings[0].message
    assert "ambidex.offload.open_file" in warnings[0].message


def test_an_init_that_connects_is_refused_naming_the_function_the_call_and_the_fix() -> None:
    (error,) = errors_of("""
        import socket

        class Client:
            def __init__(self, host: str, port: int) -> None:
                self.sock = socket.create_connection((host, port))

            def ping(self) -> bytes:
                self.sock.sendall(b"PING")
                return self.sock.recv(4)
    """)
    assert (error.path, error.line, error.col) == ("mod.py", 5, 5)
    assert "Client.__init__() would have to await socket.create_connection (mod.py:6:21)" in (
        error.message
    )
    assert "async classmethod `create()`" in error.message


def test_an_init_that_calls_a_method_that_connects_is_refused_too() -> None:
    (error,) = errors_of("""
        import socket

        class Client:
            def __init__(self, host: str) -> None:
                self.connect(host)

            def connect(self, host: str) -> None:
                self.sock = socket.create_connection((host, 1))
    """)
    assert error.line == 5
    assert "Client.connect() (mod.py:6:9), which awaits socket.create_connection (mod.py:9:21)" in (
        error.message
    )


def test_a_property_that_would_await_is_refused() -> None:
    (error,) = errors_of("""
        import time

        class Slow:
            @property
            def value(self) -> int:
                time.sleep(1)
                return 1
    """)
    assert "Slow.value() would have to await time.sleep" in error.message
    assert "a property cannot be async" in error.message


def test_a_lambda_that_would_await_is_refused() -> None:
    (error,) = errors_of("""
        import time

        def later() -> object:
            return lambda: time.sleep(1)
    """)
    assert (error.line, error.col) == (5, 20)
    assert "a lambda in later() would have to await time.sleep" in error.message


def test_a_function_handed_elsewhere_as_a_callback_is_refused() -> None:
    (error,) = errors_of("""
        import time
        import atexit

        def goodbye() -> None:
            time.sleep(1)

        def setup() -> None:
            atexit.register(goodbye)
    """)
    assert (error.line, error.col) == (9, 21)
    assert "goodbye() becomes async" in error.message
    assert "callback" in error.message


def test_unparsable_input_is_a_located_error() -> None:
    result = to_async({"bad.py": "def f(:\n"}, table=DEFAULT_TABLE, renames={})
    assert result.failed
    assert str(result.diagnostics[0]).startswith("bad.py:1:")


def test_renames_and_the_sync_segment_apply_to_the_output() -> None:
    source = textwrap.dedent("""
        import time

        from pkg._sync.util import helper


        class Client:
            def wait(self) -> None:
                time.sleep(helper())
    """)
    result = to_async(
        {"pkg/_sync/client.py": source}, table=DEFAULT_TABLE, renames={"Client": "AsyncClient"}
    )
    output = result.outputs["pkg/_sync/client.py"]
    assert "from pkg._async.util import helper" in output
    assert "class AsyncClient:" in output
    assert "    async def wait(self) -> None:\n        await asyncio.sleep(helper())" in output


STREAM_CLIENT = '''\
"""Echo over a Stream."""

from __future__ import annotations

from collections.abc import Iterator

from ambidex.io import Stream


class EchoClient:
    def __init__(self, stream: Stream) -> None:
        self.stream = stream

    @classmethod
    def connect(cls, host: str, port: int) -> EchoClient:
        return cls(Stream.connect(host, port, timeout=5.0))

    def echo(self, line: bytes) -> bytes:
        self.stream.write(line + b"\\n")
        reply = self.stream.read_until(b"\\n")
        return reply[:-1]

    def echo_all(self, lines: list[bytes]) -> Iterator[bytes]:
        for line in lines:
            yield self.echo(line)

    def count(self, lines: list[bytes]) -> int:
        return len([reply for reply in self.echo_all(lines)])

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> EchoClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
'''


def test_stream_code_goes_sync_to_async_to_sync_back_to_the_same_text() -> None:
    there = to_async({"echo/_sync/client.py": STREAM_CLIENT}, table=DEFAULT_TABLE, renames={})
    assert there.diagnostics == []
    async_text = there.outputs["echo/_sync/client.py"]
    assert "from ambidex.io import AsyncStream\n" in async_text
    assert "return cls(await AsyncStream.connect(host, port, timeout=5.0))" in async_text
    assert "async def echo_all(self, lines: list[bytes]) -> AsyncIterator[bytes]:" in async_text
    back = to_sync({"echo/_async/client.py": async_text}, table=DEFAULT_TABLE, renames={})
    assert back.diagnostics == []
    assert back.outputs["echo/_async/client.py"] == STREAM_CLIENT


def test_flavour_markers_keep_the_async_branch_and_drop_sync_only_statements() -> None:
    source = textwrap.dedent("""\
        import time

        IS_ASYNC = False


        def pause() -> str:
            if IS_ASYNC:
                mode = "async"
            else:
                mode = "sync"
            if not IS_ASYNC:
                print("only in the sync colour")
            time.sleep(0)  # ambidex: sync-only
            time.sleep(1)
            return mode


        def helper() -> None:  # ambidex: sync-only
            time.sleep(2)
    """)
    result = to_async({"m.py": source}, table=DEFAULT_TABLE, renames={})
    assert result.diagnostics == []
    assert result.outputs["m.py"] == textwrap.dedent("""\
        import asyncio

        IS_ASYNC = True


        async def pause() -> str:
            mode = "async"
            await asyncio.sleep(1)
            return mode
    """)


def test_a_module_level_lock_becomes_an_asyncio_lock_like_the_code_that_takes_it() -> None:
    output = async_of("""
        import threading
        import time

        _LOCK = threading.Lock()


        class Registry:
            guard = threading.Lock()

            def add(self) -> None:
                with _LOCK, self.guard:
                    time.sleep(0)
    """)
    assert "_LOCK = asyncio.Lock()" in output
    assert "    guard = asyncio.Lock()" in output
    assert "        async with _LOCK, self.guard:" in output


def test_a_lock_no_guarded_block_awaits_on_stays_a_threading_lock() -> None:
    # Issue 8, item 4: in async code a lock held across no await is correct and
    # cheaper; only a lock some block of which awaits must be an asyncio.Lock.
    output = async_of("""
        import socket
        import threading

        _REGISTRY = threading.Lock()

        class Pool:
            def __init__(self) -> None:
                self._lock = threading.Lock()
                self._io_lock = threading.RLock()
                self._free: list[socket.socket] = []

            def _take(self) -> socket.socket:
                with self._lock:
                    return self._free.pop()

            def send(self, data: bytes) -> None:
                sock = self._take()
                sock.sendall(data)
                with self._lock:
                    self._free.append(sock)
                with self._io_lock:
                    pass

        def register() -> None:
            with _REGISTRY:
                pass
    """)
    assert "_REGISTRY = threading.Lock()" in output
    assert "        self._lock = threading.Lock()" in output
    assert "        self._io_lock = threading.RLock()" in output
    assert "    def _take(self) -> AsyncSocket:\n        with self._lock:" in output
    assert "        await sock.sendall(data)\n        with self._lock:" in output
    assert "def register() -> None:\n    with _REGISTRY:" in output


def test_a_connection_made_at_import_time_is_refused() -> None:
    (error,) = errors_of("""
        import socket

        SOCK = socket.create_connection(("localhost", 1))
    """)
    assert (error.line, error.col) == (4, 8)
    assert "runs at import time" in error.message


def test_imports_the_port_left_unused_go_and_others_stay() -> None:
    output = async_of("""
        import os, time
        import json  # unused in the source too: not the port's business
        from time import monotonic, sleep

        def wait() -> float:
            time.sleep(0)
            sleep(0)
            return monotonic() + len(os.sep)
    """)
    assert "import os\n" in output
    assert "import json  # unused in the source too" in output
    assert "from time import monotonic\n" in output
    assert "    await asyncio.sleep(0)\n    await asyncio.sleep(0)\n" in output


def test_a_user_rename_that_matched_nothing_is_reported_as_unused() -> None:
    result = to_async(
        {"m.py": "import time\n\ndef f() -> None:\n    time.sleep(0)\n"},
        table=DEFAULT_TABLE,
        renames={"Missing": "Found", "f": "af"},
    )
    assert result.unused == ["rename 'Missing'"]
    assert "async def af() -> None:" in result.outputs["m.py"]


def test_next_on_a_generator_that_went_async_becomes_await_anext() -> None:
    output = async_of("""
        import socket
        from collections.abc import Iterator

        class Replies:
            def __init__(self, sock: socket.socket) -> None:
                self.sock = sock

            def chunks(self) -> Iterator[bytes]:
                while True:
                    yield self.sock.recv(10)

            def first(self) -> bytes:
                it = self.chunks()
                return next(it)

            def count(self, n: int) -> int:
                it = self.chunks()
                return sum(len(chunk) for chunk in it)
    """)
    assert "    async def first(self) -> bytes:" in output
    assert "        return await anext(it)" in output
    # sum() iterates with a plain for: it is handed the items, collected by an
    # async list comprehension (an async generator expression is a TypeError there).
    assert "return sum([len(chunk) async for chunk in it])" in output


def test_next_on_a_plain_iterator_is_left_alone() -> None:
    source = textwrap.dedent("""
        def first(values: list[int]) -> int:
            return next(iter(values))
    """)
    assert async_of(source) == source


def test_a_block_left_empty_by_the_markers_gets_a_pass() -> None:
    source = "IS_ASYNC = False\n\n\ndef f() -> None:\n    if not IS_ASYNC:\n        print(1)\n"
    result = to_async({"m.py": source}, table=DEFAULT_TABLE, renames={})
    assert result.diagnostics == []
    assert result.outputs["m.py"] == "IS_ASYNC = True\n\n\ndef f() -> None:\n    pass\n"


def test_a_with_statement_mixing_an_async_and_a_plain_context_manager_is_refused() -> None:
    (error,) = errors_of("""
        import threading
        import time

        LOCK = threading.Lock()

        def save(path: str) -> None:
            with LOCK, open(path, 'w') as f:
                time.sleep(0)
    """)
    assert (error.line, error.col) == (8, 16)
    assert "`open(path, 'w')` is not an async context manager" in error.message
    assert "split the statement" in error.message


def test_an_async_factory_handed_to_analysed_code_is_awaited_where_that_code_calls_it() -> None:
    output = async_of("""
        import socket
        from collections.abc import Callable


        class Pool:
            def __init__(self, connect: Callable[[], socket.socket]) -> None:
                self._connect = connect

            def acquire(self) -> socket.socket:
                return self._connect()


        def retry(attempt: Callable[[], bytes]) -> bytes:
            return attempt()


        class Client:
            def __init__(self) -> None:
                self.pool = Pool(self._new_connection)

            def _new_connection(self) -> socket.socket:
                return socket.create_connection(("localhost", 6379))

            def ping(self) -> bytes:
                return retry(attempt=self._ping_once)

            def _ping_once(self) -> bytes:
                sock = self.pool.acquire()
                sock.sendall(b"PING")
                return sock.recv(7)
    """)
    assert "    async def acquire(self) -> AsyncSocket:\n        return await self._connect()" in (
        output
    )
    assert (
        "async def retry(attempt: Callable[[], Awaitable[bytes]]) -> bytes:\n"
        "    return await attempt()"
    ) in output
    assert "def __init__(self, connect: Callable[[], Awaitable[AsyncSocket]]) -> None:" in output
    assert "from collections.abc import Callable, Awaitable" in output
    assert "        self.pool = Pool(self._new_connection)" in output
    assert "        return await retry(attempt=self._ping_once)" in output
    assert "        sock = await self.pool.acquire()" in output


def test_an_unconnected_socket_queue_event_and_exit_stack_take_their_twins() -> None:
    output = async_of("""
        import contextlib
        import queue
        import socket
        import threading


        def run(address: tuple[str, int]) -> bytes:
            sock = socket.socket()
            sock.settimeout(5)
            sock.connect(address)
            jobs = queue.Queue()
            jobs.put(b"job")
            done = threading.Event()
            done.set()
            done.wait()
            with contextlib.ExitStack() as stack:
                stack.callback(print, "bye")
                stack.close()
            return jobs.get_nowait() + sock.recv(1)
    """)
    assert "    sock = AsyncSocket()\n    sock.settimeout(5)\n    await sock.connect(address)" in (
        output
    )
    assert '    jobs = asyncio.Queue()\n    await jobs.put(b"job")' in output
    assert "    done = asyncio.Event()\n    done.set()\n    await done.wait()" in output
    assert "    async with contextlib.AsyncExitStack() as stack:" in output
    assert "        await stack.aclose()" in output
    assert "    return jobs.get_nowait() + await sock.recv(1)" in output


def test_a_delitem_that_would_await_is_refused_not_made_async() -> None:
    (error,) = errors_of("""
        import time

        class Store:
            def __delitem__(self, key: str) -> None:
                time.sleep(1)
    """)
    assert "Store.__delitem__() would have to await time.sleep" in error.message
    assert "__delitem__ cannot be async" in error.message


def test_a_local_annotated_callable_whose_calls_are_now_awaited_returns_an_awaitable() -> None:
    # pymemcache's _misc_cmd: `_reader: Callable[[socket, bytes], Tuple[bytes, bytes]]`,
    # then `_reader = partial(_readsegment, ...)` or `_reader = _readline`, both
    # now async, and `buf, line = await _reader(self.sock, buf)`: the annotation
    # must say the call gives an awaitable (mypy: "Incompatible types in await").
    output = async_of("""
        import socket
        from functools import partial
        from typing import Callable, Tuple


        def _readline(sock: socket.socket, buf: bytes) -> Tuple[bytes, bytes]:
            return buf, sock.recv(10)


        def _readsegment(sock: socket.socket, buf: bytes, end: bytes) -> Tuple[bytes, bytes]:
            return buf, sock.recv(10) + end


        def read(sock: socket.socket, end: bytes | None) -> bytes:
            reader: Callable[[socket.socket, bytes], Tuple[bytes, bytes]]
            if end:
                reader = partial(_readsegment, end=end)
            else:
                reader = _readline
            buf, line = reader(sock, b"")
            return line


        def count(sock: socket.socket) -> int:
            size: Callable[[bytes], int] = len
            return size(sock.recv(10))
    """)
    assert (
        "    reader: Callable[[AsyncSocket, bytes], Awaitable[Tuple[bytes, bytes]]]\n"
    ) in output
    assert "    buf, line = await reader(sock, b\"\")" in output
    assert "    size: Callable[[bytes], int] = len\n" in output


def test_an_attribute_annotated_callable_whose_calls_are_now_awaited_returns_an_awaitable() -> (
    None
):
    # b0859a2 gave a local `reader: Callable[[A], R]` the return type
    # Awaitable[R] when its calls are awaited; an attribute annotated so kept
    # `R` (mypy: "Incompatible types in await" at each `await self._reader(...)`,
    # and an assignment error where a coroutine function is stored): in the
    # class body, on `self.` in __init__ (with or without a value, Optional or
    # not), and a module global. Attributes whose calls stay plain are left.
    output = async_of("""
        import socket
        from typing import Callable, Optional


        def _recv_all(sock: socket.socket) -> bytes:
            return sock.recv(10)


        LOADER: Callable[[socket.socket], bytes] = _recv_all
        SIZER: Callable[[bytes], int] = len


        class Client:
            _reader: Callable[[socket.socket], bytes]
            _sizer: Callable[[bytes], int]

            def __init__(self, sock: socket.socket) -> None:
                self.sock = sock
                self._reader = self._recv
                self._sizer = len
                self._writer: Callable[[bytes], None] = self._send
                self._closer: Optional[Callable[[], None]] = None
                self._closer = self._close
                self._hook: Callable[[], None] | None = self._close

            def _recv(self, sock: socket.socket) -> bytes:
                return sock.recv(10)

            def _send(self, data: bytes) -> None:
                self.sock.sendall(data)

            def _close(self) -> None:
                self.sock.close()

            def talk(self) -> int:
                self._writer(b"x")
                data = self._reader(self.sock) + LOADER(self.sock)
                if self._closer is not None:
                    self._closer()
                if self._hook:
                    self._hook()
                return self._sizer(data) + SIZER(data)
    """)
    assert "LOADER: Callable[[AsyncSocket], Awaitable[bytes]] = _recv_all\n" in output
    assert "SIZER: Callable[[bytes], int] = len\n" in output
    assert "    _reader: Callable[[AsyncSocket], Awaitable[bytes]]\n" in output
    assert "    _sizer: Callable[[bytes], int]\n" in output
    assert (
        "        self._writer: Callable[[bytes], Awaitable[None]] = self._send\n"
    ) in output
    assert (
        "        self._closer: Optional[Callable[[], Awaitable[None]]] = None\n"
    ) in output
    assert "        await self._writer(b\"x\")\n" in output
    assert "        data = await self._reader(self.sock) + await LOADER(self.sock)\n" in output
    assert "            await self._closer()\n" in output
    assert "        self._hook: Callable[[], Awaitable[None]] | None = self._close\n" in output


def test_a_type_named_in_a_string_annotation_is_renamed_as_a_plain_one_is() -> None:
    # A forward reference (`sock: "socket.socket"`) kept the blocking type while
    # the value became its twin (mypy on the output: every `await sock.recv()`
    # an await of bytes). The string is parsed and the names in it renamed; a
    # lock that stays a threading lock keeps its string too; Literal's strings,
    # strings with escapes or prefixes and other strings are left.
    output = async_of('''
        from __future__ import annotations

        import socket
        import threading
        from typing import Literal, Optional


        class Client:
            _lock: "threading.Lock"
            _kept: 'threading.Lock'

            def __init__(self, sock: "socket.socket", mode: Literal["socket.socket"]) -> None:
                self.sock: "Optional[socket.socket]" = sock
                self._lock = threading.Lock()
                self._kept = threading.Lock()
                self.label = "socket.socket"

            def fetch(self) -> "bytes":
                with self._kept:
                    pass
                with self._lock:
                    assert self.sock is not None
                    return self.sock.recv(10)

            def peer(self) -> "list[socket.socket]":
                return [self.sock] if self.sock else []
    ''')
    assert "    _lock: \"asyncio.Lock\"\n" in output
    assert "    _kept: 'threading.Lock'\n" in output
    assert (
        "    def __init__(self, sock: \"AsyncSocket\", mode: Literal[\"socket.socket\"]) -> None:\n"
    ) in output
    assert "        self.sock: \"Optional[AsyncSocket]\" = sock\n" in output
    assert "        self.label = \"socket.socket\"\n" in output
    assert "    def peer(self) -> \"list[AsyncSocket]\":\n" in output


def test_a_callable_in_a_string_annotation_whose_calls_are_now_awaited_returns_an_awaitable() -> (
    None
):
    # 9bd1ecd's Awaitable[R] for an attribute annotated Callable[[A], R] whose
    # calls are awaited, and 9060b74's renames inside string annotations: an
    # attribute annotated with a string (`"Callable[[socket.socket], bytes]"`)
    # gets both; one whose calls stay plain is left.
    output = async_of('''
        import socket
        from typing import Callable


        class Client:
            _reader: "Callable[[socket.socket], bytes]"
            _sizer: "Callable[[bytes], int]"

            def __init__(self, sock: socket.socket) -> None:
                self.sock = sock
                self._reader = self._recv
                self._sizer = len

            def _recv(self, sock: socket.socket) -> bytes:
                return sock.recv(10)

            def talk(self) -> int:
                return self._sizer(self._reader(self.sock))
    ''')
    assert '    _reader: "Callable[[AsyncSocket], Awaitable[bytes]]"\n' in output
    assert '    _sizer: "Callable[[bytes], int]"\n' in output
    assert "        return self._sizer(await self._reader(self.sock))\n" in output
    assert "from collections.abc import Awaitable\n" in output
