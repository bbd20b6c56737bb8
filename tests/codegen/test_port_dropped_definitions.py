"""A definition the port leaves out is not called by the code it keeps.

kazoo's ``KazooRetry.__call__`` sleeps with ``time.sleep`` and cannot become
async (``__call__`` cannot be a coroutine); leaving it out with
``--sync-only KazooRetry.__call__`` gave a port, exit 0 and no word, whose
``self._retry(self._client.get, ...)`` calls an object with no ``__call__``
(a ``TypeError`` at run time). The same for a function or a method marked
``# ambidex: sync-only`` and still called, or imported by another module: the
port is refused, at each place that still names what it left out.
"""

from __future__ import annotations

from pathlib import Path

from ambidex import cli
from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_async import to_async

RETRY = '''\
import time


def helper():  # ambidex: sync-only
    time.sleep(1)


class Retry:
    def __call__(self, func, *args):  # ambidex: sync-only
        time.sleep(1)
        return func(*args)

    def copy(self):  # ambidex: sync-only
        return Retry()

    def unused(self):  # ambidex: sync-only
        return 1


def fetch(sock):
    return sock.recv(10)


class User:
    def __init__(self):
        self._retry = Retry()

    def go(self, sock):
        helper()
        again = self._retry.copy()
        return self._retry(fetch, sock), again
'''
OTHER = "from pkg.retry import Retry, helper\n\n\ndef run():\n    helper()\n"


def _errors(modules: dict[str, str]) -> list[str]:
    result = to_async(modules, table=DEFAULT_TABLE, renames={})
    return [f"{d.path}:{d.line}:{d.col}: {d.message}" for d in result.diagnostics if d.error]


def test_a_left_out_function_method_or_call_dunder_still_called_refuses_the_port() -> None:
    errors = _errors({"pkg/retry.py": RETRY})
    assert [e.split(": ")[0] for e in errors] == [
        "pkg/retry.py:29:9", "pkg/retry.py:30:17", "pkg/retry.py:31:16"]
    assert "helper() is left out of the port ('# ambidex: sync-only', --sync-only" in errors[0]
    assert "but called here: the output would fail here" in errors[0]
    assert "Retry.copy() is left out of the port" in errors[1]
    assert "Retry.__call__() is left out of the port" in errors[2]


def test_a_left_out_function_imported_by_another_module_refuses_the_port() -> None:
    errors = _errors({"pkg/retry.py": RETRY, "pkg/other.py": OTHER})
    assert [e.split(": ")[0] for e in errors if e.startswith("pkg/other.py")] == [
        "pkg/other.py:1:30", "pkg/other.py:5:5"]


def test_a_left_out_definition_nobody_calls_is_a_clean_port() -> None:
    source = RETRY.replace("        helper()\n", "").replace(
        "        again = self._retry.copy()\n        return self._retry(fetch, sock), again\n",
        "        return fetch(sock)\n")
    assert _errors({"pkg/retry.py": source}) == []


def test_sync_only_on_the_command_line_is_checked_the_same(tmp_path: Path, capsys) -> None:
    source = tmp_path / "retry.py"
    source.write_text(RETRY.replace("  # ambidex: sync-only", ""))
    assert cli.main(["port", "--to", "async", str(source), "--sync-only", "Retry.__call__",
                     "-o", str(tmp_path / "out.py")]) == 1
    err = capsys.readouterr().err
    assert ":31:16: Retry.__call__() is left out of the port" in err
    assert not (tmp_path / "out.py").exists()


def test_a_function_only_the_sync_branch_of_a_flag_defines_is_left_out_too() -> None:
    source = ("import time\n\nIS_ASYNC = False\n\nif not IS_ASYNC:\n    def nap():\n"
              "        time.sleep(1)\n\n\ndef main():\n    nap()\n")
    errors = _errors({"pkg/flagged.py": source})
    assert [e.split(": ")[0] for e in errors] == ["pkg/flagged.py:11:5"]
    assert "nap() is left out of the port" in errors[0]


def test_a_left_out_property_still_read_refuses_the_port() -> None:
    # urllib3's HTTPResponse.data is a property that reads the body: left out
    # with --sync-only HTTPResponse.data, `response.data` read by kept code is
    # an AttributeError in the port.
    source = '''\
class Response:
    def __init__(self, sock):
        self._sock = sock

    @property
    def data(self):  # ambidex: sync-only
        return self._sock.recv(10)

    def read(self):
        return self._sock.recv(10)


def fetch(sock):
    response = Response(sock)
    return response.data, response.read
'''
    errors = _errors({"pkg/response.py": source})
    assert [e.split(": ")[0] for e in errors] == ["pkg/response.py:15:12"]
    assert "Response.data is left out of the port" in errors[0]


STDLIB_BASES = '''\
import socket
import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class Pool(threading.local, Generic[T]):
    def drain(self):  # ambidex: sync-only
        return 1

    def join(self):  # ambidex: sync-only
        return 2


class Err(Exception):
    def __str__(self):  # ambidex: sync-only
        return "err"


def use(sock: socket.socket, pool: Pool):
    pool.drain()
    pool.join()
    Err("x").__str__()
    return sock.recv(1)
'''


def test_a_left_out_method_of_a_class_with_a_stdlib_base_still_called_refuses_the_port() -> None:
    # The check used to skip any class with a base it did not analyse (it may
    # define the method): threading.local and Generic[T] are importable and do
    # not define drain(), so pool.drain() fails in the output. Neither is
    # join() on threading.local (threading.Thread has one, not local). A base
    # that does define the name (Exception.__str__) is no error.
    errors = _errors({"pkg/pool.py": STDLIB_BASES})
    assert [e.split(": ", 1)[0] for e in errors] == ["pkg/pool.py:22:5", "pkg/pool.py:23:5"]
    assert "Pool.drain() is left out" in errors[0]
