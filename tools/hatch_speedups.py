"""hatchling build hook: compile the optional C accelerator, ``ambidex.io._speedups``.

Off unless asked: with ``AMBIDEX_BUILD_EXTENSIONS=1`` in the environment of
``pip install`` (editable or not) or ``python -m build``, the hook compiles
``src/ambidex/io/_speedups.c`` with the building Python's own compiler
settings (``sysconfig``) into ``src/ambidex/io/`` (where an editable install
finds it) and puts it in the wheel, which is then tagged for that Python and
platform. Without the variable the wheel is pure Python, as it always was.

If the compiler is missing or fails, the hook says so on stderr and the build
goes on pure Python: ``ambidex.io`` works the same without the module
(``ambidex/io/_accelerate.py``). ``AMBIDEX_BUILD_EXTENSIONS=require`` makes
that a build failure instead (for CI, which must test both paths).

The module records a hash of the source it was built from (``SOURCE_HASH``);
``_accelerate`` ignores a module built from another version of the C file,
so a stale in-place build never runs (rebuild: ``pip install -e .``).
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


def build_speedups(root: Path) -> Path:
    """Compile ``_speedups.c`` next to itself; return the module's path. Raises on failure."""
    source = root / SOURCE
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    target = source.with_name("_speedups" + suffix)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    # The C uses CPython's API under the GIL: other implementations and free-
    # threaded builds (which would turn the GIL back on to import it) stay pure.
    if sys.implementation.name != "cpython":
        raise RuntimeError(f"the accelerator is for CPython, not {sys.implementation.name}")
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        raise RuntimeError("the accelerator is not written for a free-threaded build")
    ldshared = sysconfig.get_config_var("LDSHARED")
    if not ldshared or sys.platform == "win32":
        raise RuntimeError("no C compiler settings in this Python's sysconfig")
    flags = [
        *shlex.split(ldshared),
        *shlex.split(sysconfig.get_config_var("CCSHARED") or ""),
        "-O2",
        f"-I{sysconfig.get_paths()['include']}",
        f'-DAMBIDEX_SOURCE_HASH="{digest}"',
    ]
    # Build under a temporary name, then rename: two builds at once (one per
    # Python version, tools/test.sh) never load a half-written file.
    with tempfile.TemporaryDirectory() as scratch:
        built = Path(scratch) / target.name
        result = subprocess.run(
            [*flags, str(source), "-o", str(built)],
            capture_output=True, text=True, timeout=300, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"compiling {SOURCE} failed:\n{result.stdout}{result.stderr}")
        os.replace(built, target)
    return target


class SpeedupsHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        asked = os.environ.get("AMBIDEX_BUILD_EXTENSIONS", "")
        if self.target_name != "wheel" or asked not in {"1", "require"}:
            return
        try:
            module = build_speedups(Path(self.root))
        except Exception as exc:
            if asked == "require":
                raise
            print(f"ambidex: building pure Python, without the accelerator: {exc}", file=sys.stderr)
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":
            build_data["force_include"][str(module)] = f"ambidex/io/{module.name}"
