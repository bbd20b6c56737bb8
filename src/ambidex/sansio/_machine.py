"""ProtocolMachine: the part of a connection state machine every protocol repeats.

Once the peer has sent something invalid, nothing after it can be parsed
reliably: we no longer know where the next frame starts. A machine that kept
going would hand garbage to its caller, or -- worse -- hand a later reply to the
wrong request. So the first :class:`RemoteProtocolError` puts the machine in an
ERROR state for good, and every later call raises again, naming the original
error, instead of guessing.

The same holds for any error raised while the machine handles the peer's bytes
or changes its state, whoever is to blame: a :class:`LocalProtocolError` (or an
unexpected exception, a bug) halfway through parsing also leaves the machine
out of step with the stream. So every exception raised inside
``with self._breaking():`` puts the machine in ERROR, as h11 does; a
non-protocol exception is recorded as a :class:`LocalProtocolError` (our bug)
and re-raised as it is.

Subclasses wrap their parsing in ``with self._breaking():`` and start each
public method with ``self._check_usable()``::

    class Machine(ProtocolMachine):
        def next_event(self):
            self._check_usable()
            with self._breaking():
                return self._parse()

A refusal *before* anything happens -- argument checks outside
``_breaking()``, such as a key too long to send -- does not break the machine:
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
        """Let any exception raised inside put the machine in ERROR, then propagate."""
        try:
            yield
        except ProtocolError as exc:
            self._fail(exc)
            raise
        except Exception as exc:
            error = LocalProtocolError(f"{type(exc).__name__} while handling the peer's "
                                       f"bytes: {exc}")
            error.__cause__ = exc
            self._fail(error)
            raise
