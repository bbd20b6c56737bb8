"""A lock the port makes an asyncio lock is entered with ``async with`` everywhere.

A ``with lock:`` block stays plain (and the lock a threading lock) when no
block on that lock awaits; a lock that is awaited outside ``with``
(``cond.wait()``, ``lock.acquire(timeout=...)``) becomes an asyncio lock. The
``with`` blocks of such a lock were left plain: ``with self.cond:`` on an
``asyncio.Condition`` (which has no ``__enter__``), a ``TypeError`` when it
runs, exit 0 and no word. Every ``with`` on it is ``async with`` now, and
the functions holding them are coroutines.
"""

from __future__ import annotations

import asyncio

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_async import to_async

SOURCE = '''\
import threading


class Box:
    def __init__(self):
        self.cond = threading.Condition()
        self.lock = threading.Lock()
        self.items = []

    def take(self):
        with self.cond:
            while not self.items:
                self.cond.wait(1.0)
            return self.items.pop()

    def put(self, item):
        with self.cond:
            self.items.append(item)
            self.cond.notify()

    def count(self):
        with self.lock:
            return len(self.items)

    def try_count(self):
        if self.lock.acquire(timeout=0.1):
            self.lock.release()
            return True
        return False
'''


def test_every_with_on_a_lock_awaited_outside_with_becomes_async_with() -> None:
    result = to_async({"box.py": SOURCE}, table=DEFAULT_TABLE, renames={})
    assert [str(d) for d in result.diagnostics if d.error] == []
    out = result.outputs["box.py"]
    assert "self.cond = asyncio.Condition()" in out
    assert out.count("        async with self.cond:") == 2
    assert "        async with self.lock:" in out
    assert "    async def put(self, item):" in out
    assert "    async def count(self):" in out
    namespace: dict[str, object] = {}
    exec(compile(out, "box.py", "exec"), namespace)

    async def main() -> None:
        box = namespace["Box"]()  # type: ignore[operator]
        taker = asyncio.ensure_future(box.take())
        await asyncio.sleep(0)
        await box.put("x")
        assert await taker == "x"
        assert await box.count() == 0
        assert await box.try_count() is True

    asyncio.run(main())


def test_a_lock_that_stays_a_threading_lock_keeps_its_annotation() -> None:
    # redis 8.1.0's cluster.py LoadBalancer: `self._lock: threading.Lock =
    # threading.Lock()`, no block on it awaits, so the lock stays a
    # threading lock; the annotation became `asyncio.Lock` while the value
    # did not (mypy: `"Lock" has no attribute "__enter__"` at every `with`).
    source = """\
import socket
import threading
from typing import Optional


class Balancer:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._lock: threading.Lock = threading.Lock()
        self._other: Optional[threading.Lock] = threading.Lock()

    def bump(self, key: str) -> int:
        with self._lock, self._other:
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]


class Client:
    def __init__(self) -> None:
        self._lock: threading.Lock = threading.Lock()
        self.balancer = Balancer()

    def send(self, sock: socket.socket) -> None:
        with self._lock:
            sock.sendall(b"x")
        self.balancer.bump("k")
"""
    result = to_async({"client.py": source}, table=DEFAULT_TABLE, renames={})
    assert [d for d in result.diagnostics if d.error] == []
    out = result.outputs["client.py"]
    assert "        self._lock: threading.Lock = threading.Lock()\n" in out
    assert "        self._other: Optional[threading.Lock] = threading.Lock()\n" in out
    assert "        with self._lock, self._other:\n" in out
    # The lock a guarded block awaits on becomes an asyncio lock, annotation and all.
    assert "        self._lock: asyncio.Lock = asyncio.Lock()\n" in out
    assert "        async with self._lock:\n" in out


def test_a_lock_annotated_in_the_class_body_that_stays_a_threading_lock_keeps_its_annotation() -> (
    None
):
    # `_lock: threading.Lock` in the class body, `self._lock = threading.Lock()`
    # in __init__, no block on it awaits: the lock stays a threading lock, and
    # so must the class body's annotation (it read `asyncio.Lock`; mypy:
    # `"Lock" has no attribute "__enter__"` at every `with`). The same for a
    # module's global annotated before it is assigned, and for a lock that is
    # annotated with no value in __init__ and assigned in another method.
    source = """\
import socket
import threading
from threading import RLock
from typing import Optional

REGISTRY_LOCK: threading.Lock
REGISTRY_LOCK = threading.Lock()


class Balancer:
    _lock: threading.Lock
    _other: Optional[RLock]

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._late: threading.Lock
        self.reset()

    def reset(self) -> None:
        self._other = RLock()
        self._late = threading.Lock()

    def bump(self, key: str) -> int:
        with self._lock, self._other, self._late, REGISTRY_LOCK:
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]


class Client:
    _lock: threading.Lock

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.balancer = Balancer()

    def send(self, sock: socket.socket) -> None:
        with self._lock:
            sock.sendall(b"x")
        self.balancer.bump("k")
"""
    result = to_async({"client.py": source}, table=DEFAULT_TABLE, renames={})
    assert [d for d in result.diagnostics if d.error] == []
    out = result.outputs["client.py"]
    balancer = out[out.index("class Balancer") : out.index("class Client")]
    assert "REGISTRY_LOCK: threading.Lock\nREGISTRY_LOCK = threading.Lock()\n" in out
    assert "    _lock: threading.Lock\n    _other: Optional[RLock]\n" in balancer
    assert "        self._late: threading.Lock\n" in balancer
    assert "asyncio" not in balancer
    # The lock a guarded block awaits on becomes an asyncio lock, annotation and all.
    client = out[out.index("class Client") :]
    assert "    _lock: asyncio.Lock\n" in client
    assert "        self._lock = asyncio.Lock()\n" in client
    assert "        async with self._lock:\n" in client
