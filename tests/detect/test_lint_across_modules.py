"""AMB101 across modules: what a module with no ``async`` in it adds to the findings.

The lint's blocking findings start at coroutines, but the code they reach,
and the code that decides what they reach, may sit in modules that never
say ``async`` or ``await`` and that no coroutine's module imports. A lint
that parsed only the modules a pre-scan finds near async code (a "lazy" or
demand-driven parse: session 9 measured it for issue 13) would miss these;
the cases below pin what must be found. The last one is the counter-example
that made that idea inexact: ``other.py`` is connected to the coroutine only
through a function both use, which is handed ``nap`` by ``other.py`` itself.
"""

from __future__ import annotations

import pytest

from ambidex.detect._lint import BLOCKING, lint_sources

CASES: dict[str, tuple[dict[str, str], tuple[str, int, tuple[str, ...]]]] = {
    "two imports away": (
        {
            "pkg/__init__.py": "",
            "pkg/app.py": "from pkg.mid import load\n\n\nasync def handler():\n    load()\n",
            "pkg/mid.py": "from pkg.low import fetch\n\n\ndef load():\n    fetch()\n",
            "pkg/low.py": "import time\n\n\ndef fetch():\n    time.sleep(1)\n",
        },
        ("pkg/low.py", 5, ("handler()", "load()", "fetch()")),
    ),
    "a star import": (
        {
            "pkg/__init__.py": "",
            "pkg/app.py": "from pkg.util import *\n\n\nasync def handler():\n    fetch()\n",
            "pkg/util.py": "import time\n\n\ndef fetch():\n    time.sleep(1)\n",
        },
        ("pkg/util.py", 5, ("handler()", "fetch()")),
    ),
    "a name re-exported by a package's __init__": (
        {
            "pkg/__init__.py": "from pkg._impl import fetch\n",
            "pkg/_impl.py": "import time\n\n\ndef fetch():\n    time.sleep(1)\n",
            "app.py": "import pkg\n\n\nasync def handler():\n    pkg.fetch()\n",
        },
        ("pkg/_impl.py", 5, ("handler()", "fetch()")),
    ),
    "a method inherited from a base in another module": (
        {
            "pkg/__init__.py": "",
            "pkg/base.py": (
                "import time\n\n\nclass Base:\n    def fetch(self):\n        time.sleep(1)\n"
            ),
            "pkg/client.py": (
                "from pkg.base import Base\n\n\nclass Client(Base):\n"
                "    async def get(self):\n        self.fetch()\n"
            ),
        },
        ("pkg/base.py", 6, ("Client.get()", "Base.fetch()")),
    ),
    "a callback handed to shared code by a module no coroutine imports": (
        {
            "pkg/__init__.py": "",
            "pkg/runner.py": "def run(cb):\n    cb()\n",
            "pkg/app.py": (
                "from pkg.runner import run\n\n\ndef quiet():\n    pass\n\n\n"
                "async def main():\n    run(quiet)\n"
            ),
            "pkg/other.py": (
                "import time\nfrom pkg.runner import run\n\n\ndef nap():\n    time.sleep(1)\n\n\n"
                "def setup():\n    run(nap)\n"
            ),
        },
        ("pkg/other.py", 6, ("main()", "run()", "nap()")),
    ),
}


#: A gap found while writing these (session 9), not this test's subject:
#: ``from m import *`` binds nothing in the call graph
#: (:func:`ambidex._names.import_bindings`), so a call through it is not followed.
_NOT_FOLLOWED = {"a star import"}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, marks=pytest.mark.xfail(strict=True, reason="star imports bind nothing"))
        if case in _NOT_FOLLOWED else case
        for case in CASES
    ],
)
def test_a_blocking_call_in_a_module_without_async_is_found_through_the_others(case) -> None:
    modules, (path, line, chain) = CASES[case]
    found = [f for f in lint_sources(modules).findings if f.code == BLOCKING]
    assert [(f.path, f.line, f.chain) for f in found] == [(path, line, chain)]
    assert "async" not in modules[path] and "await" not in modules[path]
