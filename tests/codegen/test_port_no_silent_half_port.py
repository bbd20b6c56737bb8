"""Patterns found by porting clients nobody named (telnetlib, python-memcached,
hand-made reproducers of what real clients do): each was ported with exit 0
into code that blocked the loop or left a coroutine un-awaited, and nothing
said so. Each now ports right, or is said with its location.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ambidex import cli
from ambidex._rules import DEFAULT_TABLE
from ambidex._unawaited import find_unawaited
from ambidex.codegen._to_async import to_async


def port(source: str) -> tuple[str, list[str], list[str]]:
    """The output (empty when refused), the errors and the warnings."""
    result = to_async({"client.py": textwrap.dedent(source)}, table=DEFAULT_TABLE, renames={})
    errors = [str(d) for d in result.diagnostics if d.error]
    warnings = [str(d) for d in result.diagnostics if not d.error]
    return result.outputs.get("client.py", ""), errors, warnings


def test_a_selector_polling_a_ported_socket_is_located_as_still_blocking() -> None:
    # telnetlib: `_TelnetSelector = selectors.PollSelector`, then
    # `with _TelnetSelector() as selector: ... selector.select(timeout)`.
    _, errors, warnings = port(
        """\
        import selectors
        import socket

        if hasattr(selectors, "PollSelector"):
            _Selector = selectors.PollSelector
        else:
            _Selector = selectors.SelectSelector


        class Client:
            def open(self, host, port):
                self.sock = socket.create_connection((host, port))

            def fileno(self):
                return self.sock.fileno()

            def read_some(self, timeout):
                with _Selector() as selector:
                    selector.register(self, selectors.EVENT_READ)
                    if selector.select(timeout):
                        return self.sock.recv(50)
                return b""

            def ready(self):
                with selectors.DefaultSelector() as selector:
                    selector.register(self, selectors.EVENT_READ)
                    return bool(selector.select(0))

            def read_eager(self):
                if self.ready():
                    return self.sock.recv(50)
        """
    )
    assert errors == []
    located = [w for w in warnings if "selectors.BaseSelector.select blocks" in w]
    assert [w.split(": ", 1)[0] for w in located] == ["client.py:20:16", "client.py:27:25"]


def test_polling_with_select_poll_in_ported_code_is_located_as_still_blocking() -> None:
    _, _, warnings = port(
        """\
        import select
        import socket


        def read_some(host, timeout):
            sock = socket.create_connection((host, 1))
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            if poller.poll(timeout):
                return sock.recv(10)
        """
    )
    assert any(w.startswith("client.py:9:8: select.poll.poll blocks") for w in warnings)


def test_a_for_loop_over_a_ported_socket_file_becomes_async_for() -> None:
    out, errors, _ = port(
        """\
        import socket


        class Client:
            def open(self):
                self.sock = socket.create_connection(("h", 1))
                self.file = self.sock.makefile("rb")

            def lines(self):
                out = []
                for line in self.file:
                    out.append(line)
                return out
        """
    )
    assert errors == []
    assert "    async def lines(self):" in out
    assert "        async for line in self.file:" in out


def test_a_function_that_became_async_stored_in_a_container_is_refused_with_its_location() -> (
    None
):
    # Called later through the container (`self.handlers[kind]()`), where the
    # port cannot follow it: refused, not left returning a coroutine.
    _, errors, _ = port(
        """\
        import socket


        class Client:
            def open(self):
                self.sock = socket.create_connection(("h", 1))
                self.handlers = {"a": self._read_a, "b": self._read_b}

            def _read_a(self):
                return self.sock.recv(1)

            def _read_b(self):
                return self.sock.recv(2)

            def read(self, kind):
                return self.handlers[kind]()

            def pick(self, x):
                return [self._read_a, self._read_b][x]()
        """
    )
    assert [e.split(": ", 1)[0] for e in errors] == [
        "client.py:7:31",
        "client.py:7:50",
        "client.py:19:17",
        "client.py:19:31",
    ]
    assert all("Client._read_" in e and "stored in a container" in e for e in errors)


def test_an_async_generator_handed_to_list_or_join_is_refused_with_its_location() -> None:
    # `b"".join(self.chunks())` where chunks() became an async generator joins
    # nothing: it raises TypeError at run time.
    _, errors, _ = port(
        """\
        import socket


        class Client:
            def open(self):
                self.sock = socket.create_connection(("h", 1))

            def chunks(self):
                while True:
                    data = self.sock.recv(10)
                    if not data:
                        return
                    yield data

            def all(self):
                return b"".join(self.chunks())

            def first(self):
                for chunk in self.chunks():
                    return chunk
        """
    )
    assert len(errors) == 1
    assert errors[0].startswith("client.py:16:25: ")
    assert "async generator" in errors[0] and "Client.chunks" in errors[0]


GENERATOR_USERS = """\
    import socket


    def lines(sock: socket.socket):
        while True:
            data = sock.recv(10)
            if not data:
                return
            yield data


    def passthrough(sock: socket.socket):
        yield from lines(sock)


    def keys(sock: socket.socket):
        return dict.fromkeys(lines(sock))


    def shown(sock: socket.socket):
        return repr(lines(sock))
    """


def test_yield_from_an_async_generator_is_refused_with_its_location() -> None:
    # The function that delegates stayed a sync generator doing `yield from` on
    # an async generator: a TypeError when iterated, exit 0, no word.
    _, errors, _ = port(GENERATOR_USERS)
    assert [e.split(": ", 1)[0] for e in errors] == ["client.py:13:16"]
    assert "`yield from` iterates it" in errors[0]


def test_an_async_generator_handed_to_a_callable_the_port_does_not_know_is_a_warning() -> None:
    # dict.fromkeys(lines(sock)) iterates it the sync way (a TypeError); a callable
    # outside the port may or may not: said, with its place. repr() does not iterate.
    _, _, warnings = port(GENERATOR_USERS)
    located = [w.split(": ", 1)[0] for w in warnings if "async generator" in w]
    assert located == ["client.py:17:26"]
    assert "`dict.fromkeys` may iterate it" in warnings[0]


def test_the_lint_finds_an_async_generator_iterated_without_async_for() -> None:
    findings = find_unawaited(
        {
            "m.py": textwrap.dedent(
                """\
                async def rows():
                    yield 1


                async def main():
                    got = list(rows())
                    for row in rows():
                        print(row)
                    return [r for r in rows()], got
                """
            )
        },
        DEFAULT_TABLE,
        lenient=True,
    )
    assert [(f.line, f.col) for f in findings] == [(6, 16), (7, 16), (9, 24)]


def test_a_refused_half_port_writes_nothing_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "client.py"
    source.write_text(
        textwrap.dedent(
            """\
            import socket


            class Client:
                def open(self):
                    self.sock = socket.create_connection(("h", 1))
                    self.readers = [self.read]

                def read(self):
                    return self.sock.recv(1)
            """
        )
    )
    out = tmp_path / "client_async.py"
    assert cli.main(["port", "--to", "async", str(source), "-o", str(out)]) == 1
    assert f"{source.as_posix()}:7:25: Client.read() becomes async" in capsys.readouterr().err
    assert not out.exists()


def test_a_function_that_became_async_under_a_decorator_of_the_code_is_refused_there() -> None:
    # A retry decorator's wrapper stays sync: it hands the coroutine back
    # unawaited, so its `try/except OSError` around the call catches nothing.
    _, errors, _ = port(
        """\
        import functools
        import socket


        def retry(fn):
            @functools.wraps(fn)
            def wrapper(self, *args):
                for _ in range(3):
                    try:
                        return fn(self, *args)
                    except OSError:
                        pass
                raise OSError("gave up")

            return wrapper


        def logged(times):
            def decorate(fn):
                def inner(*args):
                    return fn(*args)

                return inner

            return decorate


        class Client:
            def open(self):
                self.sock = socket.create_connection(("h", 1))

            @retry
            def get(self, key):
                self.sock.sendall(key)
                return self.sock.recv(10)

            @logged(2)
            def put(self, key):
                self.sock.sendall(key)

            @functools.lru_cache()
            def info(self):
                return self.sock.recv(5)
        """
    )
    assert [e.split(": ", 1)[0] for e in errors] == [
        "client.py:32:6",
        "client.py:37:6",
        "client.py:41:6",
    ]
    assert "Client.get() becomes async" in errors[0] and "retry" in errors[0]


def test_a_socket_method_bound_to_an_attribute_is_awaited_under_its_own_name() -> None:
    # `self._send = self.sock.sendall` then `self._send(data)`: the port once
    # wrote `await self.sendall(data)`, an attribute the client does not have.
    out, errors, _ = port(
        """\
        import socket
        import threading


        class Client:
            def open(self):
                self.sock = socket.create_connection(("h", 1))
                self._send = self.sock.sendall
                self.ready = threading.Event()
                self._wait = self.ready.wait

            def ping(self):
                self._send(b"PING")
                return self.sock.recv(4)

            def settle(self):
                return self._wait(5)
        """
    )
    assert "        await self._send(b\"PING\")" in out
    assert [e.split(": ", 1)[0] for e in errors] == ["client.py:17:16"]
    assert "`self._wait(...)`" in errors[0] and "threading.Event.wait" in errors[0]


def test_socket_flags_the_stream_twin_cannot_honour_refuse_the_port_where_they_are_passed() -> (
    None
):
    # `recv(n, MSG_PEEK)` ported with exit 0, silently, and raised EOPNOTSUPP
    # at run time. Said where it is: a warning (ftplib's abort() sends MSG_OOB
    # on a path a client may never take), an error with --strict.
    _, errors, warnings = port(
        """\
        import socket


        class Client:
            def open(self):
                self.sock = socket.create_connection(("h", 1))

            def peek(self):
                return self.sock.recv(10, socket.MSG_PEEK)

            def urgent(self, data):
                self.sock.sendall(data, flags=socket.MSG_OOB)

            def plain(self, data):
                self.sock.send(data, 0)
                return self.sock.recv(10)
        """
    )
    assert errors == []
    assert [w.split(": ", 1)[0] for w in warnings] == ["client.py:9:16", "client.py:12:9"]
    assert "`flags`" in warnings[0] and "MSG_PEEK" in warnings[0]


def test_a_socket_method_handed_on_as_a_value_is_refused_where_it_is_handed() -> None:
    # Whoever calls it later (a partial, a thread, getattr's caller) gets a
    # coroutine from the AsyncSocket and does not await it.
    _, errors, _ = port(
        """\
        import functools
        import socket


        class Client:
            def open(self):
                self.sock = socket.create_connection(("h", 1))

            def ping(self, executor):
                send = functools.partial(self.sock.sendall, b"PING")
                send()
                executor.submit(self.sock.recv, 4)
                return getattr(self.sock, "recv")(4)
        """
    )
    assert [e.split(": ", 1)[0] for e in errors] == [
        "client.py:10:34",
        "client.py:12:25",
        "client.py:13:16",
    ]
    assert "socket.socket.sendall" in errors[0] and "value" in errors[0]



def test_a_port_that_finds_nothing_to_make_async_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # xmlrpc.client does its I/O through http.client's putrequest/send/
    # endheaders: the port returned it unchanged, exit 0, and said nothing.
    source = tmp_path / "client.py"
    text = textwrap.dedent(
        """\
        import http.client


        class Transport:
            def request(self, host, body):
                connection = http.client.HTTPConnection(host)
                connection.putrequest("POST", "/RPC2")
                connection.endheaders(body)
                return connection.getresponse().read()
        """
    )
    source.write_text(text)
    out = tmp_path / "client_async.py"
    assert cli.main(["port", "--to", "async", str(source), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"{source.as_posix()}:1:1: nothing became async")
    assert err.rstrip().endswith("(warning)")
    assert out.read_text() == text


def test_contextlib_closing_is_kept_and_refused_where_close_must_be_awaited() -> None:
    # The port renamed every closing() to aclosing(), in functions that stayed
    # sync too (`with aclosing(urlopen(url))`: a TypeError), and kept a plain
    # `with` around an AsyncSocket (whose close() must be awaited).
    out, errors, _ = port(
        """\
        import contextlib
        import socket
        import urllib.request


        def fetch(host):
            with contextlib.closing(socket.create_connection((host, 1))) as s:
                return s.recv(1)


        def page(url):
            with contextlib.closing(urllib.request.urlopen(url)) as r:
                return r.read()
        """
    )
    assert "aclosing" not in out
    assert "    with contextlib.closing(urllib.request.urlopen(url)) as r:" in out
    assert [e.split(": ", 1)[0] for e in errors] == ["client.py:7:10"]
    assert "close()" in errors[0] and "without awaiting" in errors[0]


def test_an_explicit_call_of_a_dunder_that_became_async_uses_the_async_dunders_name() -> None:
    # `c = C().__enter__()` became `await C().__enter__()`, while the method
    # itself was renamed `__aenter__`: an AttributeError at run time.
    out, errors, _ = port(
        """\
        import socket


        class C:
            def __enter__(self):
                self.sock = socket.create_connection(("h", 1))
                return self

            def __exit__(self, *exc):
                self.sock.close()


        def main():
            c = C().__enter__()
            try:
                return c.sock.recv(1)
            finally:
                c.__exit__(None, None, None)
        """
    )
    assert errors == []
    assert "    c = await C().__aenter__()" in out
    assert "        await c.__aexit__(None, None, None)" in out


def test_a_generator_expression_made_async_is_collected_for_a_builtin_that_consumes_it_all() -> (
    None
):
    # `sum(1 for _ in self.lines())` became `sum(1 async for _ in ...)`: an
    # async generator handed to sum() (TypeError). sum/list/join... read it all
    # anyway: an async list comprehension is the same reading. any() stops
    # early (on a socket it would read less): refused, with its location.
    out, errors, _ = port(
        """\
        import socket


        class C:
            def open(self):
                self.sock = socket.create_connection(("h", 1))
                self.rfile = self.sock.makefile("rb")

            def lines(self):
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    yield line

            def count(self):
                return sum(1 for _ in self.lines())

            def joined(self):
                return b"".join((line.strip() for line in self.lines()))

            def any_ok(self):
                return any(line.startswith(b"OK") for line in self.lines())
        """
    )
    assert "        return sum([1 async for _ in self.lines()])" in out
    assert '        return b"".join(([line.strip() async for line in self.lines()]))' in out
    assert [e.split(": ", 1)[0] for e in errors] == ["client.py:23:16"]
    assert "`any`" in errors[0]


def test_a_blocking_call_through_a_parameter_default_says_the_parameter_is_ignored() -> None:
    # `def __init__(self, connect=socket.create_connection)`, then
    # `self._connect(addr)`: the port calls the twin directly, so a callable
    # passed for `connect` is no longer used. Said where, as a warning.
    out, errors, warnings = port(
        """\
        import socket


        class Client:
            def __init__(self, connect=socket.create_connection):
                self._connect = connect

            def open(self):
                self.sock = self._connect(("h", 1))
                return self.sock.recv(1)
        """
    )
    assert errors == []
    assert '        self.sock = await AsyncSocket.create_connection(("h", 1))' in out
    located = [w for w in warnings if "self._connect" in w]
    assert [w.split(": ", 1)[0] for w in located] == ["client.py:9:21"]
    assert "ignored" in located[0]


def test_a_module_global_assigned_under_a_global_statement_is_followed() -> None:
    out, errors, warnings = port(
        """\
        import socket

        _conn = None


        def connect():
            global _conn
            _conn = socket.create_connection(("h", 1))


        def send(x):
            _conn.sendall(x)
            return _conn.recv(1)
        """
    )
    assert errors == [] and warnings == []
    assert "    await _conn.sendall(x)" in out
    assert "    return await _conn.recv(1)" in out


def test_a_method_chosen_by_name_at_run_time_on_a_class_with_async_methods_is_located() -> None:
    # imaplib's demo: `typ, dat = getattr(M, cmd)(*args)` with `cmd` from a table:
    # the method may be one that became async; nothing said so.
    output, errors, warnings = port(
        """\
        import socket


        class Client:
            def __init__(self) -> None:
                self.sock = socket.socket()

            def noop(self) -> bytes:
                self.sock.sendall(b"NOOP\\r\\n")
                return self.sock.recv(10)

            def name(self) -> str:
                return "c"


        def run_all(client: Client, commands: list[str]) -> None:
            for command in commands:
                print(getattr(client, command)())
            print(getattr(client, "name")())
        """
    )
    assert errors == []
    assert warnings == [
        "client.py:18:15: `getattr(client, command)()`: the method is chosen by name at run "
        "time among those of Client, and some of them became async (Client.noop()); if it "
        "is one of those, this call must be awaited (dispatch to the async ones apart, or "
        "check it by hand)"
    ]
    assert output


def test_a_method_that_became_async_called_on_what_a_contextmanager_yields_is_located() -> None:
    # pymemcache's PooledClient: `with self.client_pool.get_and_release() as
    # client: client.quit()`, get_and_release a @contextlib.contextmanager
    # generator. What `with` binds is what the generator yields, not the
    # generator: the receiver's type is unknown, and `quit` became async.
    out, errors, warnings = port(
        """\
        import contextlib
        import socket
        from typing import Iterator


        class Client:
            def connect(self, address):
                self.sock = socket.create_connection(address)

            def quit(self):
                self.sock.sendall(b"quit")


        class Pool:
            def __init__(self, make):
                self._make = make

            @contextlib.contextmanager
            def borrowed(self):
                yield self._make()

            @contextlib.contextmanager
            def annotated(self) -> Iterator[object]:
                yield self._make()


        class Pooled:
            def __init__(self, pool):
                self.pool = pool

            def quit(self):
                with self.pool.borrowed() as client:
                    client.quit()

            def quit_annotated(self, pool: Pool):
                with pool.borrowed() as client:
                    client.quit()
                with pool.annotated() as other:
                    other.quit()
        """
    )
    assert errors == []
    assert "async def quit(self):\n        await self.sock.sendall" in out
    located = [w.split(": ", 1)[0] for w in warnings if "`quit` is a method that became async" in w]
    assert located == ["client.py:33:13", "client.py:37:13", "client.py:39:13"], warnings
