"""The suite on every Python the package claims: 3.10, 3.11, 3.12 and 3.13.

``bash tools/test.sh`` (the README's one test command, which CI runs) calls these
sessions; run one by hand with ``nox -s tests-3.12 -- tests/io``. Each session
installs the package with its ``test`` extra, pinned by ``tools/constraints.txt``,
into its own virtualenv under ``.nox/`` and runs pytest there: so the ``io``
branches written for 3.10 (``sys.version_info < (3, 11)``) run on 3.10, and the
generator runs on each grammar it must parse.
"""

from __future__ import annotations

import os
import time

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
# The version whose run is the reference: tools/test.sh prints its output last, and
# tests marked `primary_only` run only here.
PRIMARY = "3.11"

nox.options.sessions = ["tests"]
# A missing interpreter is a failure, never a silent skip: the point is to run them all.
nox.options.error_on_missing_interpreters = True
# Keep .nox/tests-X-Y between local runs (pip then only checks the pins); CI's clean
# clone has no .nox/ and builds them all.
nox.options.reuse_venv = "yes"


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """pytest on one Python; arguments after ``--`` go to pytest.

    On the versions other than the primary one, tests marked ``primary_only`` (long
    tests whose behaviour does not depend on the Python version) are deselected, so
    running four versions stays within CI's time budget as the suite grows.
    """
    # The optional C accelerator (ambidex.io._speedups) is built in place for this
    # Python, and the tests are told to expect it: tests/io runs the C reads and the
    # pure ones side by side (an install without a C compiler is the pure one).
    # --no-compile: pip does not compile every installed module to bytecode (the test
    # extra brings mypy, nox and their dependencies, which the suite never imports);
    # what the run imports is compiled once, as it is imported (tools/test.sh lets
    # Python write the cache).
    session.install(
        "--no-compile", "-c", "tools/constraints.txt", "-e", ".[test]",
        env={"AMBIDEX_BUILD_EXTENSIONS": "require"},
    )
    deselect = [] if session.python == PRIMARY else ["-m", "not primary_only"]
    # tools/test.sh kills a version's session at its time limit; before that, pytest
    # stops between two tests and prints what failed so far (a loaded machine ran
    # past the limit and lost a failure's message to the kill).
    deadline = os.environ.get("AMBIDEX_TEST_DEADLINE")
    stop = [f"--session-timeout={max(int(deadline) - int(time.time()), 60)}"] if deadline else []
    session.run(
        "python", "-m", "pytest", "-q", *deselect, *stop, *session.posargs,
        env={"AMBIDEX_EXPECT_EXTENSIONS": "1"},
    )
