"""Undoing ``Content-Encoding``: gzip and deflate, piece by piece.

A decoder takes the body as it arrives (``decode(chunk)``) and gives back
what it can decode so far; ``flush()`` at the end gives the rest and checks
that the compressed stream was complete. Nothing here waits, so both colours
share it.

``deflate`` is the one trap: RFC 9110 says it is the zlib format (RFC 1950),
but some servers send a raw deflate stream (RFC 1951). The first bytes tell
which; we decide once, on the first chunk, as browsers do.
"""

from __future__ import annotations

import zlib

from .errors import RemoteProtocolError

__all__ = ["Decoder", "make_decoder"]


class Decoder:
    """Decode one ``Content-Encoding`` (``gzip``, ``x-gzip`` or ``deflate``)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib: zlib._Decompress | None = None
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)

    def decode(self, data: bytes) -> bytes:
        if not data:
            return b""
        if self._zlib is None:  # deflate: zlib-wrapped, or raw?
            wrapped = (len(data) >= 2 and (data[0] & 0x0F) == 8
                       and (data[0] << 8 | data[1]) % 31 == 0)
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        try:
            return self._zlib.decompress(data)
        except zlib.error as exc:
            raise RemoteProtocolError(f"the {self.encoding} body does not decode: {exc}") from exc

    def flush(self) -> bytes:
        if self._zlib is None:
            return b""
        try:
            rest = self._zlib.flush()
        except zlib.error as exc:  # pragma: no cover - flush reports errors rarely
            raise RemoteProtocolError(f"the {self.encoding} body does not decode: {exc}") from exc
        if not self._zlib.eof:
            raise RemoteProtocolError(f"the {self.encoding} body ended before its compressed "
                                      "stream did")
        return rest


class _Chain:
    """Several encodings, applied in the order listed: decoded in reverse."""

    def __init__(self, decoders: list[Decoder]) -> None:
        self._decoders = decoders

    def decode(self, data: bytes) -> bytes:
        for decoder in self._decoders:
            data = decoder.decode(data)
        return data

    def flush(self) -> bytes:
        data = b""
        for decoder in self._decoders:
            data = decoder.decode(data) + decoder.flush()
        return data


def make_decoder(content_encoding: str | None) -> Decoder | _Chain | None:
    """The decoder for a ``Content-Encoding`` header, or None for identity.

    An encoding we do not know (``br``, ``zstd``: we never ask for them) leaves
    the body as it came, the way ``Accept-Encoding`` promised nothing else.
    """
    if not content_encoding:
        return None
    names = [n.strip().lower() for n in content_encoding.split(",")]
    names = [n for n in names if n and n != "identity"]
    if not names or any(n not in ("gzip", "x-gzip", "deflate") for n in names):
        return None
    decoders = [Decoder(n) for n in reversed(names)]
    return decoders[0] if len(decoders) == 1 else _Chain(decoders)
