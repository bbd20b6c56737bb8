"""A refused line is said once; a module that does not compile is always said.

The port compiles every output before handing it back. Where a located
refusal already says why a line cannot be converted (urllib3's
``HTTPResponse.stream()`` becomes an async generator holding ``yield from``),
the compiler's complaint about the same line ("'yield from' inside async
function") added an "internal error" that read like a bug of ambidex, right
under the refusal that explains it. That second message is left out; a
compile failure on any line no refusal covers, in any module, is still an
internal error.
"""

from __future__ import annotations

import ast
import textwrap

import pytest

import ambidex.codegen._to_async as to_async_module
from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._source import Conversion
from ambidex.codegen._to_async import finish, to_async

DELEGATING = textwrap.dedent(
    """\
    import socket


    def stream(sock: socket.socket):
        yield sock.recv(10)
        yield from [b"a", b"b"]
    """
)

PLAIN_WITH_A_STRAY_RETURN = textwrap.dedent(
    """\
    import socket


    def fetch(sock: socket.socket):
        return sock.recv(10)
    return 1
    """
)
"""Parses, does not compile: its line 6 is the same number as client.py's refusal."""


def located(result: Conversion) -> list[tuple[str, int, str]]:
    return [(d.path, d.line, d.message) for d in result.diagnostics if d.error]


def test_a_refused_yield_from_is_said_once_without_an_internal_error() -> None:
    result = to_async({"client.py": DELEGATING}, table=DEFAULT_TABLE, renames={})
    errors = located(result)
    assert [(path, line) for path, line, _ in errors] == [("client.py", 6)]
    assert "`yield from` is not allowed" in errors[0][2]
    assert not any("internal error" in message for _, _, message in errors)


def _breaking(path_to_break: str, line: str) -> object:
    """A stand-in for the rename step that appends a line the compiler
    refuses (``return`` outside a function) to one module's output."""
    real = finish.rename

    def rename(path, output, table, diagnostics, tree):
        output, tree = real(path, output, table, diagnostics, tree)
        if path == path_to_break:
            return output + line, None
        return output, tree

    return rename


def test_a_compile_failure_on_a_line_no_refusal_covers_is_still_an_internal_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The refusal is on line 6; the broken line is the module's last.
    monkeypatch.setattr(to_async_module, "rename", _breaking("client.py", "return 1\n"))
    result = to_async({"client.py": DELEGATING}, table=DEFAULT_TABLE, renames={})
    internal = [(p, line, m) for p, line, m in located(result) if "internal error" in m]
    assert [(p, m) for p, _, m in internal] == [
        ("client.py", "internal error: the converted module does not compile "
         "('return' outside function)")
    ]
    assert internal[0][1] > 6


def test_a_refusal_in_one_module_hides_no_compile_failure_of_another() -> None:
    result = to_async(
        {"client.py": DELEGATING, "plain.py": PLAIN_WITH_A_STRAY_RETURN},
        table=DEFAULT_TABLE,
        renames={},
    )
    assert ("plain.py", 6, "internal error: the converted module does not compile "
            "('return' outside function)") in located(result)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("def late():\n    await g()\n", "'await' outside async function"),
        ("return 1\n", "'return' outside function"),
    ],
)
def test_an_output_handed_on_with_its_tree_is_compiled_from_the_tree_and_refused_at_its_line(
    monkeypatch: pytest.MonkeyPatch, line: str, message: str
) -> None:
    # The steps hand the compile check the tree they parsed (no second parse):
    # a construct that parses but does not compile is still refused, located.
    real = finish.rename

    def rename(path, output, table, diagnostics, tree):
        output, tree = real(path, output, table, diagnostics, tree)
        broken = output + line
        return broken, ast.parse(broken)

    real_compiled = to_async_module.compiled
    given: list[ast.Module | None] = []

    def compiled(path, output, tree, diagnostics):
        given.append(tree)
        return real_compiled(path, output, tree, diagnostics)

    monkeypatch.setattr(to_async_module, "rename", rename)
    monkeypatch.setattr(to_async_module, "compiled", compiled)
    result = to_async({"plain.py": "import time\n\n\ndef f():\n    time.sleep(1)\n"},
                      table=DEFAULT_TABLE, renames={})
    assert result.failed
    assert [(p, m) for p, _, m in located(result)] == [
        ("plain.py", f"internal error: the converted module does not compile ({message})")
    ]
    assert given and given[0] is not None  # compiled from the tree handed on
    assert located(result)[0][1] == 5  # an added line is located at the source's nearest
