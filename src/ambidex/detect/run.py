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
        description="Run a Python program with ambidex's blocking detection on.",
    )
    parser.add_argument("--mode", choices=MODES, default=None)
    parser.add_argument("--threshold", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--intercept", action="store_true", default=None)
    parser.add_argument("-m", dest="module", default=None, metavar="MODULE",
                        help="run a module as `python -m` does")
    parser.add_argument("target", nargs=argparse.REMAINDER,
                        help="script.py [args...] (or the module's args with -m)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.module is None and not args.target:
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
        if args.module is not None:
            sys.argv = [args.module, *args.target]
            runpy.run_module(args.module, run_name="__main__", alter_sys=True)
        else:
            script, *rest = args.target
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
