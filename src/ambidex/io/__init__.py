"""Two streams with one vocabulary: blocking over a socket, asyncio over streams.

::

    from ambidex.io import Stream, AsyncStream

    with Stream.connect("localhost", 6379, timeout=5) as s:
        s.write(b"PING\\r\\n")
        line = s.read_until(b"\\r\\n")

    async with await AsyncStream.connect("localhost", 6379, timeout=5) as s:
        await s.write(b"PING\\r\\n")
        line = await s.read_until(b"\\r\\n")

The two classes have the same methods (``connect``, ``read``,
``read_exactly``, ``read_until``, ``write``, ``start_tls``, ``close``), the
same arguments and the same exceptions, so the code generator turns a driver
written against one into the other by adding or dropping ``await`` alone.
Three questions are asked without ``await`` in either colour, since they never
wait: ``unread_bytes_waiting()`` (has the peer sent bytes no read has taken?
asked before reusing an idle connection), ``peer_closed()``, and both at once,
``read_would_wait()``. One method
is asyncio's alone: ``AsyncStream.take_transport(protocol)`` hands the
connection, with the bytes already received, to an ``asyncio.Protocol`` of
your own (a client that resolves its callers from ``data_received``).

What both promise, and what failures leave behind:

* ``timeout`` bounds each whole operation; expiry raises the builtin
  :class:`TimeoutError` in both colours and on every supported Python.
* A read that times out or is cancelled consumes nothing: arrived bytes stay
  buffered for the next read. A write that fails, times out or is cancelled
  leaves the outgoing framing unknown, so further writes raise
  :class:`StreamError` (reads still work). A failed ``start_tls`` closes.
* End of file mid-message raises :class:`IncompleteReadError` (an
  :class:`EOFError`) with the bytes that did arrive; a line longer than the
  limit raises :class:`ReadLimitError` instead of buffering without bound;
  use after ``close()`` raises :class:`StreamClosedError`.

:class:`AsyncSocket` is for porting code written against raw sockets: the
socket's own method names, awaited; its ``makefile`` gives an
:class:`AsyncSocketIO` (or :class:`AsyncTextSocketIO`) whose reads are
awaited, and :func:`wrap_socket` is ``ssl_context.wrap_socket``'s twin
(``await sock.unwrap()`` ends TLS again). :func:`speaks_tls` asks, in either
colour, what ``isinstance(sock, ssl.SSLSocket)`` asks of a blocking socket.
:func:`wait_event`, :func:`wait_condition`, :func:`acquire_lock`,
:func:`queue_get` and :func:`queue_put` are the twins of the blocking waits
that take a timeout (``event.wait(5)`` returns False when it runs out).

``Stream.read_until`` / ``read_exactly`` run in C when the install compiled
the optional accelerator (it does when a C compiler is there);
:func:`accelerated` says whether they do. The results are the same either way.
"""

from ambidex.io._accelerate import accelerate, accelerated
from ambidex.io._async import AsyncStream
from ambidex.io._errors import (
    IncompleteReadError,
    ReadLimitError,
    StreamClosedError,
    StreamError,
)
from ambidex.io._socket import AsyncSocket, wrap_socket
from ambidex.io._socketfile import AsyncSocketIO, AsyncTextSocketIO
from ambidex.io._sync import Stream
from ambidex.io._tls import speaks_tls
from ambidex.io._waits import acquire_lock, queue_get, queue_put, wait_condition, wait_event

# The C read_until / read_exactly when the optional ambidex.io._speedups was
# built (same results as the pure methods; see _accelerate.py). accelerated()
# says whether it was.
accelerate(Stream)

__all__ = [
    "AsyncSocket",
    "AsyncSocketIO",
    "AsyncStream",
    "AsyncTextSocketIO",
    "IncompleteReadError",
    "ReadLimitError",
    "Stream",
    "StreamClosedError",
    "StreamError",
    "accelerated",
    "acquire_lock",
    "queue_get",
    "queue_put",
    "speaks_tls",
    "wait_condition",
    "wait_event",
    "wrap_socket",
]
