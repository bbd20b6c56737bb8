"""ambidex: write a network client once, run it blocking or on asyncio.

The parts live in subpackages, each importable on its own:

* :mod:`ambidex.sansio` -- building blocks for protocols as pure state machines.
* :mod:`ambidex.io` -- a socket stream and an asyncio stream with one vocabulary.
* :mod:`ambidex.codegen` -- one source, both colours (``ambidex port``/``generate``).
* :mod:`ambidex.detect` -- find calls that block the event loop (``ambidex lint``,
  a runtime watchdog, a pytest plugin).
* :mod:`ambidex.offload` -- move what must block off the loop, with bounded pools.

Importing ``ambidex`` itself imports none of them, so the command line starts fast.
"""

from __future__ import annotations

# Not typing's TYPE_CHECKING: importing typing is a tenth of a `generate` with
# nothing to do (see ambidex.codegen._noop); type checkers read any name so spelt.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ambidex._rules import DEFAULT_TABLE, Kind, Rule, RuleTable

# The one place the version is written: hatchling reads it for the package metadata
# ([tool.hatch.version]), `ambidex --version` prints it, and a release is tagged
# v<this> (the `rev:` that .pre-commit-hooks.yaml advertises).
__version__ = "0.1.0"

__all__ = ["DEFAULT_TABLE", "Kind", "Rule", "RuleTable", "__version__"]

_FROM_RULES = frozenset({"DEFAULT_TABLE", "Kind", "Rule", "RuleTable"})


def __getattr__(name: str) -> Any:
    # The rule table is built when first asked for, not when the package is
    # imported: `ambidex generate` on an up-to-date tree never needs it, and
    # building it is most of what importing ambidex used to cost.
    if name in _FROM_RULES:
        from ambidex import _rules

        return getattr(_rules, name)
    raise AttributeError(f"module 'ambidex' has no attribute {name!r}")
