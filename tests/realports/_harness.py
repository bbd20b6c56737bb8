"""Port a client of the running interpreter's standard library, import the port.

The target is whatever stdlib runs the tests (3.10 to 3.13): the module's
source is copied from the interpreter at test time, ported to asyncio by the
command line exactly as a user would (``ambidex port --to async``, plus
``--defer-init-io`` where the client connects in ``__init__``), and the
output imported under a fresh name. Nothing in the port is edited by hand.

``strict_asyncio`` runs a coroutine with ``RuntimeWarning`` as an error and
fails on any "coroutine ... was never awaited", even one raised in a
finaliser (where Python only prints it). ``Ticker`` counts event-loop turns,
so a test can show the loop kept running while a large transfer did.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import inspect
import io
import sys
import types
import warnings
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from ambidex import cli
from ambidex.detect._lint import NEVER_AWAITED, lint_sources

T = TypeVar("T")


def port_stdlib(
    module: types.ModuleType, folder: Path, *options: str
) -> tuple[types.ModuleType, list[str]]:
    """The async port of ``module`` (imported), and the port's messages."""
    source_file = inspect.getsourcefile(module)
    assert source_file is not None
    name = Path(source_file).name
    source = folder / name
    source.write_text(Path(source_file).read_text(encoding="utf-8"), encoding="utf-8")
    out = folder / "ported" / name
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = cli.main(["port", "--to", "async", *options, str(source), "-o", str(out)])
    messages = err.getvalue().splitlines()
    assert status == 0, "\n".join(messages)
    # The lint's AMB301 over the port: no coroutine left un-awaited anywhere
    # but calls of the `__main__` demo block, which the port warned about
    # (running the port as a script needs an `asyncio.run`); the lint names
    # the calls standing alone, the port every one (`x = a.stat()` too).
    lint = lint_sources({out.as_posix(): out.read_text(encoding="utf-8")})
    never_awaited = [str(f) for f in lint.findings if f.code == NEVER_AWAITED]
    main_block = 'in the `if __name__ == "__main__":` block'
    demo = [m for m in never_awaited if main_block in m]
    assert never_awaited == demo, never_awaited
    assert len(demo) <= sum(main_block in m for m in messages), (demo, messages)
    unique = f"ambidex_port_of_{module.__name__.replace('.', '_')}_{id(folder)}"
    spec = importlib.util.spec_from_file_location(unique, out)
    assert spec is not None and spec.loader is not None
    ported = importlib.util.module_from_spec(spec)
    sys.modules[unique] = ported
    spec.loader.exec_module(ported)
    return ported, messages


@contextlib.contextmanager
def ported_package(package_root: Path, name: str) -> Iterator[types.ModuleType]:
    """Import module ``name`` of a ported package under ``package_root`` (its
    absolute imports need the package's own name), shadowing an installed
    package of that name for the block only."""
    top = name.split(".")[0]
    ours = [m for m in sys.modules if m == top or m.startswith(top + ".")]
    saved = {m: sys.modules.pop(m) for m in ours}
    sys.path.insert(0, str(package_root))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(package_root))
        for m in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
            del sys.modules[m]
        sys.modules.update(saved)


def strict_asyncio(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` where an un-awaited coroutine fails the test."""
    problems: list[str] = []
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        problems.append(f"{unraisable.exc_type.__name__}: {unraisable.exc_value}")

    sys.unraisablehook = hook
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            result = asyncio.run(main)
            gc.collect()
    finally:
        sys.unraisablehook = previous
    assert problems == [], problems
    return result


class Ticker:
    """Counts turns of the event loop: zero turns during a transfer means the
    transfer blocked the loop."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0)
            self.ticks += 1

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
