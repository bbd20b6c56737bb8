"""sync -> async through ``self.m()``: a base method runs its subclasses' overrides.

When one subclass's override of ``m`` must await, every ``self.m()`` that may
run it must await it, so the base method that calls it becomes async, and so
does each of its callers, up the graph. An override that does not block is
made ``async def`` too, as a person porting by hand would: the base method
awaits whichever override runs, so they all keep one colour. Where that
cannot be done (a caller that cannot be async), the port refuses with the
location; it never awaits one colour's method and not the other's.

Each output here is run, for every subclass, with never-awaited coroutines
as errors.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from ambidex._rules import DEFAULT_TABLE
from ambidex.cli import main
from ambidex.codegen._to_async import to_async
from ambidex.codegen._to_sync import outside


def port(source: str) -> tuple[str, list[str], list[str]]:
    """The output (empty when refused), the errors and the warnings."""
    result = to_async({"client.py": textwrap.dedent(source)}, table=DEFAULT_TABLE, renames={})
    errors = [str(d) for d in result.diagnostics if d.error]
    warnings = [str(d) for d in result.diagnostics if not d.error]
    output = "" if result.failed else result.outputs.get("client.py", "")
    return output, errors, warnings


def run(output: str, expression: str) -> object:
    """``await <expression>`` in the ported module's namespace."""
    namespace: dict[str, object] = {}
    exec(compile(output, "client.py", "exec"), namespace)
    runner = eval(f"lambda: {expression}", namespace)

    async def main() -> object:
        return await runner()

    return asyncio.run(main())


def test_one_override_that_blocks_makes_the_base_method_its_siblings_and_callers_async() -> None:
    out, errors, warnings = port(
        """\
        import time


        class Pool:
            def run(self, job):
                return self._submit(job)

            def _submit(self, job):
                raise NotImplementedError


        class SleepyPool(Pool):
            def _submit(self, job):
                time.sleep(0)
                return job()


        class QuickPool(Pool):
            def _submit(self, job):
                return job()


        def run_both(job):
            return SleepyPool().run(job) + QuickPool().run(job)
        """
    )
    assert (errors, warnings) == ([], [])
    assert "        return await self._submit(job)" in out
    assert "class QuickPool(Pool):\n    async def _submit(self, job):" in out
    assert "    return await SleepyPool().run(job) + await QuickPool().run(job)" in out
    assert run(out, "run_both(lambda: 1)") == 2


def test_a_mixins_self_call_awaits_the_method_a_sibling_base_supplies() -> None:
    out, errors, warnings = port(
        """\
        import time


        class Retrying:
            def fetch_twice(self):
                self.fetch()
                return self.fetch()


        class Http:
            def fetch(self):
                time.sleep(0)
                return "body"


        class Client(Retrying, Http):
            pass
        """
    )
    assert (errors, warnings) == ([], [])
    assert "    async def fetch_twice(self):\n        await self.fetch()" in out
    assert run(out, "Client().fetch_twice()") == "body"


def test_cls_in_a_classmethod_awaits_a_subclasses_classmethod_that_became_async() -> None:
    out, errors, _ = port(
        """\
        import time


        class Config:
            @classmethod
            def load(cls):
                return cls.read()

            @classmethod
            def read(cls):
                return {}


        class FileConfig(Config):
            @classmethod
            def read(cls):
                time.sleep(0)
                return {"from": "file"}
        """
    )
    assert errors == []
    assert "        return await cls.read()" in out
    assert run(out, "FileConfig.load()") == {"from": "file"}
    assert run(out, "Config.load()") == {}


def test_a_base_loop_over_self_items_becomes_async_for_with_every_override() -> None:
    out, errors, _ = port(
        """\
        import time


        class Feed:
            def total(self):
                n = 0
                for x in self.items():
                    n += x
                return n

            def items(self):
                yield 1


        class SlowFeed(Feed):
            def items(self):
                time.sleep(0)
                yield 2
        """
    )
    assert errors == []
    assert "        async for x in self.items():" in out
    assert "    async def items(self):\n        yield 1" in out
    assert run(out, "SlowFeed().total()") == 2
    assert run(out, "Feed().total()") == 1


def test_an_override_that_blocks_under_a_base_init_is_refused_at_the_init() -> None:
    out, errors, _ = port(
        """\
        import time


        class Base:
            def __init__(self):
                self._setup()

            def _setup(self):
                pass


        class Slow(Base):
            def _setup(self):
                time.sleep(0)
        """
    )
    assert out == ""
    assert any(e.startswith("client.py:5:5: Base.__init__() would have to await") for e in errors)


def test_an_override_that_blocks_where_its_generator_sibling_is_awaited_is_refused() -> None:
    # One override returns a value, another is a generator: no one colour fits
    # both, since a call site either awaits what it gets or iterates it.
    out, errors, _ = port(
        """\
        import time


        class Source:
            def read(self):
                return self.chunk()

            def chunk(self):
                return b""


        class Streamed(Source):
            def chunk(self):
                yield b"x"


        class Slow(Source):
            def chunk(self):
                time.sleep(0)
                return b"y"
        """
    )
    assert out == ""
    assert errors, "expected a located refusal"


def test_an_outside_base_is_imported_once_however_many_of_its_methods_are_overridden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A module that is not there is looked for along all of sys.path at each
    # attempt; an outside class that is found is still read for each method.
    # Only the standard library's modules are imported (the test below).
    asked: list[str] = []
    real_import = importlib.import_module

    def counting_import(name: str, package: str | None = None) -> ModuleType:
        asked.append(name)
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", counting_import)
    looked: list[str] = []
    real_find = outside.source_on_sys_path

    def counting_find(module: str) -> str | None:
        looked.append(module)
        return real_find(module)

    monkeypatch.setattr(outside, "source_on_sys_path", counting_find)
    _, errors, warnings = port(
        """\
        import io
        import time

        from nowhere_to_be_found import Base


        class Client(Base):
            def read(self):
                time.sleep(1)

            def write(self):
                time.sleep(1)

            def flush(self):
                time.sleep(1)


        class Raw(io.RawIOBase):
            def readinto(self, b):
                time.sleep(1)

            def readline(self, size=-1):
                time.sleep(1)
        """
    )
    assert errors == []
    assert (asked, looked) == (["io"], ["nowhere_to_be_found"])
    assert [w.split(": ", 1)[1].split(",")[0] for w in warnings if "overrides" in w] == [
        "Raw.readinto() becomes async but overrides io.RawIOBase.readinto",
        "Raw.readline() becomes async but overrides io.RawIOBase.readline",
    ]


OUTSIDE_BASE = """\
import pathlib

pathlib.Path(__file__).with_name("imported.marker").write_text("ran")


class Helper:
    def close(self):
        pass


class Base(Helper):
    def read(self):
        return b""


class Plain:
    pass
"""


def _port_beside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str], module: str, client: str) -> tuple[Path, str]:
    """Port ``client`` with ``module`` (OUTSIDE_BASE, whose top level writes
    ``imported.marker`` beside it) first on sys.path: the site folder and stderr."""
    site = tmp_path / "site"
    site.mkdir()
    (site / f"{module}.py").write_text(OUTSIDE_BASE)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "client.py").write_text(textwrap.dedent(client))
    assert main(["port", "client.py", "--to", "async", "-o", "out.py"]) == 0
    return site, capsys.readouterr().err


def test_an_outside_base_outside_the_standard_library_is_read_from_source_never_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Importing a module runs its top level: a source-to-source tool must not run
    # the user's project (or any installed package) to decide on a warning.
    site, err = _port_beside(tmp_path, monkeypatch, capsys, "sideeffect_base", """\
        import time

        import sideeffect_base


        class Client(sideeffect_base.Base):
            def read(self):
                time.sleep(1)

            def close(self):
                time.sleep(1)

            def write(self):
                time.sleep(1)


        class Other(sideeffect_base.Plain):
            def read(self):
                time.sleep(1)
        """)
    assert not (site / "imported.marker").exists(), "the outside module was imported"
    assert "sideeffect_base" not in sys.modules
    lines = err.splitlines()
    said = [line.split(": ", 1)[1].split(",")[0] for line in lines if "overrides" in line]
    assert said == [
        "Client.read() becomes async but overrides sideeffect_base.Base.read",
        "Client.close() becomes async but overrides sideeffect_base.Base.close",
    ]


def test_a_project_module_named_like_the_standard_library_is_read_not_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A stdlib *name* is not a stdlib *module*: the project's own tabnanny.py,
    # ahead of the stdlib on sys.path, is what an import would run.
    site, err = _port_beside(tmp_path, monkeypatch, capsys, "tabnanny", """\
        import time

        import tabnanny


        class Client(tabnanny.Base):
            def read(self):
                time.sleep(1)
        """)
    assert not (site / "imported.marker").exists(), "the shadowing module was imported"
    assert "Client.read() becomes async but overrides tabnanny.Base.read" in err


def _port_with_outside_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str], modules: dict[str, str],
                               client: str) -> tuple[Path, list[str]]:
    """Port ``client`` with ``modules`` (name -> source) in a folder first on
    sys.path, none of them imported before: the folder and the warnings' messages."""
    site = tmp_path / "site"
    site.mkdir()
    for name, source in modules.items():
        (site / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "client.py").write_text(textwrap.dedent(client))
    assert main(["port", "client.py", "--to", "async", "-o", "out.py"]) == 0
    lines = capsys.readouterr().err.splitlines()
    for name in modules:
        assert name not in sys.modules, f"{name} was imported"
    assert not list(site.glob("*.marker")), "an outside module was imported"
    return site, [line.split(": ", 1)[1] for line in lines]


_MARKS = 'import pathlib\npathlib.Path(__file__).with_suffix(".marker").write_text("ran")\n'


def test_a_method_an_outside_base_inherits_from_a_third_module_is_found_by_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Client's base is in outer_base.py; the method Client overrides is defined
    # in third_reader.py, which outer_base imports: read both, import neither.
    _, said = _port_with_outside_modules(tmp_path, monkeypatch, capsys, {
        "outer_base": _MARKS + "from third_reader import Reader as _Reader\n"
                      "import third_reader\n\n\n"
                      "class Base(_Reader):\n    def write(self):\n        pass\n\n\n"
                      "class Other(third_reader.Lines):\n    pass\n",
        "third_reader": _MARKS + "import io\n\n\nclass Reader:\n    def read(self):\n"
                        "        return b''\n\n    def readline(self):\n"
                        "        return self.read()\n\n\nclass Lines(io.RawIOBase):\n    pass\n",
    }, """\
        import time

        import outer_base


        class Client(outer_base.Base):
            def read(self):
                time.sleep(1)

            def fetch(self):
                time.sleep(1)


        class Raw(outer_base.Other):
            def readinto(self, b):
                time.sleep(1)
        """)
    overrides = [m.split(",")[0] for m in said if "overrides" in m]
    assert overrides == [
        "Client.read() becomes async but overrides outer_base.Base.read",
        "Raw.readinto() becomes async but overrides outer_base.Other.readinto",
    ]


def test_outside_bases_that_name_each_other_across_modules_are_read_once_and_the_port_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A cycle nobody could import (each module's class a base of the other's):
    # following bases by source must still end, and say what it did find.
    _, said = _port_with_outside_modules(tmp_path, monkeypatch, capsys, {
        "cycle_a": _MARKS + "import cycle_b\n\n\nclass A(cycle_b.B):\n"
                   "    def close(self):\n        pass\n",
        "cycle_b": _MARKS + "from cycle_a import A\n\n\nclass B(A):\n"
                   "    def read(self):\n        pass\n",
    }, """\
        import time

        import cycle_a


        class Client(cycle_a.A):
            def read(self):
                time.sleep(1)

            def close(self):
                time.sleep(1)
        """)
    overrides = [m.split(",")[0] for m in said if "overrides" in m]
    assert overrides == [
        "Client.read() becomes async but overrides cycle_a.A.read",
        "Client.close() becomes async but overrides cycle_a.A.close",
    ]


def test_an_outside_base_whose_own_base_cannot_be_read_is_a_located_cannot_tell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # outer_gone.Base inherits from a module that is nowhere: whether Client.read
    # overrides one of its methods cannot be told; that is said, with the place.
    _, said = _port_with_outside_modules(tmp_path, monkeypatch, capsys, {
        "outer_gone": _MARKS + "from not_installed_anywhere import Missing\n\n\n"
                      "class Base(Missing):\n    def write(self):\n        pass\n",
    }, """\
        import time

        import outer_gone


        class Client(outer_gone.Base):
            def read(self):
                time.sleep(1)

            def write(self):
                time.sleep(1)
        """)
    assert [m.split(",")[0] for m in said if "overrides" in m] == [
        "Client.write() becomes async but overrides outer_gone.Base.write",
    ]
    cannot = [m for m in said if "cannot tell" in m]
    assert len(cannot) == 1, said
    assert "Client.read()" in cannot[0] and "not_installed_anywhere.Missing" in cannot[0]
    assert "Client.write()" not in cannot[0]
