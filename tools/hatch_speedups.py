"""hatchling build hook: compile the optional C accelerator, ``ambidex.io._speedups``.

Like markupsafe's and PyYAML's: a default install (``pip install ambidex``
from the sdist, ``pip install -e .``, ``python -m build``) compiles
``src/ambidex/io/_speedups.c`` when a C compiler is there, and when it is not
(or the Python headers are missing, or it fails) says so in one line on
stderr (``pip install -v`` shows it) and builds pure Python: ``ambidex.io``
works the same without the module (``ambidex/io/_accelerate.py``), only its
blocking short reads are slower. ``ambidex.io.accelerated()`` says which an
install got.

``AMBIDEX_BUILD_EXTENSIONS`` in the build's environment decides:

* unset or ``1``: try, fall back to pure Python;
* ``0``: do not try (a pure wheel, ``py3-none-any``; an editable install also
  drops a module compiled in place earlier for this Python);
* ``require``: a failure to compile fails the build (CI, which tests both
  paths, and the release's platform wheels).

The compiler is the building Python's own (``sysconfig``: ``LDSHARED``,
``CCSHARED``, ``CFLAGS``), with the usual overrides from the environment:
``CC`` (replaces the compiler at the head of ``LDSHARED``, as distutils does),
``LDSHARED``, ``CFLAGS``. The module is compiled into ``src/ambidex/io/``
(where an editable install finds it) and put in the wheel, which is then
tagged for that Python and platform.

The module records a hash of the source it was built from (``SOURCE_HASH``);
``_accelerate`` ignores a module built from another version of the C file,
so a stale in-place build never runs (rebuild: ``pip install -e .``).

The same switch builds ``ambidex.sansio._speedups`` (``src/ambidex/sansio/_speedups.c``:
``CountedFraming.split`` in C; ``ambidex/sansio/_counted.py`` loads it with
the same source hash check and falls back to its pure twin) with the
accelerator: the two share the compiler and the verdict (``=require``: both
must build; otherwise a failure of either is one stderr line and a pure
install of both).

The same switch builds ``ambidex._callgraph._slimcopy`` after the
accelerator: the lint's copy of its syntax trees in C
(``src/ambidex/_callgraph/_slimcopy.c``; ``_slim.py`` loads it, with the same
source hash check, and copies in Python without it). It uses CPython's public
API only; a failure to compile it is one more stderr line (``=require``: a
failed build). ``ambidex._callgraph._walk`` (``_walk.c``: a function's own
calls and a module's used names, whose pure twins are in ``_model.py`` and
``codegen/_imports.py``) is built the same way, after it.

The same switch builds one more module, after those:
``ambidex.detect._gilwatch``, the native thread that sees the loop's C calls
that keep the GIL (``src/ambidex/detect/_gilwatch.c``; ``_native.py`` loads it,
with the same source hash check). Its C reads each CPython version's internal
structures, so it is built only on CPython 3.10 to 3.13 with a GIL, and left
out without a word elsewhere; a failure to compile it is one more stderr line
(``=require``: a failed build).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("src/ambidex/io/_speedups.c")
# ambidex.sansio's fast framing (CountedFraming.split), built with the accelerator.
SANSIO = Path("src/ambidex/sansio/_speedups.c")
# The native watcher of C calls that keep the GIL (ambidex.detect._gilwatch), built
# by the same switch after the accelerator. Its C reads CPython's internal
# structures, each version's own: built only for the versions it knows, and left
# out without a word elsewhere (ambidex.detect works without it, and
# ambidex.detect._native.available() says which).
GILWATCH = Path("src/ambidex/detect/_gilwatch.c")
GILWATCH_PYTHONS = ((3, 10), (3, 13))
# The lint's syntax-tree copy in C (ambidex._callgraph._slimcopy), built by the
# same switch after the accelerator; _slim.py copies in Python without it.
SLIMCOPY = Path("src/ambidex/_callgraph/_slimcopy.c")
# Two walks of a syntax tree in C (ambidex._callgraph._walk: a function's own calls,
# a module's used names), built by the same switch; their pure twins run without it.
WALK = Path("src/ambidex/_callgraph/_walk.c")
CHOICES = {"": "try", "1": "try", "0": "skip", "require": "require"}


def module_path(root: Path, source: Path = SOURCE) -> Path:
    """Where the module for the building Python goes: beside its source."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return (root / source).with_name(source.stem + suffix)


def gilwatch_wanted(root: Path) -> bool:
    """Whether this Python gets the native GIL watcher (its source is there, and
    the C knows this version: CPython 3.10 to 3.13 with a GIL)."""
    low, high = GILWATCH_PYTHONS
    return (
        (root / GILWATCH).exists()
        and sys.implementation.name == "cpython"
        and low <= sys.version_info[:2] <= high
        and not sysconfig.get_config_var("Py_GIL_DISABLED")
    )


def compiler_command() -> list[str]:
    """The command that compiles and links a C file into this Python's extension module."""
    config = sysconfig.get_config_var
    ldshared = os.environ.get("LDSHARED") or config("LDSHARED") or ""
    cc, default_cc = os.environ.get("CC"), config("CC") or ""
    if cc and "LDSHARED" not in os.environ and default_cc and ldshared.startswith(default_cc):
        ldshared = cc + ldshared[len(default_cc):]
    return [
        *shlex.split(ldshared),
        *shlex.split(config("CCSHARED") or ""),
        *shlex.split(config("CFLAGS") or ""),
        *shlex.split(os.environ.get("CFLAGS", "")),
    ]


def build_speedups(root: Path, relative: Path = SOURCE) -> Path:
    """Compile ``_speedups.c`` (or ``relative``) next to itself; return the module's path.
    Raises on failure."""
    source = root / relative
    target = module_path(root, relative)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    # The C uses CPython's API under the GIL: other implementations and free-
    # threaded builds (which would turn the GIL back on to import it) stay pure.
    if sys.implementation.name != "cpython":
        raise RuntimeError(f"the accelerator is for CPython, not {sys.implementation.name}")
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        raise RuntimeError("the accelerator is not written for a free-threaded build")
    ldshared = os.environ.get("LDSHARED") or sysconfig.get_config_var("LDSHARED")
    if sys.platform == "win32" or not ldshared:
        raise RuntimeError("no C compiler settings in this Python's sysconfig")
    command = [
        *compiler_command(),
        f"-I{sysconfig.get_paths()['include']}",
        f'-DAMBIDEX_SOURCE_HASH="{digest}"',
    ]
    # Build under a temporary name, then rename: two builds at once (one per
    # Python version, tools/test.sh) never load a half-written file.
    with tempfile.TemporaryDirectory() as scratch:
        built = Path(scratch) / target.name
        try:
            result = subprocess.run(
                [*command, str(source), "-o", str(built)],
                capture_output=True, text=True, timeout=300, check=False,
            )
        except OSError as exc:  # no such compiler
            raise RuntimeError(f"cannot run the C compiler {command[0]!r}: {exc}") from exc
        if result.returncode != 0 or not built.exists():
            output = (result.stdout + result.stderr).strip()
            raise RuntimeError(
                f"compiling {relative} with {command[0]!r} failed (exit {result.returncode})"
                + (f":\n{output}" if output else "")
            )
        os.replace(built, target)
    return target


def drop_in_place(root: Path) -> None:
    """Remove the modules an earlier editable install compiled in place."""
    for source in (SOURCE, SANSIO, SLIMCOPY, WALK, GILWATCH):
        module_path(root, source).unlink(missing_ok=True)


def one_line(exc: Exception) -> str:
    """A failure in one line: its first line, and the compiler's first error if it printed one."""
    lines = str(exc).splitlines() or [type(exc).__name__]
    errors = [line.strip() for line in lines[1:] if "error" in line.lower()]
    return lines[0].rstrip(":") + (f": {errors[0]}" if errors else "")


def build_optional(
    root: Path, source: Path, what: str, choice: str, version: str, build_data: dict[str, Any]
) -> None:
    """Build a module the install can go without; unless required, a failure is one line."""
    try:
        built = build_speedups(root, source)
    except Exception as exc:
        if choice == "require":
            raise
        if version == "editable":
            module_path(root, source).unlink(missing_ok=True)
        print(f"ambidex: building without {what}: {one_line(exc)}", file=sys.stderr)
        return
    if version != "editable":
        package = source.parent.relative_to("src").as_posix()
        build_data["force_include"][str(built)] = f"{package}/{built.name}"


class SpeedupsHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        value = os.environ.get("AMBIDEX_BUILD_EXTENSIONS", "")
        choice = CHOICES.get(value.strip().lower())
        if choice is None:
            raise ValueError(
                f"AMBIDEX_BUILD_EXTENSIONS={value!r}: use 1 (try, the default), 0 (skip) or require"
            )
        root = Path(self.root)
        if choice == "skip":
            if version == "editable":  # the install means what it says: no stale module in place
                drop_in_place(root)
            return
        try:
            module = build_speedups(root)
            framing = build_speedups(root, SANSIO) if (root / SANSIO).exists() else None
        except Exception as exc:
            if choice == "require":
                raise
            if version == "editable":
                drop_in_place(root)
            # Pure Python: the others need the same compiler, they are not tried.
            print(
                f"ambidex: building pure Python, without the accelerator: {one_line(exc)}",
                file=sys.stderr,
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":
            build_data["force_include"][str(module)] = f"ambidex/io/{module.name}"
            if framing is not None:
                build_data["force_include"][str(framing)] = f"ambidex/sansio/{framing.name}"
        if (root / SLIMCOPY).exists():
            build_optional(root, SLIMCOPY, "the C syntax-tree copy", choice, version, build_data)
        if (root / WALK).exists():
            build_optional(root, WALK, "the C syntax-tree walks", choice, version, build_data)
        if gilwatch_wanted(root):
            build_optional(root, GILWATCH, "the native GIL watcher", choice, version, build_data)
