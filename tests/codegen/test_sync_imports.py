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


def test_an_import_whose_module_is_renamed_moves_to_its_sorted_place() -> None:
    source = """\
    import asyncio
    from ._async_base import AsyncBase
    from ._models import Model
    from .zeta import Z


    class AsyncStore(AsyncBase):
        model = Model
        z = Z
    """
    expected = """\
    import asyncio
    from ._models import Model
    from ._sync_base import Base
    from .zeta import Z


    class Store(Base):
        model = Model
        z = Z
    """
    renames = {"_async_base": "_sync_base", "AsyncBase": "Base", "AsyncStore": "Store"}
    assert sync_of(source, renames=renames) == dedent(expected)


def test_an_import_block_that_was_not_sorted_is_left_in_its_order() -> None:
    source = """\
    from .zeta import Z
    from ._async_base import AsyncBase


    class AsyncStore(AsyncBase):
        z = Z
    """
    renames = {"_async_base": "_sync_base", "AsyncBase": "Base", "AsyncStore": "Store"}
    assert sync_of(source, renames=renames).startswith(
        "from .zeta import Z\nfrom ._sync_base import Base\n")


def test_without_sort_imports_a_renamed_import_stays_where_it_was() -> None:
    source = """\
    from ._async_base import AsyncBase
    from ._models import Model


    class AsyncStore(AsyncBase):
        model = Model
    """
    renames = {"_async_base": "_sync_base", "AsyncBase": "Base", "AsyncStore": "Store"}
    assert sync_of(source, renames=renames, sort_imports=False).startswith(
        "from ._sync_base import Base\nfrom ._models import Model\n")


def test_a_moved_name_of_a_lazy_import_of_several_gets_its_own_lazy_import() -> None:
    source = """\
    def f():
        from pkg.aio.pool import AsyncConnection, helper
        return AsyncConnection(helper)
    """
    expected = """\
    def f():
        from pkg.aio.pool import helper
        from pkg.blocking.pool import Connection
        return Connection(helper)
    """
    renames = {"pkg.aio.pool.AsyncConnection": "pkg.blocking.pool.Connection"}
    assert sync_of(source, renames=renames) == dedent(expected)
