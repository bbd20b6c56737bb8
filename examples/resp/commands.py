"""The command set, written once for every executor: colourless.

A command method does two things that have nothing to do with I/O: it builds
the argument list (``SET k v PX 100 NX``) and it says how to turn the raw
reply into a Python value (``+OK`` -> ``True``, a RESP2 flat list -> a dict).
It hands both to ``self._call`` and returns whatever that returns:

* :class:`~examples.resp.AsyncClient`'s ``_call`` is a coroutine function, so
  ``client.get(k)`` returns an awaitable: ``await client.get(k)``;
* :class:`~examples.resp.Client`'s ``_call`` blocks and returns the value;
* a pipeline's ``_call`` queues the command and returns the pipeline, so
  calls chain: ``pipe.set(k, v).get(k)``; the transforms run in ``execute()``.

So this module has no ``async`` in it and is not generated: both colours
import it as it is. (redis-py does the same; its command mixins are shared by
the client and the pipeline of each colour.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from .protocol import Arg

__all__ = ["Commands", "Transform", "holds_the_connection", "switches_mode"]

Transform = Callable[[Any], Any]

#: Commands that hold the connection they run on: they block it until
#: something happens (a pop, a stream entry, replicas catching up), switch it
#: into another mode (pub/sub, MONITOR), or give it state that later commands
#: depend on (a transaction, WATCH). On a connection shared by every caller
#: (auto-pipelining) any of them would hold up, or change the meaning of,
#: everybody else's commands.
CONNECTION_HOLDERS: Final = frozenset({
    "BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP",
    "WAIT", "WAITAOF",
    "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE",
    "MONITOR", "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH",
})
_BLOCKABLE: Final = frozenset({"XREAD", "XREADGROUP"})  # only with BLOCK

#: Commands after which a connection is in another mode for good (for this
#: client, which has no pub/sub API yet): subscribed, it answers only pub/sub
#: commands (RESP2) and receives messages; under MONITOR it streams every
#: command the server runs. Such a connection must never serve a normal
#: command again: it is retired once the command is sent.
MODE_SWITCHES: Final = frozenset({"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR"})


def _upper_name(arg: Any) -> str:
    if isinstance(arg, str):
        return arg.upper()
    if isinstance(arg, (bytes, bytearray, memoryview)):
        return bytes(arg).decode("latin-1").upper()
    return ""


# Verdicts by command name as given ("GET", b"get"...): True, False, or None
# for "it depends on the arguments". Asked for every command on the hot path
# (and for every command of a pipeline), so one dict lookup instead of an
# upper() and two set lookups; bounded, since names come from callers.
_VERDICTS: dict[Any, bool | None] = {}

#: The names among them whose verdict is False (they never hold a
#: connection): the asyncio client's hot path asks ``name in _SHAREABLE``,
#: one opcode where a ``.get`` is a method call.
_SHAREABLE: set[Any] = set()


def holds_the_connection(args: Sequence[Any]) -> bool:
    """Whether the command ``args`` holds the connection it runs on (see
    :data:`CONNECTION_HOLDERS`; XREAD and XREADGROUP only with ``BLOCK``)."""
    name = args[0]
    try:
        verdict = _VERDICTS[name]
    except (KeyError, TypeError):  # TypeError: an unhashable name (bytearray)
        upper = _upper_name(name)
        verdict = True if upper in CONNECTION_HOLDERS else None if upper in _BLOCKABLE else False
        if len(_VERDICTS) < 1024 and isinstance(name, (str, bytes)):
            _VERDICTS[name] = verdict
            if verdict is False:
                _SHAREABLE.add(name)
    if verdict is None:
        return any(_upper_name(arg) == "BLOCK" for arg in args[1:])
    return verdict


_SWITCHES: dict[Any, str | None] = {}


def switches_mode(args: Sequence[Any]) -> str | None:
    """The mode ``args`` switches its connection into (``"SUBSCRIBE"``,
    ``"MONITOR"``...: see :data:`MODE_SWITCHES`), or ``None`` for a normal command."""
    name = args[0]
    try:
        return _SWITCHES[name]
    except (KeyError, TypeError):
        upper = _upper_name(name)
        mode = upper if upper in MODE_SWITCHES else None
        if len(_SWITCHES) < 1024 and isinstance(name, (str, bytes)):
            _SWITCHES[name] = mode
        return mode


def _ok(reply: Any) -> bool:
    return bool(reply == b"OK")


def _ok_or_none(reply: Any) -> Any:
    # SET ... NX/XX answers nil when the condition failed; with GET, the old value.
    if reply is None:
        return None
    return True if reply == b"OK" else reply


def _bool(reply: Any) -> bool:
    return bool(reply)


def _pairs_to_dict(reply: Any) -> dict[Any, Any]:
    if isinstance(reply, dict):  # RESP3 sends a map
        return reply
    it = iter(reply)
    return dict(zip(it, it, strict=True))


def _to_set(reply: Any) -> set[Any]:
    return set(reply)


def _scan(reply: Any) -> tuple[int, list[Any]]:
    cursor, keys = reply
    return int(cursor), keys


def _pong(reply: Any) -> bool:
    return bool(reply == b"PONG")


class Commands:
    """Redis commands as methods. Subclasses provide ``_call``."""

    def _call(self, args: tuple[Arg, ...], transform: Transform | None = None) -> Any:
        raise NotImplementedError

    # -- connection and server -------------------------------------------------

    def ping(self) -> Any:
        """``True`` when the server answers PONG."""
        return self._call(("PING",), _pong)

    def echo(self, message: Arg) -> Any:
        return self._call(("ECHO", message))

    def flushdb(self) -> Any:
        """Delete every key of the current database."""
        return self._call(("FLUSHDB",), _ok)

    # -- strings ---------------------------------------------------------------

    def get(self, name: Arg) -> Any:
        """The value (``bytes``), or ``None`` if the key does not exist."""
        return self._call(("GET", name))

    def set(self, name: Arg, value: Arg, *, ex: int | None = None, px: int | None = None,
            nx: bool = False, xx: bool = False) -> Any:
        """``True`` when set; ``None`` when ``nx``/``xx`` prevented it.

        ``ex`` / ``px``: expire after that many seconds / milliseconds.
        """
        args: list[Arg] = ["SET", name, value]
        if ex is not None:
            args += ("EX", ex)
        if px is not None:
            args += ("PX", px)
        if nx:
            args.append("NX")
        if xx:
            args.append("XX")
        return self._call(tuple(args), _ok_or_none)

    def mget(self, *names: Arg) -> Any:
        """The values, ``None`` where a key does not exist."""
        return self._call(("MGET", *names))

    def mset(self, mapping: Mapping[Arg, Arg]) -> Any:
        args: list[Arg] = ["MSET"]
        for key, value in mapping.items():
            args += (key, value)
        return self._call(tuple(args), _ok)

    def append(self, name: Arg, value: Arg) -> Any:
        """The length of the string after the append."""
        return self._call(("APPEND", name, value))

    def strlen(self, name: Arg) -> Any:
        return self._call(("STRLEN", name))

    # -- counters --------------------------------------------------------------

    def incr(self, name: Arg) -> Any:
        return self._call(("INCR", name))

    def decr(self, name: Arg) -> Any:
        return self._call(("DECR", name))

    def incrby(self, name: Arg, amount: int) -> Any:
        return self._call(("INCRBY", name, amount))

    # -- keys ------------------------------------------------------------------

    def delete(self, *names: Arg) -> Any:
        """How many of the keys existed (and were deleted)."""
        return self._call(("DEL", *names))

    def exists(self, *names: Arg) -> Any:
        """How many of the keys exist (a key named twice counts twice)."""
        return self._call(("EXISTS", *names))

    def expire(self, name: Arg, seconds: int) -> Any:
        """``True`` if the timeout was set (the key exists)."""
        return self._call(("EXPIRE", name, seconds), _bool)

    def ttl(self, name: Arg) -> Any:
        """Seconds to live; -1 without expiry, -2 if the key does not exist."""
        return self._call(("TTL", name))

    def persist(self, name: Arg) -> Any:
        """``True`` if a timeout was removed."""
        return self._call(("PERSIST", name), _bool)

    def keys(self, pattern: Arg = "*") -> Any:
        """Every key matching ``pattern``. Blocks the server: prefer ``scan``."""
        return self._call(("KEYS", pattern))

    def scan(self, cursor: int = 0, *, match: Arg | None = None,
             count: int | None = None) -> Any:
        """One step of a cursor walk: ``(next_cursor, keys)``; 0 means done."""
        args: list[Arg] = ["SCAN", cursor]
        if match is not None:
            args += ("MATCH", match)
        if count is not None:
            args += ("COUNT", count)
        return self._call(tuple(args), _scan)

    # -- hashes ----------------------------------------------------------------

    def hset(self, name: Arg, key: Arg | None = None, value: Arg | None = None, *,
             mapping: Mapping[Arg, Arg] | None = None) -> Any:
        """How many fields were added (not counting updated ones)."""
        args: list[Arg] = ["HSET", name]
        if key is not None:
            if value is None:
                raise ValueError("hset: a key needs a value")
            args += (key, value)
        for field_name, field_value in (mapping or {}).items():
            args += (field_name, field_value)
        if len(args) == 2:
            raise ValueError("hset: give a key and value, or a mapping")
        return self._call(tuple(args))

    def hget(self, name: Arg, key: Arg) -> Any:
        return self._call(("HGET", name, key))

    def hgetall(self, name: Arg) -> Any:
        """Every field and value, as a dict (RESP2 and RESP3 alike)."""
        return self._call(("HGETALL", name), _pairs_to_dict)

    def hdel(self, name: Arg, *keys: Arg) -> Any:
        return self._call(("HDEL", name, *keys))

    # -- lists -----------------------------------------------------------------

    def lpush(self, name: Arg, *values: Arg) -> Any:
        """The length of the list after the push."""
        return self._call(("LPUSH", name, *values))

    def rpush(self, name: Arg, *values: Arg) -> Any:
        return self._call(("RPUSH", name, *values))

    def lpop(self, name: Arg, count: int | None = None) -> Any:
        """One value (or a list of ``count``); ``None`` if the list is empty."""
        args: tuple[Arg, ...] = ("LPOP", name) if count is None else ("LPOP", name, count)
        return self._call(args)

    def rpop(self, name: Arg, count: int | None = None) -> Any:
        args: tuple[Arg, ...] = ("RPOP", name) if count is None else ("RPOP", name, count)
        return self._call(args)

    def lrange(self, name: Arg, start: int, end: int) -> Any:
        return self._call(("LRANGE", name, start, end))

    def llen(self, name: Arg) -> Any:
        return self._call(("LLEN", name))

    # -- sets ------------------------------------------------------------------

    def sadd(self, name: Arg, *values: Arg) -> Any:
        """How many members were added."""
        return self._call(("SADD", name, *values))

    def srem(self, name: Arg, *values: Arg) -> Any:
        return self._call(("SREM", name, *values))

    def smembers(self, name: Arg) -> Any:
        """The members, as a Python ``set``."""
        return self._call(("SMEMBERS", name), _to_set)

    def sismember(self, name: Arg, value: Arg) -> Any:
        return self._call(("SISMEMBER", name, value), _bool)
