"""Which names a module uses, read by the walk made for it alone.

:func:`ambidex.codegen._imports.used_names` decides which imports a port (and
the sync direction) may drop: a name it misses loses its import, a name it
adds keeps one. It walks the tree itself, collecting nothing else; this pins
that it answers what :func:`scan_module`'s ``used`` answers, on every shape of
name: loaded, deleted, stored, in annotations, in strings that look like code
(with either converter's idea of that), in nested functions, lambdas,
comprehensions, ``match`` patterns, f-strings and decorators.
"""

from __future__ import annotations

import ast
import asyncio.base_events
import ftplib
import imaplib
import inspect
import smtplib
import typing
from pathlib import Path

from ambidex.codegen._imports import scan_module, used_names
from ambidex.codegen._to_async.finish import _CODE_STRING as PORT_CODE_STRING

ROOT = Path(__file__).resolve().parents[2]

TRICKY = '''
import os, time as clock
from typing import Optional
__all__ = ["exported", "Other"]
x: "Optional[Conn]" = None
del stale
stored = 1
def f(a: "A | None", *args: "Sequence[B]", key=default(), **kw) -> "Result":
    nonlocal_free = lambda y=lam_default: y + outer
    class Inner(Base, metaclass=Meta):
        attr: "Forward" = value
    return [g(i) for i in items if i > limit], {k: v for k, v in pairs}
@decorator(arg)
async def h():
    async with opened() as res:
        await res.read(f"{formatted!r:{width}}")
    match subject:
        case Point(x=px, y=py) if guard(px):
            pass
        case {"key": captured, **rest}:
            pass
        case [first, *others] | (first, *others):
            pass
        case klass.CONST:
            pass
    global gl
    try:
        pass
    except (ErrorA, ErrorB) as caught:
        raise Wrapped from caught
    x = "not code at all, a sentence"
    y = "dotted.name[Index], Other"
'''


def _texts() -> list[str]:
    return [TRICKY] + [
        Path(module.__file__).read_text(encoding="utf-8")
        for module in (smtplib, ftplib, imaplib, inspect, typing, asyncio.base_events)
        if module.__file__ is not None
    ] + [path.read_text(encoding="utf-8")
         for path in sorted((ROOT / "src" / "ambidex" / "codegen").rglob("*.py"))]


def test_used_names_are_the_names_scan_module_finds_used() -> None:
    for text in _texts():
        tree = ast.parse(text)
        assert used_names(tree) == scan_module(tree).used
        assert used_names(tree, PORT_CODE_STRING) == scan_module(tree, PORT_CODE_STRING).used


def test_used_names_count_deleted_and_loaded_names_and_code_strings_but_not_stores() -> None:
    used = used_names(ast.parse(TRICKY))
    assert {"stale", "Optional", "Conn", "exported", "guard", "formatted", "width",
            "ErrorB", "klass", "caught", "px", "Forward", "lam_default", "outer", "Meta"} <= used
    assert not {"clock", "stored", "nonlocal_free", "captured", "first", "rest"} & used
