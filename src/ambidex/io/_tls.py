"""Upgrading an asyncio stream to TLS in place: one copy for every twin.

:class:`~ambidex.io.AsyncStream` (``start_tls``) and
:class:`~ambidex.io.AsyncSocket` (``start_tls``, and the module-level
:func:`~ambidex.io.wrap_socket` that stands in for
``ssl_context.wrap_socket(sock)``) both swap the transport under a
``StreamWriter`` the same way, so the way lives here.
"""

from __future__ import annotations

import asyncio
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
