"""tools/oracle/mypy_diff.py: which of mypy's errors on a port's output are suspects.

The oracle keys each error by file, code and message; an output error the
input has no match for is a suspect, unless it is one of the input's errors
with its types renamed (``socket`` -> ``AsyncSocket``). A suspect on a call
the port warned of is told apart. One end-to-end run ports a small module
with a call left un-awaited by the port's own warning, and one whose
receiver is typed, so mypy sees the coroutine.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "oracle" / "mypy_diff.py"


def _oracle() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("ambidex_oracle_mypy_diff", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_an_output_error_the_input_lacks_is_a_suspect_and_a_renamed_type_is_not() -> None:
    oracle = _oracle()
    before = oracle.parse(
        'pkg/a.py:10:5: error: Item "None" of "socket | None" has no attribute "sendall"'
        "  [union-attr]\n"
        'pkg/a.py:12:5: error: Name "x" is not defined  [name-defined]\n'
        "pkg/a.py:12:5: note: a note is not an error\n"
        "pkg/b.py:3:1: error: Missing return statement on line 7  [return]\n",
        "pkg/")
    after = oracle.parse(
        'pkg/a.py:11:5: error: Item "None" of "AsyncSocket | None" has no attribute "sendall"'
        "  [union-attr]\n"
        'pkg/a.py:14:5: error: Name "x" is not defined  [name-defined]\n'
        'pkg/a.py:15:5: error: Name "x" is not defined  [name-defined]\n'
        'pkg/a.py:20:9: error: Value of type "Coroutine[Any, Any, None]" must be used'
        "  [unused-coroutine]\n"
        "pkg/b.py:4:1: error: Missing return statement on line 9  [return]\n"
        'pkg/b.py:8:9: error: "Coroutine[Any, Any, bytes]" has no attribute "decode"'
        "  [attr-defined]\n"
        'pkg/b.py:9:9: error: "str" has no attribute "decode"  [attr-defined]\n',
        "pkg/")
    assert [str(e) for e in before][:1] == [
        'a.py:10:5: [union-attr] Item "None" of "socket | None" has no attribute "sendall"'
    ]
    suspects, retyped = oracle.match(before, after)
    # Matched as the input's own: the name-defined once (the second is new),
    # the return (a line number inside the message does not count).
    assert [(e.path, e.line, e.code) for e in suspects] == [
        ("a.py", 15, "name-defined"),
        ("a.py", 20, "unused-coroutine"),
        ("b.py", 8, "attr-defined"),
        ("b.py", 9, "attr-defined"),
    ]
    assert [(e.path, e.line) for e in retyped] == [("a.py", 11)]
    assert oracle.by_code(suspects) == {"attr-defined": 2, "name-defined": 1,
                                        "unused-coroutine": 1}


def test_a_coroutine_type_is_never_put_down_to_a_renamed_type() -> None:
    oracle = _oracle()
    before = oracle.parse('m.py:3:1: error: "str" has no attribute "x"  [attr-defined]\n')
    after = oracle.parse(
        'm.py:3:1: error: "Coroutine[Any, Any, str]" has no attribute "x"  [attr-defined]\n')
    assert oracle.match(before, after) == (after, [])


def test_a_renamed_type_keeps_the_attribute_it_lacks() -> None:
    # ftplib's port: the input's `self.sock.sendall` on `socket | None` is the
    # output's on `AsyncSocket | None` (renamed), while `self.sock.unwrap()`
    # is new (the input's isinstance(sock, ssl.SSLSocket) narrowed it; the
    # output asks speaks_tls). Masking the attribute too paired the unwrap
    # with the input's sendall and reported the renamed sendall instead.
    oracle = _oracle()
    before = oracle.parse(
        'ftplib.py:802:13: error: Item "None" of "socket | None" has no attribute "sendall"'
        "  [union-attr]\n")
    after = oracle.parse(
        'ftplib.py:771:31: error: Item "None" of "AsyncSocket | None" has no attribute'
        ' "unwrap"  [union-attr]\n'
        'ftplib.py:808:19: error: Item "None" of "AsyncSocket | None" has no attribute'
        ' "sendall"  [union-attr]\n')
    suspects, retyped = oracle.match(before, after)
    assert [e.line for e in suspects] == [771]
    assert [e.line for e in retyped] == [808]


def test_a_suspect_on_a_call_the_port_warned_of_is_told_apart() -> None:
    oracle = _oracle()
    messages = oracle.port_messages(
        ["/elsewhere/pkg/m.py:40:5: `c.quit()`: the type of `c` is unknown, and `quit` is a "
         "method that became async (warning)",
         "not a located message"],
        Path("m.py"))
    error = oracle.parse('m.py:42:5: error: Value of type "Coroutine[Any, Any, None]" must '
                         'be used  [unused-coroutine]\n')[0]
    said = oracle.warned_by(error, "        c.quit()", messages)
    assert said is not None and said.line == 40
    assert oracle.warned_by(error, "        d.quit()", messages) is None
    far = oracle.parse('m.py:400:5: error: Value must be used  [unused-coroutine]\n')[0]
    assert oracle.warned_by(far, "        c.quit()", messages) is None
    # An override is said at the def, and names no call.
    said_at_def = oracle.port_messages(
        ["m.py:457:5: Response.read() becomes async but overrides io.BufferedIOBase.read, "
         "which io.BufferedIOBase's own methods may call without awaiting (warning)"],
        Path("m.py"))
    override = oracle.parse('m.py:460:5: error: Return type "Coroutine[Any, Any, Any]" of "read" '
                            'incompatible with return type "bytes" in supertype '
                            '"_io._BufferedIOBase"  [override]\n')[0]
    assert oracle.warned_by(override, "    async def read(self, amt=None):", said_at_def)
    other = oracle.parse('m.py:460:5: error: Return type "Coroutine[Any, Any, Any]" of "peek" '
                         'incompatible with return type "bytes" in supertype '
                         '"_io._BufferedIOBase"  [override]\n')[0]
    assert oracle.warned_by(other, "    async def peek(self):", said_at_def) is None


def test_the_trees_are_checked_without_the_stubs_shipped_beside_the_code(
    tmp_path: Path,
) -> None:
    # motor ships core.pyi beside core.py: mypy would read the stub for the
    # input (no bodies) and the code for the output (a port writes no .pyi),
    # and every error of the output's bodies would look new.
    oracle = _oracle()
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    for name in ("__init__.py", "core.py", "core.pyi", "sub/__init__.py", "sub/x.pyi"):
        (package / name).write_text("")
    oracle.copy_code(package, tmp_path / "copy")
    copied = sorted(p.relative_to(tmp_path / "copy").as_posix()
                    for p in (tmp_path / "copy").rglob("*") if p.is_file())
    assert copied == ["pkg/__init__.py", "pkg/core.py", "pkg/sub/__init__.py"]


@pytest.mark.primary_only  # two mypy runs: the diffing above does not depend on the Python
def test_mypy_over_a_hand_made_half_port_finds_the_coroutine_left_unawaited(
    tmp_path: Path,
) -> None:
    # A port as the rule forbids: quit() became async, one caller awaits it,
    # the other does not. mypy, run by the script over both trees, names it.
    source = tmp_path / "in" / "client.py"
    output = tmp_path / "out" / "client.py"
    body = """\
        import socket


        class Client:
            {d}connect(self, address: tuple[str, int]) -> None:
                self.sock = socket.create_connection(address)

            {d}quit(self) -> None:
                self.sock.close()


        {d}leave(client: Client) -> None:
            {a}client.quit()


        {d}leave_again(client: Client) -> None:
            client.quit()
        """
    for path, d, a in ((source, "def ", ""), (output, "async def ", "await ")):
        path.parent.mkdir()
        path.write_text(textwrap.dedent(body).format(d=d, a=a))
    done = subprocess.run([sys.executable, str(SCRIPT), str(source), "--out", str(output)],
                          capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "suspects: 1 {'unused-coroutine': 1}" in done.stdout, done.stdout
    assert "client.py:17:5: [unused-coroutine]" in done.stdout, done.stdout
