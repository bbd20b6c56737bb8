"""``--strict``: every warning that says the output may block the loop or may
be wrong is an error (issue 8: never a silent half-port).

Without ``--strict`` the port writes its output and lists, with a location,
what it could not make right: a blocking call with no asyncio twin that still
blocks the loop (stdlib telnetlib polls its ported socket with a selector), a
method that became a coroutine while overriding one of a class outside the
port. With ``--strict`` each of those refuses the port: exit 1, nothing
written, every finding listed with ``path:line:col``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ambidex import cli

POLLS_ITS_SOCKET = textwrap.dedent(
    """\
    import selectors
    import socket


    class Poller:
        def __init__(self):
            self.sock = None

        def connect(self, host, port):
            self.sock = socket.create_connection((host, port))

        def read_ready(self, timeout):
            with selectors.DefaultSelector() as selector:
                selector.register(self.sock, selectors.EVENT_READ)
                if selector.select(timeout):
                    return self.sock.recv(4096)
            return b""
    """
)

OVERRIDES_AN_OUTSIDE_CLASS = textwrap.dedent(
    """\
    import io
    import socket


    class Raw(io.RawIOBase):
        def __init__(self, sock):
            self.sock = sock

        def readinto(self, buffer):
            return self.sock.recv_into(buffer)


    def open_raw(host, port):
        return Raw(socket.create_connection((host, port)))
    """
)

NO_BLOCKING_CALL = "def add(x):\n    return x + 1\n"

CASES = {
    "a selector polling the ported socket": (
        POLLS_ITS_SOCKET,
        ":15:16: selectors.BaseSelector.select blocks and has no asyncio twin; it still "
        "blocks the event loop",
    ),
    "a coroutine overriding a method of a class outside the port": (
        OVERRIDES_AN_OUTSIDE_CLASS,
        ":9:5: Raw.readinto() becomes async but overrides io.RawIOBase.readinto",
    ),
    "a module in which nothing became async": (
        NO_BLOCKING_CALL,
        ":1:1: nothing became async",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_without_strict_a_warning_is_located_and_the_port_is_written(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, expected = CASES[case]
    source = tmp_path / "client.py"
    source.write_text(text)
    out = tmp_path / "client_async.py"
    assert cli.main(["port", "--to", "async", str(source), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if expected in line]
    assert [line.startswith(source.as_posix()) for line in lines] == [True], err
    assert lines[0].endswith("(warning)"), err
    assert out.exists()


@pytest.mark.parametrize("case", list(CASES))
def test_with_strict_a_warning_that_the_output_may_be_wrong_refuses_the_port(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, expected = CASES[case]
    source = tmp_path / "client.py"
    source.write_text(text)
    out = tmp_path / "client_async.py"
    assert cli.main(["port", "--to", "async", "--strict", str(source), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if expected in line]
    assert [line.startswith(source.as_posix()) for line in lines] == [True], err
    assert not lines[0].endswith("(warning)"), err
    assert not out.exists()


RETURNS_A_COROUTINE = textwrap.dedent(
    """\
    import asyncio


    async def fetch() -> int:
        await asyncio.sleep(0)
        return 1


    def later():
        return fetch()


    async def main() -> int:
        f = lambda: fetch()
        return await later() + await f()
    """
)


@pytest.mark.parametrize("strict", [False, True])
def test_towards_sync_a_coroutine_returned_unawaited_is_a_warning_and_with_strict_an_error(
    strict: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The sync twin runs the call where the coroutine was made, not where it
    # was awaited: the same result here, not if the caller awaits it later.
    source = tmp_path / "_async" / "m.py"
    source.parent.mkdir()
    source.write_text(RETURNS_A_COROUTINE)
    out = tmp_path / "_sync" / "m.py"
    argv = ["port", "--to", "sync", *(["--strict"] if strict else []), str(source), "-o", str(out)]
    assert cli.main(argv) == (1 if strict else 0)
    err = capsys.readouterr().err.splitlines()
    suffix = "" if strict else " (warning)"
    assert err == [
        f"{source.as_posix()}:{line}: returns the coroutine of fetch() without awaiting it: the "
        f"sync version runs the call here and returns its result{suffix}"
        for line in ("10:12", "14:17")
    ]
    assert out.exists() is not strict
