"""What can go wrong talking to Redis, as exception types a caller can catch.

There are four ways a command can fail, and they ask for different handling:

* :class:`ResponseError` -- the server understood the command and refused it
  (``WRONGTYPE``, ``ERR syntax error``, ``NOAUTH``...). The connection is fine;
  the next command on it works. The parser produces these as *values* (an
  error can be one element of a pipeline's or a transaction's reply), and the
  client raises them.
* :class:`RedisConnectionError` -- the connection broke (refused, reset, closed
  mid-reply). Every command that was waiting on that connection fails with it;
  the pool throws the connection away and the next command opens a new one.
* ``TimeoutError`` (the builtin) -- a deadline passed. Whether the connection
  survives depends on the colour: the async client pairs replies to callers
  through a FIFO, so a caller that gives up leaves the connection in step;
  the blocking client cannot know how much of the reply is still on the wire,
  so it closes the connection.
* :class:`ambidex.sansio.RemoteProtocolError` -- the server (or whatever is
  on the other end) sent bytes that are not RESP, or announced a size over a
  limit. The connection is closed: nobody can tell where the next reply starts.
"""

from __future__ import annotations

from ambidex.sansio import RemoteProtocolError

__all__ = [
    "PoolTimeout",
    "RedisConnectionError",
    "RedisError",
    "RemoteProtocolError",
    "ResponseError",
]


class RedisError(Exception):
    """Base class of the errors this client raises itself."""


class ResponseError(RedisError):
    """The server answered with an error reply.

    ``message`` is the server's text, unchanged (``"WRONGTYPE Operation against
    a key holding the wrong kind of value"``); ``code`` is its first word when
    that word is in capitals, which is how Redis spells error classes
    (``"WRONGTYPE"``, ``"ERR"``, ``"NOSCRIPT"``), else ``"ERR"``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        word = self.message.split(" ", 1)[0]
        return word if word and word.isupper() else "ERR"

    def __eq__(self, other: object) -> bool:
        # Two error replies are the same reply when they say the same thing;
        # tests and differential checks compare parsed replies by value.
        if type(other) is type(self):
            assert isinstance(other, ResponseError)
            return other.message == self.message
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self), self.message))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class RedisConnectionError(RedisError, ConnectionError):
    """The connection failed or was lost; commands pending on it did not complete.

    It is also a builtin :class:`ConnectionError`, so ``except ConnectionError``
    catches it alongside the socket's own errors.
    """


class PoolTimeout(RedisError, TimeoutError):
    """Every connection of the pool stayed busy for the whole ``pool_timeout``.

    It is also a builtin :class:`TimeoutError`.
    """
