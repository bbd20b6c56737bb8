"""An HTTP/1.1 server on h11 and asyncio, for what nginx will not do.

The chapter's tests talk to nginx for everything a well-behaved server does.
This one is for the rest: a server that misbehaves on purpose, one way per
path, so the client's handling of each misbehaviour has a test. It also
echoes a per-request token in a header and in the body, for the chaos test.

``serve()`` runs it in the current event loop; ``ServerThread`` runs it in a
thread with its own loop, so the blocking client can be tested against it
from the test's thread.

Well-behaved paths (answered through h11, keep-alive kept):

* ``/token?t=T&size=N&pieces=K&delay=S`` -- ``X-Token: T`` and a body of
  ``N`` bytes made of ``T`` repeated, sent in ``K`` pieces ``S`` seconds apart;
* ``/echo`` -- the request body back, with ``X-Chunks`` (how many ``Data``
  events it came in) and ``X-Method``;
* ``/conn`` -- ``X-Conn`` (which connection this is, counted from 1) and
  ``X-Requests`` (requests seen on it so far);
* ``/headers`` -- the request's target, then its headers, one ``name: value``
  line each, as they came;
* ``/gzip``, ``/deflate``, ``/deflate-raw`` -- ``/token``'s body, encoded;
* ``/cookies`` -- two ``Set-Cookie`` headers;
* ``/status/N`` -- status ``N``; ``/redirect/N`` -- a chain of N redirects.

Misbehaving paths:

* ``/garbage-status`` -- a status line that is not one;
* ``/short-body`` -- ``Content-Length: 100`` and 50 bytes, then close;
* ``/cut-chunk`` -- chunked, closed in the middle of a chunk;
* ``/one-byte`` -- a correct chunked response, one byte per write;
* ``/huge-headers`` -- 100 KiB of headers;
* ``/then-close`` -- a correct keep-alive response, then the connection is
  closed anyway (as a server does with idle connections);
* ``/close-next`` -- a correct keep-alive response; the next request on the
  connection is read and the connection closed without an answer (a close
  that crosses the request, which no check before reuse can see);
* ``/trailing`` -- a correct response followed by bytes nobody asked for;
* ``/stray-later?t=T`` -- a correct keep-alive response; later, when
  ``/send-stray?t=T`` is asked on another connection (so the client has read
  the response by then), a stray response on the first connection, which
  then goes on serving: a request written on it now gets the stray answer;
* ``/never`` -- never answers;
* ``/stall?after=N`` -- the head and ``N`` bytes of a longer body, then nothing;
* ``/sink`` -- never reads the request body, never answers (write timeouts).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
import threading
import zlib
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import h11

__all__ = ["ServerThread", "serve", "shutdown"]

_RAW = {
    "/garbage-status": b"HTTP/1.1 two hundred OK\r\nContent-Length: 0\r\n\r\n",
    "/short-body": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 50,
    "/cut-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabcdef",
}


def _token_body(query: dict[str, list[str]]) -> tuple[str, bytes]:
    token = query.get("t", ["token"])[0]
    size = int(query.get("size", [str(len(token))])[0])
    unit = token.encode() or b"-"
    body = (unit * (size // len(unit) + 1))[:size]
    return token, body

# /stray-later and /send-stray, paired by token: (send it, sent).
_STRAYS: dict[str, tuple[asyncio.Event, asyncio.Event]] = {}


class _Handler:
    """One client connection: an h11 server machine and the stream under it."""

    counter = itertools.count(1)

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = h11.Connection(h11.SERVER)
        self.number = next(self.counter)
        self.requests = 0
        self.close_on_next = False

    async def run(self) -> None:
        try:
            while True:
                request, body, chunks = await self._read_request()
                if request is None or self.close_on_next:
                    return
                self.requests += 1
                keep = await self._answer(request, body, chunks)
                if not keep:
                    return
                if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
                    self.conn.start_next_cycle()
                else:
                    return
        except (ConnectionError, h11.ProtocolError, asyncio.IncompleteReadError):
            return
        finally:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    async def _next_event(self) -> object:
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            self.conn.receive_data(await self.reader.read(65536))

    async def _read_request(self, body: bool = True) -> tuple[h11.Request | None, bytes, int]:
        event = await self._next_event()
        if not isinstance(event, h11.Request):
            return None, b"", 0
        if not body or urlsplit(event.target.decode()).path == "/sink":
            return event, b"", 0
        parts = []
        while True:
            part = await self._next_event()
            if isinstance(part, h11.Data):
                parts.append(bytes(part.data))
            elif isinstance(part, h11.EndOfMessage):
                return event, b"".join(parts), len(parts)
            else:
                return None, b"", 0

    async def _send(self, *events: h11.Event) -> None:
        for event in events:
            data = self.conn.send(event)
            if data:
                self.writer.write(data)
        await self.writer.drain()

    async def _respond(self, status: int, body: bytes = b"",
                       headers: list[tuple[str, str]] | None = None) -> None:
        all_headers = [("content-length", str(len(body))), *(headers or [])]
        await self._send(h11.Response(status_code=status, headers=all_headers),
                         h11.Data(data=body), h11.EndOfMessage())

    async def _answer(self, request: h11.Request, body: bytes, chunks: int) -> bool:
        """Answer one request; False to close the connection afterwards."""
        url = urlsplit(request.target.decode())
        path, query = url.path, parse_qs(url.query)
        writer = self.writer
        if path in _RAW:
            writer.write(_RAW[path])
            await writer.drain()
            return False
        if path == "/token":
            token, data = _token_body(query)
            pieces = max(1, int(query.get("pieces", ["1"])[0]))
            delay = float(query.get("delay", ["0"])[0])
            await self._send(h11.Response(status_code=200, headers=[
                ("content-length", str(len(data))), ("x-token", token)]))
            step = -(-len(data) // pieces) or 1
            for start in range(0, len(data), step):
                if start and delay:
                    await asyncio.sleep(delay)
                await self._send(h11.Data(data=data[start:start + step]))
            await self._send(h11.EndOfMessage())
            return True
        if path == "/echo":
            await self._respond(200, body, [("x-chunks", str(chunks)),
                                            ("x-method", request.method.decode())])
            return True
        if path == "/headers":
            lines = [request.target] + [name + b": " + value for name, value in request.headers]
            await self._respond(200, b"\n".join(lines))
            return True
        if path == "/conn":
            await self._respond(200, b"ok", [("x-conn", str(self.number)),
                                             ("x-requests", str(self.requests))])
            return True
        if path in ("/gzip", "/deflate", "/deflate-raw"):
            _, data = _token_body(query)
            if path == "/gzip":
                encoded, name = gzip.compress(data), "gzip"
            elif path == "/deflate":
                encoded, name = zlib.compress(data), "deflate"
            else:
                raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
                encoded, name = raw.compress(data) + raw.flush(), "deflate"
            await self._respond(200, encoded, [("content-encoding", name)])
            return True
        if path == "/cookies":
            await self._respond(200, b"", [("set-cookie", "a=1"), ("set-cookie", "b=2")])
            return True
        if path.startswith("/status/"):
            await self._respond(int(path.rsplit("/", 1)[1]), b"status")
            return True
        if path.startswith("/redirect/"):
            left = int(path.rsplit("/", 1)[1])
            target = f"/redirect/{left - 1}" if left > 1 else "/conn"
            await self._respond(302, b"", [("location", target)])
            return True
        if path == "/one-byte":
            wire = h11.Connection(h11.SERVER)
            wire.receive_data(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            wire.next_event()
            data = b"".join(wire.send(e) or b"" for e in (
                h11.Response(status_code=200, headers=[("transfer-encoding", "chunked")]),
                h11.Data(data=b"one byte at a time"), h11.EndOfMessage()))
            for i in range(len(data)):
                writer.write(data[i:i + 1])
                await writer.drain()
                await asyncio.sleep(0)
            return False
        if path == "/huge-headers":
            await self._respond(200, b"", [(f"x-h{i}", "v" * 1000) for i in range(100)])
            return True
        if path == "/close-next":
            await self._respond(200, b"closing on the next request")
            self.close_on_next = True
            return True
        if path == "/then-close":
            await self._respond(200, b"closing after this")
            return False
        if path == "/trailing":
            # The response and the stray bytes in one write, so they arrive together.
            data = self.conn.send(h11.Response(status_code=200, headers=[
                ("content-length", "4")])) or b""
            data += (self.conn.send(h11.Data(data=b"body")) or b"") + (
                self.conn.send(h11.EndOfMessage()) or b"")
            writer.write(data + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray")
            await writer.drain()
            await asyncio.sleep(3600)
            return False
        if path in ("/stray-later", "/send-stray"):
            # One pair of events per token, in this loop: "send it" and "sent".
            go, sent = _STRAYS.setdefault(query.get("t", [""])[0],
                                          (asyncio.Event(), asyncio.Event()))
            if path == "/send-stray":
                go.set()
                await sent.wait()  # the stray bytes are in the client's socket now
                await self._respond(200, b"sent")
                return True
            await self._respond(200, b"ok", [("x-conn", str(self.number))])
            await go.wait()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray")
            await writer.drain()
            sent.set()
            return True
        if path == "/stall":
            after = int(query.get("after", ["10"])[0])
            await self._send(h11.Response(status_code=200, headers=[
                ("content-length", str(after * 2))]), h11.Data(data=b"s" * after))
            await asyncio.sleep(3600)
            return False
        if path in ("/never", "/sink"):
            await asyncio.sleep(3600)
            return False
        await self._respond(404, b"no such path")
        return True


async def serve(host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    """Start the server in the running loop; ``server.sockets[0]`` has the port."""
    tasks: set[asyncio.Task[None]] = set()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await _Handler(reader, writer).run()
        finally:
            tasks.discard(task)

    server = await asyncio.start_server(on_connect, host, port)
    server.handler_tasks = tasks  # type: ignore[attr-defined]
    return server


async def shutdown(server: asyncio.Server) -> None:
    """Stop listening, cancel every connection's handler, and wait for them."""
    server.close()
    tasks = list(server.handler_tasks)  # type: ignore[attr-defined]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await server.wait_closed()


class ServerThread:
    """The server in a thread of its own, with its own event loop."""

    def __init__(self) -> None:
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        ready = threading.Event()

        async def main() -> None:
            self._stop = asyncio.Event()
            server = await serve()
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            await self._stop.wait()
            await shutdown(server)

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(main())
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="http-test-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the test server did not start")
        return self

    def call(self, fn: Callable[[], None]) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(fn)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)

    @contextlib.contextmanager
    def running(self) -> Iterator[ServerThread]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
