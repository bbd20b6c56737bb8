"""async -> sync: names inside strings that are names or type expressions are
renamed; prose only when asked (issue 10 item 3)."""

from __future__ import annotations

from tests.codegen.conftest import dedent, sync_of

RENAMES = {"AsyncConnection": "Connection", "AsyncClient": "Client"}


def test_a_typevar_bound_string_is_renamed() -> None:
    source = 'import typing\n\nT = typing.TypeVar("T", bound="AsyncClient")\n'
    assert 'bound="Client"' in sync_of(source, renames=RENAMES)


def test_typevar_constraint_strings_are_renamed() -> None:
    source = 'from typing import TypeVar\n\nT = TypeVar("T", "AsyncClient", "AsyncConnection")\n'
    assert sync_of(source, renames=RENAMES).endswith('TypeVar("T", "Client", "Connection")\n')


def test_a_cast_type_string_is_renamed() -> None:
    source = """\
    from typing import Any, cast


    def f(x: object) -> None:
        conn = cast("AsyncConnection[Any]", x)
    """
    assert 'cast("Connection[Any]", x)' in sync_of(source, renames=RENAMES)


def test_a_string_inside_a_subscripted_base_is_renamed() -> None:
    source = """\
    from typing import Any, Generic, TypeVar

    T = TypeVar("T")


    class Base(Generic[T]):
        pass


    class Cursor(Base["AsyncConnection[Any]"]):
        pass
    """
    assert 'class Cursor(Base["Connection[Any]"]):' in sync_of(source, renames=RENAMES)


def test_a_name_compared_with_dunder_name_is_renamed() -> None:
    source = """\
    def is_client(obj: object) -> bool:
        return type(obj).__name__ == "AsyncClient" or "AsyncConnection" == obj.__class__.__name__
    """
    output = sync_of(source, renames=RENAMES)
    assert '__name__ == "Client" or "Connection" == obj.__class__.__name__' in output


def test_prose_stays_as_written_by_default() -> None:
    source = '''\
    class AsyncClient:
        """An AsyncClient talks to the server; see AsyncConnection."""

        def fail(self) -> None:
            raise ValueError("the AsyncClient is closed")  # AsyncClient comment
    '''
    output = sync_of(source, renames=RENAMES)
    assert '"""An AsyncClient talks to the server; see AsyncConnection."""' in output
    assert '"the AsyncClient is closed"' in output
    assert "# AsyncClient comment" in output


def test_prose_is_renamed_word_by_word_when_asked() -> None:
    source = '''\
    class AsyncClient:
        """An AsyncClient talks to the server; see AsyncConnection, not AsyncClientele."""

        def fail(self) -> None:
            raise ValueError("the AsyncClient is closed")  # AsyncClient comment
    '''
    expected = '''\
    class Client:
        """An Client talks to the server; see Connection, not AsyncClientele."""

        def fail(self) -> None:
            raise ValueError("the Client is closed")  # Client comment
    '''
    assert sync_of(source, renames=RENAMES, rename_prose=True) == dedent(expected)
