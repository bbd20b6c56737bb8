"""psycopg's colour flag, a comment: ``if True:  # ASYNC``.

psycopg's own ``tools/async_to_sync.py`` reads the comment on a constant
condition: in the sync file, ``if True:  # ASYNC`` keeps its ``else:``, and
``if False:  # ASYNC`` keeps its body. Read as plain Python, ``if True:`` keeps
the async branch in sync code, and nothing says so: psycopg's setters
(``_set_autocommit``) raised "read-only on async connections" in the sync
twin. ambidex reads the comment with its one marker parser and folds the
condition as the flag ``IS_ASYNC`` in both directions.
"""

from __future__ import annotations

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen import to_async
from ambidex.codegen._markers import marker_comments
from tests.codegen.conftest import sync_of


def test_if_true_async_keeps_the_else_branch_in_sync_code() -> None:
    source = """\
    import asyncio


    class Connection:
        def _set_autocommit(self, value: bool) -> None:
            if True:  # ASYNC
                self._no_set_async("autocommit")
            else:
                self.set_autocommit(value)

        async def set_autocommit(self, value: bool) -> None:
            await asyncio.sleep(0)
    """
    assert sync_of(source) == """\
import time


class Connection:
    def _set_autocommit(self, value: bool) -> None:
        self.set_autocommit(value)

    def set_autocommit(self, value: bool) -> None:
        time.sleep(0)
"""


def test_if_false_async_keeps_its_body_in_sync_code() -> None:
    source = """\
    def f() -> int:
        if False:  # ASYNC
            return 1
        else:
            return 2
    """
    assert sync_of(source) == "def f() -> int:\n    return 1\n"


def test_a_block_only_async_code_has_goes_from_a_module_and_a_class() -> None:
    source = """\
    if True:  # ASYNC
        import sys
        import asyncio

    if True:  # ASYNC:
        _INTERRUPTED = (asyncio.CancelledError, KeyboardInterrupt)
    else:
        _INTERRUPTED = (KeyboardInterrupt,)


    class C:
        def g(self) -> None:
            pass

        if True:  # ASYNC

            def _no_set_async(self, attribute: str) -> None:
                raise AttributeError(attribute)
    """
    assert sync_of(source) == """\
_INTERRUPTED = (KeyboardInterrupt,)


class C:
    def g(self) -> None:
        pass
"""


def test_the_comment_on_a_condition_that_is_not_a_constant_means_nothing() -> None:
    source = """\
    def f(x: bool) -> int:
        if x:  # ASYNC
            return 1
        return 2
    """
    assert sync_of(source) == (
        "def f(x: bool) -> int:\n    if x:  # ASYNC\n        return 1\n    return 2\n"
    )


def test_the_words_in_a_string_or_another_comment_are_not_the_flag() -> None:
    source = 'if True:\n    x = "# ASYNC"\nelse:\n    x = ""\nif True:  # ASYNCHRONOUS\n    y = 1\n'
    assert list(marker_comments(source)) == []
    assert sync_of(source) == source


def test_towards_async_the_body_of_if_true_async_is_kept() -> None:
    source = (
        "def f() -> int:\n    if True:  # ASYNC\n        return 1\n    else:\n        return 2\n"
    )
    result = to_async({"m/a.py": source}, table=DEFAULT_TABLE, renames={})
    assert [str(d) for d in result.diagnostics if d.error] == []
    assert result.outputs["m/a.py"] == "def f() -> int:\n    return 1\n"
