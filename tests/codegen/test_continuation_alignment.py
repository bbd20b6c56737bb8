"""A continuation line aligned to an opening bracket stays aligned to it.

``async `` before a ``def`` and ``await `` before a call move the bracket
that follows them 6 columns to the right (towards sync: to the left); the
lines that PEP 8 lines up under the first argument must move with it, or
the port reads as if a person had got it wrong. Only lines aligned to a
bracket that still has something after it on its own line move (a hanging
indent is relative to the statement, which did not move), and a line that
starts inside a string never moves: its spaces are the string's.
"""

from __future__ import annotations

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_async import to_async
from ambidex.codegen._to_sync import to_sync

SYNC = """\
import socket


def fetch(sock: socket.socket,
          size: int) -> bytes:
    return sock.recv(size)


def read_all(sock: socket.socket, n: int) -> bytes:
    return fetch(sock,
                 n)
"""

ASYNC = """\
from ambidex.io import AsyncSocket


async def fetch(sock: AsyncSocket,
                size: int) -> bytes:
    return await sock.recv(size)


async def read_all(sock: AsyncSocket, n: int) -> bytes:
    return await fetch(sock,
                       n)
"""


def _async_of(source: str) -> str:
    result = to_async({"m/a.py": source}, table=DEFAULT_TABLE, renames={})
    assert [str(d) for d in result.diagnostics if d.error] == []
    return result.outputs["m/a.py"]


def _sync_of(source: str) -> str:
    result = to_sync({"m/_async/a.py": source}, table=DEFAULT_TABLE, renames={})
    assert [str(d) for d in result.diagnostics] == []
    return result.outputs["m/_async/a.py"]


def test_a_signature_and_a_call_aligned_to_their_bracket_stay_aligned_towards_async() -> None:
    assert _async_of(SYNC) == ASYNC


def test_a_signature_and_a_call_aligned_to_their_bracket_stay_aligned_towards_sync() -> None:
    assert _sync_of(ASYNC).replace("from ambidex.io import AsyncSocket", "import socket").replace(
        "AsyncSocket", "socket.socket"
    ) == SYNC


def test_the_round_trip_gives_back_the_source_byte_for_byte() -> None:
    synced = _sync_of(_async_of(SYNC))
    assert synced.replace("from ambidex.io import AsyncSocket", "import socket").replace(
        "AsyncSocket", "socket.socket"
    ) == SYNC


def test_a_line_aligned_to_an_inner_bracket_moves_with_the_line_that_holds_it() -> None:
    source = (
        "import time\n\n\n"
        "def f(a: int,\n"
        "      b: dict[str,\n"
        "              int]) -> None:\n"
        "    time.sleep(a)\n"
    )
    assert _async_of(source) == (
        "import asyncio\n\n\n"
        "async def f(a: int,\n"
        "            b: dict[str,\n"
        "                    int]) -> None:\n"
        "    await asyncio.sleep(a)\n"
    )


def test_a_hanging_indent_and_a_comment_line_aligned_to_the_bracket() -> None:
    source = (
        "import time\n\n\n"
        "def f(\n"
        "    a: int,\n"
        ") -> None:\n"
        "    time.sleep(a)\n\n\n"
        "def g(a: int,\n"
        "      # the delay\n"
        "      b: int) -> None:\n"
        "    f(a)\n"
    )
    assert _async_of(source) == (
        "import asyncio\n\n\n"
        "async def f(\n"
        "    a: int,\n"
        ") -> None:\n"
        "    await asyncio.sleep(a)\n\n\n"
        "async def g(a: int,\n"
        "            # the delay\n"
        "            b: int) -> None:\n"
        "    await f(a)\n"
    )


def test_a_line_that_starts_inside_a_string_keeps_its_spaces() -> None:
    source = (
        "import time\n\n\n"
        "def f(a: str = '''x\n"
        "      y''',\n"
        "      b: int = 1) -> None:\n"
        "    time.sleep(b)\n"
    )
    assert _async_of(source) == (
        "import asyncio\n\n\n"
        "async def f(a: str = '''x\n"
        "      y''',\n"
        "            b: int = 1) -> None:\n"
        "    await asyncio.sleep(b)\n"
    )


def test_a_line_under_a_bracket_of_an_fstring_field_keeps_its_spaces() -> None:
    source = (
        "import time\n\n\n"
        "def f(a: int, b: str = f'''{(1,\n"
        "                            2)}''') -> None:\n"
        "    time.sleep(a)\n"
    )
    output = _async_of(source)
    assert output.splitlines()[4] == "                            2)}''') -> None:"


def test_an_import_that_goes_between_two_blank_lines_takes_one_of_them_towards_sync() -> None:
    source = (
        "from ambidex.io import AsyncSocket\n\n\n"
        "async def f(sock: AsyncSocket) -> bytes:\n"
        "    return await sock.recv(1)\n"
    )
    assert _sync_of(source) == (
        "import socket\n\n\n"
        "def f(sock: socket.socket) -> bytes:\n"
        "    return sock.recv(1)\n"
    )


def test_a_new_import_stays_set_off_from_the_next_section_when_the_one_between_goes() -> None:
    source = (
        "from ambidex.io import AsyncSocket\n"
        "from pkg import thing\n\n\n"
        "async def f(sock: AsyncSocket) -> bytes:\n"
        "    return await sock.recv(thing)\n"
    )
    assert _sync_of(source) == (
        "import socket\n\n"
        "from pkg import thing\n\n\n"
        "def f(sock: socket.socket) -> bytes:\n"
        "    return sock.recv(thing)\n"
    )


def test_the_statements_tokenized_alone_shift_the_lines_the_whole_module_shifts() -> None:
    # Edits.apply with the tree tokenizes only the statements an edit may
    # realign, each on its own (its rows numbered from 1, then put back at the
    # module's rows); without it the whole module is tokenized. Both must give
    # the same text: every call awaited and every def made async in modules
    # full of aligned continuation lines.
    import ast
    import inspect
    import smtplib
    import typing
    from pathlib import Path

    from ambidex.codegen._source import Edits, SourceText

    root = Path(__file__).resolve().parents[2]
    drivers = sorted(root.glob("examples/*/_sync/*.py"))
    texts = [SYNC, *(path.read_text(encoding="utf-8") for path in drivers)]
    for module in (smtplib, inspect, typing):
        assert module.__file__ is not None
        texts.append(Path(module.__file__).read_text(encoding="utf-8"))
    moved = 0
    for text in texts:
        tree = ast.parse(text)
        source = SourceText(text)
        with_tree, whole = Edits(source, tree), Edits(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                start = source.offset(node.lineno, node.col_offset)
                for edits in (with_tree, whole):
                    edits.insert(start, "await ")
            elif isinstance(node, ast.FunctionDef) and not node.decorator_list:
                start = source.offset(node.lineno, node.col_offset)
                for edits in (with_tree, whole):
                    edits.insert(start, "async ")
        output = with_tree.apply()
        assert output == whole.apply()
        moved += output != with_tree.spliced()
    assert moved >= 5
