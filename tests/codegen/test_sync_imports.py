"""async -> sync: the imports the conversion touched come out clean (issue 10 item 4)."""

from __future__ import annotations

from tests.codegen.conftest import dedent, sync_of


def test_a_name_imported_twice_after_the_rename_is_imported_once() -> None:
    source = """\
    from typing import TYPE_CHECKING, AsyncIterator, Iterator


    async def f(x: Iterator[int]) -> AsyncIterator[int]:
        for i in x:
            yield i
    """
    expected = """\
    from typing import TYPE_CHECKING, Iterator


    def f(x: Iterator[int]) -> Iterator[int]:
        for i in x:
            yield i
    """
    assert sync_of(source) == dedent(expected)


def test_an_import_left_unused_under_type_checking_is_dropped() -> None:
    source = """\
    from typing import TYPE_CHECKING

    if TYPE_CHECKING:
        from typing import Any, Coroutine


    async def f() -> Coroutine[Any, Any, int]:
        return 1
    """
    assert "from typing import Any\n" in sync_of(source.replace("return 1", "x: Any = 1"))
    expected = """\
    from typing import TYPE_CHECKING

    if TYPE_CHECKING:
        pass


    def f() -> int:
        return 1
    """
    assert sync_of(source) == dedent(expected)


def test_an_import_already_unused_under_type_checking_stays() -> None:
    source = """\
    from typing import TYPE_CHECKING

    if TYPE_CHECKING:
        from typing import Sequence


    def f() -> int:
        return 1
    """
    assert sync_of(source) == dedent(source)


def test_a_lazy_import_of_a_moved_name_stays_lazy() -> None:
    source = """\
    def f():
        from pkg.aio.pool import AsyncConnection
        return AsyncConnection()
    """
    expected = """\
    def f():
        from pkg.blocking.pool import Connection
        return Connection()
    """
    renames = {"pkg.aio.pool.AsyncConnection": "pkg.blocking.pool.Connection"}
    assert sync_of(source, renames=renames) == dedent(expected)
