"""lines: chapter 0 of the porting guide, the smallest complete example.

* :mod:`examples.lines.protocol` -- the wire format as a sans-IO machine.
* :mod:`examples.lines._async.client` -- ``AsyncClient``, the driver, written once.
* :mod:`examples.lines._sync.client` -- ``Client``, its generated blocking twin.
* :mod:`examples.lines.server` -- a tiny threaded server to talk to.

See README.md in this folder for the chapter itself.
"""

from examples.lines._async.client import AsyncClient
from examples.lines._sync.client import Client
from examples.lines.protocol import (
    ClientConnection,
    ConnectionBrokenError,
    LinesError,
    ServerError,
)
from examples.lines.server import ServerThread

__all__ = [
    "AsyncClient",
    "Client",
    "ClientConnection",
    "ConnectionBrokenError",
    "LinesError",
    "ServerError",
    "ServerThread",
]
