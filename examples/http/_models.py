"""The colourless part of the client: URLs, headers, timeouts, requests, and
what a response *is* once its body has been read.

Nothing here does I/O, so both colours share it as it is. The drivers
(``_async/``, ``_sync/``) add only what waits: sending, receiving, iterating
over a body as it arrives.
"""

from __future__ import annotations

import json as _json
from collections.abc import AsyncIterable, Iterable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from .errors import HTTPStatusError, LocalProtocolError, ResponseNotRead

__all__ = [
    "URL",
    "BaseResponse",
    "Headers",
    "Origin",
    "Request",
    "Timeout",
]

Origin = tuple[str, str, int]
"""``(scheme, host, port)``: what a connection is to, and what a pool is for."""

_DEFAULT_PORTS = {"http": 80, "https": 443}

#: The lower-cased name of a raw header ``(name as sent, lower-cased, value)``.
_LOWER_NAME = itemgetter(1)
#: Names asked of Headers.get, lower-cased and encoded once each (a few distinct ones).
_RAW_NAMES: dict[str, bytes] = {}

#: Methods that may be sent twice with the same effect (RFC 9110, 9.2.2): a
#: request with one of these is retried once on a fresh connection when a
#: kept-alive connection turns out to have been closed by the server.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})

Content = bytes | str | Iterable[bytes] | AsyncIterable[bytes]
ParamTypes = Mapping[str, Any] | Sequence[tuple[str, Any]]


class URL:
    """An absolute ``http`` or ``https`` URL, split once.

    ``target`` is what goes on the request line (path and query), ``origin``
    is ``(scheme, host, port)`` with the default port filled in, and
    ``host_header`` is the ``Host`` value (the port only when it is not the
    default).
    """

    __slots__ = ("host", "host_header", "origin", "port", "raw", "scheme", "target")

    def __init__(self, url: str | URL) -> None:
        if isinstance(url, URL):
            url = url.raw
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise ValueError(f"{url!r}: only http:// and https:// URLs, "
                             f"not {scheme or 'no'} scheme")
        host = parts.hostname
        if not host:
            raise ValueError(f"{url!r}: no host")
        port = parts.port or _DEFAULT_PORTS[scheme]
        self.raw: str = url
        self.scheme = scheme
        self.host = host
        self.port = port
        self.origin: Origin = (scheme, host, port)
        shown = f"[{host}]" if ":" in host else host
        self.host_header = shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        self.target = target

    def join(self, url: str) -> URL:
        """``url`` resolved against this one (a redirect's ``Location``, a relative path)."""
        return URL(urljoin(self.raw, url))

    def with_params(self, params: ParamTypes | None) -> URL:
        if not params:
            return self
        items = params.items() if isinstance(params, Mapping) else params
        query = urlencode([(k, v) for k, v in items], doseq=True)
        base, _, fragment = self.raw.partition("#")
        joined = base + ("&" if "?" in base else "?") + query
        return URL(joined + ("#" + fragment if fragment else ""))

    def __str__(self) -> str:
        return self.raw

    def __repr__(self) -> str:
        return f"URL({self.raw!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (URL, str)) and str(other) == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)


class Headers:
    """Response or request headers: names match whatever their case, and a
    header sent several times keeps every value, in order.

    ``headers["set-cookie"]`` joins repeated values with ``", "`` (what HTTP
    says they mean, for every header but ``Set-Cookie``);
    ``headers.get_list("set-cookie")`` gives them one by one;
    ``headers.multi_items()`` gives every ``(name, value)`` pair as sent
    (names lower-cased).
    """

    __slots__ = ("_list", "_raw")

    def __init__(self, headers: Mapping[str, str] | Sequence[tuple[str, str]] | Headers | None
                 = None) -> None:
        items: list[tuple[str, str]]
        if headers is None:
            items = []
        elif isinstance(headers, Headers):
            items = list(headers._items)
        elif isinstance(headers, Mapping):
            items = [(k.lower(), v) for k, v in headers.items()]
        else:
            items = [(k.lower(), v) for k, v in headers]
        self._list: list[tuple[str, str]] | None = items
        # As h11 keeps them: (name as sent, name lower-cased, value), bytes.
        self._raw: Sequence[tuple[bytes, bytes, bytes]] = []

    @classmethod
    def from_raw(cls, raw: Any) -> Headers:
        """From h11's headers (an event's ``headers``), as sent: names in their
        own case, matched whatever their case, decoded only if the caller
        looks at them all. A list of ``(name, value)`` byte pairs is taken
        too, and a list of the triples below (the fast path's,
        examples/http/_fastpath.py), as it is.

        h11 keeps each header as ``(name as sent, name lower-cased, value)``
        (its ``Headers._full_items``): that list is taken as it is, not
        copied (h11's events are immutable). Its public ``raw_items()``
        builds a new list of pairs in a Python loop, which cost a response as
        much as everything else this class does for it.
        """
        headers = cls.__new__(cls)
        headers._list = None
        full = getattr(raw, "_full_items", None)
        if full is None:
            full = raw if raw and len(raw[0]) == 3 else [(k, k.lower(), v) for k, v in raw]
        headers._raw = full
        return headers

    @property
    def _items(self) -> list[tuple[str, str]]:
        if self._list is None:
            self._list = [(k.decode("latin-1"), v.decode("latin-1")) for _, k, v in self._raw]
        return self._list

    def get(self, name: str, default: str | None = None) -> str | None:
        if self._list is None:  # not decoded yet: look at the raw bytes
            key = _RAW_NAMES.get(name)
            if key is None:
                key = name.lower().encode("latin-1")
                if len(_RAW_NAMES) < 256:
                    _RAW_NAMES[name] = key
            raw = self._raw
            # Asked of every response (Content-Encoding), and most say no:
            # so first the question, in C, whether any header has that name.
            if key not in map(_LOWER_NAME, raw):
                return default
            found = None
            for _, k, v in raw:
                if k == key:
                    found = v if found is None else found + b", " + v
            return default if found is None else found.decode("latin-1")
        values = self.get_list(name)
        return ", ".join(values) if values else default

    def copy(self) -> Headers:
        """A copy to change without changing this one."""
        headers = Headers.__new__(Headers)
        headers._list = list(self._items)
        headers._raw = []
        return headers

    def get_list(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self._items if k == name]

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def items(self) -> list[tuple[str, str]]:
        """One pair per name, repeated values joined (first-seen order)."""
        return [(name, ", ".join(self.get_list(name))) for name in self.keys()]

    def keys(self) -> list[str]:
        return list(dict.fromkeys(k for k, _ in self._items))

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: str) -> None:
        """Replace every value of ``name`` with ``value``."""
        name = name.lower()
        items = [(k, v) for k, v in self._items if k != name]
        items.append((name, value))
        self._list = items

    def __delitem__(self, name: str) -> None:
        name = name.lower()
        if name not in self:
            raise KeyError(name)
        self._list = [(k, v) for k, v in self._items if k != name]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        name = name.lower()
        return any(k == name for k, _ in self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return sorted(self._items) == sorted(other._items)
        if isinstance(other, Mapping):
            return dict(self.items()) == {k.lower(): v for k, v in other.items()}
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


HeaderTypes = Mapping[str, str] | Sequence[tuple[str, str]] | Headers

_UNSET: Any = object()


class Timeout:
    """Seconds each phase may take; ``None`` waits forever.

    * ``connect``: TCP connect and TLS handshake, together;
    * ``read``: each wait for the server to send something (the head, each
      piece of the body) -- a slow but steady download does not time out;
    * ``write``: each wait for the server to take what we send;
    * ``pool``: the wait for a connection of the pool to come free.

    ``Timeout(5)`` sets all four; ``Timeout(5, read=30)`` all but ``read``.
    """

    __slots__ = ("connect", "pool", "read", "write")

    def __init__(self, timeout: float | None = 5.0, *, connect: float | None = _UNSET,
                 read: float | None = _UNSET, write: float | None = _UNSET,
                 pool: float | None = _UNSET) -> None:
        self.connect = timeout if connect is _UNSET else connect
        self.read = timeout if read is _UNSET else read
        self.write = timeout if write is _UNSET else write
        self.pool = timeout if pool is _UNSET else pool

    @classmethod
    def of(cls, value: Timeout | float | None) -> Timeout:
        return value if isinstance(value, Timeout) else cls(value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timeout) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Timeout(connect={self.connect}, read={self.read}, "
                f"write={self.write}, pool={self.pool})")


class Request:
    """What will be sent: method, URL, headers as h11 wants them, and a body.

    ``body`` is ``bytes`` (sent with ``Content-Length``), or an iterable of
    bytes (sync or async; sent with ``Transfer-Encoding: chunked``, one chunk
    per item). Only a ``bytes`` body can be sent twice, so only such a
    request is retried or re-sent to a ``307``/``308`` redirect.

    A request the client builds from its own defaults alone (no headers,
    params or body of the caller's: most requests) shares the client's
    :class:`Headers` instead of copying them, and carries the h11
    ``Request`` event already built for the same method, URL and headers
    (``event``). The first read of :attr:`headers` makes the request its own
    copy and drops the event (the caller may change the copy: the event is
    then built from what is sent), so sharing is never seen from outside.
    """

    __slots__ = ("_event", "_headers", "_shared", "body", "method", "url")

    def __init__(self, method: str, url: URL, headers: Headers,
                 body: bytes | Iterable[bytes] | AsyncIterable[bytes],
                 event: Any = None, shared: bool = False) -> None:
        self.method = method
        self.url = url
        self._headers = headers
        self.body = body
        # The h11 event for exactly this request, or None (built when sent).
        self._event = event
        # ``_headers`` belongs to someone else (the client): copy before handing out.
        self._shared = shared

    @property
    def headers(self) -> Headers:
        if self._shared:
            self._headers = self._headers.copy()
            self._shared = False
        self._event = None  # the caller may change them from here on
        return self._headers

    @headers.setter
    def headers(self, headers: Headers) -> None:
        self._headers = headers
        self._shared = False
        self._event = None

    @property
    def replayable(self) -> bool:
        return isinstance(self.body, bytes)

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT_METHODS

    def h11_headers(self) -> list[tuple[str, str]]:
        return [("host", self.url.host_header), *self._headers.multi_items()]

    def key(self) -> tuple[Any, ...]:
        """Everything h11's ``Request`` event is built from (method, target,
        ``Host``, the other headers in order): equal keys, equal events."""
        url = self.url
        return (self.method, url.target, url.host_header, *self._headers._items)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url.raw}>"


def build_request(method: str, url: URL, *, params: ParamTypes | None,
                  headers: Headers, content: Content | None, json: Any) -> Request:
    """Put the caller's arguments together into a :class:`Request`.

    ``json=`` is encoded compactly as UTF-8 with ``Content-Type:
    application/json``; ``content=`` bytes or str (UTF-8) get a
    ``Content-Length``; an iterable gets ``Transfer-Encoding: chunked``.
    """
    method = method.upper()
    url = url.with_params(params)
    body: bytes | Iterable[bytes] | AsyncIterable[bytes]
    if json is not None:
        if content is not None:
            raise LocalProtocolError("give content= or json=, not both")
        body = _json.dumps(json, separators=(",", ":"), ensure_ascii=False).encode()
        if "content-type" not in headers:
            headers["content-type"] = "application/json"
    elif content is None:
        body = b""
    elif isinstance(content, str):
        body = content.encode()
    elif isinstance(content, (bytes, bytearray, memoryview)):
        body = bytes(content)
    else:
        body = content
    if isinstance(body, bytes):
        if body or method in ("POST", "PUT", "PATCH"):
            headers["content-length"] = str(len(body))
    elif "content-length" not in headers:
        headers["transfer-encoding"] = "chunked"
    return Request(method, url, headers, body)


class BaseResponse:
    """A response's status line and headers, and its body once it is read.

    The drivers subclass this with the methods that wait (``read`` /
    ``aread``, ``iter_bytes`` / ``aiter_bytes``, ``close`` / ``aclose``).
    """

    __slots__ = ("_content", "_http_version", "_reason_phrase", "headers", "history",
                 "request", "status_code")

    def __init__(self, status_code: int, headers: Headers, request: Request,
                 reason_phrase: str | bytes = "", http_version: str | bytes = "HTTP/1.1") -> None:
        self.status_code = status_code
        self.headers = headers
        self.request = request
        # As h11 hands them out (bytes: the reason, and the version without
        # "HTTP/"), decoded when first asked for: most callers never ask.
        self._reason_phrase = reason_phrase
        self._http_version = http_version
        self.history: list[BaseResponse] = []
        self._content: bytes | None = None

    @property
    def reason_phrase(self) -> str:
        """The status line's reason (``"OK"``), as the server wrote it."""
        reason = self._reason_phrase
        if isinstance(reason, bytes):
            reason = self._reason_phrase = reason.decode("latin-1")
        return reason

    @property
    def http_version(self) -> str:
        """``"HTTP/1.1"`` (or ``"HTTP/1.0"``)."""
        version = self._http_version
        if isinstance(version, bytes):
            version = self._http_version = "HTTP/" + version.decode("ascii")
        return version

    @property
    def url(self) -> URL:
        return self.request.url

    @property
    def content(self) -> bytes:
        """The whole (decoded) body. A streamed response must be read first."""
        if self._content is None:
            raise ResponseNotRead(
                "the body of a streamed response was not read: call read() / aread() first")
        return self._content

    @property
    def encoding(self) -> str:
        """The ``charset`` of ``Content-Type``, else UTF-8."""
        content_type = self.headers.get("content-type") or ""
        for part in content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                return value.strip("\"'")
        return "utf-8"

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding, errors="replace")

    def json(self, **kwargs: Any) -> Any:
        return _json.loads(self.content, **kwargs)

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def is_redirect(self) -> bool:
        return self.status_code in (301, 302, 303, 307, 308) and "location" in self.headers

    def raise_for_status(self) -> BaseResponse:
        """Raise :class:`~examples.http.errors.HTTPStatusError` for a 4xx or
        5xx status; return the response otherwise (so calls chain)."""
        if 400 <= self.status_code < 600:
            kind = "client error" if self.status_code < 500 else "server error"
            raise HTTPStatusError(
                f"{kind} '{self.status_code} {self.reason_phrase}' for url '{self.url}'",
                response=self)
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code} {self.reason_phrase}]>"


def redirect_request(request: Request, response: BaseResponse) -> Request:
    """The request a redirect asks for (RFC 9110, 15.4).

    ``303`` (and ``301``/``302`` after anything but ``GET``/``HEAD``, as
    browsers do) becomes a ``GET`` without a body; ``307``/``308`` repeat the
    method and the body, which therefore must be bytes. ``Authorization`` is
    dropped when the redirect leaves the origin.
    """
    url = request.url.join(response.headers["location"])
    method = request.method
    headers = Headers(request.headers)
    body = request.body
    if response.status_code == 303 or (
            response.status_code in (301, 302) and method not in ("GET", "HEAD")):
        method = "GET" if method != "HEAD" else "HEAD"
        body = b""
        for name in ("content-length", "transfer-encoding", "content-type"):
            if name in headers:
                del headers[name]
    elif not isinstance(body, bytes):
        raise LocalProtocolError(
            f"a {response.status_code} redirect asks to send the body again, "
            "and a streamed (iterator) body cannot be sent twice")
    if url.origin != request.url.origin and "authorization" in headers:
        del headers["authorization"]
    return Request(method, url, headers, body)
