"""Upgrading an asyncio stream to TLS in place: one copy for every twin.

:class:`~ambidex.io.AsyncStream` (``start_tls``) and
:class:`~ambidex.io.AsyncSocket` (``start_tls``, and the module-level
:func:`~ambidex.io.wrap_socket` that stands in for
``ssl_context.wrap_socket(sock)``) both swap the transport under a
``StreamWriter`` the same way, so the way lives here.
"""

from __future__ import annotations

import asyncio
import socket
import ssl as _ssl
import sys
from typing import Any, cast


async def upgrade_writer(
    writer: asyncio.StreamWriter, ssl_context: _ssl.SSLContext, server_hostname: str | None
) -> None:
    """Run the TLS handshake over ``writer``'s connection; reader and writer
    keep working, now encrypted. A stream from ``asyncio.start_server``
    upgrades as the server side."""
    if sys.version_info >= (3, 11):
        await writer.start_tls(ssl_context, server_hostname=server_hostname)
        return
    # Python 3.10 has no StreamWriter.start_tls. Do what 3.11's does: swap the
    # transport under the writer and the protocol (private attributes, hence Any).
    await writer.drain()
    transport = writer.transport
    protocol = transport.get_protocol()
    server_side = getattr(protocol, "_client_connected_cb", None) is not None
    loop = asyncio.get_running_loop()
    new_transport = await loop.start_tls(
        transport, protocol, ssl_context, server_side=server_side,
        server_hostname=None if server_side else server_hostname,
    )
    cast(Any, writer)._transport = new_transport
    cast(Any, protocol)._transport = new_transport
    cast(Any, protocol)._over_ssl = True


def speaks_tls(connection: object) -> bool:
    """Whether ``connection`` speaks TLS now: the question sync code asks with
    ``isinstance(sock, ssl.SSLSocket)``, asked the same way in both colours.

    It answers for a blocking ``socket.socket`` (True for an ``ssl.SSLSocket``
    whose handshake is done, until its ``unwrap()``) and an
    :class:`~ambidex.io.Stream`, and for their asyncio twins, an
    :class:`~ambidex.io.AsyncSocket` and an :class:`~ambidex.io.AsyncStream`:
    True between ``start_tls`` (``wrap_socket``) and ``unwrap``, False before,
    after and on a plain connection. An ``AsyncSocket`` starts TLS in place and
    is never an ``ssl.SSLSocket``, so ``ambidex port --to async`` writes
    ``speaks_tls(sock)`` where the sync code tested the type (ftplib's
    ``FTP_TLS``). Never waits. Anything else is a ``TypeError``: a guess would
    be a silent False.

    One place where the two questions differ: ``SSLSocket.unwrap()`` returns
    the same object in clear text, still an ``ssl.SSLSocket``. After ftplib's
    ``ccc()`` the sync ``auth()`` therefore raises "Already using TLS" over a
    clear connection; the port, asking ``speaks_tls``, secures it again.
    """
    from ambidex.io._async import AsyncStream
    from ambidex.io._socket import AsyncSocket
    from ambidex.io._sync import Stream

    if isinstance(connection, _ssl.SSLSocket):
        # Until unwrap(): the SSLSocket it returns is the same object, in clear text.
        return connection.version() is not None
    if isinstance(connection, socket.socket):
        return False
    if isinstance(connection, AsyncSocket):
        return connection._tls is not None
    if isinstance(connection, (Stream, AsyncStream)):
        return connection._speaks_tls()
    raise TypeError(
        f"speaks_tls: {type(connection).__name__} is not a socket or an ambidex.io stream"
    )
