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

from ambidex._rules import DEFAULT_TABLE, Kind, Rule, RuleTable

__version__ = "0.1.0"

__all__ = ["DEFAULT_TABLE", "Kind", "Rule", "RuleTable", "__version__"]
