"""The port's guarantee, checked on its own output before anything is written.

After ``ambidex port --to async`` succeeds, no call of a function that became
async is left unawaited, and no method is called on a twin that it lacks.
What the analysis cannot know -- a receiver of unknown type whose method
name became async -- is said with a location: a warning, an error with
``--strict`` (and then nothing is written).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ambidex import cli
from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_async import to_async

UNKNOWN_RECEIVER = textwrap.dedent(
    """\
    import socket


    class Conn:
        def __init__(self):
            self.sock = None

        def open(self, host, port):
            self.sock = socket.create_connection((host, port))


    class Session:
        def __init__(self, conn):
            self.conn = conn  # whatever the caller passes: its type is not known here

        def start(self):
            self.conn.open("localhost", 25)
    """
)


def test_a_call_on_a_receiver_of_unknown_type_whose_method_became_async_is_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "session.py"
    source.write_text(UNKNOWN_RECEIVER)
    out = tmp_path / "session_async.py"
    assert cli.main(["port", "--to", "async", str(source), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert (
        f"{source.as_posix()}:17:9: `self.conn.open(...)`: the type of `self.conn` is unknown, "
        "and `open` is a method that became async" in err
    )
    assert err.rstrip().endswith("(warning)")


def test_with_strict_the_unknown_receiver_refuses_the_port_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "session.py"
    source.write_text(UNKNOWN_RECEIVER)
    out = tmp_path / "session_async.py"
    assert cli.main(["port", "--to", "async", "--strict", str(source), "-o", str(out)]) == 1
    assert f"{source.as_posix()}:17:9: " in capsys.readouterr().err
    assert not out.exists()


def test_an_annotated_receiver_is_followed_and_needs_no_warning() -> None:
    annotated = UNKNOWN_RECEIVER.replace("(self, conn):", "(self, conn: Conn):")
    result = to_async({"session.py": annotated}, table=DEFAULT_TABLE, renames={})
    assert result.diagnostics == []
    assert 'await self.conn.open("localhost", 25)' in result.outputs["session.py"]
    assert "    async def start(self):" in result.outputs["session.py"]
