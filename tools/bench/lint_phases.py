"""Where ``ambidex lint``'s CPU time goes: each phase of one run over a tree.

Run: ``python tools/bench/lint_phases.py [PATH] [--src DIR]`` (from the repo
root, in the venv). PATH defaults to the running venv's site-packages, the
tree of ``tools/bench/lint.py --scale``'s lint row (issue 13, section 4).

One run in this process, with the cyclic collector off as the command runs
it (``ambidex.cli``). Each phase is a function of the lint, timed (CPU,
``time.process_time``) each time it is called, its calls summed: the build
(parsing, the slim copy, the walk, what the slim build prunes and pools),
the blocking check, the second resolution and the never-awaited check. A
phase's time includes the phases below it in the table (the build's
includes the parse); the shares are of the whole lint. Timing a call costs
about a microsecond, and the wrapped functions are called per module or per
phase, not per node, so the total is within a percent of an unwrapped run
(``tools/bench/lint.py --scale`` is the judged number, a fresh process's).

Use it to decide what to work on, then judge a change with ``lint.py
--scale --src`` before and after, interleaved. A profiler's percentages
(cProfile, pyinstrument) weigh the Python functions up against the C ones
(``ast.parse``, the C slim copy): this table does not.
``--src DIR`` runs ambidex from another source tree (``git archive REV src``
unpacked, with the built C modules copied in: without them the slim copy
runs its pure-Python twin).
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import sys
import sysconfig
import time
from collections.abc import Callable
from typing import Any

#: (depth, label, module, attribute): what is timed, in the order printed.
#: An attribute named ``Class.method`` wraps the method.
_PHASES = (
    (0, "allow comments", "ambidex.detect._lint", "_allow_comments"),
    (0, "build (parse + walk, all modules)", "ambidex.detect._lint", "build_callgraph"),
    (1, "ast.parse (every parse)", "ambidex._callgraph", "ast.parse"),
    (1, "slim copy", "ambidex._callgraph", "slim_tree"),
    (1, "the walk (_Indexer.run)", "ambidex._callgraph._index", "_Indexer.run"),
    (1, "unused results (module level)", "ambidex._callgraph", "unused_results"),
    (1, "keep definitions", "ambidex._callgraph", "keep_definitions"),
    (1, "referenced nodes", "ambidex._callgraph", "_referenced"),
    (1, "prune bodies", "ambidex._callgraph", "prune_bodies"),
    (1, "pool constants", "ambidex._callgraph", "pool_constants"),
    (1, "share constants", "ambidex._callgraph", "share_constants"),
    (1, "freeze bindings", "ambidex._callgraph", "_freeze_bindings"),
    (1, "async and for lines", "ambidex._callgraph", "async_and_for_lines"),
    (0, "blocking: handed callables", "ambidex.detect._lint", "_Linter.__init__"),
    (0, "blocking: walk from coroutines", "ambidex.detect._lint", "_Linter.findings"),
    (0, "blocking: async only in name", "ambidex.detect._lint", "_Linter.fake_async"),
    (0, "second resolution (async side)", "ambidex.detect._lint", "resolve_again"),
    (0, "never awaited (functions)", "ambidex.detect._lint", "find_unawaited"),
    (0, "never awaited (module level)", "ambidex.detect._lint", "module_level_unawaited"),
)


def _timed(spent: dict[str, float], calls: dict[str, int], label: str,
           function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.process_time() - start
            calls[label] = calls.get(label, 0) + 1

    return timed


def _wrap(spent: dict[str, float], calls: dict[str, int]) -> None:
    """Wrap each phase's function where the lint calls it (a missing one is an error:
    the table must not silently lose a phase when the code moves)."""
    import importlib

    for _, label, module_name, attribute in _PHASES:
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = getattr(owner, name)  # AttributeError: the phase moved; update _PHASES
        if isinstance(owner, type):
            original = owner.__dict__[name]
        setattr(owner, name, _timed(spent, calls, label, original))


def _uptime() -> str:
    with open("/proc/loadavg", encoding="ascii") as handle:
        return "load " + " ".join(handle.read().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=sysconfig.get_paths()["purelib"])
    parser.add_argument("--src", metavar="DIR",
                        help="run ambidex from this source tree (for before/after tables)")
    args = parser.parse_args()
    if args.src:
        sys.path.insert(0, os.path.abspath(args.src))
    gc.disable()  # as the command runs (ambidex.cli)
    spent: dict[str, float] = {}
    calls: dict[str, int] = {}
    _wrap(spent, calls)
    from ambidex.detect._lint import lint_paths

    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {_uptime()}")
    start = time.process_time()
    result = lint_paths([args.path])
    total = time.process_time() - start
    print(f"lint {args.path}: {len(result.findings)} findings, "
          f"{len(result.syntax_errors)} unreadable or unparsed, {total:.2f} s CPU")
    print(f"{'phase':<40} {'CPU s':>8} {'share':>7} {'calls':>7}")
    for depth, label, _, _ in _PHASES:
        seconds = spent.get(label, 0.0)
        print(f"{'  ' * depth + label:<40} {seconds:>8.2f} {100 * seconds / total:>6.1f}% "
              f"{calls.get(label, 0):>7}")
    top = sum(spent.get(label, 0.0) for depth, label, _, _ in _PHASES if depth == 0)
    print(f"{'the rest (files, paths, findings)':<40} {total - top:>8.2f} "
          f"{100 * (total - top) / total:>6.1f}%")
    print(f"# after: {_uptime()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
