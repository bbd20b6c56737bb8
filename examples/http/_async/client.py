"""The client people call: ``request``, ``get``, ``post``, ..., ``stream``.

Written once, as asyncio code; ``ambidex generate`` writes the blocking
twin, ``Client`` (``examples/http/_sync/client.py``).

A request goes through three steps: pick the pool of its origin (one per
``(scheme, host, port)``), take a connection from it, and send. A request
that fails on a kept-alive connection before any byte of the response came
back is sent once more on a fresh connection when that is safe: the server
most likely closed the idle connection, and an idempotent request with a
body we still have may be repeated (RFC 9112, 9.3.1).
"""

from __future__ import annotations

import ssl as _ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

from .._models import (
    URL,
    Content,
    Headers,
    HeaderTypes,
    Origin,
    ParamTypes,
    Request,
    Timeout,
    build_request,
    redirect_request,
)
from ..errors import NetworkError, RemoteProtocolError, TooManyRedirects
from .connection import DEFAULT_MAX_HEADER_SIZE, request_event
from .pool import AsyncConnectionPool
from .response import AsyncResponse

__all__ = ["AsyncClient"]

IS_ASYNC = True

_USE_CLIENT_DEFAULT: Any = object()

#: Methods that get no ``Content-Length`` when they have no body (build_request).
_BODILESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS", "TRACE"})

DEFAULT_HEADERS = {
    "accept": "*/*",
    "accept-encoding": "gzip, deflate",
    "user-agent": "ambidex-http/0.1",
}


class AsyncClient:
    """An HTTP/1.1 client with a keep-alive pool per origin.

    ``base_url`` is joined with relative URLs; ``headers`` are sent with
    every request (a request's own headers win); ``timeout`` is a
    :class:`~examples.http.Timeout` or seconds for every phase (default 5);
    ``verify`` is ``True`` (the system's CAs, hostname checked), an
    ``ssl.SSLContext`` of your own, or ``False`` (no check at all: tests
    only). ``max_connections`` bounds each origin's pool;
    ``keepalive_expiry`` closes connections idle for longer.
    ``follow_redirects`` (off by default) follows up to ``max_redirects``.
    ``max_header_size`` bounds a response's head; ``max_body_size`` (off by
    default) a body.
    """

    def __init__(self, *, base_url: str | None = None, headers: HeaderTypes | None = None,
                 timeout: Timeout | float | None = 5.0,
                 verify: bool | _ssl.SSLContext = True,
                 max_connections: int = 10, keepalive_expiry: float | None = 5.0,
                 follow_redirects: bool = False, max_redirects: int = 20,
                 max_header_size: int = DEFAULT_MAX_HEADER_SIZE,
                 max_body_size: int | None = None) -> None:
        self.base_url = URL(base_url) if base_url else None
        self.headers = Headers(DEFAULT_HEADERS)
        for name, value in Headers(headers).multi_items():
            self.headers[name] = value
        self.timeout = Timeout.of(timeout)
        self.follow_redirects = follow_redirects
        self.max_redirects = max_redirects
        self.max_connections = max_connections
        self.keepalive_expiry = keepalive_expiry
        self.max_header_size = max_header_size
        self.max_body_size = max_body_size
        self._verify = verify
        self._ssl_context: _ssl.SSLContext | None = None
        self._pools: dict[Origin, AsyncConnectionPool] = {}
        self._urls: dict[str, URL] = {}  # parsed once: most clients ask few URLs often
        # (method, url) -> (URL, h11 event, the headers list it was built from)
        self._bodiless: dict[tuple[str, str | URL], tuple[URL, Any, list[tuple[str, str]]]] = {}
        self._closed = False

    # --- the verbs ---------------------------------------------------------------------

    async def request(self, method: str, url: str | URL, *, params: ParamTypes | None = None,
                      headers: HeaderTypes | None = None, content: Content | None = None,
                      json: Any = None, timeout: Timeout | float | None = _USE_CLIENT_DEFAULT,
                      follow_redirects: bool | None = None) -> AsyncResponse:
        """Send a request and read the whole response body."""
        # (Calls by position from here on: in CPython a call by keywords
        # costs about twice as much, and this is every request's path.)
        request = self._build(method, url, params, headers, content, json)
        # send(), spelled out
        limits = self.timeout if timeout is _USE_CLIENT_DEFAULT else Timeout.of(timeout)
        response = await self._send_once(request, limits, True)
        if (self.follow_redirects if follow_redirects is None else follow_redirects) and (
                response.is_redirect):
            response = await self._follow(request, response, limits)
        if response._content is None:  # (most small bodies came whole with the head)
            await response.aread()
        return response

    async def get(self, url: str | URL, **kwargs: Any) -> AsyncResponse:
        return await self.request("GET", url, **kwargs)

    async def head(self, url: str | URL, **kwargs: Any) -> AsyncResponse:
        return await self.request("HEAD", url, **kwargs)

    async def options(self, url: str | URL, **kwargs: Any) -> AsyncResponse:
        return await self.request("OPTIONS", url, **kwargs)

    async def post(self, url: str | URL, **kwargs: Any) -> AsyncResponse:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str | URL, **kwargs: Any) -> AsyncResponse:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str | URL, **kwargs: Any) -> AsyncResponse:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str | URL, **kwargs: Any) -> AsyncResponse:
        return await self.request("DELETE", url, **kwargs)

    @asynccontextmanager
    async def stream(self, method: str, url: str | URL, *, params: ParamTypes | None = None,
                     headers: HeaderTypes | None = None, content: Content | None = None,
                     json: Any = None, timeout: Timeout | float | None = _USE_CLIENT_DEFAULT,
                     follow_redirects: bool | None = None) -> AsyncIterator[AsyncResponse]:
        """Send a request; the body is read by the caller, as it arrives.

        Leaving the block closes the response: a body read to its end gives
        the connection back to the pool, a body left half read closes it.
        """
        request = self.build_request(method, url, params=params, headers=headers,
                                     content=content, json=json)
        response = await self.send(request, timeout=timeout, follow_redirects=follow_redirects)
        try:
            yield response
        finally:
            await response.aclose()

    def build_request(self, method: str, url: str | URL, *, params: ParamTypes | None = None,
                      headers: HeaderTypes | None = None, content: Content | None = None,
                      json: Any = None) -> Request:
        """The request the arguments describe, with the client's defaults."""
        request = self._build(method, url, params, headers, content, json)
        # The caller may change its method or URL before sending it: the
        # h11 event is built then, from what is sent.
        request._event = None
        return request

    def _build(self, method: str, url: str | URL, params: ParamTypes | None,
               headers: HeaderTypes | None, content: Content | None, json: Any) -> Request:
        if isinstance(url, str) and self.base_url is not None and "://" not in url:
            base = self.base_url.raw
            url = base.rstrip("/") + "/" + url.lstrip("/")
        if (params is None and headers is None and content is None and json is None
                and method in _BODILESS):
            # Most requests: the client's headers, no body, nothing to merge or
            # encode (what build_request would make of them, made directly).
            # The request shares the client's headers (it copies them if they
            # are asked for) and carries h11's event, built once per method
            # and URL while the client's headers stay the same list (they are
            # never changed in place; the entry holds that list, so its
            # identity cannot be reused by another).
            own = self.headers
            sent = own._items
            known = self._bodiless.get((method, url))
            if known is None or known[2] is not sent:
                if len(self._bodiless) >= 1024:
                    self._bodiless.clear()
                parsed = self._parse(url)
                known = self._bodiless[(method, url)] = (
                    parsed, request_event(Request(method, parsed, own, b"")), sent)
            return Request(method, known[0], own, b"", known[1], True)
        merged = Headers(self.headers)
        if headers:
            items = headers.multi_items() if isinstance(headers, Headers) else (
                headers.items() if isinstance(headers, Mapping) else headers)
            for name, value in items:
                merged[name] = value
        return build_request(method, self._parse(url), params=params, headers=merged,
                             content=content, json=json)

    def _parse(self, url: str | URL) -> URL:
        if isinstance(url, URL):
            return url
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= 1024:
                self._urls.clear()
            parsed = self._urls[url] = URL(url)
        return parsed

    # --- sending -------------------------------------------------------------------------

    async def send(self, request: Request, *, timeout: Timeout | float | None = _USE_CLIENT_DEFAULT,
                   follow_redirects: bool | None = None) -> AsyncResponse:
        """Send ``request``; return the response with its body still to read."""
        limits = self.timeout if timeout is _USE_CLIENT_DEFAULT else Timeout.of(timeout)
        response = await self._send_once(request, limits)
        if response.is_redirect and (
                self.follow_redirects if follow_redirects is None else follow_redirects):
            response = await self._follow(request, response, limits)
        return response

    async def _follow(self, request: Request, response: AsyncResponse,
                      timeout: Timeout) -> AsyncResponse:
        """Follow ``response``'s redirects, up to ``max_redirects``; the last
        response, with the ones before it as its ``history``."""
        history: list[AsyncResponse] = []
        while response.is_redirect:
            try:
                if len(history) >= self.max_redirects:
                    raise TooManyRedirects(f"more than {self.max_redirects} redirects "
                                           f"(the last to {response.headers['location']})")
                await response.aread()
                request = redirect_request(request, response)
            except BaseException:
                await response.aclose()
                raise
            history.append(response)
            response = await self._send_once(request, timeout)
        response.history = list(history)
        return response

    async def _send_once(self, request: Request, timeout: Timeout,
                         whole: bool = False) -> AsyncResponse:
        """One request on one connection (retried once on a fresh one when
        the kept-alive one turned out closed). ``whole``: the caller will read
        the whole body, so the pieces of it that came with the head are
        taken at once (``AsyncConnection.exchange``), and a body that came
        whole frees the connection before this returns."""
        pool = self._pool_for(request.url.origin)
        retried = False
        while True:
            if IS_ASYNC:
                conn = pool.take_idle() or await pool.acquire(timeout)
            else:
                conn = await pool.acquire(timeout)
            try:
                if whole:
                    head, pieces, complete = await conn.exchange(request, timeout)
                else:
                    await conn.send_request(request, timeout)
                    head = await conn.receive_head(timeout)
            except (NetworkError, RemoteProtocolError):
                stale = conn.maybe_stale
                await pool.discard(conn)
                if stale and not retried and request.idempotent and request.replayable:
                    retried = True
                    continue
                raise
            except BaseException:
                await pool.discard(conn)
                raise
            response = AsyncResponse(
                head.status_code, Headers.from_raw(head.headers), request,
                head.reason, head.http_version, conn, pool, timeout, self.max_body_size)
            if whole and response._take_body(pieces, complete):
                # The whole body came: the connection goes back now (aclose,
                # spelled out).
                response._connection = None
                if IS_ASYNC:
                    if pool.put_back(conn):  # kept, and nobody to wake: no await
                        return response
                await pool.release(conn)
            return response

    def _pool_for(self, origin: Origin) -> AsyncConnectionPool:
        pool = self._pools.get(origin)
        if pool is None:
            if self._closed:
                raise RuntimeError("the client is closed")
            pool = AsyncConnectionPool(
                origin, max_connections=self.max_connections,
                keepalive_expiry=self.keepalive_expiry,
                ssl_context=self._tls() if origin[0] == "https" else None,
                max_header_size=self.max_header_size)
            self._pools[origin] = pool
        return pool

    def _tls(self) -> _ssl.SSLContext:
        if self._ssl_context is None:
            verify = self._verify
            if isinstance(verify, _ssl.SSLContext):
                self._ssl_context = verify
            elif verify:
                self._ssl_context = _ssl.create_default_context()
            else:
                context = _ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = _ssl.CERT_NONE
                self._ssl_context = context
        return self._ssl_context

    # --- lifetime --------------------------------------------------------------------------

    @property
    def pools(self) -> dict[Origin, AsyncConnectionPool]:
        """The pool of each origin talked to so far."""
        return dict(self._pools)

    async def aclose(self) -> None:
        """Close every idle connection; connections in use close when released."""
        self._closed = True
        pools = list(self._pools.values())
        self._pools.clear()
        for pool in pools:
            await pool.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()
