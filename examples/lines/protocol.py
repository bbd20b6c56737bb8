"""The lines protocol as a sans-IO machine: one text line per command, one per reply.

::

    client: PING\\r\\n          server: +PONG\\r\\n
    client: ECHO hello\\r\\n    server: +hello\\r\\n
    client: INCR visits\\r\\n   server: +1\\r\\n
    client: FROB\\r\\n          server: -unknown command 'FROB'\\r\\n

A reply is ``+`` and a text, or ``-`` and an error message; lines end in
``\\r\\n`` and are UTF-8. :class:`ClientConnection` turns a command into bytes
(``send``) and bytes into replies (``receive_data`` then ``next_event``). It
never touches a socket, so the asyncio client and the blocking one share it, and
its tests feed it bytes by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from ambidex.sansio import NEED_DATA, LineFraming, NeedData, ReceiveBuffer, RemoteProtocolError

MAX_LINE = 4096
"""The longest line, ending included, either side sends or accepts."""


class LinesError(Exception):
    """Base of the errors the lines client raises."""


class ServerError(LinesError):
    """The server answered ``-message``; the connection is still usable."""


class ConnectionBrokenError(LinesError):
    """The connection cannot be used any more (closed, or a call was interrupted)."""


@dataclass(frozen=True)
class Reply:
    """``+text``: the command succeeded."""

    text: str


@dataclass(frozen=True)
class ErrorReply:
    """``-message``: the server refused the command."""

    message: str


@dataclass(frozen=True)
class ConnectionClosed:
    """The server closed the connection between two replies."""


Event = Reply | ErrorReply | ConnectionClosed


class ClientConnection:
    """The client's side of the protocol: commands in, bytes out; bytes in, events out."""

    def __init__(self, *, max_line: int = MAX_LINE) -> None:
        self._framing = LineFraming(b"\r\n", max_line=max_line)
        self._buffer = ReceiveBuffer(max_buffer=None)
        self._closed = False

    def send(self, command: str) -> bytes:
        """The bytes that carry ``command`` (a line without its ending)."""
        return self._framing.encode(command.encode("utf-8"))

    def receive_data(self, data: bytes) -> None:
        """Bytes from the server; ``b""`` means it closed the connection."""
        if data:
            self._buffer += data
        else:
            self._closed = True

    def next_event(self) -> Event | NeedData:
        """The next reply, :class:`ConnectionClosed`, or ``NEED_DATA``.

        Raises :class:`~ambidex.sansio.RemoteProtocolError` when the server sends
        something that is not a reply (or a line over ``max_line``).
        """
        line = self._framing.read(self._buffer)
        if line is NEED_DATA:
            if not self._closed:
                return NEED_DATA
            if self._buffer:
                raise RemoteProtocolError("the server closed the connection mid-line")
            return ConnectionClosed()
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RemoteProtocolError(f"a reply that is not UTF-8: {line[:40]!r}") from exc
        if text.startswith("+"):
            return Reply(text[1:])
        if text.startswith("-"):
            return ErrorReply(text[1:])
        raise RemoteProtocolError(f"a reply starts with '+' or '-', not {text[:40]!r}")


def answer(command: str, counters: dict[str, int]) -> str:
    """The server's whole logic: the reply line (without its ending) to one command."""
    verb, _, argument = command.partition(" ")
    if verb == "PING" and not argument:
        return "+PONG"
    if verb == "ECHO":
        return "+" + argument
    if verb == "INCR" and argument:
        counters[argument] = counters.get(argument, 0) + 1
        return f"+{counters[argument]}"
    if verb == "SLEEP":  # for the tests: the server waits before this reply
        return "+slept"
    if verb == "QUIT" and not argument:  # the server closes the connection after it
        return "+bye"
    return f"-unknown command {verb!r}"
