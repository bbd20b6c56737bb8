"""The one table: what blocks, and what its asyncio twin is.

Every part of ambidex reads this table and nothing else for that knowledge:

* the generator rewrites with it (sync -> async: ``time.sleep`` becomes
  ``await asyncio.sleep``; async -> sync: the other way round),
* the lint reports with it (a call whose row ``blocks``, reached from an
  ``async def``, is a finding, and the row's twin or ``fix`` is the advice),
* the runtime detector knows from it which functions to intercept.

Adding a primitive is adding one row. Users add rows in their pyproject.toml::

    [[tool.ambidex.rules]]
    sync = "mylib.Client.fetch"        # the blocking name
    async = "mylib.AsyncClient.fetch"  # its twin (omit: no faithful twin)
    kind = "method"                    # "call" (default), "method" or "name"
    await = true                       # the twin is awaited at the call site
    blocks = true                      # the sync side blocks the calling thread
    returns = "mylib.Response"         # type of the result, to follow objects
    fix = "use mylib.AsyncClient"      # advice when there is no twin
    cancel = "interrupt"               # wrap: what stops the call (see Rule.cancel)
    results = true                     # wrap: the call starts a result set

Names are dotted as the code spells them once imports are resolved:
``time.sleep``, ``socket.socket.recv`` (method ``recv`` of type
``socket.socket``), ``__enter__`` (a bare dunder, renamed wherever it is
defined or called).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Kind(enum.Enum):
    """How a row applies to code."""

    #: A function or a constructor, called by its dotted name: ``time.sleep(1)``.
    CALL = "call"
    #: A method of a type the code tracks: ``sock.recv(n)`` where ``sock`` came
    #: from ``socket.create_connection``. The row's name is ``Type.method``.
    METHOD = "method"
    #: A pure rename with no call semantics: ``Iterator`` <-> ``AsyncIterator``,
    #: ``__enter__`` <-> ``__aenter__``, ``StopIteration``.
    NAME = "name"


@dataclass(frozen=True)
class Rule:
    """One row of the table. See the module docstring for the fields' meaning."""

    sync: str | None
    """The blocking-world name; None for an async-only API (``asyncio.gather``)."""
    async_: str | None
    """The asyncio twin; None when there is no faithful twin."""
    kind: Kind = Kind.CALL
    awaited: bool = False
    """The twin is awaited where it is called (``await asyncio.sleep(1)``)."""
    blocks: bool = False
    """The sync side blocks the calling thread: the lint reports it when it is
    reached from an ``async def``; the runtime detector intercepts it."""
    returns: str | None = None
    """Dotted type of the sync call's result, so the code can follow the object
    (``socket.create_connection`` returns a ``socket.socket``)."""
    fix: str = ""
    """What to do instead, said by the lint and by the generator's diagnostics."""
    user: bool = field(default=False, compare=False)
    """The row came from the user's pyproject.toml, not from ambidex."""
    receiver_arg: bool = False
    """A method whose twin is a function taking the receiver first:
    ``ctx.wrap_socket(sock, ...)`` -> ``await wrap_socket(ctx, sock, ...)``."""
    args_twin: str | None = None
    """Called with more than ``twin_args`` arguments, the twin is this function
    instead, the receiver first: ``event.wait(5)`` -> ``await wait_event(event, 5)``
    (``asyncio.Event.wait`` takes no timeout)."""
    twin_args: int = 0
    receiver_typed: str | None = None
    """For an exception name: rename it only in an ``except`` whose ``try`` body
    calls a method of an object of this type (which the port converted):
    ``queue.Empty`` becomes ``asyncio.QueueEmpty`` only around an ``asyncio.Queue``."""
    match_arg: str | None = None
    """The row also applies to a method of its name on a receiver of unknown
    type when the first argument is of this type (``x.wrap_socket(sock)`` with
    ``sock`` a ``socket.socket``): the rule looks at the arguments, not at the
    name alone."""
    cancel: str | None = None
    """For :func:`ambidex.offload.wrap`: the driver's own way to stop this call
    while it runs, as a method reached from the receiver (``"interrupt"``:
    ``receiver.interrupt()``; ``"connection.cancel"``:
    ``receiver.connection.cancel()``). It is called from the event loop's
    thread when the awaiting task is cancelled, so the database stops too."""
    results: bool = False
    """For :func:`ambidex.offload.wrap`: the call ends the cursor's DB-API
    result set and may start a new one (``execute``, ``executemany``,
    ``nextset``); the new set's first rows travel back in the same thread hop."""
    towards_sync_only: bool = False
    """Only async -> sync reads the row: its sync side is right in async code
    too (``time.monotonic``), so sync -> async, the lint and the detector
    ignore it."""

    def advice(self) -> str:
        """The fix to print: the row's own ``fix``, or "use <twin>"."""
        if self.fix:
            return self.fix
        if self.async_ is not None:
            return f"use {'await ' if self.awaited else ''}{self.async_}"
        return "run it with asyncio.to_thread"


def _call(sync: str, async_: str | None, *, awaited: bool = True, blocks: bool = True,
          returns: str | None = None, fix: str = "") -> Rule:
    return Rule(sync, async_, Kind.CALL, awaited, blocks, returns, fix)


def _method(sync: str, async_: str | None, *, awaited: bool = True, blocks: bool = True,
            returns: str | None = None, fix: str = "", cancel: str | None = None,
            results: bool = False) -> Rule:
    return Rule(sync, async_, Kind.METHOD, awaited, blocks, returns, fix,
                cancel=cancel, results=results)


def _name(sync: str | None, async_: str | None, fix: str = "") -> Rule:
    return Rule(sync, async_, Kind.NAME, fix=fix)


def _sync_name(sync: str, async_: str) -> Rule:
    """A bare name renamed wherever it appears towards sync, and never towards async."""
    return Rule(sync, async_, Kind.NAME, towards_sync_only=True)


def _loop_method(name: str) -> Rule:
    """A method of asyncio's event loop: async-only, and named like nothing else, so
    towards sync it is reported on an object of unknown type too."""
    return Rule(None, f"asyncio.AbstractEventLoop.{name}", Kind.METHOD,
                fix="sync code has no event loop: mark the statement async-only")


def _plain(sync: str, async_: str) -> Rule:
    """A method that exists in both colours and is never awaited."""
    return Rule(sync, async_, Kind.METHOD)


def _async_only(async_: str, fix: str) -> Rule:
    return Rule(None, async_, Kind.CALL, fix=fix)


def _towards_sync(async_: str, sync: str) -> Rule:
    """An async spelling with a faithful sync twin whose sync side needs no
    change in async code (so sync -> async leaves it alone)."""
    return Rule(sync, async_, Kind.CALL, awaited=False, blocks=False, towards_sync_only=True)


_TO_THREAD = "run it with asyncio.to_thread"
_FILES = "use ambidex.offload.open_file (or run it with asyncio.to_thread)"
_SUBPROCESS = "use asyncio.create_subprocess_exec"
_HTTP = "use an async HTTP client, or run it with asyncio.to_thread"

_POLLING = ("await the socket's reads (with asyncio.timeout for a deadline) instead of "
            "polling its file descriptor")

_WRAP = "use ambidex.offload.wrap (or run it with asyncio.to_thread)"


def _driver(connect: str, connection: str, cursor: str, *, cursor_cancel: str | None,
            connection_execute: bool = True, connection_cancel: str | None = None,
            connection_methods: tuple[str, ...] = (), cursor_methods: tuple[str, ...] = (),
            results_methods: tuple[str, ...] = ()) -> tuple[Rule, ...]:
    """The rows of one DB-API 2.0 driver: ``connect``, the connection's and the
    cursor's blocking methods, which ones start a result set, and the cancel
    hooks that :func:`ambidex.offload.wrap` calls when an await is cancelled."""
    wrap = f"use ambidex.offload.wrap: aconn = await wrap({connect}, ...)"
    execute: tuple[Rule, ...] = ()
    if connection_execute:  # not in PEP 249, but sqlite3 and pyodbc have it
        execute = (_method(f"{connection}.execute", None, returns=cursor, fix=_WRAP,
                           cancel=connection_cancel, results=True),)
    return (
        _call(connect, None, returns=connection, fix=wrap),
        _method(f"{connection}.cursor", None, returns=cursor, fix=_WRAP),
        *(_method(f"{connection}.{name}", None, fix=_WRAP)
          for name in ("commit", "rollback", "close", *connection_methods)),
        *execute,
        *(_method(f"{cursor}.{name}", None, fix=_WRAP, cancel=cursor_cancel)
          for name in ("fetchone", "fetchmany", "fetchall", *cursor_methods)),
        # Each of these ends the cursor's result set and may start a new one.
        *(_method(f"{cursor}.{name}", None, fix=_WRAP, cancel=cursor_cancel, results=True)
          for name in ("execute", "executemany", "callproc", "nextset", *results_methods)),
        _method(f"{cursor}.close", None, fix=_WRAP),
    )


# DB-API 2.0 (PEP 249) in general: "dbapi.Connection" and "dbapi.Cursor" stand
# for the connection and cursor types of any module whose ``apilevel`` is
# "2.0". wrap() falls back to them for a driver the table does not name; the
# lint and the detector never meet these names in code.
_DATABASE_RULES: tuple[Rule, ...] = (
    *_driver("dbapi.connect", "dbapi.Connection", "dbapi.Cursor", cursor_cancel=None),
    # sqlite3: interrupt() is documented as callable from any thread.
    *_driver("sqlite3.connect", "sqlite3.Connection", "sqlite3.Cursor",
             connection_cancel="interrupt", cursor_cancel="connection.interrupt",
             connection_methods=("executemany", "executescript", "backup", "iterdump",
                                 "blobopen"),
             results_methods=("executescript",)),
    # pyodbc: Cursor.cancel() is SQLCancel, made for another thread to call.
    # Connection.execute makes a cursor the loop cannot reach while it runs, so
    # it has no hook: use conn.cursor() then cursor.execute for a cancellable query.
    *_driver("pyodbc.connect", "pyodbc.Connection", "pyodbc.Cursor", cursor_cancel="cancel",
             connection_methods=("getinfo", "set_attr"),
             cursor_methods=("fetchval", "commit", "rollback"),
             results_methods=("tables", "columns", "statistics", "rowIdColumns",
                              "primaryKeys", "foreignKeys", "procedures",
                              "procedureColumns", "getTypeInfo")),
    # psycopg2: connection.cancel() asks the server to stop the running query.
    *_driver("psycopg2.connect", "psycopg2.extensions.connection",
             "psycopg2.extensions.cursor", connection_execute=False,
             cursor_cancel="connection.cancel",
             connection_methods=("reset", "set_session", "tpc_begin", "tpc_prepare",
                                 "tpc_commit", "tpc_rollback", "tpc_recover"),
             cursor_methods=("scroll",),
             results_methods=("copy_from", "copy_to", "copy_expert")),
)

DEFAULT_RULES: tuple[Rule, ...] = (
    # --- protocols of the language: dunders, exceptions, builtins -------------
    _name("__enter__", "__aenter__"),
    _name("__exit__", "__aexit__"),
    _name("__iter__", "__aiter__"),
    _name("__next__", "__anext__"),
    _name("StopIteration", "StopAsyncIteration"),
    _call("next", "anext", blocks=False),
    _call("iter", "aiter", awaited=False, blocks=False),
    # An async generator's own methods (`aclose` is ExitStack's row below). Towards
    # sync only: `send` is too common a name to rename towards async.
    _sync_name("send", "asend"),
    _sync_name("throw", "athrow"),
    # --- typing and collections.abc ------------------------------------------
    _name("typing.Iterator", "typing.AsyncIterator"),
    _name("typing.Iterable", "typing.AsyncIterable"),
    _name("typing.Generator", "typing.AsyncGenerator"),
    _name("typing.ContextManager", "typing.AsyncContextManager"),
    _name("collections.abc.Iterator", "collections.abc.AsyncIterator"),
    _name("collections.abc.Iterable", "collections.abc.AsyncIterable"),
    _name("collections.abc.Generator", "collections.abc.AsyncGenerator"),
    # --- contextlib ------------------------------------------------------------
    _name("contextlib.contextmanager", "contextlib.asynccontextmanager"),
    _name("contextlib.AbstractContextManager", "contextlib.AbstractAsyncContextManager"),
    _name("contextlib.closing", "contextlib.aclosing"),
    _call("contextlib.ExitStack", "contextlib.AsyncExitStack", awaited=False, blocks=False,
          returns="contextlib.ExitStack"),
    _method("contextlib.ExitStack.__enter__", "contextlib.AsyncExitStack.__aenter__",
            blocks=False),
    _method("contextlib.ExitStack.enter_context", "contextlib.AsyncExitStack.enter_async_context",
            blocks=False),
    _method("contextlib.ExitStack.close", "contextlib.AsyncExitStack.aclose", blocks=False),
    _plain("contextlib.ExitStack.callback", "contextlib.AsyncExitStack.callback"),
    _plain("contextlib.ExitStack.push", "contextlib.AsyncExitStack.push"),
    _plain("contextlib.ExitStack.pop_all", "contextlib.AsyncExitStack.pop_all"),
    # --- time ------------------------------------------------------------------
    _call("time.sleep", "asyncio.sleep"),
    # --- threading -> asyncio synchronisation ----------------------------------
    _call("threading.Lock", "asyncio.Lock", awaited=False, blocks=False,
          returns="threading.Lock"),
    Rule("threading.Lock.acquire", "asyncio.Lock.acquire", Kind.METHOD, True, True,
         args_twin="ambidex.io.acquire_lock"),
    _method("threading.Lock.__enter__", "asyncio.Lock.__aenter__"),
    _plain("threading.Lock.release", "asyncio.Lock.release"),
    _plain("threading.Lock.locked", "asyncio.Lock.locked"),
    _call("threading.RLock", None, awaited=False, blocks=False, returns="threading.RLock",
          fix="asyncio has no re-entrant lock: restructure to take asyncio.Lock once"),
    _method("threading.RLock.acquire", None, fix="use asyncio.Lock"),
    _method("threading.RLock.__enter__", None, fix="use asyncio.Lock"),
    _call("threading.Event", "asyncio.Event", awaited=False, blocks=False,
          returns="threading.Event"),
    Rule("threading.Event.wait", "asyncio.Event.wait", Kind.METHOD, True, True,
         args_twin="ambidex.io.wait_event"),
    _plain("threading.Event.set", "asyncio.Event.set"),
    _plain("threading.Event.clear", "asyncio.Event.clear"),
    _plain("threading.Event.is_set", "asyncio.Event.is_set"),
    _call("threading.Condition", "asyncio.Condition", awaited=False, blocks=False,
          returns="threading.Condition"),
    Rule("threading.Condition.wait", "asyncio.Condition.wait", Kind.METHOD, True, True,
         args_twin="ambidex.io.wait_condition"),
    _method("threading.Condition.wait_for", "asyncio.Condition.wait_for"),
    Rule("threading.Condition.acquire", "asyncio.Condition.acquire", Kind.METHOD, True, True,
         args_twin="ambidex.io.acquire_lock"),
    _method("threading.Condition.__enter__", "asyncio.Condition.__aenter__"),
    _plain("threading.Condition.release", "asyncio.Condition.release"),
    _plain("threading.Condition.notify", "asyncio.Condition.notify"),
    _plain("threading.Condition.notify_all", "asyncio.Condition.notify_all"),
    _call("threading.Semaphore", "asyncio.Semaphore", awaited=False, blocks=False,
          returns="threading.Semaphore"),
    Rule("threading.Semaphore.acquire", "asyncio.Semaphore.acquire", Kind.METHOD, True, True,
         args_twin="ambidex.io.acquire_lock"),
    _method("threading.Semaphore.__enter__", "asyncio.Semaphore.__aenter__"),
    _plain("threading.Semaphore.release", "asyncio.Semaphore.release"),
    _call("threading.BoundedSemaphore", "asyncio.BoundedSemaphore", awaited=False,
          blocks=False, returns="threading.BoundedSemaphore"),
    Rule("threading.BoundedSemaphore.acquire", "asyncio.BoundedSemaphore.acquire", Kind.METHOD,
         True, True, args_twin="ambidex.io.acquire_lock"),
    _method("threading.BoundedSemaphore.__enter__", "asyncio.BoundedSemaphore.__aenter__"),
    _plain("threading.BoundedSemaphore.release", "asyncio.BoundedSemaphore.release"),
    _method("threading.Thread.join", None, fix="await an asyncio.Task instead"),
    # --- queue -> asyncio.Queue --------------------------------------------------
    _call("queue.Queue", "asyncio.Queue", awaited=False, blocks=False, returns="queue.Queue"),
    Rule("queue.Queue.get", "asyncio.Queue.get", Kind.METHOD, True, True,
         args_twin="ambidex.io.queue_get"),
    Rule("queue.Queue.put", "asyncio.Queue.put", Kind.METHOD, True, True,
         args_twin="ambidex.io.queue_put", twin_args=1),
    _method("queue.Queue.join", "asyncio.Queue.join"),
    _plain("queue.Queue.get_nowait", "asyncio.Queue.get_nowait"),
    _plain("queue.Queue.put_nowait", "asyncio.Queue.put_nowait"),
    _plain("queue.Queue.task_done", "asyncio.Queue.task_done"),
    _plain("queue.Queue.qsize", "asyncio.Queue.qsize"),
    _plain("queue.Queue.empty", "asyncio.Queue.empty"),
    _plain("queue.Queue.full", "asyncio.Queue.full"),
    _call("queue.LifoQueue", "asyncio.LifoQueue", awaited=False, blocks=False,
          returns="queue.Queue"),
    _call("queue.PriorityQueue", "asyncio.PriorityQueue", awaited=False, blocks=False,
          returns="queue.Queue"),
    Rule("queue.Empty", "asyncio.QueueEmpty", Kind.NAME, receiver_typed="queue.Queue"),
    Rule("queue.Full", "asyncio.QueueFull", Kind.NAME, receiver_typed="queue.Queue"),
    # --- raw sockets -> ambidex.io.AsyncSocket (same method names) -------------
    _call("socket.create_connection", "ambidex.io.AsyncSocket.create_connection",
          returns="socket.socket"),
    _call("socket.socket", "ambidex.io.AsyncSocket", awaited=False, blocks=False,
          returns="socket.socket"),
    _method("socket.socket.connect", "ambidex.io.AsyncSocket.connect"),
    _method("socket.socket.recv", "ambidex.io.AsyncSocket.recv"),
    _method("socket.socket.recv_into", "ambidex.io.AsyncSocket.recv_into"),
    _method("socket.socket.send", "ambidex.io.AsyncSocket.send"),
    _method("socket.socket.sendall", "ambidex.io.AsyncSocket.sendall"),
    _method("socket.socket.close", "ambidex.io.AsyncSocket.close", blocks=False),
    _method("socket.socket.__enter__", "ambidex.io.AsyncSocket.__aenter__", blocks=False),
    *(_plain(f"socket.socket.{name}", f"ambidex.io.AsyncSocket.{name}") for name in (
        "settimeout", "gettimeout", "setblocking", "getblocking", "setsockopt", "getsockopt",
        "getpeername", "getsockname", "fileno", "bind", "shutdown")),
    # sock.makefile(mode) does no I/O; the file's reads and writes are awaited.
    # "socket.SocketIO" stands for whatever makefile returns (a SocketIO, or
    # the BufferedReader/TextIOWrapper over one), so the file is followed.
    Rule("socket.socket.makefile", "ambidex.io.AsyncSocket.makefile", Kind.METHOD,
         returns="socket.SocketIO"),
    *(_method(f"socket.SocketIO.{name}", f"ambidex.io.AsyncSocketIO.{name}") for name in (
        "read", "read1", "readinto", "readline", "readlines", "peek", "write", "writelines")),
    _method("socket.SocketIO.__enter__", "ambidex.io.AsyncSocketIO.__aenter__", blocks=False),
    *(_plain(f"socket.SocketIO.{name}", f"ambidex.io.AsyncSocketIO.{name}") for name in (
        "close", "flush", "fileno", "readable", "writable")),
    # `for line in sock.makefile("rb")` reads the socket: `async for` over the twin.
    _method("socket.SocketIO.__iter__", "ambidex.io.AsyncSocketIO.__aiter__"),
    _method("socket.socket.accept", None, fix="use asyncio.start_server"),
    _method("socket.socket.recvfrom", None, fix="use loop.create_datagram_endpoint"),
    _method("socket.socket.sendto", None, fix="use loop.create_datagram_endpoint"),
    # TLS on a connected socket: upgraded in place by an awaited twin that takes
    # the context first. Applies to any receiver given a socket (contexts are
    # rarely typed: ssl._create_stdlib_context(), self.context).
    Rule("ssl.SSLContext.wrap_socket", "ambidex.io.wrap_socket", Kind.METHOD, awaited=True,
         blocks=True, returns="socket.socket", receiver_arg=True, match_arg="socket.socket"),
    # TLS's closing handshake; the connection goes on in clear text (ftplib's ccc()).
    # The row names socket.socket: wrap_socket's result is followed as one.
    _method("socket.socket.unwrap", "ambidex.io.AsyncSocket.unwrap", returns="socket.socket"),
    _call("socket.getaddrinfo", None, fix="use loop.getaddrinfo"),
    _call("socket.gethostbyname", None, fix="use loop.getaddrinfo"),
    _method("ssl.SSLSocket.do_handshake", None, fix="pass ssl= to ambidex.io.AsyncStream.connect"),
    _call("select.select", None, fix="await the streams instead of polling them"),
    # Readiness polling (telnetlib's `with selectors.PollSelector() as s: s.select(t)`)
    # blocks, and on a ported socket it is wrong too: bytes may already wait in the
    # stream's buffer while the file descriptor says nothing is there.
    *(_call(f"selectors.{name}", None, awaited=False, blocks=False,
            returns="selectors.BaseSelector")
      for name in ("DefaultSelector", "SelectSelector", "PollSelector", "EpollSelector",
                   "KqueueSelector", "DevpollSelector", "BaseSelector")),
    _method("selectors.BaseSelector.select", None, fix=_POLLING),
    *(_call(f"select.{name}", None, awaited=False, blocks=False, returns=f"select.{name}")
      for name in ("poll", "epoll", "devpoll")),
    *(_method(f"select.{name}.poll", None, fix=_POLLING) for name in ("poll", "epoll", "devpoll")),
    # --- ambidex.io streams: same names in both colours --------------------------
    _name("ambidex.io.Stream", "ambidex.io.AsyncStream"),
    _method("ambidex.io.Stream.connect", "ambidex.io.AsyncStream.connect",
            returns="ambidex.io.Stream"),
    _method("ambidex.io.Stream.read", "ambidex.io.AsyncStream.read"),
    _method("ambidex.io.Stream.read_exactly", "ambidex.io.AsyncStream.read_exactly"),
    _method("ambidex.io.Stream.read_until", "ambidex.io.AsyncStream.read_until"),
    _method("ambidex.io.Stream.write", "ambidex.io.AsyncStream.write"),
    _method("ambidex.io.Stream.close", "ambidex.io.AsyncStream.close", blocks=False),
    _method("ambidex.io.Stream.start_tls", "ambidex.io.AsyncStream.start_tls"),
    _method("ambidex.io.Stream.__enter__", "ambidex.io.AsyncStream.__aenter__", blocks=False),
    # --- files and the OS: no faithful twin; offload them ----------------------
    _call("open", None, returns="io.IOBase", fix=_FILES),
    _call("io.open", None, returns="io.IOBase", fix=_FILES),
    _method("io.IOBase.read", None, fix=_FILES),
    _method("io.IOBase.readline", None, fix=_FILES),
    _method("io.IOBase.readlines", None, fix=_FILES),
    _method("io.IOBase.write", None, fix=_FILES),
    _method("io.IOBase.flush", None, fix=_FILES),
    *(_call(f"os.{name}", None, fix=_TO_THREAD) for name in (
        "stat", "lstat", "listdir", "scandir", "walk", "remove", "unlink", "rename",
        "replace", "mkdir", "makedirs", "rmdir", "read", "write", "fsync", "open",
        "system", "wait", "waitpid")),
    *(_call(f"os.path.{name}", None, fix=_TO_THREAD) for name in (
        "exists", "isfile", "isdir", "getsize", "getmtime")),
    *(_method(f"pathlib.Path.{name}", None, fix=_FILES) for name in (
        "read_text", "read_bytes", "write_text", "write_bytes", "open", "exists",
        "stat", "iterdir", "glob", "rglob", "mkdir", "unlink")),
    _call("shutil.copyfile", None, fix=_TO_THREAD),
    _call("shutil.copy", None, fix=_TO_THREAD),
    _call("shutil.rmtree", None, fix=_TO_THREAD),
    # --- databases, processes, HTTP, the terminal -----------------------------------
    *_DATABASE_RULES,
    *(_call(f"subprocess.{name}", None, fix=_SUBPROCESS) for name in (
        "run", "call", "check_call", "check_output", "getoutput", "getstatusoutput")),
    _method("subprocess.Popen.wait", None, fix=_SUBPROCESS),
    _method("subprocess.Popen.communicate", None, fix=_SUBPROCESS),
    _call("urllib.request.urlopen", None, fix=_HTTP),
    _method("http.client.HTTPConnection.request", None, fix=_HTTP),
    _method("http.client.HTTPConnection.getresponse", None, fix=_HTTP),
    *(_call(f"requests.{name}", None, fix=_HTTP) for name in (
        "get", "post", "put", "patch", "delete", "head", "options", "request")),
    *(_method(f"requests.Session.{name}", None, fix=_HTTP) for name in (
        "get", "post", "put", "patch", "delete", "head", "options", "request")),
    _method("concurrent.futures.Future.result", None, fix="await asyncio.wrap_future(future)"),
    _call("input", None, fix="read stdin with loop.connect_read_pipe, or asyncio.to_thread"),
    # --- async-only APIs: no faithful sync twin (async -> sync reports them) -----
    _async_only("asyncio.gather", "no faithful sync twin: call them one after another, "
                "or mark the block async-only"),
    _async_only("asyncio.TaskGroup", "no faithful sync twin: mark the block async-only"),
    _async_only("asyncio.create_task", "no faithful sync twin: mark the block async-only"),
    _async_only("asyncio.ensure_future", "no faithful sync twin: mark the block async-only"),
    _async_only("asyncio.wait", "no faithful sync twin: mark the block async-only"),
    _async_only("asyncio.wait_for", "no faithful sync twin: use the stream's timeout, "
                "or mark the block async-only"),
    _async_only("asyncio.timeout", "no faithful sync twin: use the stream's timeout"),
    _async_only("asyncio.shield", "no faithful sync twin: mark the block async-only"),
    _async_only("asyncio.to_thread", "already a thread: call the function directly"),
    *(_loop_method(name) for name in (
        "run_in_executor", "create_future", "create_task", "call_soon", "call_soon_threadsafe",
        "call_later", "call_at", "getaddrinfo", "getnameinfo", "sock_recv", "sock_recv_into",
        "sock_sendall", "sock_connect", "sock_accept", "sock_sendfile", "create_connection",
        "create_server", "create_datagram_endpoint", "create_unix_connection",
        "create_unix_server", "connect_read_pipe", "connect_write_pipe", "subprocess_exec",
        "subprocess_shell", "add_reader", "add_writer", "remove_reader", "remove_writer",
        "add_signal_handler", "run_until_complete", "run_forever")),
    # `loop.time()` is the monotonic clock; `asyncio.get_running_loop().time` is
    # how async code spells it (a call of the row's name, then the attribute).
    _towards_sync("asyncio.get_running_loop().time", "time.monotonic"),
    _towards_sync("asyncio.get_event_loop().time", "time.monotonic"),
    # What a sync timeout raises (socket.timeout is TimeoutError since 3.10); before
    # 3.11 asyncio.TimeoutError was another class, which no sync call raises.
    _sync_name("TimeoutError", "asyncio.TimeoutError"),
    # True sync code: a question about a function, asked the same way in both colours.
    _towards_sync("asyncio.iscoroutinefunction", "asyncio.iscoroutinefunction"),
    _async_only("asyncio.get_running_loop", "no event loop in sync code: mark the block "
                "async-only"),
    _async_only("asyncio.run", "no event loop in sync code: call the function directly"),
)


class RuleTable:
    """The table, indexed both ways. Built once; look-ups are dict hits.

    ``by_sync`` maps a sync name to its row and ``by_async`` an async name to
    its row (the first row wins where several sync names share one twin, as
    ``queue.Queue``'s subclasses do).
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.by_sync: dict[str, Rule] = {}
        self.by_async: dict[str, Rule] = {}
        for rule in self.rules:
            # A user row replaces a default row for the same name.
            if rule.sync is not None and not rule.towards_sync_only \
                    and (rule.user or rule.sync not in self.by_sync):
                self.by_sync[rule.sync] = rule
            if rule.async_ is not None and (rule.user or rule.async_ not in self.by_async):
                self.by_async[rule.async_] = rule

    def blocking(self) -> list[Rule]:
        """The rows whose sync side blocks: what the lint and the detector watch."""
        return [rule for rule in self.by_sync.values() if rule.blocks]

    def extended(self, rules: Iterable[Rule]) -> RuleTable:
        return RuleTable((*self.rules, *rules))


class RuleError(ValueError):
    """A row in ``[tool.ambidex.rules]`` is malformed; the message names it."""


_ROW_KEYS = {"sync", "async", "kind", "await", "blocks", "returns", "fix", "cancel", "results"}


def rule_from_toml(row: Mapping[str, Any], where: str = "[[tool.ambidex.rules]]") -> Rule:
    """Build a user row from its TOML table, with errors that name the row."""
    if not isinstance(row, Mapping):
        raise RuleError(f"{where}: must be a table, got {row!r}")
    unknown = set(row) - _ROW_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(_ROW_KEYS)}")
    sync, async_ = row.get("sync"), row.get("async")
    if sync is None and async_ is None:
        raise RuleError(f"{where}: a rule needs 'sync', 'async' or both")
    for key in ("sync", "async", "returns", "fix", "cancel"):
        if key in row and not isinstance(row[key], str):
            raise RuleError(f"{where}: '{key}' must be a string, got {row[key]!r}")
    for key in ("await", "blocks", "results"):
        if key in row and not isinstance(row[key], bool):
            raise RuleError(f"{where}: '{key}' must be true or false, got {row[key]!r}")
    try:
        kind = Kind(row.get("kind", "call"))
    except ValueError:
        raise RuleError(
            f"{where}: 'kind' must be one of {[k.value for k in Kind]}, got {row.get('kind')!r}"
        ) from None
    default_await = kind is not Kind.NAME
    return Rule(
        sync=sync,
        async_=async_,
        kind=kind,
        awaited=row.get("await", default_await),
        blocks=row.get("blocks", kind is not Kind.NAME),
        returns=row.get("returns"),
        fix=row.get("fix", ""),
        user=True,
        cancel=row.get("cancel"),
        results=row.get("results", False),
    )


def load_table(tool_ambidex: Mapping[str, Any] | None = None) -> RuleTable:
    """The default table extended with ``[[tool.ambidex.rules]]`` rows.

    ``tool_ambidex`` is the parsed ``[tool.ambidex]`` table (or None).
    """
    table = DEFAULT_TABLE
    rows = (tool_ambidex or {}).get("rules", [])
    if not isinstance(rows, list):
        raise RuleError("[tool.ambidex] 'rules' must be an array of tables")
    if rows:
        table = table.extended(
            rule_from_toml(row, f"[[tool.ambidex.rules]] #{i + 1}") for i, row in enumerate(rows)
        )
    return table


DEFAULT_TABLE = RuleTable(DEFAULT_RULES)
