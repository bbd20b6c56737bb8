"""Plain functions the handlers call."""

from __future__ import annotations

import time
from time import sleep as nap
from typing import TYPE_CHECKING


def load(key: str) -> str:
    nap(0.1)  # FINDING: time.sleep via an alias, 1 deep from app.handler
    return key


def load_twice(key: str) -> str:
    return load(key) + parse(key)


def parse(key: str) -> str:
    with open(key) as f:  # FINDING: open, 2 deep from app.report
        return f.read()  # FINDING: io.IOBase.read on the file object


def checked(key: str) -> str:
    if TYPE_CHECKING:
        time.sleep(1)  # not a finding: never runs
    time.sleep(0)  # ambidex: allow-blocking yields the GIL; measured at 2 us
    return key


def cli_main() -> None:
    time.sleep(1)  # not a finding: nothing async reaches it
