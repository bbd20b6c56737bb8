"""Towards sync, a method renamed onto a name its class already defines.

``async def __aenter__`` becomes ``def __enter__`` (``__aiter__`` -> ``__iter__``,
``aclose`` -> ``close``, any rename of the table or the project) in a class that
also defines ``__enter__``: motor 3.7.1's sessions refuse sync use with ``def
__enter__(self): raise AttributeError("Use Motor sessions like 'async with ...'")``,
aiobotocore 3.10.0's streaming bodies with ``raise TypeError("... is async; use
'async for'")``. The output defined the name twice and the later won (often the
raising guard: the sync twin's ``with session:`` raised), no word, exit 0.

Now the output never defines one name twice in a class. A guard that only
refuses the other colour (its body only raises, or does nothing) goes, as does
a renamed method that only hands its call to the one already there (``async def
aclose(self): self.close()`` would call itself); anything else is refused at the
renamed method, naming both lines.
"""

from __future__ import annotations

import ast

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_sync import to_sync

GUARDED = '''\
from typing import overload


class Session:
    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    def __enter__(self):
        raise AttributeError("use async with")

    def __exit__(self, *exc):
        pass

    async def close(self):
        self.closed = True


class Body:
    def __init__(self, raw):
        self._raw = raw

    def __aiter__(self):
        return self

    async def __anext__(self):
        raise StopAsyncIteration

    # Block sync iteration.
    def __iter__(self):
        """Refuse sync iteration."""
        raise TypeError("Body is async; use 'async for'")

    def __next__(self):
        raise TypeError("Body is async; use __anext__")

    next = __next__

    def close(self):
        self._raw.close()

    async def aclose(self):
        """Close asynchronously."""
        self.close()


def deprecated(function):
    return function


class Client:
    async def aclose(self):
        self.closed = True

    @deprecated
    async def close(self):
        """Alias for aclose(), for backwards compatibility."""
        await self.aclose()


def leave(session):
    session.__exit__(None, None, None)


class Overloaded:
    def __aiter__(self):
        return self

    @overload
    async def __anext__(self: "Overloaded") -> int: ...

    @overload
    async def __anext__(self: "Overloaded") -> str: ...

    async def __anext__(self):
        raise StopAsyncIteration
'''


def _defined_twice(text: str) -> list[tuple[str, str]]:
    twice: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            names = [s.name for s in node.body
                     if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                     and not any(isinstance(d, ast.Name) and d.id == "overload"
                                 for d in s.decorator_list)]
            twice += [(node.name, n) for n in sorted(set(names)) if names.count(n) > 1]
    return twice


def test_a_guard_refusing_the_other_colour_goes_when_a_rename_lands_on_its_name() -> None:
    # The output defined __enter__, __exit__, __iter__, __next__ and close twice;
    # the later won: `with Session()` raised AttributeError, `Body.close()` and
    # `Client.close()` (redis 8.1.0's deprecated alias) called themselves for ever.
    # No word, exit 0. A guard left out is not "left out of the sync twin" for
    # code that names it (`leave`): the name stays, and overloads of one name
    # are not a clash.
    result = to_sync({"body.py": GUARDED}, table=DEFAULT_TABLE, renames={})
    assert [d.message for d in result.diagnostics] == []
    output = result.outputs["body.py"]
    assert _defined_twice(output) == [], output
    namespace: dict[str, object] = {}
    exec(compile(output, "body.py", "exec"), namespace)
    session_class = namespace["Session"]
    assert isinstance(session_class, type)
    with session_class() as session:
        pass
    assert session.closed is True
    closed: list[bool] = []

    class Raw:
        def close(self) -> None:
            closed.append(True)

    body_class = namespace["Body"]
    assert isinstance(body_class, type)
    body = body_class(Raw())
    assert list(body) == []
    body.close()
    assert closed == [True]
    client_class = namespace["Client"]
    assert isinstance(client_class, type)
    client = client_class()
    client.close()
    assert client.closed is True
    assert "use async with" not in output and "def next" not in output


CONFLICTING = '''\
class Stream:
    async def aclose(self):
        await self._flush()
        self.closed = True

    def close(self):
        self.closed = True

    async def _flush(self):
        pass


class Forced:
    async def aclose(self):
        self.close(force=True)

    def close(self, force=False):
        self.forced = force
'''


def test_a_rename_landing_on_a_method_that_serves_is_refused_naming_both_lines() -> None:
    # Neither is a guard nor a hand-over: the port cannot tell which the sync twin
    # wants. Before, the later definition (the plain close) silently won. A call
    # that changes the arguments (`self.close(force=True)`) is no hand-over: the
    # sync `close()` would lose what `aclose()` meant.
    result = to_sync({"stream.py": CONFLICTING}, table=DEFAULT_TABLE, renames={})
    found = [(d.line, d.col, d.error, d.message) for d in result.diagnostics]
    assert [(line, col, error) for line, col, error, _ in found] == [
        (2, 5, True), (14, 5, True)], found
    assert "close" in found[0][3] and "line 6" in found[0][3], found[0][3]
    assert "line 17" in found[1][3], found[1][3]
