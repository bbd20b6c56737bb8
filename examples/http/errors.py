"""What can go wrong in an HTTP exchange, as exception types a caller can catch.

The same classes are raised by both colours, so one ``except`` clause fits the
blocking client and the asyncio one. The tree says *who* broke the exchange:

* :class:`TransportError` -- the network: :class:`ConnectError` (refused,
  unreachable, TLS verification failed), :class:`ReadError` and
  :class:`WriteError` (reset, closed under us);
* :class:`TimeoutException` -- a phase took longer than its timeout:
  :class:`ConnectTimeout`, :class:`ReadTimeout`, :class:`WriteTimeout`,
  :class:`PoolTimeout` (no connection of the pool came free in time). Each is
  also the builtin :class:`TimeoutError`, so code that catches that keeps
  working;
* :class:`RemoteProtocolError` -- the **server** broke HTTP/1.1: a garbage
  status line, a body shorter than its ``Content-Length``, a chunk cut in
  half, headers over the limit (:class:`ResponseTooLarge` for a body over
  the caller's limit). h11 detects these (``h11.RemoteProtocolError``); we
  re-raise them as this type, with h11's message;
* :class:`LocalProtocolError` -- **we** (or the caller) asked for something
  HTTP does not allow: a header value with a newline in it, a body longer
  than the ``Content-Length`` we announced;
* :class:`HTTPStatusError` -- the exchange worked and the server said no
  (4xx, 5xx): raised only by :meth:`~examples.http._models.BaseResponse.raise_for_status`;
* :class:`TooManyRedirects` -- ``follow_redirects=True`` and the chain was
  longer than ``max_redirects``.

After any error but :class:`HTTPStatusError` the connection it happened on is
closed, never put back in the pool: nobody knows where the next response on
it would start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._models import BaseResponse

__all__ = [
    "ConnectError",
    "ConnectTimeout",
    "HTTPError",
    "HTTPStatusError",
    "LocalProtocolError",
    "NetworkError",
    "PoolTimeout",
    "ProtocolError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "ResponseNotRead",
    "ResponseTooLarge",
    "StreamConsumed",
    "TimeoutException",
    "TooManyRedirects",
    "TransportError",
    "WriteError",
    "WriteTimeout",
]


class HTTPError(Exception):
    """Base class of every error this client raises."""


class TransportError(HTTPError):
    """The exchange failed below HTTP: the network, a timeout, or a peer that
    does not speak HTTP/1.1."""


class TimeoutException(TransportError, TimeoutError):
    """A phase of the exchange took longer than its timeout."""


class ConnectTimeout(TimeoutException):
    """Opening the connection (TCP, then TLS) took longer than ``timeout.connect``."""


class ReadTimeout(TimeoutException):
    """The server sent nothing for ``timeout.read`` seconds while we waited for it."""


class WriteTimeout(TimeoutException):
    """The server took nothing for ``timeout.write`` seconds while we sent."""


class PoolTimeout(TimeoutException):
    """No connection of the pool came free within ``timeout.pool`` seconds."""


class NetworkError(TransportError):
    """The connection failed: refused, reset, closed under us."""


class ConnectError(NetworkError):
    """The connection could not be opened (refused, unreachable, TLS refused)."""


class ReadError(NetworkError):
    """Receiving failed (connection reset, or closed when a response was due)."""


class WriteError(NetworkError):
    """Sending failed (connection reset, broken pipe)."""


class ProtocolError(TransportError):
    """Somebody broke HTTP/1.1; the subclass says who."""


class RemoteProtocolError(ProtocolError):
    """The server broke HTTP/1.1 (h11's ``RemoteProtocolError``, re-raised as ours)."""


class ResponseTooLarge(RemoteProtocolError):
    """The response body went past the ``max_body_size`` the caller gave."""


class LocalProtocolError(ProtocolError):
    """We (or the caller's arguments) would break HTTP/1.1 (h11's ``LocalProtocolError``)."""


class TooManyRedirects(HTTPError):
    """More than ``max_redirects`` redirects in a row."""


class ResponseNotRead(HTTPError):
    """``content`` of a streamed response whose body was not read (call ``read()``)."""


class StreamConsumed(HTTPError):
    """The body of a streamed response was already iterated once."""


class HTTPStatusError(HTTPError):
    """``raise_for_status()`` on a 4xx or 5xx response; ``response`` is that response."""

    def __init__(self, message: str, *, response: BaseResponse) -> None:
        super().__init__(message)
        self.response = response
