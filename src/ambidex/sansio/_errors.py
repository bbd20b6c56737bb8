"""Protocol errors that say which side broke the rules.

The distinction matters to whoever handles the error:

* :class:`RemoteProtocolError` -- the peer sent bytes the protocol forbids. The
  connection cannot be trusted any more (we no longer know where the next frame
  starts), so it should be closed; a server may first send an error reply.
* :class:`LocalProtocolError` -- our own code misused the API (sent a reply with
  no request to answer, used a machine after it broke). A bug to fix here, not
  something a peer can cause.
* :class:`LimitExceeded` -- a :class:`RemoteProtocolError` raised when the peer
  asks us to hold more than a configured limit (a line longer than ``max_line``,
  a declared payload over ``max_payload``, a buffer over ``max_buffer``). It is
  raised as soon as the size is known -- usually from a header, before the
  payload arrives -- so a hostile peer cannot make us buffer the excess first.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base class of every error the sans-IO layer raises about the byte stream."""


class LocalProtocolError(ProtocolError):
    """Our side misused the API: a bug in the caller, not in the peer."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol does not allow."""


class LimitExceeded(RemoteProtocolError):
    """The peer sent, or announced, more than a configured limit allows.

    ``limit_name`` names the setting (``"max_line"``, ``"max_payload"``,
    ``"max_buffer"``...), ``size`` is the size seen or announced, ``limit`` the
    configured bound. ``size`` can be a lower bound: for a line that has no end
    yet it is the number of bytes already received.
    """

    def __init__(self, limit_name: str, size: int, limit: int, what: str = "") -> None:
        self.limit_name = limit_name
        self.size = size
        self.limit = limit
        self.what = what
        subject = what or limit_name
        super().__init__(f"{subject}: {size} bytes is over {limit_name}={limit}")

    def __reduce__(self) -> tuple[type[LimitExceeded], tuple[str, int, int, str]]:
        # Exceptions pickle through ``args``; ours has richer constructor arguments.
        return (type(self), (self.limit_name, self.size, self.limit, self.what))
