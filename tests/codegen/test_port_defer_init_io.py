"""``--defer-init-io``: the I/O of ``__init__`` moves into ``__aenter__`` (issue 8, item 3).

By default an ``__init__`` that connects refuses the port (Python cannot
await there; see test_port_async). Opted in, the statements that must await,
and the later ones that read what they assign, move into the class's
``__enter__`` (made if missing), which the port turns into ``__aenter__``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ambidex import cli
from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_async import to_async

CONNECTS_IN_INIT = textwrap.dedent(
    """\
    import socket


    class Client:
        def __init__(self, host=None, port=0, timeout=5.0):
            self.timeout = timeout
            self.sock = None
            if host:
                self.sock = socket.create_connection((host, port), timeout)
                self.file = self.sock.makefile("rb")
            self.greeting = self.file.readline() if host else b""
            self.name = "client"

        def ping(self):
            self.sock.sendall(b"PING\\r\\n")
            return self.file.readline()

        def close(self):
            if self.sock is not None:
                self.sock.close()
    """
)


def test_the_io_of_init_moves_into_a_new_aenter_and_aexit_closes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "client.py"
    source.write_text(CONNECTS_IN_INIT)
    out = tmp_path / "client_async.py"
    assert cli.main(["port", "--to", "async", "--defer-init-io", str(source), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert (
        f"{source.as_posix()}:5:5: --defer-init-io: lines 8-11 of Client.__init__() (the I/O, "
        "and what depends on it) moved into Client.__aenter__" in err
    )
    assert "host, port, timeout kept for it" in err
    written = out.read_text()
    expected_init = (
        "    def __init__(self, host=None, port=0, timeout=5.0):\n"
        "        self.timeout = timeout\n"
        "        self.sock = None\n"
        "        self.__deferred_init_args = (host, port, timeout)\n"
        '        self.name = "client"\n'
    )
    assert expected_init in written
    assert (
        "    async def __aenter__(self):\n"
        "        host, port, timeout = self.__deferred_init_args\n"
        "        if host:\n"
        "            self.sock = await AsyncSocket.create_connection((host, port), timeout)\n"
    ) in written
    assert '        self.greeting = await self.file.readline() if host else b""\n' in written
    assert "    async def __aexit__(self, *exc_info):\n        await self.close()\n" in written
    compile(written, str(out), "exec")


def test_an_existing_enter_gets_the_moved_io_first() -> None:
    source = textwrap.dedent(
        """\
        import socket


        class Client:
            def __init__(self, host, port):
                self.sock = socket.create_connection((host, port))

            def __enter__(self):
                \"\"\"Enter.\"\"\"
                return self

            def __exit__(self, *exc_info):
                self.sock.close()
        """
    )
    result = to_async({"c.py": source}, table=DEFAULT_TABLE, renames={}, defer_init_io=True)
    assert not result.failed, [str(d) for d in result.diagnostics]
    assert (
        "    async def __aenter__(self):\n"
        '        """Enter."""\n'
        "        host, port = self.__deferred_init_args\n"
        "        self.sock = await AsyncSocket.create_connection((host, port))\n"
        "        return self\n"
    ) in result.outputs["c.py"]


def test_diagnostics_after_the_inserted_lines_point_at_the_source() -> None:
    source = CONNECTS_IN_INIT + textwrap.dedent(
        """\


        class Other:
            def run(self, conn):
                conn.ping()  # unknown receiver: a located warning
        """
    )
    result = to_async({"c.py": source}, table=DEFAULT_TABLE, renames={}, defer_init_io=True)
    line = source.splitlines().index("        conn.ping()  # unknown receiver: a located warning")
    warnings = [d for d in result.diagnostics if "conn.ping" in d.message]
    assert [(d.line, d.error) for d in warnings] == [(line + 1, False)]


def test_defer_init_io_in_pyproject_does_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.ambidex]\ndefer_init_io = true\n")
    source = tmp_path / "client.py"
    source.write_text(CONNECTS_IN_INIT)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["port", "--to", "async", "client.py", "-o", "out.py"]) == 0
    assert "async def __aenter__(self):" in (tmp_path / "out.py").read_text()


def test_generate_rows_to_async_read_defer_init_io_and_sync_only_from_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.ambidex]\n"
        "defer_init_io = true\n"
        'sync_only = ["Client.__repr__"]\n'
        "[[tool.ambidex.generate]]\n"
        'source = "pkg/_sync"\ntarget = "pkg/_async"\nto = "async"\n'
    )
    source = tmp_path / "pkg" / "_sync"
    source.mkdir(parents=True)
    (source / "client.py").write_text(
        CONNECTS_IN_INIT
        + "\n    def __repr__(self):\n        return repr(self.ping())\n"
    )
    monkeypatch.chdir(tmp_path)
    assert cli.main(["generate"]) == 0
    written = (tmp_path / "pkg" / "_async" / "client.py").read_text()
    assert "    async def __aenter__(self):" in written
    assert "__repr__" not in written
    assert cli.main(["generate", "--check"]) == 0


def test_the_defer_message_names_the_methods_the_output_contains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "client.py"
    source.write_text(CONNECTS_IN_INIT)
    out = tmp_path / "client_async.py"
    assert cli.main(["port", "--to", "async", "--defer-init-io", str(source), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    written = out.read_text()
    assert "    async def __aenter__(self):" in written
    assert "    async def __aexit__(self, *exc_info):" in written
    assert "def __enter__" not in written and "def __exit__" not in written
    assert (
        "moved into Client.__aenter__ (the async context manager entry: "
        "`async with Client(...)`); Client gets __aenter__/__aexit__;" in err
    ), err
    assert "__enter__" not in err.replace("__aenter__", ""), err
