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
    LengthPrefixFraming,
    LimitExceeded,
    LocalProtocolError,
    ProtocolMachine,
    ReceiveBuffer,
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


def test_any_error_while_handling_the_peers_bytes_puts_the_machine_in_error() -> None:
    machine = Echo()
    with pytest.raises(LocalProtocolError) as first:
        machine.parse(b"")
    assert machine.broken and machine.error is first.value
    with pytest.raises(LocalProtocolError, match=r"ERROR state .*empty input"):
        machine.parse(b"again")


def test_an_unexpected_exception_while_parsing_breaks_the_machine_as_our_own_error() -> None:
    class Buggy(ProtocolMachine):
        def go(self) -> None:
            self._check_usable()
            with self._breaking():
                b"\xff".decode("utf-8")

    machine = Buggy()
    with pytest.raises(UnicodeDecodeError):
        machine.go()
    assert isinstance(machine.error, LocalProtocolError)
    with pytest.raises(LocalProtocolError, match=r"ERROR state .*UnicodeDecodeError"):
        machine.go()


def test_a_refusal_before_anything_happens_leaves_the_machine_usable() -> None:
    class Checked(Echo):
        def send(self, data: bytes) -> bytes:
            self._check_usable()
            if not data:  # validated before any state changes: the machine is in step
                raise LocalProtocolError("nothing to send")
            return data

    machine = Checked()
    with pytest.raises(LocalProtocolError):
        machine.send(b"")
    assert not machine.broken
    assert machine.parse(b"again") == b"again"


def test_a_signed_length_from_the_peer_breaks_a_machine_as_a_remote_error() -> None:
    class Framed(ProtocolMachine):
        def __init__(self) -> None:
            super().__init__()
            self.buffer = ReceiveBuffer()
            self.framing = LengthPrefixFraming("!i")

        def next_frame(self, data: bytes) -> object:
            self._check_usable()
            self.buffer += data
            with self._breaking():
                return self.framing.read(self.buffer)

    machine = Framed()
    with pytest.raises(RemoteProtocolError):
        machine.next_frame(b"\xff\xff\xff\xfe")
    assert isinstance(machine.error, RemoteProtocolError)
    with pytest.raises(RemoteProtocolError, match="ERROR state"):
        machine.next_frame(b"")


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
