"""``# ambidex:`` markers mean the same thing in both directions and in the lint.

One table: every spelling of a marker that people write, times every place a
statement can stand. Each cell is run through async -> sync (with
``async-only``) and sync -> async (with ``sync-only``): the marked statement is
dropped from the output, its neighbour is kept, in both directions alike. A
marker is a comment; the same words inside a string are not a marker.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Callable

import pytest

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen import to_async, to_sync
from ambidex.codegen._markers import colour_marker, marker_comments
from ambidex.detect._lint import lint_sources

#: How people write a marker; ``{kind}`` is ``sync-only``, ``async-only`` or
#: ``allow-blocking``.
SPELLINGS = {
    "canonical": "# ambidex: {kind}",
    "no spaces": "#ambidex:{kind}",
    "extra spaces": "#   ambidex:   {kind}",
    "reason in parentheses": "# ambidex: {kind} (the other colour has its own)",
    "reason after a dash": "# ambidex: {kind} -- the other colour has its own",
    "after another comment": "# noqa: E501  # ambidex: {kind}",
}

#: Where the marked statement stands; ``{marker}`` is the marker comment.
POSITIONS = {
    "function body": """
        def f(v):
            print("kept")
            print("marked")  {marker}
        """,
    "module level": """
        print("kept")
        print("marked")  {marker}
        """,
    "inside match/case": """
        def f(v):
            match v:
                case 1:
                    print("kept")
                    print("marked")  {marker}
                case _:
                    pass
        """,
    "inside try": """
        def f(v):
            try:
                print("kept")
                print("marked")  {marker}
            except ValueError:
                pass
        """,
    "inside except": """
        def f(v):
            try:
                pass
            except ValueError:
                print("kept")
                print("marked")  {marker}
        """,
    "inside with": """
        import contextlib

        def f(v):
            with contextlib.suppress(KeyError):
                print("kept")
                print("marked")  {marker}
        """,
    "class body": """
        class C:
            kept = 1
            marked = 2  {marker}
        """,
    "nested def": """
        def outer():
            def inner():
                print("kept")
                print("marked")  {marker}
            return inner
        """,
    "a whole method": """
        class C:
            def kept(self):
                pass

            def marked(self):  {marker}
                pass
        """,
    "a decorated method, marker on the decorator": """
        class C:
            def kept(self):
                pass

            @staticmethod  {marker}
            def marked():
                pass
        """,
    "the only statement of a block": """
        def f(v):
            if v:
                print("marked")  {marker}
            print("kept")
        """,
}


def _sync_output(source: str) -> str:
    result = to_sync({"pkg/_async/mod.py": source}, table=DEFAULT_TABLE, renames={})
    assert not result.failed, [str(d) for d in result.diagnostics]
    (output,) = result.outputs.values()
    return output


def _async_output(source: str) -> str:
    result = to_async({"pkg/_sync/mod.py": source}, table=DEFAULT_TABLE, renames={})
    assert not result.failed, [str(d) for d in result.diagnostics]
    (output,) = result.outputs.values()
    return output


DIRECTIONS: dict[str, tuple[str, Callable[[str], str]]] = {
    "async -> sync": ("async-only", _sync_output),
    "sync -> async": ("sync-only", _async_output),
}


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_marked_statement_is_dropped_in_either_direction_whatever_the_spelling(
    direction: str, position: str, spelling: str
) -> None:
    kind, convert = DIRECTIONS[direction]
    marker = SPELLINGS[spelling].format(kind=kind)
    source = textwrap.dedent(POSITIONS[position]).lstrip().format(marker=marker)
    output = convert(source)
    ast.parse(output)
    assert "marked" not in output
    assert "kept" in output


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("position", POSITIONS)
def test_a_statement_marked_for_the_target_colour_is_kept(direction: str, position: str) -> None:
    kind, convert = DIRECTIONS[direction]
    other = "sync-only" if kind == "async-only" else "async-only"
    source = textwrap.dedent(POSITIONS[position]).lstrip().format(marker=f"# ambidex: {other}")
    output = convert(source)
    assert "marked" in output
    assert "kept" in output


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_the_marker_words_inside_a_string_are_not_a_marker(direction: str) -> None:
    kind, convert = DIRECTIONS[direction]
    source = f'def f():\n    print("kept")\n    print("marked  # ambidex: {kind}")\n'
    assert "marked" in convert(source)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_a_marker_run_on_into_other_words_is_not_a_marker(direction: str) -> None:
    kind, convert = DIRECTIONS[direction]
    source = f'def f():\n    print("kept")\n    print("marked")  # ambidex: {kind}-ish\n'
    assert "marked" in convert(source)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_lint_reads_allow_blocking_with_the_same_spellings(spelling: str) -> None:
    marker = SPELLINGS[spelling].format(kind="allow-blocking")
    source = f"import time\n\nasync def main() -> None:\n    time.sleep(1)  {marker}\n"
    assert lint_sources({"m.py": source}).findings == []


def test_the_lint_ignores_allow_blocking_inside_a_string() -> None:
    source = (
        'import time\n\nasync def main() -> None:\n    time.sleep(1); "# ambidex: allow-blocking"\n'
    )
    assert [f.code for f in lint_sources({"m.py": source}).findings] == ["AMB101"]


def test_marker_comments_are_found_by_line_with_their_reason() -> None:
    source = (
        'x = 1  # ambidex: sync-only (the async side has its own)\ny = "# ambidex: async-only"\n'
    )
    found = marker_comments(source)
    assert list(found) == [1]
    assert (found[1].kind, found[1].reason, found[1].col) == (
        "sync-only",
        "the async side has its own",
        8,
    )


def test_colour_marker_looks_at_the_decorator_line_and_the_def_line() -> None:
    source = "class C:\n    @staticmethod  # ambidex: sync-only\n    def f():\n        pass\n"
    (cls,) = ast.parse(source).body
    assert isinstance(cls, ast.ClassDef)
    assert colour_marker(marker_comments(source), cls.body[0]) == "sync-only"
    assert colour_marker(marker_comments(source), cls) is None



def test_a_dropped_statement_takes_its_blank_lines_with_it() -> None:
    # A blank line's line end was taken for its indent: the dropped text
    # gained a line, and the blank line survived into the output.
    source = textwrap.dedent("""\
        import socket


        def helper():  # ambidex: sync-only
            x = 1
        {blank}
            return x


        def f(sock: socket.socket) -> bytes:
            return sock.recv(4)
        """)
    with_blank, without = (
        to_async({"mod.py": source.format(blank=blank)}, table=DEFAULT_TABLE, renames={})
        for blank in ("", "    x += 1")
    )
    assert with_blank.outputs["mod.py"] == without.outputs["mod.py"]
    assert "await sock.recv(4)" in with_blank.outputs["mod.py"]


def test_a_branch_kept_by_a_flag_keeps_its_blank_lines_and_later_lines_stay_put() -> None:
    # Dedenting the kept branch took a blank line's line end with it: the
    # text lost a line, and diagnostics after it pointed one line too high.
    source = textwrap.dedent("""\
        import socket

        IS_ASYNC = False


        def f(sock: socket.socket) -> bytes:
            if IS_ASYNC:
                a = 1

                b = 2
            return sock.recv(4)


        class Client:
            def __init__(self, host: str) -> None:
                self.sock = socket.create_connection((host, 1))
        """)
    result = to_async({"mod.py": source}, table=DEFAULT_TABLE, renames={})
    (error,) = [d for d in result.diagnostics if d.error]
    assert (error.line, error.col) == (15, 5)
    assert "socket.create_connection (mod.py:16:21)" in error.message


#: Texts where a marker's words stand in and next to strings, for the reading
#: that uses the parsed tree (the port has it) against the tokenizer's.
_TRICKY = [
    'x = 1  # ambidex: sync-only\ny = "# ambidex: async-only"  # ambidex: allow-blocking why\n',
    's = "#"  # ambidex: sync-only\nt = "a#b"  #ambidex:async-only (reason)\n',
    '@deco("# ambidex: sync-only")\ndef f():  # ambidex: sync-only\n    pass\n',
    'x = ("a"  # ambidex: sync-only\n     "b")\ny = 2  # ambidex: async-only\n',
    'doc = """\n# ambidex: sync-only\n"""  # ambidex: async-only\n',
    'e = "é"; f = "ü"  # ambidex: sync-only\n',
    'f"{x}#"  # noqa: E501  # ambidex: sync-only\nb"#"  # ambidex: async-only\n',
    'def g():\n    return f"""{1}\n# ambidex: sync-only\n"""\n',
    "class C:\n    '''Doc: # ambidex: sync-only.'''\n\n    x = 1  # ambidex: sync-only\n",
    "x = 1  # ambidex: sync-only-ish\ny = 1  # ambidex: sync-only\n",
    "if a:\n    pass\nelse:  # ambidex: sync-only\n    b = '# ambidex: async-only'\n",
    "x = 1  # ambidex: sync-only",
    "x = 1\r\ny = 2  # ambidex: sync-only\r\n",
    '"""Doc.\n\n# ambidex: sync-only in a docstring\n"""\nx = 1  # ambidex: sync-only\n',
    'x = ("""a"""  # ambidex: sync-only\n     """b""")\n',
    'x = r"""a \\""" # ambidex: sync-only\n"""  # ambidex: async-only\n',
    "x = b'''\n# ambidex: sync-only ''' b'''\n'''  # ambidex: async-only\n",
    'if True:  # ASYNC\n    a = "# ASYNC"\nif False:  #ASYNC and more\n    pass\n',
    'x = 1  # noqa # ASYNC\ny = "#"  # ASYNC\nz = 2  # ASYNCHRONOUS\n',
]


@pytest.mark.parametrize("index", range(len(_TRICKY)))
def test_markers_read_with_the_parsed_tree_are_the_tokenizers(index: int) -> None:
    text = _TRICKY[index]
    assert marker_comments(text, ast.parse(text)) == marker_comments(text)


def test_markers_read_with_the_tree_agree_over_every_source_of_the_repository() -> None:
    # The docstrings here spell markers in every way (the modules that read them
    # explain them): each file is read both ways, and every reading agrees.
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    read = 0
    for path in sorted([*root.glob("src/**/*.py"), *root.glob("tests/**/*.py"),
                        *root.glob("examples/**/*.py")]):
        text = path.read_text(encoding="utf-8")
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        assert marker_comments(text, tree) == marker_comments(text), path
        read += bool(marker_comments(text))
    assert read > 10


ASYNC_CLASS = """\
import asyncio
IS_ASYNC = True


class C:
    {first}
            await asyncio.sleep(1)

    async def g(self):
        await asyncio.sleep(1)
"""
SYNC_CLASS = ASYNC_CLASS.replace("IS_ASYNC = True", "IS_ASYNC = False").replace(
    "async def", "def").replace("await asyncio.sleep", "time.sleep").replace(
    "import asyncio", "import time")
# How the first statement of the class body goes: its own marker, or a flag.
TO_SYNC_FIRST = {
    "marked": "async def only(self):  # ambidex: async-only\n        if 1:",
    "flag": "if IS_ASYNC:\n        async def only(self):",
}
TO_ASYNC_FIRST = {
    "marked": "def only(self):  # ambidex: sync-only\n        if 1:",
    "flag": "if not IS_ASYNC:\n        def only(self):",
}


@pytest.mark.parametrize("how", ["marked", "flag"])
def test_dropping_the_first_statement_of_a_class_leaves_no_blank_line_under_class_towards_sync(
    how: str,
) -> None:
    source = ASYNC_CLASS.format(first=TO_SYNC_FIRST[how])
    result = to_sync({"m/_async/m.py": source}, table=DEFAULT_TABLE, renames={},
                     flags={"IS_ASYNC": "async"})
    assert [str(d) for d in result.diagnostics] == []
    assert "class C:\n    def g(self):\n        time.sleep(1)\n" in result.outputs["m/_async/m.py"]


@pytest.mark.parametrize("how", ["marked", "flag"])
def test_dropping_the_first_statement_of_a_class_leaves_no_blank_line_under_class_towards_async(
    how: str,
) -> None:
    source = SYNC_CLASS.format(first=TO_ASYNC_FIRST[how])
    result = to_async({"m.py": source}, table=DEFAULT_TABLE, renames={},
                      flags={"IS_ASYNC": "async"})
    assert [str(d) for d in result.diagnostics if d.error] == []
    assert "class C:\n    async def g(self):\n        await asyncio.sleep(1)\n" \
        in result.outputs["m.py"]
