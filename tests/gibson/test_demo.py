"""``ambidex demo``: runs end to end from a checkout, refuses clearly elsewhere."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from ambidex._demo import run_demo

REPO = Path(__file__).resolve().parents[2]


def test_demo_generates_serves_talks_in_both_colours_and_measures(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    assert run_demo(argparse.Namespace(requests=40)) == 0
    out = capsys.readouterr().out
    assert "- class AsyncClient:" in out and "+ class Client:" in out
    assert "committed twin examples/gibson/_sync/client.py: current" in out
    assert "async await client.get(\"greeting\")               -> 'hello'" in out
    assert 'sync  client.get("greeting")                     -> None' in out
    for row in ("sync, one at a time", "sync, batched get_many", "async, 100 tasks"):
        assert row in out
    assert "Server stopped" in out


def test_demo_outside_a_checkout_says_so_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_demo(argparse.Namespace(requests=40)) == 2
    assert "run it from the root of a checkout" in capsys.readouterr().err


def test_demo_help_says_it_needs_a_checkout(capsys: pytest.CaptureFixture[str]) -> None:
    from ambidex.cli import main

    with pytest.raises(SystemExit) as info:
        main(["demo", "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "not in the installed package: run the demo from the root of a checkout" in text
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "(run from the root of an ambidex checkout)" in " ".join(
        capsys.readouterr().out.split())


def test_the_installed_command_runs_the_demo_from_the_repo_root() -> None:
    # The console script's sys.path does not hold the current folder; the demo
    # must find examples/ by itself.
    command = Path(sys.executable).parent / "ambidex"
    done = subprocess.run(
        [str(command), "demo", "--requests", "20"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Throughput" in done.stdout
