"""The suite on every Python the package claims: 3.10, 3.11, 3.12 and 3.13.

``bash tools/test.sh`` (the README's one test command, which CI runs) calls these
sessions; run one by hand with ``nox -s tests-3.12 -- tests/io``. Each session
installs the package with its ``test`` extra, pinned by ``tools/constraints.txt``,
into its own virtualenv under ``.nox/`` and runs pytest there: so the ``io``
branches written for 3.10 (``sys.version_info < (3, 11)``) run on 3.10, and the
generator runs on each grammar it must parse. ``tools/test.sh`` runs .venv's own
version (3.11) with ``tests_here``, in .venv, which it has installed already.
"""

from __future__ import annotations

import os
import sys
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
    _pytest(session, session.python, "python", {})


@nox.session(venv_backend="none")
def tests_here(session: nox.Session) -> None:
    """pytest on the Python that runs nox, in its environment, with nothing installed.

    tools/test.sh runs the suite this way on the version of its own ``.venv``, which
    it has just installed ``-e '.[test]'`` into with the C modules required, as a
    ``tests`` session installs its own: a ``tests`` session of that version would
    build the same environment a second time (~30 CPU-s of a CI run).
    """
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    # What nox sets for a command in a session's virtualenv: its bin/ first on PATH.
    bin_dir = os.path.dirname(sys.executable)
    path = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    _pytest(session, version, sys.executable, {"PATH": path, "VIRTUAL_ENV": sys.prefix})


def _pytest(session: nox.Session, version: object, python: str, env: dict[str, str]) -> None:
    deselect = [] if version == PRIMARY else ["-m", "not primary_only"]
    # tools/test.sh kills a version's session at its time limit; before that, pytest
    # stops between two tests and prints what failed so far (a loaded machine ran
    # past the limit and lost a failure's message to the kill).
    deadline = os.environ.get("AMBIDEX_TEST_DEADLINE")
    stop = [f"--session-timeout={max(int(deadline) - int(time.time()), 60)}"] if deadline else []
    session.run(
        python, "-m", "pytest", "-q", *deselect, *stop, *session.posargs,
        env={**env, "AMBIDEX_EXPECT_EXTENSIONS": "1"},
    )
