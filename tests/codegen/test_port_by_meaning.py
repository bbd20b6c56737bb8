"""Rules look at the receiver's type and the arguments, not at names alone (issue 8, item 6).

``event.wait(timeout)`` has no ``asyncio.Event.wait`` twin (it takes no
timeout and returns no bool); ``except queue.Empty`` means
``asyncio.QueueEmpty`` only where the queue became an ``asyncio.Queue``;
``socket.socket(AF_UNIX)`` is an ``AsyncSocket`` that connects by path.
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import textwrap

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_async import to_async
from tests.realports._harness import strict_asyncio

SOURCE = textwrap.dedent(
    """\
    import queue
    import socket
    import threading


    class Worker:
        def __init__(self):
            self.ready = threading.Event()
            self.jobs = queue.Queue()
            self.lock = threading.Lock()

        def wait_ready(self, timeout):
            return self.ready.wait(timeout)

        def wait_forever(self):
            self.ready.wait()

        def next_job(self):
            try:
                return self.jobs.get(timeout=0.05)
            except queue.Empty:
                return None

        def try_lock(self):
            return self.lock.acquire(blocking=False)

        def drain(self, other_queue):
            # other_queue's type is not known: it stays a queue.Queue, and so does
            # the exception it raises
            try:
                return other_queue.get_nowait()
            except queue.Empty:
                return None


    def unix_hello(path):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        data = sock.recv(100)
        sock.close()
        return data
    """
)


def port() -> str:
    result = to_async({"worker.py": SOURCE}, table=DEFAULT_TABLE, renames={})
    assert [str(d) for d in result.diagnostics if d.error] == []
    return result.outputs["worker.py"]


def test_waits_with_a_timeout_become_deadline_waits_that_keep_the_sync_result():
    out = port()
    assert "        return await ambidex.io.wait_event(self.ready, timeout)" in out
    assert "        await self.ready.wait()" in out
    assert "            return await ambidex.io.queue_get(self.jobs, timeout=0.05)" in out
    assert "        return await ambidex.io.acquire_lock(self.lock, blocking=False)" in out


def test_queue_empty_is_renamed_only_around_a_queue_the_port_converted():
    out = port()
    assert "        except asyncio.QueueEmpty:\n            return None\n\n    async def" in out
    assert "            return other_queue.get_nowait()\n        except queue.Empty:" in out


def test_the_ported_waits_behave_like_the_blocking_ones():
    namespace: dict[str, object] = {}
    exec(compile(port(), "worker.py", "exec"), namespace)
    worker_class = namespace["Worker"]

    async def main() -> None:
        worker = worker_class()  # type: ignore[operator]
        assert await worker.wait_ready(0.01) is False
        worker.ready.set()
        assert await worker.wait_ready(0.01) is True
        assert await worker.next_job() is None  # timed out: QueueEmpty, caught
        worker.jobs.put_nowait("job")
        assert await worker.next_job() == "job"
        assert await worker.try_lock() is True
        assert await worker.try_lock() is False  # held: not acquired, no wait

        async def hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"unix!")
            await writer.drain()
            writer.close()

        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "s")
            server = await asyncio.start_unix_server(hello, path)
            try:
                assert await namespace["unix_hello"](path) == b"unix!"  # type: ignore[operator]
            finally:
                server.close()
                await server.wait_closed()

    assert socket.AF_UNIX  # the platform has Unix sockets (the CI does)
    strict_asyncio(main())
