"""Run a program you do not want to edit with blocking detection on.

::

    python -m ambidex.detect.run [--mode warn|log|raise] [--threshold S] [--intercept] \\
        script.py [args...]
    python -m ambidex.detect.run [options] -m package.module [args...]

Options default to the environment (``AMBIDEX_DETECT``, ``AMBIDEX_DETECT_THRESHOLD``,
``AMBIDEX_DETECT_INTERCEPT``), then to "warn", 0.1 s, no interception. The
detector wraps the event loop policy, so every loop the program makes through
``asyncio.run``, ``asyncio.Runner`` or ``asyncio.new_event_loop`` is watched.
No sitecustomize, no change to the program. In "raise" mode the program runs
to its end and the wrapper then exits with the reports (status 1).
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from collections.abc import Sequence

from ambidex.detect._detector import MODES, install
from ambidex.detect._report import BlockingCallError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ambidex.detect.run",
        usage="python -m ambidex.detect.run [options] (script.py | -m module) [args...]",
        description="Run a Python program with ambidex's blocking detection on.",
    )
    parser.add_argument("--mode", choices=MODES, default=None)
    parser.add_argument("--threshold", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--intercept", action="store_true", default=None)
    return parser


def _split(argv: list[str]) -> tuple[list[str], str | None, list[str]]:
    """(our options, the module for -m or None, the program's argv).

    Everything from the script (or from ``-m module``) on belongs to the
    program, including arguments that look like ours, as with ``python`` itself.
    """
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "-m":
            if i + 1 >= len(argv):
                _parser().error("-m needs a module name")
            return argv[:i], argv[i + 1], argv[i + 2 :]
        if arg in ("--mode", "--threshold"):
            i += 2
        elif arg.startswith(("--mode=", "--threshold=")) or arg in ("--intercept", "-h",
                                                                      "--help"):
            i += 1
        else:
            break
    return argv[:i], None, argv[i:]


def main(argv: Sequence[str] | None = None) -> int:
    ours, module, target = _split(list(sys.argv[1:] if argv is None else argv))
    args = _parser().parse_args(ours)
    if module is None and not target:
        _parser().error("give a script to run, or -m module")
    env_mode = os.environ.get("AMBIDEX_DETECT", "").strip().lower()
    mode = args.mode or (env_mode if env_mode in MODES else "warn")
    threshold = args.threshold
    if threshold is None:
        threshold = float(os.environ.get("AMBIDEX_DETECT_THRESHOLD", "") or 0.1)
    intercept = args.intercept
    if intercept is None:
        intercept = os.environ.get("AMBIDEX_DETECT_INTERCEPT", "") in ("1", "true", "yes")

    detector = install(threshold=threshold, mode=mode, intercept=intercept)
    try:
        if module is not None:
            sys.argv = [module, *target]
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            script, *rest = target
            sys.argv = [script, *rest]
            sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
            runpy.run_path(script, run_name="__main__")
    finally:
        detector.uninstall()
    try:
        detector.check()
    except BlockingCallError as exc:
        print(f"ambidex.detect: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
