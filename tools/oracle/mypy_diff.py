"""An oracle for silent half-ports: mypy's errors on a port's output that its input lacks.

Run (from the repo root, in the venv)::

    python tools/oracle/mypy_diff.py SRC --to async [-- PORT OPTIONS...]
    python tools/oracle/mypy_diff.py SRC --out OUT      # an output already written

SRC is a module or a package folder. With ``--to``, the script ports SRC as a
user would (``ambidex port SRC --to COLOUR -o TMP`` plus the options after
``--``) into a temporary folder; with ``--out`` it compares with OUT as given.

mypy shares no code with the generator, and it knows coroutines: it reports
a coroutine left un-awaited (``unused-coroutine``, and ``unused-awaitable``,
enabled here), an ``await`` of something that is not awaitable, a
coroutine's value used as the value it would return (``Coroutine[...]`` has
no attribute ``decode``), and a method a class lacks. Both trees are
checked with the same flags (``--check-untyped-defs``, so an unannotated
stdlib client's bodies are read too); each error is keyed by file (relative
to its tree), code and message (line numbers inside the message dropped),
and an error of the output is a *suspect* when the input has no error left
with that key. A suspect is something to read, not a verdict: typing
artefacts (a ``Coroutine`` type where the input had ``str``) are common,
and only a reading of the output says which it is.

Exit status: 0 when there is no suspect, 1 when there are, 2 when the port
itself failed (its messages are printed) or mypy could not run.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

# The flags both trees are checked with: bodies of unannotated functions are
# read (the stdlib clients have no annotations), every awaitable left unused
# is reported, imports the tree does not hold are Any.
MYPY_FLAGS = (
    "--check-untyped-defs",
    "--enable-error-code", "unused-awaitable",
    "--show-error-codes",
    "--show-column-numbers",
    "--no-error-summary",
    "--no-pretty",
    "--ignore-missing-imports",
    "--follow-imports", "silent",
    "--hide-error-context",
)

_LINE = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+):(?P<col>\d+): error: "
                   r"(?P<message>.*?)(?:  \[(?P<code>[a-z0-9-]+)\])?$")
_LINE_NUMBER = re.compile(r"\bline \d+\b")
# A quoted name or type, but not the attribute an error says is missing
# (`has no attribute "unwrap"`): a renamed type lacks the same attribute.
_QUOTED = re.compile(r'(?<!attribute )"[^"]*"')
_MESSAGE = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<text>.*)$")
_CALL = re.compile(r"`([^`]+?)(\(\.\.\.\)|\(\))?`")
# mypy's override error names the method: 'Return type "..." of "read" incompatible ...'.
_OVERRIDE = re.compile(r'^Return type "[^"]*" of "([^"]+)" incompatible')
# How far (in lines) a port's message may sit from the output line mypy
# names: the port adds and drops lines (imports, awaits split over lines).
_NEAR = 40
# A type that says the value is a coroutine (or another awaitable): an error
# that names one where the input's did not is never put down to a renamed type.
_AWAITABLE = re.compile(r"\b(Coroutine|Awaitable|Future|Task)\b")


@dataclass(frozen=True)
class MypyError:
    path: str  # relative to the checked tree ("" for a single module)
    line: int
    col: int
    code: str
    message: str

    @property
    def key(self) -> tuple[str, str, str]:
        """What must match for an error of the output to be the input's."""
        return (self.path, self.code, _LINE_NUMBER.sub("line N", self.message))

    @property
    def shape(self) -> tuple[str, str, str, bool]:
        """The key with every quoted name or type masked (but a missing
        attribute's name), and whether a quoted type is awaitable: an error of
        the same shape is the input's own error with its types renamed
        (``socket`` -> ``AsyncSocket``)."""
        path, code, message = self.key
        quoted = _QUOTED.findall(message)
        return (path, code, _QUOTED.sub('"_"', message),
                any(_AWAITABLE.search(q) for q in quoted))

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: [{self.code}] {self.message}"


def parse(text: str, prefix: str = "") -> list[MypyError]:
    """mypy's error lines in ``text``; ``prefix`` (a folder's name and a slash)
    is cut from the paths. Notes and other lines are skipped."""
    errors = []
    for raw in text.splitlines():
        found = _LINE.match(raw)
        if found is None:
            continue
        path = found["path"].replace("\\", "/")
        if prefix and path.startswith(prefix):
            path = path[len(prefix):]
        errors.append(MypyError(path, int(found["line"]), int(found["col"]),
                                found["code"] or "", found["message"]))
    return errors


def match(before: Iterable[MypyError], after: Iterable[MypyError]
          ) -> tuple[list[MypyError], list[MypyError]]:
    """The errors of ``after`` that ``before`` has no match for: (suspects,
    retyped), each in the output's order. An error matches one of the
    input's with the same key first, each used once (two alike errors in the
    output and one in the input leave one unmatched); one left over whose
    ``shape`` an input error left over has is *retyped*, the rest suspects."""
    before = list(before)
    left = collections.Counter(e.key for e in before)
    unmatched = []
    for error in after:
        if left[error.key] > 0:
            left[error.key] -= 1
        else:
            unmatched.append(error)
    shapes: collections.Counter[tuple[str, str, str, bool]] = collections.Counter()
    for error in before:
        if left[error.key] > 0:
            left[error.key] -= 1
            shapes[error.shape] += 1
    found, retyped = [], []
    for error in unmatched:
        if shapes[error.shape] > 0:
            shapes[error.shape] -= 1
            retyped.append(error)
        else:
            found.append(error)
    return found, retyped


def suspects(before: Iterable[MypyError], after: Iterable[MypyError]) -> list[MypyError]:
    return match(before, after)[0]


@dataclass(frozen=True)
class PortMessage:
    path: str  # relative to the port's input, as MypyError.path is to its tree
    line: int
    text: str


def port_messages(lines: Iterable[str], source: Path) -> list[PortMessage]:
    """The port's located messages (``PATH:LINE:COL: text``), their paths made
    relative to ``source`` as :func:`run_mypy` makes mypy's (the port may have
    run from another folder: a path is matched by its tail)."""
    if source.is_dir():
        files = sorted((f.relative_to(source).as_posix() for f in source.rglob("*.py")),
                       key=len, reverse=True)
    else:
        files = [source.name]
    found = []
    for raw in lines:
        match_ = _MESSAGE.match(raw)
        if match_ is None:
            continue
        path = match_["path"].replace("\\", "/")
        relative = next((f for f in files if path == f or path.endswith("/" + f)), None)
        if relative is not None:
            found.append(PortMessage(relative, int(match_["line"]), match_["text"]))
    return found


def warned_by(error: MypyError, line_text: str, messages: Iterable[PortMessage]
              ) -> PortMessage | None:
    """The port's message that names the call on ``error``'s output line
    (``line_text``): same file, within a few lines, and the call it quotes
    (`` `client.quit()` `` -> ``client.quit(``) is on that line; for mypy's
    ``override`` error, the port's warning that the method "becomes async but
    overrides" a method of a class outside the port."""
    overridden = _OVERRIDE.match(error.message) if error.code == "override" else None
    for message in messages:
        if message.path != error.path or abs(message.line - error.line) > _NEAR:
            continue
        if overridden is not None and (
            f".{overridden[1]}() becomes async but overrides" in message.text
        ):
            return message  # said at the def: "C.read() becomes async but overrides ..."
        quoted = _CALL.search(message.text)
        if quoted is None:
            continue
        spelled = quoted[1] + ("(" if quoted[2] else "")
        if spelled in line_text:
            return message
    return None


def by_code(errors: Iterable[MypyError]) -> dict[str, int]:
    return dict(sorted(collections.Counter(e.code for e in errors).items()))


def copy_code(tree: Path, into: Path) -> None:
    """``tree`` copied into the folder ``into``, without ``.pyi`` files: mypy
    reads a stub in place of the module beside it (motor ships core.pyi), and
    a port writes no stubs, so the input's bodies would go unchecked."""
    into.mkdir(parents=True, exist_ok=True)
    if tree.is_dir():
        shutil.copytree(tree, into / tree.name,
                        ignore=shutil.ignore_patterns("*.pyi", "__pycache__"))
    else:
        shutil.copy(tree, into / tree.name)


def run_mypy(tree: Path, extra: Sequence[str] = (), cache: Path | None = None
             ) -> list[MypyError]:
    """mypy over ``tree`` (a module or a package folder, copied without its
    ``.pyi`` files), run with an empty config (no project's settings apply). ``cache``: mypy's
    cache folder, shared by the runs of one comparison (the stdlib's stubs
    are read once); a fresh one when not given."""
    tree = tree.resolve()
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "mypy.ini"
        config.write_text("[mypy]\n", encoding="utf-8")
        cache_dir = cache if cache is not None else Path(scratch) / "cache"
        checked = Path(scratch) / "tree"
        copy_code(tree, checked)
        done = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", str(config),
             "--cache-dir", str(cache_dir), *MYPY_FLAGS, *extra, tree.name],
            cwd=checked, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1) or (done.returncode == 1 and not done.stdout):
        raise RuntimeError(f"mypy failed on {tree} (status {done.returncode}):\n"
                           f"{done.stdout}{done.stderr}")
    prefix = tree.name + "/" if tree.is_dir() else ""
    return parse(done.stdout, prefix)


def port(source: Path, colour: str, options: Sequence[str], out: Path) -> tuple[int, str]:
    """``ambidex port`` as a user runs it: its status and its messages."""
    done = subprocess.run(
        [sys.executable, "-m", "ambidex", "port", "--to", colour, *options,
         str(source), "-o", str(out)],
        capture_output=True, text=True, check=False)
    return done.returncode, done.stderr


@dataclass
class Report:
    source: str
    output: str
    port_status: int | None
    port_messages: list[str]
    input_errors: dict[str, int]
    output_errors: dict[str, int]
    suspects: list[MypyError]
    retyped: list[MypyError]
    warned: dict[str, str]
    """str(suspect) -> the port's message that names the same call."""

    def as_json(self) -> str:
        data = asdict(self)
        data["suspects"] = [asdict(s) for s in self.suspects]
        data["retyped"] = [asdict(s) for s in self.retyped]
        return json.dumps(data, indent=2)

    def as_text(self) -> str:
        lines = [f"source {self.source}", f"output {self.output}"]
        if self.port_status is not None:
            warnings = sum(m.endswith("(warning)") for m in self.port_messages)
            lines.append(f"port: exit {self.port_status}, {warnings} warnings")
        lines.append(f"mypy input:  {sum(self.input_errors.values())} errors {self.input_errors}")
        lines.append(f"mypy output: {sum(self.output_errors.values())} errors "
                     f"{self.output_errors}")
        lines.append(f"retyped (the input's error, its types renamed): {len(self.retyped)}")
        lines.extend(f"  {s}" for s in self.retyped)
        silent = [s for s in self.suspects if str(s) not in self.warned]
        lines.append(f"suspects: {len(self.suspects)} {by_code(self.suspects)}, of which "
                     f"{len(self.suspects) - len(silent)} on a call the port warned of")
        for suspect in self.suspects:
            lines.append(f"  {suspect}")
            if str(suspect) in self.warned:
                lines.append(f"      port said: {self.warned[str(suspect)][:160]}")
        return "\n".join(lines)


def compare(source: Path, output: Path, mypy_args: Sequence[str] = (),
            port_status: int | None = None, port_messages_: Sequence[str] = ()) -> Report:
    with tempfile.TemporaryDirectory() as cache:
        before = run_mypy(source, mypy_args, Path(cache))
        after = run_mypy(output, mypy_args, Path(cache))
    found, retyped = match(before, after)
    messages = port_messages(port_messages_, source)
    warned = {}
    for suspect in found:
        file = output / suspect.path if output.is_dir() else output
        text = file.read_text(encoding="utf-8").splitlines()
        said = warned_by(suspect, text[suspect.line - 1] if suspect.line <= len(text) else "",
                         messages)
        if said is not None:
            warned[str(suspect)] = f"{said.path}:{said.line}: {said.text}"
    return Report(str(source), str(output), port_status, list(port_messages_),
                  by_code(before), by_code(after), found, retyped, warned)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    port_options: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, port_options = argv[:at], argv[at + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("source", type=Path, help="the port's input: a module or a package")
    way = parser.add_mutually_exclusive_group(required=True)
    way.add_argument("--to", choices=("sync", "async"), help="port SOURCE to this colour")
    way.add_argument("--out", type=Path, help="compare with this output, already written")
    parser.add_argument("--mypy-arg", action="append", default=[],
                        help="one more argument for both mypy runs; repeatable")
    parser.add_argument("--keep", type=Path,
                        help="with --to: write the port here (kept) instead of a temporary folder")
    parser.add_argument("--messages", type=Path,
                        help="with --out: the port's messages (its stderr), to tell the "
                             "suspects on a call it warned of")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    source: Path = args.source
    if not source.exists():
        parser.error(f"{source}: no such file or folder")
    with tempfile.TemporaryDirectory() as scratch:
        status: int | None = None
        messages: list[str] = []
        if args.to is not None:
            output = (args.keep if args.keep is not None else Path(scratch)) / source.name
            if output.exists():
                shutil.rmtree(output) if output.is_dir() else output.unlink()
            status, text = port(source, args.to, port_options, output)
            messages = text.splitlines()
            if status != 0:
                print(f"port failed (exit {status}):\n{text}", file=sys.stderr)
                return 2
        else:
            output = args.out
            if args.messages is not None:
                messages = args.messages.read_text(encoding="utf-8").splitlines()
        try:
            report = compare(source, output, args.mypy_arg, status, messages)
        except RuntimeError as failure:
            print(failure, file=sys.stderr)
            return 2
    print(report.as_json() if args.json else report.as_text())
    return 1 if report.suspects else 0


if __name__ == "__main__":
    sys.exit(main())
