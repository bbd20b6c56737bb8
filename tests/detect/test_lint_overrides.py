"""``self.m()`` in a base class runs whichever ``m`` the instance's class has.

A pool whose base ``_run`` calls ``self._submit(job)``, with ``_submit``
written by each subclass, blocks the loop if one subclass's ``_submit`` does:
the lint follows a call on ``self`` (or ``cls``) to every override the
analysed subclasses define, and says in the finding which override the chain
went through. A call on an object of a known class (``super()``, a
constructor's result) runs that class's method only and is not widened.
"""

from __future__ import annotations

import textwrap

from ambidex.detect._lint import Finding, lint_sources

POOLS = """\
import threading


class Pool:
    async def run(self, job):
        self._submit(job)

    def _submit(self, job):
        raise NotImplementedError


class LockedPool(Pool):
    def __init__(self):
        self._lock = threading.Lock()

    def _submit(self, job):
        with self._lock:
            job()


class QuickPool(Pool):
    def _submit(self, job):
        job()
"""


def _blocking(source: str) -> list[Finding]:
    result = lint_sources({"pools.py": textwrap.dedent(source)})
    return [f for f in result.findings if f.code == "AMB101"]


def test_a_blocking_override_is_reported_through_the_base_methods_call_on_self() -> None:
    (finding,) = _blocking(POOLS)
    assert (finding.path, finding.line) == ("pools.py", 17)
    assert finding.message.startswith("`with` on threading.Lock blocks the event loop")
    assert finding.chain == ("Pool.run()", "LockedPool._submit()")


def test_the_finding_names_the_override_and_the_call_it_went_through() -> None:
    (finding,) = _blocking(POOLS)
    assert (
        "reached from Pool.run() -> LockedPool._submit(); through the override "
        "LockedPool._submit() of `self._submit()` at pools.py:6:9;"
    ) in finding.message


def test_a_method_a_sibling_base_supplies_is_reached_through_a_mixins_self_call() -> None:
    (finding,) = _blocking(
        """\
        import time


        class Retrying:
            async def fetch_twice(self):
                self.fetch()
                self.fetch()


        class Http:
            def fetch(self):
                time.sleep(1)


        class Client(Retrying, Http):
            pass
        """
    )
    assert (finding.line, finding.chain) == (12, ("Retrying.fetch_twice()", "Http.fetch()"))
    assert "through the override Http.fetch() of `self.fetch()` at pools.py:6:9" in (
        finding.message
    )


def test_cls_in_a_classmethod_reaches_a_subclasses_blocking_classmethod() -> None:
    (finding,) = _blocking(
        """\
        import time


        class Config:
            @classmethod
            async def load(cls):
                return cls.read()

            @classmethod
            def read(cls):
                return {}


        class FileConfig(Config):
            @classmethod
            def read(cls):
                time.sleep(1)
                return {}
        """
    )
    assert (finding.line, finding.chain) == (17, ("Config.load()", "FileConfig.read()"))


def test_an_override_reached_directly_needs_no_override_in_its_chain() -> None:
    (finding,) = _blocking(
        POOLS.replace("async def run", "def run")
        + """

async def main(pool: LockedPool):
    pool._submit(print)
"""
    )
    assert finding.chain == ("main()", "LockedPool._submit()")
    assert "through the override" not in finding.message


def test_super_and_a_constructed_object_run_only_the_method_their_class_has() -> None:
    assert (
        _blocking(
            """\
            import time


            class Base:
                def step(self):
                    return 1


            class Slow(Base):
                def step(self):
                    time.sleep(1)


            class Fast(Base):
                async def go(self):
                    super().step()
                    Base().step()
                    Fast().step()
            """
        )
        == []
    )


def test_a_mixins_self_call_from_the_async_subclass_runs_only_the_async_subclasses_method() -> None:
    # examples/resp: Commands is the mixin of the blocking Client and of the
    # AsyncClient; from AsyncClient's coroutines, `self` is an AsyncClient
    # all along, so Commands.get's `self._call()` never runs Client._call.
    assert (
        _blocking(
            """\
            import time


            class Commands:
                def get(self, key):
                    return self._call(("GET", key))


            class Client(Commands):
                def _call(self, args):
                    time.sleep(1)


            class AsyncClient(Commands):
                async def _call(self, args):
                    return args

                async def fetch(self):
                    return await self.get("k")
            """
        )
        == []
    )


def test_the_narrowed_class_follows_a_chain_through_inherited_methods() -> None:
    (finding,) = _blocking(
        """\
        import time


        class Base:
            def outer(self):
                return self.inner()

            def inner(self):
                return self.leaf()

            def leaf(self):
                return 0


        class Blocking(Base):
            def leaf(self):
                time.sleep(1)


        class Quiet(Base):
            async def go(self):
                return self.outer()


        class Loud(Base):
            async def go(self):
                return self.outer()

            def leaf(self):
                time.sleep(2)
        """
    )
    # Quiet's chain runs Base.leaf only; Loud's runs its own leaf; Blocking's
    # leaf is reached from no coroutine of a Blocking.
    assert (finding.line, finding.chain) == (
        30,
        ("Loud.go()", "Base.outer()", "Base.inner()", "Loud.leaf()"),
    )
