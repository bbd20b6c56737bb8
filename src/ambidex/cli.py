"""The ``ambidex`` command line: argument parsing only, the work is elsewhere.

Each command's implementation is imported only when that command runs, so
``ambidex generate --check`` on an up-to-date tree pays for nothing else.
Exit codes follow ruff and black: 0 clean, 1 findings (or ``--check`` would
change something), 2 usage or input errors.
"""

from __future__ import annotations

import sys

# Not typing's TYPE_CHECKING, and argparse only when a command line is parsed:
# the up-to-date `ambidex generate` (console_main) needs neither.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

# command -> "module:function"; the function takes the parsed arguments and
# returns the exit code.
_COMMANDS = {
    "port": "ambidex.codegen._cli:run_port",
    "generate": "ambidex.codegen._cli:run_generate",
    "lint": "ambidex.detect._lint_cli:run_lint",
    "demo": "ambidex._demo:run_demo",
}


def _formatter() -> type[argparse.HelpFormatter]:
    import argparse

    class _Formatter(argparse.HelpFormatter):
        """argparse's formatter, told the terminal width without importing shutil.

        argparse asks ``shutil.get_terminal_size()`` each time it makes a
        formatter (adding an argument makes one), and importing shutil brings
        bz2, lzma and zlib with it: a measurable part of a no-op ``generate``.
        """

        def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                     width: int | None = None) -> None:
            if width is None:
                width = _terminal_columns() - 2
            super().__init__(prog, indent_increment, max_help_position, width)

    return _Formatter


def _terminal_columns() -> int:
    import os

    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    stream = sys.__stdout__
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80 if stream else 80
    except (AttributeError, ValueError, OSError):
        return 80


def _parser() -> argparse.ArgumentParser:
    import argparse

    _Formatter = _formatter()
    parser = argparse.ArgumentParser(
        formatter_class=_Formatter,
        prog="ambidex",
        description="Write a network client once; get it blocking and asyncio.",
    )
    from ambidex import __version__

    parser.add_argument("--version", action="version", version=f"ambidex {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    port = commands.add_parser(
        "port",
        formatter_class=_Formatter,
        help="convert files or folders to the other colour, once",
        description="Convert Python sources from async to sync or from sync to async. "
        "A single file without -o is written to standard output.",
    )
    port.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to convert")
    port.add_argument("--to", required=True, choices=("sync", "async"), help="target colour")
    port.add_argument("-o", "--output", metavar="OUT", help="output file or folder")
    port.add_argument(
        "--rename",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="an extra rename (names, dotted names or module paths); repeatable",
    )
    port.add_argument(
        "--flag",
        action="append",
        default=[],
        metavar="NAME=sync|async",
        help="a colour flag of the project (True in that colour): its value flips in the "
        "output and branches that cannot run there are dropped; repeatable",
    )
    port.add_argument(
        "--rename-prose",
        action="store_true",
        help="also rename the renamed names inside docstrings, messages and comments",
    )
    port.add_argument(
        "--async-prefix",
        nargs="?",
        const=True,
        default=False,
        metavar="PREFIX",
        help="to sync: each AsyncFoo the sources define becomes Foo (or PREFIXFoo, e.g. "
        "--async-prefix Sync as unasync does)",
    )
    port.add_argument("--diff", action="store_true", help="print a unified diff, write nothing")
    port.add_argument(
        "--force",
        action="store_true",
        help="overwrite existing output files (without it, a file in the way is an error)",
    )
    port.add_argument(
        "--sync-only",
        action="append",
        default=[],
        metavar="QUALNAME",
        help="to async: leave out this definition (Client.__getitem__), as a "
        "'# ambidex: sync-only' marker on it would; repeatable; also sync_only in "
        "[tool.ambidex]",
    )
    port.add_argument(
        "--async-only",
        action="append",
        default=[],
        metavar="QUALNAME",
        help="to sync: leave out this definition, as '# ambidex: async-only' would; "
        "repeatable; also async_only in [tool.ambidex]",
    )
    port.add_argument(
        "--defer-init-io",
        action="store_true",
        help="to async: move the I/O an __init__ does (connect, greet, login) into the "
        "class's async context manager entry instead of refusing the port; the same as "
        "defer_init_io = true in [tool.ambidex]",
    )
    port.add_argument(
        "--strict",
        action="store_true",
        help="warnings are errors (exit 1, nothing written): to async, every warning that "
        "the output may block the loop or may be wrong (a blocking call with no asyncio "
        "twin, a receiver of unknown type whose method name became async, a coroutine "
        "overriding a method of a class outside the port, nothing became async); only what "
        "--defer-init-io moved stays a warning; to sync, a coroutine returned without being "
        "awaited",
    )
    port.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="list every place of a warning said of many places alike (an annotation "
        "naming asyncio.Future), which is otherwise printed once, at its first place, "
        "with a count",
    )
    port.add_argument(
        "--explain",
        action="store_true",
        help="print, for every function that changed colour, the chain of calls that forced it",
    )

    generate = commands.add_parser(
        "generate",
        formatter_class=_Formatter,
        help="write the generated twins configured in [tool.ambidex] of pyproject.toml",
        description="Write every [[tool.ambidex.generate]] target from its source. "
        "Unchanged sources are skipped.",
    )
    generate.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if any target is stale, missing or orphaned",
    )
    generate.add_argument("--diff", action="store_true", help="print what would change")
    generate.add_argument("--explain", action="store_true", help="as for port")

    lint = commands.add_parser(
        "lint",
        formatter_class=_Formatter,
        help="find blocking calls reachable from async code",
        description="Report every blocking call reachable from an async def, "
        "through the call graph, with the chain of calls that reaches it.",
    )
    lint.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    lint.add_argument("--format", choices=("text", "json"), default="text")
    lint.add_argument(
        "--strict",
        action="store_true",
        help="also report '# ambidex: allow-blocking' comments that silence nothing",
    )
    lint.add_argument(
        "--allow-blocking",
        action="append",
        default=[],
        metavar="QUALNAME[=REASON]",
        help="allow the blocking calls written in this function (pkg.mod.Client.fetch or "
        "Client.fetch), as '# ambidex: allow-blocking' on each of its lines would, without "
        "editing it; repeatable; also allow_blocking in [tool.ambidex.lint]",
    )

    demo = commands.add_parser(
        "demo",
        formatter_class=_Formatter,
        help="show the toolkit end to end on the example binary protocol "
        "(run from the root of an ambidex checkout)",
        description="Generate a driver's other colour, start the example server on a "
        "loopback port, run both clients against it and compare pipelined throughput. "
        "The example (examples/gibson) ships in the ambidex repository, not in the "
        "installed package: run the demo from the root of a checkout "
        "(git clone ... ambidex && cd ambidex && ambidex demo). Anywhere else it "
        "says so and exits 2.",
    )
    demo.add_argument("--requests", type=int, default=2000, help="requests per measurement")
    return parser


# Commands that parse many modules and exit right after (see ambidex._gc).
_BATCH = frozenset({"port", "generate", "lint"})


def main(argv: Sequence[str] | None = None, *, process_exits: bool = False) -> int:
    """Run one command; return its exit code.

    ``process_exits`` is for the ``ambidex`` executable: the process ends when
    the command does, so a batch command runs with the cyclic garbage
    collector off, and the process ends with ``os._exit`` once the output is
    flushed, instead of freeing millions of syntax-tree objects one by one
    (about a second after linting a site-packages).
    """
    args = _parser().parse_args(argv)
    batch = process_exits and args.command in _BATCH
    if batch:
        import gc

        gc.disable()
    import importlib

    module_name, _, function_name = _COMMANDS[args.command].partition(":")
    run: Callable[[argparse.Namespace], int] = getattr(
        importlib.import_module(module_name), function_name
    )
    try:
        code = run(args)
    except KeyboardInterrupt:
        print("ambidex: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:  # `ambidex port x.py | head`
        code = 0
    if batch:
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    import os

    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)


def console_main() -> int:
    """The ``ambidex`` executable (and ``python -m ambidex``).

    A plain ``ambidex generate`` with nothing to do ends here, before the
    command line is parsed (see :mod:`ambidex.codegen._noop`); whatever that
    check is not sure of runs the full command.
    """
    if sys.argv[1:] == ["generate"]:
        from ambidex.codegen._noop import up_to_date

        if up_to_date():
            _exit_now(0)
    return main(process_exits=True)
