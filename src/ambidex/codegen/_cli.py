"""``ambidex port`` and ``ambidex generate``: the codegen commands.

Both behave like ruff and black: quiet on success, ``path:line:col: message``
on standard error for problems, exit 0 when all is well, 1 when ``--check``
would change something (or a conversion was refused), 2 for usage and input
errors (a source that does not parse, a hand-written file in the way, a
malformed pyproject.toml).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ambidex._config import ConfigError, load_config
from ambidex._sourcefiles import read_source
from ambidex.codegen import _generate

if TYPE_CHECKING:
    from ambidex.codegen._markers import MarkerKind
    from ambidex.codegen._source import Diagnostic


def _diff(old: str, new: str, name: str) -> str:
    import difflib

    return "".join(difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True),
        fromfile=f"a/{name}", tofile=f"b/{name}"))


def run_generate(args: argparse.Namespace) -> int:
    check = bool(getattr(args, "check", False))
    diff = bool(getattr(args, "diff", False))
    explain = bool(getattr(args, "explain", False))
    try:
        config = load_config()
        # --check compares full conversions with the files, so that a hand
        # edit of a generated file, or a newer converter, is caught too.
        result = _generate.plan(config, full=check or diff or explain, check=check)
    except (ConfigError, _generate.GenerateError) as exc:
        print(f"ambidex generate: {exc}", file=sys.stderr)
        return 2
    _generate.print_messages(result.messages)
    if result.syntax_errors:
        return 2
    if result.errors:
        return 1
    if explain:
        for line in result.explanations:
            print(line)
    if diff:
        for target, content in result.writes.items():
            try:
                old = read_source(target)
            except (OSError, UnicodeDecodeError, SyntaxError):
                old = ""
            sys.stdout.write(_diff(old, content, _display(target, config.root)))
        for orphan in result.deletes:
            sys.stdout.write(_diff(read_source(orphan), "",
                                   _display(orphan, config.root)))
    if check:
        for target in result.writes:
            state = "missing" if not target.exists() else "stale"
            print(f"{_display(target, config.root)}: {state}: would regenerate",
                  file=sys.stderr)
        for orphan in result.deletes:
            print(f"{_display(orphan, config.root)}: orphaned: its source is gone; "
                  "would delete", file=sys.stderr)
        for line in result.unused:
            print(line, file=sys.stderr)
        return 1 if (result.writes or result.deletes or result.unused) else 0
    if diff:
        return 0
    try:
        _generate.write(result)
    except (OSError, UnicodeError) as exc:
        print(f"ambidex generate: cannot write: {exc}", file=sys.stderr)
        return 2
    return 0


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _parse_renames(pairs: list[str]) -> dict[str, str]:
    renames: dict[str, str] = {}
    for item in pairs:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ValueError(f"--rename expects OLD=NEW, got {item!r}")
        for name in (old.strip(), new.strip()):
            if not _generate.is_python_name(name):
                raise ValueError(f"--rename {item!r}: {name!r} is not a Python name "
                                 "(a name or a dotted module path)")
        renames[old.strip()] = new.strip()
    return renames


def _parse_flags(items: list[str]) -> dict[str, str]:
    flags: dict[str, str] = {}
    for item in items:
        name, sep, colour = item.partition("=")
        if not sep or not name.strip().isidentifier() or colour.strip() not in ("sync", "async"):
            raise ValueError(f"--flag expects NAME=sync or NAME=async, got {item!r}")
        flags[name.strip()] = colour.strip()
    return flags


def _diagnostic_lines(diagnostics: list[Diagnostic], verbose: bool) -> list[str]:
    """``path:line:col: message``, one a diagnostic; warnings said of many
    places alike (:attr:`Diagnostic.same_as`) once, at the first place, with how
    many places say it, unless ``verbose``. Errors are never folded."""
    counts: dict[str, int] = {}
    if not verbose:
        for diagnostic in diagnostics:
            if not diagnostic.error and diagnostic.same_as is not None:
                counts[diagnostic.same_as] = counts.get(diagnostic.same_as, 0) + 1
    lines: list[str] = []
    shown: set[str] = set()
    for diagnostic in diagnostics:
        if diagnostic.error:
            lines.append(str(diagnostic))
            continue
        same = diagnostic.same_as
        if same is None or counts.get(same, 1) == 1:
            lines.append(f"{diagnostic} (warning)")
        elif same not in shown:
            count = counts[same]
            shown.add(same)
            lines.append(f"{diagnostic} (warning; {count} places, the first shown: "
                         "-v lists each)")
    return lines


def run_port(args: argparse.Namespace) -> int:
    to: str = args.to
    try:
        renames = _parse_renames(list(args.rename or []))
        flags = _parse_flags(list(getattr(args, "flag", None) or []))
        async_prefix = getattr(args, "async_prefix", False)
        if async_prefix and to == "async":
            raise ValueError("--async-prefix applies towards sync only")
        config = load_config()
    except (ValueError, ConfigError) as exc:
        print(f"ambidex port: {exc}", file=sys.stderr)
        return 2
    # Collect the inputs: files as given, folders recursively.
    inputs: dict[Path, Path] = {}  # file -> path relative to its argument's folder
    for raw in args.paths:
        path = Path(raw)
        if path.is_dir():
            for file in _generate._python_files(path):
                inputs[file] = file.relative_to(path)
        elif path.is_file():
            inputs[path] = Path(path.name)
        else:
            print(f"{raw}: no such file or folder", file=sys.stderr)
            return 2
    output = Path(args.output) if args.output else None
    single = len(inputs) == 1 and len(args.paths) == 1 and Path(args.paths[0]).is_file()
    if output is None and not single and not args.diff:
        print("ambidex port: several files need -o OUT (a folder)", file=sys.stderr)
        return 2
    modules: dict[str, str] = {}
    for file in inputs:
        try:
            modules[file.as_posix()] = read_source(file)  # PEP 263, no BOM
        except (OSError, UnicodeDecodeError, SyntaxError) as exc:
            print(f"{file.as_posix()}:1:1: cannot read: {exc}", file=sys.stderr)
            return 2
    try:
        convert = _generate.converter(to)
    except _generate.GenerateError as exc:
        print(f"ambidex port: {exc}", file=sys.stderr)
        return 2
    # Marker directives by qualified name (--sync-only Client.__getitem__, and
    # [tool.ambidex] sync_only / async_only): the marker that applies to this direction.
    from ambidex.codegen._directives import CONFIG_KEYS, apply_directives
    from ambidex.codegen._source import line_end_of

    kind: MarkerKind = "sync-only" if to == "async" else "async-only"
    key = next(k for k, v in CONFIG_KEYS.items() if v == kind)
    configured = config.section.get(key, [])
    if not isinstance(configured, list) or not all(isinstance(n, str) for n in configured):
        print(f"ambidex port: [tool.ambidex] {key} must be a list of qualified names",
              file=sys.stderr)
        return 2
    given = list(getattr(args, key, None) or [])
    modules, unused = apply_directives(modules, {kind: [*given, *configured]})
    for name in unused:
        if name in given:
            print(f"ambidex port: --{kind} {name}: no definition of that name in the input",
                  file=sys.stderr)
            return 2
    options = {}
    if to == "async":
        defer = config.section.get("defer_init_io", False)
        if not isinstance(defer, bool):
            print(f"ambidex port: [tool.ambidex] defer_init_io must be true or false, "
                  f"got {defer!r}", file=sys.stderr)
            return 2
        options["defer_init_io"] = bool(args.defer_init_io) or defer
    conversion = _generate.convert_guarded(
        convert, modules, table=config.table, renames=renames, strict=bool(args.strict),
        flags=flags, rename_prose=bool(getattr(args, "rename_prose", False)),
        async_prefix=async_prefix, **options)
    for line in _diagnostic_lines(conversion.diagnostics, bool(getattr(args, "verbose", False))):
        print(line, file=sys.stderr)
    if conversion.failed:
        summary = _generate.refusal_summary(len(modules), conversion.diagnostics)
        if summary and len(modules) > 1:
            print(f"ambidex port: {summary}", file=sys.stderr)
        syntax = any(d.message.startswith(("syntax error", "cannot parse"))
                     for d in conversion.diagnostics)
        return 2 if syntax else 1
    if to == "async" and modules and all(
        conversion.outputs.get(path) == text for path, text in modules.items()
    ):
        # Exit 0 with the input handed back is not a port: say why (and with
        # --strict refuse it: the output may still block wherever it does I/O).
        print(f"{next(iter(modules))}:1:1: nothing became async: the port knows no blocking "
              "call in this code, so the output is the input. I/O through a library its "
              "table does not name (a client of http.client, a driver's own methods) is not "
              "seen: port that library too, or add its rows in [[tool.ambidex.rules]]"
              + ("" if args.strict else " (warning)"), file=sys.stderr)
        if args.strict:
            return 1
    if args.explain:
        for line in conversion.explanations:
            print(line)
    segments = {"sync": {"_async": "_sync"}, "async": {"_sync": "_async"}}[to]
    sources = {file.resolve() for file in inputs}
    writes: list[tuple[Path, str]] = []
    written_from: dict[Path, Path] = {}  # destination -> the input written there
    collisions: list[str] = []
    ends: dict[Path, str] = {}
    for file, relative in inputs.items():
        text = conversion.outputs[file.as_posix()]
        if args.diff:
            sys.stdout.write(_diff(modules[file.as_posix()], text, file.as_posix()))
            continue
        if output is None:
            sys.stdout.write(text)
            continue
        if single and (output.suffix == ".py" and not output.is_dir()):
            destination = output
        else:
            parts = [segments.get(part, part) for part in relative.parts[:-1]]
            destination = output.joinpath(*parts, relative.name)
        if destination.resolve() in sources:
            print(f"{destination.as_posix()}: refusing to overwrite a source", file=sys.stderr)
            return 2
        other = written_from.setdefault(destination.resolve(), file)
        if other != file:
            # Two folders given with the same files in them (a-1/pkg b-2/pkg): each
            # goes below OUT by its path in its folder, so one would replace the other.
            collisions.append(f"{file.as_posix()}:1:1: would be written to "
                              f"{destination.as_posix()}, as {other.as_posix()} would")
        writes.append((destination, text))
        # Read with universal newlines; written with the source file's own line ends.
        ends[destination] = line_end_of(file.read_bytes().decode("latin-1"))
    if collisions:
        for line in collisions:
            print(line, file=sys.stderr)
        print("ambidex port: two inputs would be written to one file: port them one at a "
              "time, or each folder to its own -o; nothing written", file=sys.stderr)
        return 2
    # A file in the way is refused, as generate refuses one without its header:
    # port's output carries no header (it becomes the user's code), so only
    # --force, or the very same text, lets it be replaced.
    plan = _generate.Plan()
    refused = []
    for destination, text in writes:
        try:
            existing: str | None = read_source(destination)
        except FileNotFoundError:
            existing = None
        except (OSError, UnicodeDecodeError, SyntaxError) as exc:
            if not destination.is_file():
                print(f"{destination.as_posix()}:1:1: cannot write there: {exc}",
                      file=sys.stderr)
                return 2
            existing = ""
        if existing == text:  # both read with universal newlines
            continue
        if existing is not None and not args.force:
            refused.append(destination)
        plan.writes[destination] = text
        if ends[destination] != "\n":
            plan.line_ends[destination] = ends[destination]
    for destination in refused:
        print(f"{destination.as_posix()}:1:1: refusing to overwrite an existing file: move "
              "it away, choose another -o, or pass --force", file=sys.stderr)
    if refused:
        return 2
    try:
        _generate.write(plan)
    except (OSError, UnicodeError) as exc:
        print(f"ambidex port: cannot write: {exc}", file=sys.stderr)
        return 2
    return 0
