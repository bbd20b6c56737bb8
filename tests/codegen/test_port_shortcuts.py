"""The port's shortcuts change nothing it writes or says.

Three steps of ``port --to async`` skip work when they can tell it is not
needed: the markers are read from the parsed tree instead of the tokenizer
(:func:`ambidex.codegen._markers.marker_comments` with ``tree``), the unused
imports are not looked for when no edit replaced text that names an import,
and the output check knows a call is awaited from its statement without the
function's parent map. Each is run here against the long way on real clients
(the standard library's, with ``--defer-init-io`` so that they convert, and
this repository's blocking drivers): the outputs and the diagnostics are the
same, byte for byte.
"""

from __future__ import annotations

import ftplib
import imaplib
import poplib
import smtplib
from pathlib import Path

import pytest

from ambidex._rules import DEFAULT_TABLE
from ambidex._unawaited import _Checker
from ambidex.codegen._markers import marker_comments
from ambidex.codegen._source import Conversion
from ambidex.codegen._to_async import finish, flavour, to_async

ROOT = Path(__file__).resolve().parents[2]


def _corpora() -> list[dict[str, str]]:
    stdlib = [
        {Path(module.__file__).name: Path(module.__file__).read_text(encoding="utf-8")}
        for module in (smtplib, poplib, ftplib, imaplib)
        if module.__file__ is not None
    ]
    drivers = {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for path in sorted(ROOT.glob("examples/*/_sync/*.py"))
    }
    return [*stdlib, drivers]


def _port(modules: dict[str, str]) -> Conversion:
    return to_async(modules, table=DEFAULT_TABLE, renames={}, defer_init_io=True)


@pytest.mark.primary_only
def test_the_ports_shortcuts_write_and_say_what_the_long_way_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    corpora = _corpora()
    short = [_port(modules) for modules in corpora]
    monkeypatch.setattr(flavour, "marker_comments", lambda text, tree=None: marker_comments(text))
    monkeypatch.setattr(finish, "_spells_an_import", lambda tree, text: True)
    monkeypatch.setattr(_Checker, "awaited_statements", lambda self, function: set())
    long = [_port(modules) for modules in corpora]
    for fast, slow in zip(short, long, strict=True):
        assert fast.outputs == slow.outputs
        assert [str(d) for d in fast.diagnostics] == [str(d) for d in slow.diagnostics]
    assert any(not result.failed for result in short)
