"""The receive buffer both streams keep, so their reads behave the same.

Both colours pull whatever the transport has (a socket ``recv`` of up to 64
KiB, or a ``StreamReader.read``) into this buffer and serve ``read_exactly``
and ``read_until`` from it. Two costs are kept linear:

* consuming from the front is ``del bytearray[:n]``, which CPython does in
  amortised constant time (it moves a start offset, not the bytes);
* ``find_separator`` remembers how far it already searched for a separator, so
  a line that dribbles in one byte at a time is scanned once, not once per
  byte (h11's receive buffer does the same).
"""

from __future__ import annotations

from ambidex.io._errors import ReadLimitError


class ReceiveBuffer:
    __slots__ = ("_data", "_scanned", "_scanned_for")

    def __init__(self) -> None:
        self._data = bytearray()
        # ``_data[:_scanned]`` holds no complete ``_scanned_for``.
        self._scanned = 0
        self._scanned_for = b""

    def __len__(self) -> int:
        return len(self._data)

    def append(self, chunk: bytes) -> None:
        self._data += chunk

    def take(self, n: int) -> bytes:
        """Remove and return the first ``n`` bytes (fewer if fewer are held)."""
        out = bytes(self._data[:n])
        del self._data[:n]
        self._scanned = 0
        return out

    def take_all(self) -> bytes:
        out = bytes(self._data)
        self._data.clear()
        self._scanned = 0
        return out

    def find_separator(self, separator: bytes, limit: int) -> int | None:
        """The length of the first line ending in ``separator``, if it fits in ``limit``.

        Returns None when more data is needed, and raises
        :class:`ReadLimitError` once ``limit`` bytes are buffered without a
        separator ending inside them (waiting longer cannot help).
        """
        if separator != self._scanned_for:
            self._scanned_for = separator
            self._scanned = 0
        # A separator may straddle the end of what was already scanned.
        start = max(0, self._scanned - len(separator) + 1)
        index = self._data.find(separator, start, limit)
        if index >= 0:
            return index + len(separator)
        self._scanned = min(len(self._data), limit)
        if len(self._data) >= limit:
            raise ReadLimitError(separator, limit, len(self._data))
        return None


def check_read_until_args(separator: bytes, limit: int) -> None:
    if not separator:
        raise ValueError("read_until: the separator must not be empty")
    if limit < len(separator):
        raise ValueError(
            f"read_until: limit ({limit}) is shorter than the separator ({len(separator)} bytes)"
        )
