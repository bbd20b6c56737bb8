"""The optional C accelerator: ``Stream.read_until`` / ``read_exactly`` with no Python frame.

The blocking stream's hot path is one C call (``BufferedReader.readline`` or
``.read``) plus a check of its result; on CPython the Python method frame
around that call costs about as much as ``makefile``'s whole ``readline``, so
no pure-Python method reaches 0.9x of it for short lines (measured
0.62-0.75x). ``_speedups.FastRead`` is that method in C: it takes the fast
case and hands every other one, arguments unchanged, to the pure-Python
method it wraps, so the careful path (timeouts, limits, end of file, errors)
exists once, in Python.

It is optional. An install compiles ``_speedups`` when a C compiler is there
and goes on pure Python when it is not (``AMBIDEX_BUILD_EXTENSIONS=0`` skips
the attempt, ``=require`` makes a failure fatal; see ``tools/hatch_speedups.py``).
Without the module, or with ``AMBIDEX_NO_EXTENSIONS=1`` in the environment, or
when the compiled module was built from another version of ``_speedups.c`` (a
stale in-place build), the pure methods run, with the same results.
``ambidex.io.accelerated()`` says which this process got.

The same module also serves ``ambidex.offload``: ``async for`` over a file's
lines hands out the lines it read ahead from C on Python 3.10 and 3.11 (see
``speedups()`` and ``offload/_files.py``).
"""

from __future__ import annotations

import functools
from typing import Any

from ambidex._compiled import load

__all__ = ["accelerate", "accelerated", "new_door", "pure_methods", "speedups"]

# What FastRead wraps: method name -> the C kind (see _speedups.c).
_KINDS = {"read_until": 0, "read_exactly": 1}


def _load() -> Any:
    return load("ambidex.io._speedups")


# The compiled module, once accelerate() has given a class its C methods.
_speedups: Any = None


@functools.cache
def speedups() -> Any:
    """The compiled module as this process uses it (checked once, as ``accelerate`` does), or None.

    ``ambidex.offload`` asks for it: ``async for`` over a file's lines uses its
    ``AsyncLines`` (see ``offload/_files.py``).
    """
    return _load()


def new_door(stream: object) -> Any:
    """A ``_speedups.Door`` for ``stream``'s new reader, or None when the C reads are not in use.

    The reader keeps the door it opens and shuts in it as well as in the
    stream's ``_lines`` / ``_exact``: the C reads find it there without an
    attribute lookup (see ``_speedups.c``).
    """
    return None if _speedups is None else _speedups.Door(stream)


def pure_methods(cls: type) -> dict[str, Any]:
    """The pure-Python ``read_until`` / ``read_exactly`` of ``cls``, accelerated or not."""
    return {name: getattr(getattr(cls, name), "__wrapped__", getattr(cls, name)) for name in _KINDS}


def accelerated() -> bool:
    """Whether ``Stream.read_until`` / ``read_exactly`` run the compiled fast path here.

    False when the install has no compiled module (no C compiler when it was
    built, ``AMBIDEX_BUILD_EXTENSIONS=0``, PyPy), when ``AMBIDEX_NO_EXTENSIONS=1``
    was set when ``ambidex.io`` was imported, or when the module in place was
    built from another version of its source. Either way the results are the
    same; only blocking short reads are faster with it::

        python -c "import ambidex.io; print(ambidex.io.accelerated())"
    """
    from ambidex.io._sync import Stream

    return all(
        type(vars(Stream).get(name)).__module__ == "ambidex.io._speedups" for name in _KINDS
    )


def accelerate(cls: type) -> bool:
    """Give ``cls`` (the generated ``Stream``) the C ``read_until`` / ``read_exactly``.

    Returns whether it did. Each C method keeps the pure one as ``__wrapped__``
    (``inspect.signature`` and ``help`` see the pure method's signature and
    docstring) and calls it for every case it does not take itself.
    """
    global _speedups
    speedups = _load()
    if speedups is None:
        return False
    _speedups = speedups
    for name, kind in _KINDS.items():
        pure = pure_methods(cls)[name]
        if name == "read_until":
            (separator,) = pure.__defaults__
            limit = pure.__kwdefaults__["limit"]
        else:
            separator, limit = b"", 0
        setattr(cls, name, speedups.FastRead(pure, kind, separator, limit))
    return True
