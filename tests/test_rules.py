"""The one rule table and its extension from [tool.ambidex]."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambidex._config import ConfigError, load_config
from ambidex._rules import DEFAULT_TABLE, Kind, Rule, RuleError, load_table


def test_every_row_with_a_twin_is_reachable_from_both_sides() -> None:
    for rule in DEFAULT_TABLE.rules:
        if rule.sync is not None and not rule.towards_sync_only:
            assert rule.sync in DEFAULT_TABLE.by_sync
        if rule.async_ is not None:
            assert rule.async_ in DEFAULT_TABLE.by_async


def test_sync_names_are_unique_so_no_row_is_silently_shadowed() -> None:
    names = [rule.sync for rule in DEFAULT_TABLE.rules
             if rule.sync is not None and not rule.towards_sync_only]
    duplicates = {name for name in names if names.count(name) > 1}
    assert duplicates == set()


def test_method_rows_name_a_type_that_has_a_constructor_or_name_row() -> None:
    # A METHOD row "T.m" is only usable if objects of type T can be tracked:
    # some row returns T, or T itself is a row.
    returned = {rule.returns for rule in DEFAULT_TABLE.rules if rule.returns}
    named = {rule.sync for rule in DEFAULT_TABLE.rules}
    for rule in DEFAULT_TABLE.rules:
        if rule.kind is Kind.METHOD and rule.sync is not None:
            owner = rule.sync.rpartition(".")[0]
            assert owner in returned or owner in named or owner.startswith(
                ("pathlib.", "io.", "sqlite3.", "subprocess.", "http.", "requests.",
                 "concurrent.", "threading.Thread", "ssl.")
            ), rule.sync


def test_blocking_rows_include_what_runtime_patchers_cover() -> None:
    blocking = {rule.sync for rule in DEFAULT_TABLE.blocking()}
    for name in ("time.sleep", "socket.socket.recv", "open", "os.stat", "sqlite3.connect",
                 "subprocess.run", "urllib.request.urlopen", "requests.get",
                 "threading.Lock.acquire", "input"):
        assert name in blocking, name


def test_advice_prefers_the_rows_fix_then_its_twin() -> None:
    assert DEFAULT_TABLE.by_sync["time.sleep"].advice() == "use await asyncio.sleep"
    assert "create_subprocess_exec" in DEFAULT_TABLE.by_sync["subprocess.run"].advice()
    assert Rule("x.y", None).advice() == "run it with asyncio.to_thread"


def test_async_only_apis_have_no_sync_name() -> None:
    gather = DEFAULT_TABLE.by_async["asyncio.gather"]
    assert gather.sync is None
    assert gather.fix


def test_user_rows_extend_the_table_and_replace_a_default_row() -> None:
    table = load_table({"rules": [
        {"sync": "mylib.Client.fetch", "async": "mylib.AsyncClient.fetch", "kind": "method"},
        {"sync": "time.sleep", "async": "trio.sleep"},
    ]})
    fetch = table.by_sync["mylib.Client.fetch"]
    assert (fetch.kind, fetch.awaited, fetch.blocks, fetch.user) == (Kind.METHOD, True, True, True)
    assert table.by_sync["time.sleep"].async_ == "trio.sleep"
    # The default table itself is untouched.
    assert DEFAULT_TABLE.by_sync["time.sleep"].async_ == "asyncio.sleep"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"sync": "a.b", "asnyc": "c"}, "unknown key(s) ['asnyc']"),
        ({"kind": "call"}, "needs 'sync', 'async' or both"),
        ({"sync": "a.b", "kind": "function"}, "'kind' must be one of"),
        ({"sync": "a.b", "await": "yes"}, "'await' must be true or false"),
        ({"sync": 3}, "'sync' must be a string"),
    ],
)
def test_a_malformed_user_row_is_named_in_the_error(row: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError) as info:
        load_table({"rules": [{"sync": "ok.row"}, row]})
    assert "#2" in str(info.value)
    assert message in str(info.value)


def test_config_is_read_from_the_nearest_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[[tool.ambidex.rules]]\nsync = "mylib.block"\nasync = "mylib.ablock"\n'
    )
    nested = tmp_path / "src" / "pkg"
    nested.mkdir(parents=True)
    config = load_config(nested)
    assert config.root == tmp_path.resolve()
    assert config.table.by_sync["mylib.block"].async_ == "mylib.ablock"


def test_a_broken_pyproject_is_reported_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.ambidex\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(tmp_path / "pyproject.toml") in str(info.value)


def test_a_bad_rule_in_pyproject_names_the_file_and_the_row(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[[tool.ambidex.rules]]\nsink = "x"\n')
    with pytest.raises(ConfigError, match=r"pyproject.toml.*#1.*unknown key"):
        load_config(tmp_path)


def test_rows_read_only_towards_sync_are_invisible_to_the_other_readers() -> None:
    clock = DEFAULT_TABLE.by_async["asyncio.get_running_loop().time"]
    assert clock.sync == "time.monotonic" and clock.towards_sync_only
    assert "time.monotonic" not in DEFAULT_TABLE.by_sync
    assert all(not rule.towards_sync_only for rule in DEFAULT_TABLE.blocking())
