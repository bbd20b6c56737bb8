"""ProtocolMachine: the part of a connection state machine every protocol repeats.

Once the peer has sent something invalid, nothing after it can be parsed
reliably: we no longer know where the next frame starts. A machine that kept
going would hand garbage to its caller, or -- worse -- hand a later reply to the
wrong request. So the first :class:`RemoteProtocolError` puts the machine in an
ERROR state for good, and every later call raises again, naming the original
error, instead of guessing.

Subclasses wrap their parsing in ``with self._breaking():`` and start each
public method with ``self._check_usable()``::

    class Machine(ProtocolMachine):
        def next_event(self):
            self._check_usable()
            with self._breaking():
                return self._parse()

Our own misuse (a :class:`LocalProtocolError`) does not break the machine:
nothing was sent or consumed, so the connection is still in step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ambidex.sansio._errors import LocalProtocolError, ProtocolError, RemoteProtocolError


class ProtocolMachine:
    """Base class: remembers the first peer error and refuses further use after it."""

    def __init__(self) -> None:
        self._error: ProtocolError | None = None

    @property
    def error(self) -> ProtocolError | None:
        """The error that broke the machine, or ``None`` while it is healthy."""
        return self._error

    @property
    def broken(self) -> bool:
        """True once the machine is in its ERROR state; it never leaves it."""
        return self._error is not None

    def _fail(self, error: ProtocolError) -> ProtocolError:
        """Enter the ERROR state because of ``error`` (the first one wins); return it."""
        if self._error is None:
            self._error = error
        return error

    def _check_usable(self) -> None:
        """Raise if the machine is broken: same side as the original error, chained to it."""
        original = self._error
        if original is None:
            return
        remote = isinstance(original, RemoteProtocolError)
        kind = RemoteProtocolError if remote else LocalProtocolError
        raise kind(
            f"{type(self).__name__} is in its ERROR state since an earlier error: "
            f"{type(original).__name__}: {original}"
        ) from original

    @contextmanager
    def _breaking(self) -> Iterator[None]:
        """Let a :class:`RemoteProtocolError` raised inside put the machine in ERROR."""
        try:
            yield
        except RemoteProtocolError as exc:
            self._fail(exc)
            raise
