"""The ERROR state of ProtocolMachine, the sentinels, and the package's purity."""

from __future__ import annotations

import ast
import copy
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import ambidex.sansio
from ambidex.sansio import (
    NEED_DATA,
    PAUSED,
    LimitExceeded,
    LocalProtocolError,
    ProtocolMachine,
    RemoteProtocolError,
)

FORBIDDEN = {"socket", "asyncio", "selectors", "threading"}


class Echo(ProtocolMachine):
    def parse(self, data: bytes) -> bytes:
        self._check_usable()
        with self._breaking():
            if data.startswith(b"!"):
                raise RemoteProtocolError(f"bad byte {data[:1]!r}")
            if not data:
                raise LocalProtocolError("empty input")
            return data


def test_a_peer_error_puts_the_machine_in_error_for_good_and_later_use_names_it() -> None:
    machine = Echo()
    assert machine.parse(b"ok") == b"ok"
    with pytest.raises(RemoteProtocolError) as first:
        machine.parse(b"!boom")
    assert machine.broken
    assert machine.error is first.value
    with pytest.raises(RemoteProtocolError, match=r"ERROR state .*bad byte b'!'") as later:
        machine.parse(b"fine")
    assert later.value.__cause__ is first.value


def test_a_local_error_does_not_break_the_machine() -> None:
    machine = Echo()
    with pytest.raises(LocalProtocolError):
        machine.parse(b"")
    assert not machine.broken
    assert machine.parse(b"again") == b"again"


def test_limit_exceeded_breaks_the_machine_as_a_remote_error() -> None:
    class Limited(ProtocolMachine):
        def go(self) -> None:
            self._check_usable()
            with self._breaking():
                raise LimitExceeded("max_payload", 10, 5)

    machine = Limited()
    with pytest.raises(LimitExceeded):
        machine.go()
    with pytest.raises(RemoteProtocolError, match="LimitExceeded"):
        machine.go()


def test_sentinels_have_bare_reprs_and_survive_copy_and_pickle() -> None:
    assert repr(NEED_DATA) == "NEED_DATA"
    assert str(PAUSED) == "PAUSED"
    assert copy.deepcopy(NEED_DATA) is NEED_DATA
    assert pickle.loads(pickle.dumps(PAUSED)) is PAUSED
    assert NEED_DATA is not PAUSED


def test_error_hierarchy_says_which_side_broke_the_rules() -> None:
    assert issubclass(LimitExceeded, RemoteProtocolError)
    assert not issubclass(LocalProtocolError, RemoteProtocolError)


def test_no_sansio_module_imports_io_or_concurrency_modules_statically() -> None:
    package = Path(ambidex.sansio.__file__).parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_sansio_loads_no_io_or_concurrency_module() -> None:
    # Measured against `import ambidex` alone, so the test pins this package only.
    code = (
        "import sys; import ambidex; before = set(sys.modules); import ambidex.sansio; "
        f"print(sorted(m for m in {sorted(FORBIDDEN)!r} if m in set(sys.modules) - before))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
