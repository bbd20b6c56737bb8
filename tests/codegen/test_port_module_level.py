"""Code outside every function cannot await: the port says so at each call.

The stdlib's clients end with a demo (``if __name__ == "__main__":`` in
smtplib, ftplib, poplib, imaplib, nntplib) that calls the very methods the
port makes async; the output check read calls inside functions only, so the
port wrote those calls unawaited with exit 0 and no word: a silent half-port.
Now a call at import time (a module's statements, a class body) refuses the
port; a call in the ``__main__`` block is a located warning (importing the
port runs none of it), an error with ``--strict``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ambidex import cli
from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen import to_async

CLIENT = """\
import socket


class Client:
    def __init__(self) -> None:
        self.sock = socket.socket()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)


def main() -> None:
    Client().send(b"x")
"""


def _diagnostics(source: str) -> list[tuple[int, int, bool, str]]:
    result = to_async({"m/a.py": textwrap.dedent(source)}, table=DEFAULT_TABLE, renames={})
    return [(d.line, d.col, d.error, d.message) for d in result.diagnostics]


def test_a_call_at_import_time_of_a_function_that_became_async_refuses_the_port() -> None:
    found = _diagnostics(CLIENT + "\n\nmain()\nCLIENT = Client()\nCLIENT.send(b'y')\n")
    assert [(line, col, error) for line, col, error, _ in found] == [
        (16, 1, True), (18, 1, True),
    ]
    assert found[0][3].startswith("coroutine never awaited: `main()` (main() is async) is "
                                  "called outside any function")
    assert "`CLIENT.send(...)` (Client.send() is async)" in found[1][3]


def test_a_call_in_a_class_body_refuses_the_port() -> None:
    found = _diagnostics(CLIENT + "\n\nclass Later:\n    value = main()\n")
    assert [(line, col, error) for line, col, error, _ in found] == [(17, 13, True)]


def test_calls_in_the_main_block_are_located_warnings_and_errors_with_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A block the port cannot move into an `async def main()` (module code
    # follows it: tests/codegen/test_port_main_block.py ports the others).
    source = tmp_path / "client.py"
    source.write_text(CLIENT + '\n\nif __name__ == "__main__":\n    c = Client()\n'
                      "    c.send(b'x')\n    main()\n\nLATE = 1\n")
    out = tmp_path / "client_async.py"
    assert cli.main(["port", "--to", "async", str(source), "-o", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line.split(": coroutine never awaited")[0] for line in err] == [
        f"{source.as_posix()}:18:5", f"{source.as_posix()}:19:5",
    ]
    assert all(line.endswith("(warning)") and "__main__" in line for line in err)
    assert out.exists()
    out.unlink()
    assert cli.main(["port", "--to", "async", "--strict", str(source), "-o", str(out)]) == 1
    assert len(capsys.readouterr().err.splitlines()) == 2
    assert not out.exists()


def test_a_coroutine_handed_to_a_call_or_made_in_a_lambda_is_not_reported() -> None:
    source = CLIENT + "\n\nrunner = lambda: main()\nprint(main())\n"
    assert _diagnostics(source) == []


def test_an_import_time_call_of_a_function_made_async_in_another_module_refuses_the_port(
) -> None:
    # The check skipped a module without an `async def` of its own: a module
    # that only imports and calls one was written unawaited, exit 0, no word.
    modules = {"pkg/a.py": "import time\n\n\ndef fetch() -> None:\n    time.sleep(1)\n",
               "pkg/b.py": "from pkg.a import fetch\n\nfetch()\n"}
    result = to_async(modules, table=DEFAULT_TABLE, renames={})
    assert [(d.path, d.line, d.col, d.error) for d in result.diagnostics] == [
        ("pkg/b.py", 3, 1, True)
    ]
    assert "`fetch()` (fetch() is async)" in result.diagnostics[0].message
