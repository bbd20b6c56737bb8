"""The common exchange without h11's machinery: a strict subset, and a way back.

h11 is this chapter's HTTP/1.1 machine and stays its reference. But for the
exchange most requests make -- a bodiless ``GET`` on a kept-alive
connection, answered by ``200 OK`` with a ``Content-Length`` body that
arrives whole -- h11 spends ~85% of a request's instructions: validating
the ``Request`` event again as it sends it, splitting the head into lines,
one regular expression per header line, building a ``Response`` event,
``Data``, ``EndOfMessage``, and the state changes of both sides
(callgrind, per request, in memory: send 80k, the head 221k, the body 63k,
``start_next_cycle`` 11k; the whole client path 455k). aiohttp and httpx's
C-parser cousins parse in C; this module parses the common case in a few
calls into ``re`` instead, and gives up on everything else.

Two pieces, both pure (no I/O, no colour):

* :func:`request_bytes` -- the bytes h11 would write for a bodiless request
  event on a fresh connection (``send(Request)`` + ``send(EndOfMessage())``,
  computed once by h11 itself on a scratch machine), or None when the
  request is not one the fast path may send without telling h11 (a
  ``Connection: close``, an ``Upgrade``, an ``Expect``, ``CONNECT``, a
  declared body: they change what h11 expects of the response).
* :class:`ResponseParser` -- the bytes of one response, as they arrive, to
  a finished response or a **decline**. It accepts only:

  - the status line ``HTTP/1.1 NNN reason`` (``NNN`` 200-999; a 1xx is
    declined), every line ending in CRLF;
  - header lines ``token ":" OWS value OWS`` whose value is visible
    characters (and obs-text) with single spaces or tabs between them --
    what h11 accepts, minus control characters and line folding;
  - exactly one ``Content-Length`` of digits, no ``Transfer-Encoding``, no
    ``close`` in ``Connection`` (so the connection stays open, as h11
    would decide), or no body at all for a ``HEAD`` request and a 204 or
    304 (h11's rule: their body is empty whatever the headers say);
  - the head within ``max_head`` bytes (h11's ``max_incomplete_event_size``)
    and the body within ``max_body`` bytes, and nothing after the body.

  Anything else -- chunked, a body delimited by the close, a 1xx, HTTP/1.0,
  a bare LF, a byte h11 would complain about, stray bytes after the body,
  the end of the connection -- is declined, at the first moment the parser
  can tell. The parser never says "wait for more" where h11 would already
  raise: a first byte that cannot start ``HTTP/1.1 `` is declined at once,
  and so is a buffer past ``max_head`` with no end of head in it (h11's
  ``431``). For what it accepts it yields what h11 yields: the same status,
  reason, ``http_version``, the headers as h11 normalizes them (name as
  sent, name lower-cased, value without its surrounding whitespace), the
  same body, and a connection h11 would call reusable (``DONE``/``DONE``,
  no trailing data). tests/http/test_fastpath.py checks that against h11
  with hypothesis, for every cut of arbitrary and mutated responses.

A decline is not an error: the connection replays the cycle into h11
(``send`` the same request event -- its bytes must equal what was written
--, ``receive_data`` every byte that came), and h11 carries on as if it
had seen the exchange from the start. So every failure a broken server
causes is still h11's, with h11's words.

Why here and not in ``ambidex.sansio``: this is not a general HTTP parser.
It is defined as a subset of h11's grammar and of h11's decisions, and it
is only correct next to the h11 machine it falls back to; the chapter that
uses h11 is where it belongs.
"""

from __future__ import annotations

import re
from typing import Any

import h11

__all__ = ["DECLINE", "FastHead", "ResponseParser", "request_bytes"]

#: What :meth:`ResponseParser.parse` returns when h11 must take over.
DECLINE: Any = type("Decline", (), {"__repr__": lambda self: "DECLINE"})()

# The grammar: h11's (h11/_abnf.py), narrowed. A token as in RFC 9110, then
# h11's "OWS field-value OWS" without control characters: a value is visible
# characters and obs-text with runs of spaces and tabs between them, and the
# whitespace around it is not part of it. Any run of those characters and
# whitespace splits that way, so a line is checked with one character class
# and its value is that run with the spaces and tabs at both ends stripped.
_TOKEN = rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"
_FIELD_LINE = _TOKEN + rb":[\t\x20-\x7e\x80-\xff]*\r\n"
#: A whole head: the status line, the header lines, the blank line.
_HEAD = re.compile(rb"HTTP/1\.1 ([0-9]{3})(?: ([\t\x20-\x7e\x80-\xff]*))?\r\n((?:"
                   + _FIELD_LINE + rb")*)\r\n")
#: Where h11 says a head ends (h11/_receivebuffer.py): the first blank line,
#: bare LF or not. The head the parser reads ends at exactly the same place.
_BLANK_LINE = re.compile(rb"\n\r?\n")
_DIGITS = re.compile(rb"[0-9]{1,18}")
_START = b"HTTP/1.1 "
_NO_BODY_STATUS = frozenset({204, 304})
#: Request headers after which h11 expects something other than a plain
#: response (an upgrade, a 100 Continue, a close).
_REQUEST_DECLINES = frozenset({b"connection", b"upgrade", b"expect", b"transfer-encoding"})


def request_bytes(event: h11.Request) -> bytes | None:
    """What h11 writes for ``event`` and its ``EndOfMessage`` on a fresh
    connection (the request has no body), or None when the fast path must
    not send it behind h11's back.

    The bytes come from h11 itself, on a scratch machine: whatever h11 would
    write, nothing of ours. Declined: ``CONNECT`` (a 2xx switches
    protocols), a ``Connection``, ``Upgrade``, ``Expect`` or
    ``Transfer-Encoding`` header, and anything h11 refuses to send without
    a body (a ``Content-Length`` above zero).
    """
    if event.method == b"CONNECT" or event.http_version != b"1.1":
        return None
    for name, _ in event.headers:  # h11 gives names lower-cased
        if name in _REQUEST_DECLINES:
            return None
    scratch = h11.Connection(h11.CLIENT)
    try:
        data = scratch.send(event)
        end = scratch.send(h11.EndOfMessage())
    except h11.LocalProtocolError:
        return None
    if data is None or end is None:  # pragma: no cover - h11 returns bytes for these
        return None
    return data + end


class FastHead:
    """A response head the fast path read: the attributes the client reads
    from h11's ``Response`` event, with the same values h11 would give.

    ``headers`` is a list of ``(name as sent, name lower-cased, value)``
    triples, bytes, which is h11's own ``Headers._full_items``.
    """

    __slots__ = ("headers", "reason", "status_code")

    http_version = b"1.1"

    def __init__(self, status_code: int, reason: bytes,
                 headers: list[tuple[bytes, bytes, bytes]]) -> None:
        self.status_code = status_code
        self.reason = reason
        self.headers = headers

    def __repr__(self) -> str:
        return f"<FastHead {self.status_code} {self.reason!r} {len(self.headers)} headers>"


class ResponseParser:
    """One response of the fast path, parsed as its bytes arrive.

    Per exchange: :meth:`start` (says whether the request was ``HEAD``),
    then the caller appends what arrives to :attr:`buffer` and calls
    :meth:`parse` after each append. It answers the body (a ``bytearray``,
    possibly empty) once the whole response is there, with :attr:`head`
    set; None while more must come; :data:`DECLINE` when h11 must take
    over, and then :attr:`buffer` holds every byte of the response that
    came (for the replay). The head is read once, when its end has come;
    the search for that end resumes where the last one stopped, so a head
    arriving one byte at a time is not searched again from the start.
    """

    __slots__ = ("_body_at", "_head_request", "_length", "_searched", "buffer", "head",
                 "max_body", "max_head")

    def __init__(self, max_head: int, max_body: int = 65536) -> None:
        self.max_head = max_head
        self.max_body = max_body
        self.buffer = bytearray()
        self.head: FastHead | None = None
        self._head_request = False
        self._searched = 0
        self._body_at = -1  # where the body starts, once the head is read
        self._length = 0

    def start(self, head_request: bool) -> bytearray:
        """A new exchange: forget the last one; the buffer to append to."""
        self._head_request = head_request
        self._searched = 0
        self._body_at = -1
        self.head = None
        buffer = self.buffer = bytearray()
        return buffer

    def release(self) -> None:
        """Forget the bytes received (after a decline, once h11 has its copy:
        a large response's first read is not kept to the end of its body)."""
        self.buffer = bytearray()

    def parse(self) -> Any:
        """The body once the response is complete; None: more must come;
        :data:`DECLINE`: h11 takes over."""
        buffer = self.buffer
        body_at = self._body_at
        if body_at < 0:
            body_at = self._read_head(buffer)
            if body_at < 0:
                return None if body_at == -1 else DECLINE
        end = body_at + self._length
        size = len(buffer)
        if size < end:
            return None
        if size > end:  # bytes after the response: h11 calls them trailing data
            return DECLINE
        return buffer[body_at:]

    def _read_head(self, buffer: bytearray) -> int:
        """Where the body starts; -1 while the head's end has not come; -2:
        decline."""
        size = len(buffer)
        if buffer[:9] != _START[:size]:  # cannot become "HTTP/1.1 " (h11 may raise at once)
            return -2
        blank = _BLANK_LINE.search(buffer, self._searched)
        if blank is None:
            if size > self.max_head:  # h11: "Receive buffer too long" (431)
                return -2
            self._searched = max(0, size - 2)
            return -1
        end = blank.end()
        if end > self.max_head:
            return -2
        match = _HEAD.fullmatch(buffer, 0, end)
        if match is None:
            return -2
        status = int(match[1])
        if status < 200:  # h11: an InformationalResponse
            return -2
        headers = []
        length = None
        # The lines are valid (the match above): split them in C, not with a
        # second regular expression (which cost as much as the first).
        lines = bytes(buffer[match.start(3):match.end(3) - 2]).split(b"\r\n")
        for line in lines if len(lines[0]) else ():
            name, _, value = line.partition(b":")
            value = value.strip(b" \t")
            lower = name.lower()
            if lower == b"content-length":
                if length is not None or _DIGITS.fullmatch(value) is None:
                    return -2  # h11 would merge or refuse: let it
                length = int(value)
            elif lower == b"transfer-encoding":
                return -2
            elif lower == b"connection" and b"close" in value.lower():
                return -2
            headers.append((name, lower, value))
        if self._head_request or status in _NO_BODY_STATUS:
            length = 0
        elif length is None or length > self.max_body:  # delimited by the close, or large
            return -2
        reason = match[2]
        self.head = FastHead(status, b"" if reason is None else reason, headers)
        self._length = length
        self._body_at = end
        return end
