"""Marker directives by qualified name: port third-party code without editing it
(issue 8, item 7: ``--sync-only Client.__getitem__``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ambidex import cli
from ambidex.codegen._directives import apply_directives

CLIENT = textwrap.dedent(
    """\
    import socket


    class Client:
        def connect(self, host, port):
            self.sock = socket.create_connection((host, port))

        def get(self, key):
            self.sock.sendall(b"get " + key + b"\\r\\n")
            return self.sock.recv(100)

        def __getitem__(self, key):  # Python never awaits this: it cannot be ported
            return self.get(key)
    """
)


def test_without_the_directive_the_dunder_refuses_the_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "client.py"
    source.write_text(CLIENT)
    assert cli.main(["port", "--to", "async", str(source), "-o", str(tmp_path / "o.py")]) == 1
    assert "Client.__getitem__() would have to await" in capsys.readouterr().err


def test_sync_only_by_qualified_name_leaves_the_definition_out(tmp_path: Path) -> None:
    source = tmp_path / "client.py"
    source.write_text(CLIENT)
    out = tmp_path / "o.py"
    argv = ["port", "--to", "async", "--sync-only", "Client.__getitem__", str(source), "-o",
            str(out)]
    assert cli.main(argv) == 0
    written = out.read_text()
    assert "__getitem__" not in written
    assert "    async def get(self, key):" in written
    assert source.read_text() == CLIENT  # the third-party source is untouched


def test_sync_only_in_pyproject_does_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ambidex]\nsync_only = ["client.Client.__getitem__"]\n'
    )
    (tmp_path / "client.py").write_text(CLIENT)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["port", "--to", "async", "client.py", "-o", "o.py"]) == 0
    assert "__getitem__" not in (tmp_path / "o.py").read_text()


def test_a_name_that_matches_no_definition_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "client.py"
    source.write_text(CLIENT)
    argv = ["port", "--to", "async", "--sync-only", "Client.__getitme__", str(source), "-o",
            str(tmp_path / "o.py")]
    assert cli.main(argv) == 2
    assert "--sync-only Client.__getitme__: no definition" in capsys.readouterr().err


def test_a_directive_is_the_marker_on_the_definitions_first_line() -> None:
    text = "class A:\n    @property\n    def x(self):\n        return 1\n"
    marked, unused = apply_directives({"m.py": text}, {"sync-only": ["A.x", "B"]})
    assert marked["m.py"].splitlines()[1] == "    @property  # ambidex: sync-only"
    assert unused == ["B"]
