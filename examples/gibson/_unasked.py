"""Has the server sent bytes that nobody asked for? Asked without blocking.

gibson has no request ids: the order of replies is the only thing that pairs
a reply with its request. So a reply the server sends when nothing is
outstanding -- right after accept, or a while after a real reply -- would be
taken for the answer to the *next* request, and every later reply would be
shifted by one. The machine refuses bytes that arrive when nothing is
outstanding (:meth:`ClientConnection.next_event`), but only bytes it has been
given: stray bytes still in the stream's buffer or in the socket when the
client writes its next request would arrive "in time" for it.

So, when nothing is outstanding, the client asks before it writes, with
the streams' own non-blocking question,
:meth:`~ambidex.io.Stream.unread_bytes_waiting` (the same in both colours: it
never waits, so it is not awaited). It looks at the stream's buffer and peeks
at the socket, consuming nothing; an orderly close waiting to be read is not
bytes (the read reports it). It is exact for bytes that arrived before the
request is written; a stray reply that crosses the request on the wire is
indistinguishable from the real one, and is caught one reply later, as a
reply with no request pending.
"""

from __future__ import annotations

from ambidex.io import AsyncStream, Stream, StreamClosedError

__all__ = ["unasked_bytes_waiting"]


def unasked_bytes_waiting(stream: Stream | AsyncStream) -> bool:
    """True if ``stream`` holds, or its socket has, bytes not read yet.

    Never blocks, never consumes. A closed stream has nothing waiting (the
    write that follows reports it closed). After ``AsyncStream.take_transport``
    the stream still answers, about the bytes still in the socket (those
    already received went to the protocol, whose machine refuses them).
    """
    try:
        return stream.unread_bytes_waiting()
    except StreamClosedError:
        return False
