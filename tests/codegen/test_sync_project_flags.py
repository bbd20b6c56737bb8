"""async -> sync on code written for a project's own generator script.

Each test is the smallest reproducer of a gap found converting pymongo,
psycopg, hishel, httpcore and elasticsearch-py (issue 10): a project's own
colour flag, code that only runs in the target colour, module-path renames and
the table rows real code needs.
"""

from __future__ import annotations

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen import to_async, to_sync
from tests.codegen.conftest import dedent, errors_of, run_to_sync, sync_of

FLAGS = {"_IS_SYNC": "sync"}


def test_a_declared_flag_flips_its_value_in_the_output() -> None:
    source = """\
    _IS_SYNC = False
    """
    assert sync_of(source, flags=FLAGS) == "_IS_SYNC = True\n"


def test_an_annotated_flag_flips_too() -> None:
    assert sync_of("_IS_SYNC: bool = False\n", flags=FLAGS) == "_IS_SYNC: bool = True\n"


def test_the_branch_that_cannot_run_in_the_target_colour_is_dropped() -> None:
    source = """\
    import asyncio

    _IS_SYNC = False


    async def close(conn):
        if not _IS_SYNC:
            await asyncio.shield(conn.aclose())
        else:
            conn.close()
    """
    expected = """\
    _IS_SYNC = True


    def close(conn):
        conn.close()
    """
    assert sync_of(source, flags=FLAGS) == dedent(expected)


def test_a_flag_combined_with_or_folds_to_the_branch_that_always_runs() -> None:
    source = """\
    import asyncio

    _IS_SYNC = False


    async def wait(remaining, fetch):
        if remaining is None or _IS_SYNC:
            return await fetch()
        else:
            return await asyncio.shield(fetch())
    """
    expected = """\
    _IS_SYNC = True


    def wait(remaining, fetch):
        return fetch()
    """
    assert sync_of(source, flags=FLAGS) == dedent(expected)


def test_a_flag_combined_with_and_leaves_the_rest_of_the_condition() -> None:
    source = """\
    _IS_SYNC = False


    def f(a, b):
        if a and not _IS_SYNC and b:
            return 1
        if a and _IS_SYNC:
            return 2
        return 3
    """
    expected = """\
    _IS_SYNC = True


    def f(a, b):
        if a:
            return 2
        return 3
    """
    assert sync_of(source, flags=FLAGS) == dedent(expected)


def test_an_undeclared_flag_is_left_alone() -> None:
    source = "_IS_SYNC = False\n\n\ndef f():\n    if _IS_SYNC:\n        return 1\n"
    assert sync_of(source) == source


def test_a_coroutine_call_in_code_that_only_runs_in_sync_is_not_refused() -> None:
    source = """\
    IS_ASYNC = True


    class Connection:
        async def set_autocommit(self, value):
            self.value = value

        async def configure(self, value):
            if IS_ASYNC:
                await self.set_autocommit(value)
            else:
                self.set_autocommit(value)
    """
    output = sync_of(source)
    assert "        self.set_autocommit(value)\n" in output
    assert "await" not in output


def test_a_coroutine_call_in_a_sync_branch_of_a_declared_flag_is_not_refused() -> None:
    source = """\
    _IS_SYNC = False


    async def fetch():
        return 1


    async def main():
        if not _IS_SYNC:
            return await fetch()
        pending = fetch()
        return pending
    """
    result = run_to_sync(source, flags=FLAGS)
    assert [d.message for d in result.diagnostics if d.error][:1] != []  # the shared code
    source_only_sync = source.replace("        pending = fetch()\n        return pending\n",
                                      "        else:\n            return fetch()\n")
    assert "return fetch()" in sync_of(source_only_sync, flags=FLAGS)


def test_a_flag_is_declared_towards_async_too() -> None:
    source = "_IS_SYNC = True\n\n\ndef f(sock):\n    if _IS_SYNC:\n        return 1\n    return 2\n"
    result = to_async({"mod.py": source}, table=DEFAULT_TABLE, renames={}, flags=FLAGS)
    assert result.outputs["mod.py"] == "_IS_SYNC = False\n\n\ndef f(sock):\n    return 2\n"


def test_a_bare_name_rename_applies_to_module_path_segments() -> None:
    source = """\
    from pymongo.asynchronous.pool import Pool
    from .._backends.auto import AutoBackend
    import pymongo.asynchronous.helpers as helpers
    """
    expected = """\
    from pymongo.synchronous.pool import Pool
    from .._backends.sync import SyncBackend
    import pymongo.synchronous.helpers as helpers
    """
    renames = {"asynchronous": "synchronous", "auto": "sync", "AutoBackend": "SyncBackend"}
    assert sync_of(source, renames=renames) == dedent(expected)


def test_the_loop_clock_becomes_the_monotonic_clock() -> None:
    source = """\
    import asyncio


    def now():
        return asyncio.get_running_loop().time()
    """
    expected = """\
    import time


    def now():
        return time.monotonic()
    """
    assert sync_of(source) == dedent(expected)


def test_iscoroutinefunction_is_kept_as_true_sync_code() -> None:
    source = """\
    import asyncio


    def is_async(f):
        return asyncio.iscoroutinefunction(f)
    """
    assert sync_of(source) == dedent(source)


def test_get_running_loop_for_anything_else_is_still_refused() -> None:
    (error,) = errors_of("""\
    import asyncio


    def later(f):
        asyncio.get_running_loop().call_soon(f)
    """)
    assert "asyncio.get_running_loop" in error.message


def test_to_sync_and_to_async_accept_flags_and_prose() -> None:
    for convert in (to_sync, to_async):
        result = convert({"m.py": "x = 1\n"}, table=DEFAULT_TABLE, renames={},
                         flags={"_IS_SYNC": "sync"}, rename_prose=False)
        assert result.outputs["m.py"] == "x = 1\n"


def test_an_elif_decided_by_a_flag_becomes_the_chains_else() -> None:
    source = """\
    import asyncio

    _IS_SYNC = False


    async def reset(close, conns):
        if close:
            for conn in conns:
                await conn.close()
        elif not _IS_SYNC:
            await asyncio.gather(*[c.close() for c in conns])
        else:
            for conn in conns:
                conn.close()
    """
    expected = """\
    _IS_SYNC = True


    def reset(close, conns):
        if close:
            for conn in conns:
                conn.close()
        else:
            for conn in conns:
                conn.close()
    """
    assert sync_of(source, flags=FLAGS) == dedent(expected)


def test_an_elif_that_cannot_run_in_the_target_colour_goes() -> None:
    source = """\
    _IS_SYNC = False


    def f(a):
        if a:
            return 1
        elif _IS_SYNC:
            return 2
        elif a is None:
            return 3
        return 4
    """
    expected = """\
    _IS_SYNC = True


    def f(a):
        if a:
            return 1
        else:
            return 2
        return 4
    """
    assert sync_of(source, flags=FLAGS) == dedent(expected)
    to_async_source = source.replace("_IS_SYNC = False", "_IS_SYNC = True")
    result = to_async({"m.py": to_async_source}, table=DEFAULT_TABLE, renames={}, flags=FLAGS)
    assert "elif _IS_SYNC" in result.outputs["m.py"]  # towards async: left as written


def test_a_conditional_expression_decided_by_a_flag_keeps_its_live_side() -> None:
    source = """\
    import asyncio
    import threading

    _IS_SYNC = False


    def lock_type():
        return threading.Lock if _IS_SYNC else asyncio.Lock
    """
    expected = """\
    import threading

    _IS_SYNC = True


    def lock_type():
        return threading.Lock
    """
    assert sync_of(source, flags=FLAGS) == dedent(expected)


def _run_f(text: str, *calls: object) -> list[object]:
    namespace: dict[str, object] = {}
    exec(compile(text, "m.py", "exec"), namespace)
    f = namespace["f"]
    assert callable(f)
    return [f(a) for a in calls]


def _async_behaviour(source: str, *calls: object) -> list[object]:
    """What ``f`` returns for each argument in the async port of ``source``."""
    result = to_async({"m.py": dedent(source)}, table=DEFAULT_TABLE, renames={},
                      flags={"IS_ASYNC": "async"})
    assert not result.failed, result.diagnostics
    return _run_f(result.outputs["m.py"], *calls)


def test_an_elif_decided_by_a_flag_stays_in_its_chain_towards_async() -> None:
    # The async port once folded `elif IS_ASYNC:` as a plain `if`: its kept
    # branch was dedented out of the chain and ran whatever `a` said.
    source = """\
    IS_ASYNC = False


    def f(a):
        taken = []
        if a:
            taken.append("a")
        elif IS_ASYNC:
            taken.append("async")
        return taken
    """
    assert _async_behaviour(source, True, False) == [["a"], ["async"]]


def test_an_elif_not_flag_with_an_else_keeps_the_else_towards_async() -> None:
    source = """\
    IS_ASYNC = False


    def f(a):
        taken = []
        if a:
            taken.append("a")
        elif not IS_ASYNC:
            taken.append("sync")
        else:
            taken.append("other")
        return taken
    """
    assert _async_behaviour(source, True, False) == [["a"], ["other"]]



_MARKED_ELIF = """\
{keyword}f(a):
    taken = []
    if a == 1:
        taken.append(1)
    elif a == 2:  # ambidex: {marker}
        taken.append(2)
    else:
        taken.append(3)
    if a == 1:
        taken.append(4)
    elif a == 2:  # ambidex: {marker}
        taken.append(5)
    elif a == 3: taken.append(6)
    return taken
"""


def test_a_colour_marker_on_an_elif_drops_that_clause_only_towards_sync() -> None:
    # It once dropped the rest of the chain too: the else went with it.
    text = sync_of(_MARKED_ELIF.format(keyword="async def ", marker="async-only"))
    assert _run_f(text, 1, 2, 3) == [[1, 4], [3], [3, 6]]


def test_a_colour_marker_on_an_elif_drops_that_clause_only_towards_async() -> None:
    source = _MARKED_ELIF.format(keyword="def ", marker="sync-only")
    result = to_async({"m.py": source}, table=DEFAULT_TABLE, renames={})
    assert not result.failed, result.diagnostics
    assert _run_f(result.outputs["m.py"], 1, 2, 3) == [[1, 4], [3], [3, 6]]
