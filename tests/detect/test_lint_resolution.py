"""How the shared call graph resolves names, seen through the lint's findings.

Each test is one way code names a blocking call or the function that makes
it; the lint must follow it to the call and report it from the coroutine.
"""

from __future__ import annotations

import textwrap

import pytest

from ambidex.detect._lint import lint_sources


def _found(modules: dict[str, str]) -> list[tuple[str, int, str]]:
    result = lint_sources({path: textwrap.dedent(text) for path, text in modules.items()})
    return [(f.path, f.line, f.message.split(" blocks")[0]) for f in result.findings]


def test_import_of_a_dotted_module_and_an_alias_of_one() -> None:
    found = _found(
        {
            "app/handlers.py": """
            import app.store.disk
            import app.store.disk as disk

            async def a() -> None:
                app.store.disk.load()

            async def b() -> None:
                disk.load()
        """,
            "app/store/disk.py": """
            import os

            def load() -> None:
                os.stat("/")
        """,
        }
    )
    assert found == [("app/store/disk.py", 5, "os.stat")]


def test_relative_imports_of_a_module_and_of_a_name_from_a_package() -> None:
    found = _found(
        {
            "pkg/__init__.py": "from .impl import fetch as fetch\n",
            "pkg/impl.py": """
            import urllib.request

            def fetch(url: str) -> bytes:
                return urllib.request.urlopen(url).read()
        """,
            "pkg/sub/handler.py": """
            from .. import fetch
            from .. import impl

            async def one() -> None:
                fetch("http://x")

            async def two() -> None:
                impl.fetch("http://y")
        """,
        }
    )
    assert found == [("pkg/impl.py", 5, "urllib.request.urlopen")]


def test_objects_are_typed_by_annotations_optional_and_string_ones_included() -> None:
    found = _found(
        {
            "m.py": """
            from __future__ import annotations

            import socket
            from typing import Optional

            class Holder:
                sock: Optional[socket.socket]
                other: "socket.socket | None"

                def a(self) -> None:
                    assert self.sock is not None
                    self.sock.recv(1)

                def b(self) -> None:
                    if self.other:
                        self.other.sendall(b"x")

            async def main(h: Holder) -> None:
                h.a()
                h.b()
        """,
        }
    )
    assert found == [("m.py", 13, "socket.socket.recv"), ("m.py", 17, "socket.socket.sendall")]


def test_with_as_binds_the_entered_object_and_super_reaches_the_base() -> None:
    found = _found(
        {
            "m.py": """
            import socket
            import sqlite3

            class Base:
                def run(self) -> None:
                    with socket.create_connection(("h", 1)) as sock:
                        sock.sendall(b"x")

            class Child(Base):
                def run(self) -> None:
                    super().run()

            async def main() -> None:
                Child().run()
                db = sqlite3.connect(":memory:")
                db.execute("select 1")
        """,
        }
    )
    assert found == [
        ("m.py", 7, "socket.create_connection"),
        ("m.py", 8, "socket.socket.sendall"),
        ("m.py", 16, "sqlite3.connect"),
        ("m.py", 17, "sqlite3.Connection.execute"),
    ]


def test_closures_and_calls_through_a_class_attribute_object() -> None:
    found = _found(
        {
            "m.py": """
            import queue
            import time

            class Worker:
                jobs = queue.Queue()

                def take(self) -> object:
                    return self.jobs.get()

            async def main(w: Worker) -> None:
                def inner() -> None:
                    time.sleep(1)

                inner()
                w.take()
        """,
        }
    )
    assert found == [("m.py", 9, "queue.Queue.get"), ("m.py", 13, "time.sleep")]


def test_a_generator_iterated_from_a_coroutine_is_followed() -> None:
    found = _found(
        {
            "m.py": """
            import time

            def ticks():
                while True:
                    time.sleep(1)
                    yield 1

            async def main() -> None:
                gen = ticks()
                next(gen)
        """,
        }
    )
    assert found == [("m.py", 6, "time.sleep")]


def test_an_unresolvable_receiver_is_not_guessed_at() -> None:
    # `conn` has no annotation and comes from a parameter: its .recv could be
    # anything's (an AsyncSocket's, say), so the lint does not report it.
    assert (
        _found(
            {
                "m.py": """
            async def main(conn) -> None:
                conn.recv(1)
        """,
            }
        )
        == []
    )


@pytest.mark.parametrize(
    "shadow",
    ["time = FakeTime()", "time = __import__('asyncio')"],
)
def test_a_local_name_shadows_the_module_it_replaces(shadow: str) -> None:
    source = f"""
        import time

        class FakeTime:
            def sleep(self, seconds: float) -> None: ...

        async def main() -> None:
            {shadow}
            time.sleep(1)
    """
    result = lint_sources({"m.py": textwrap.dedent(source)})
    assert result.syntax_errors == []
    assert result.findings == []


def test_a_blocking_callable_handed_to_a_sync_helper_is_followed_into_it() -> None:
    found = _found(
        {
            "m.py": """
            import time
            from collections.abc import Callable

            def retry(attempt: Callable[[], None]) -> None:
                attempt()

            class Pool:
                def __init__(self, connect: Callable[[], None]) -> None:
                    self._connect = connect

                def acquire(self) -> None:
                    self._connect()

            def slow() -> None:
                time.sleep(1)

            def slower() -> None:
                time.sleep(2)

            async def main() -> None:
                retry(slow)
                Pool(slower).acquire()
        """,
        }
    )
    assert found == [("m.py", 16, "time.sleep"), ("m.py", 19, "time.sleep")]
    result = lint_sources(
        {
            "m.py": textwrap.dedent("""
        import time

        def retry(attempt) -> None:
            attempt()

        def slow() -> None:
            time.sleep(1)

        async def main() -> None:
            retry(slow)
    """)
        }
    )
    assert "reached from main() -> retry() -> slow()" in result.findings[0].message
