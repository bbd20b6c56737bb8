"""The socket's type is followed the way a reader follows it (issue 8, item 1).

Each reproducer was a silent half-port before: ``connect`` awaited, ``send``
and ``recv`` on the same socket not, and a ``RuntimeWarning: coroutine ...
was never awaited`` at run time. Each must now port with no diagnostic, the
same calls awaited a person would await.
"""

from __future__ import annotations

import textwrap

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_async import to_async


def port(source: str) -> str:
    result = to_async({"client.py": textwrap.dedent(source)}, table=DEFAULT_TABLE, renames={})
    assert [str(d) for d in result.diagnostics] == []
    return result.outputs["client.py"]


def test_a_socket_returned_by_a_helper_is_followed_into_the_attribute_it_lands_in():
    out = port(
        """\
        import socket


        class Client:
            def _get_socket(self, host, port, timeout):
                return socket.create_connection((host, port), timeout)

            def connect(self, host, port):
                self.sock = self._get_socket(host, port, 5)
                self.file = self.sock.makefile("rb")
                return self.file.readline()

            def ping(self):
                self.sock.sendall(b"PING\\r\\n")
                return self.file.readline()
        """
    )
    assert "        self.sock = await self._get_socket(host, port, 5)" in out
    assert '        await self.sock.sendall(b"PING\\r\\n")' in out
    assert out.count("return await self.file.readline()") == 2


def test_an_override_that_connects_makes_the_base_method_and_its_callers_async():
    out = port(
        """\
        import socket


        class Base:
            def _connect(self):
                pass

            def open(self):
                self._connect()
                return self

            def talk(self):
                self.sock.sendall(b"x")


        class Sub(Base):
            def _connect(self):
                self.sock = socket.create_connection(("localhost", 1))
        """
    )
    assert "    async def _connect(self):\n        pass" in out
    assert "        await self._connect()" in out
    assert '        await self.sock.sendall(b"x")' in out  # set only in the subclass


def test_items_of_annotated_containers_comprehensions_and_getattr_dispatch_are_followed():
    out = port(
        """\
        import socket


        class Host:
            def __init__(self, addr):
                self.addr = addr

            def connect(self):
                self.sock = socket.create_connection(self.addr)

            def send(self, data):
                self.sock.sendall(data)


        class Cluster:
            def __init__(self, addrs):
                self.servers: list[Host] = [Host(a) for a in addrs]
                self.by_name: dict[str, Host] = {}
                self.spare = [Host(a) for a in addrs]

            def connect_all(self):
                for s in self.servers:
                    s.connect()

            def send(self, name, data):
                self.by_name[name].send(data)
                self.by_name.get(name).send(data)

            def first(self):
                self.spare.pop().send(b"x")

            def dispatch(self, cmd, data):
                getattr(self, "do_" + cmd)(data)

            def do_send(self, data):
                self.servers[0].send(data)

            def do_nothing(self, data):
                pass
        """
    )
    assert "            await s.connect()" in out
    assert "        await self.by_name[name].send(data)" in out
    assert "        await self.by_name.get(name).send(data)" in out
    assert '        await self.spare.pop().send(b"x")' in out
    assert '        await getattr(self, "do_" + cmd)(data)' in out
    # every method getattr may pick is awaited there, so every one is async
    assert "    async def do_nothing(self, data):" in out


def test_a_tuple_returned_by_a_helper_and_a_parameter_typed_by_its_callers_are_followed():
    out = port(
        """\
        import socket


        class Response:
            def __init__(self, sock):
                self.fp = sock.makefile("rb")

            def read(self, n):
                return self.fp.read(n)


        class Connection:
            def ntransfer(self, host, port):
                conn = socket.create_connection((host, port))
                return conn, 0

            def transfer(self, host, port):
                return self.ntransfer(host, port)[0]

            def fetch(self, host, port):
                conn, size = self.ntransfer(host, port)
                conn.sendall(b"GET\\r\\n")
                other = self.transfer(host, port)
                other.sendall(b"GET\\r\\n")
                return Response(conn).read(10)
        """
    )
    assert "        conn = await AsyncSocket.create_connection((host, port))" in out
    assert '        await conn.sendall(b"GET\\r\\n")' in out
    assert '        await other.sendall(b"GET\\r\\n")' in out
    assert "        return await self.fp.read(n)" in out
    assert "        return await Response(conn).read(10)" in out


def test_wrap_socket_on_any_receiver_given_a_socket_becomes_the_awaited_tls_upgrade():
    # The context's type is rarely known (ssl._create_stdlib_context(), self.context):
    # the rule looks at the argument, a socket, not at the receiver's name.
    out = port(
        """\
        import socket


        class Client:
            def __init__(self, context):
                self.context = context

            def connect(self, host, port):
                self.sock = socket.create_connection((host, port))

            def starttls(self, host):
                self.sock.sendall(b"STARTTLS\\r\\n")
                self.sock = self.context.wrap_socket(self.sock, server_hostname=host)
                self.sock.sendall(b"EHLO\\r\\n")

            def unrelated(self, wrapper, text):
                return wrapper.wrap_socket(text)  # not a socket: not a TLS upgrade
        """
    )
    assert (
        "        self.sock = await ambidex.io.wrap_socket(self.context, self.sock, "
        "server_hostname=host)" in out
    )
    assert '        await self.sock.sendall(b"EHLO\\r\\n")' in out
    assert "        return wrapper.wrap_socket(text)" in out


def test_a_method_only_looked_at_by_a_builtin_is_not_a_callback():
    # imaplib: `if type(literal) is type(self._command):` -- type() never calls it.
    out = port(
        """\
        import socket


        class Client:
            def connect(self):
                self.sock = socket.create_connection(("localhost", 143))

            def _command(self, data):
                self.sock.sendall(data)

            def run(self, literal):
                if type(literal) is type(self._command) or callable(self._command):
                    literal = literal()
                self._command(literal)
        """
    )
    assert "        await self._command(literal)" in out


def test_functions_held_as_values_are_awaited_where_they_are_called():
    # pymemcache: reader = partial(_readsegment, ...) if ... else _readline; reader(sock, buf)
    out = port(
        """\
        import socket
        from functools import partial


        def _readline(sock, buf):
            return sock.recv(10)


        def _readsegment(sock, buf, end):
            return sock.recv(10)


        def fetch(host, end=None):
            sock = socket.create_connection((host, 11211))
            if end:
                reader = partial(_readsegment, end=end)
            else:
                reader = _readline
            return reader(sock, b"")


        def make_reader(sock):
            def read():
                return sock.recv(10)
            return read


        def use(host):
            sock = socket.create_connection((host, 11211))
            read = make_reader(sock)
            return read()
        """
    )
    assert "async def _readline(sock, buf):" in out
    assert "async def _readsegment(sock, buf, end):" in out
    assert '    return await reader(sock, b"")' in out
    assert "    read = make_reader(sock)\n    return await read()" in out


def test_a_call_already_awaited_in_an_async_def_of_the_source_is_not_awaited_twice():
    # redis-py: sync and async classes side by side; the async one already awaits a
    # method the port now knows is async.
    out = port(
        """\
        import socket


        class Pipeline:
            def execute(self):
                self.sock.sendall(b"EXEC")

            def connect(self):
                self.sock = socket.create_connection(("localhost", 6379))


        class AsyncIndexer:
            def __init__(self, client):
                self._pipeline: Pipeline = client

            async def commit(self):
                await self._pipeline.execute()
        """
    )
    assert "        await self._pipeline.execute()" in out
    assert "await await" not in out


def test_items_put_into_an_unannotated_pool_are_followed_out_of_it():
    # python-memcached: self.buckets = []; self.buckets.append(_Host(...)); later
    # server = self.buckets[i]; a queue of connections: self.pool.put(conn) / get()
    out = port(
        """\
        import queue
        import socket


        class Host:
            def connect(self):
                self.sock = socket.create_connection(("localhost", 11211))

            def send(self, data):
                self.sock.sendall(data)


        class Client:
            def __init__(self, addresses):
                self.buckets = []
                self.pool = queue.LifoQueue()
                for address in addresses:
                    host = Host()
                    self.buckets.append(host)
                    self.pool.put_nowait(host)

            def pick(self, key):
                server = self.buckets[hash(key) % len(self.buckets)]
                server.connect()
                for other in self.buckets:
                    other.send(b"x")
                self.pool.get_nowait().send(b"y")
                names = []
                names.append(key)  # a list of str: append is not Client.append
                return names

            def append(self, key, value):
                self.pick(key)
        """
    )
    assert "        await server.connect()" in out
    assert '            await other.send(b"x")' in out
    assert '        await self.pool.get_nowait().send(b"y")' in out
    assert "        names.append(key)" in out


def test_a_module_given_as_a_parameter_default_is_followed():
    # pymemcache: def __init__(self, ..., socket_module: ModuleType = socket)
    out = port(
        """\
        import socket
        from types import ModuleType


        class Client:
            def __init__(self, server, socket_module: ModuleType = socket):
                self.server = server
                self.socket_module = socket_module

            def connect(self):
                s = self.socket_module
                sock = s.socket(s.AF_INET, s.SOCK_STREAM)
                sock.connect(self.server)
                self.sock = sock
        """
    )
    assert "        sock = AsyncSocket(s.AF_INET, s.SOCK_STREAM)" in out
    assert "        await sock.connect(self.server)" in out
