"""Both colours of the client against a real redis-server: the same bodies, the
same expectations.

Each test body is an ``async def`` taking a client of either colour; ``v()``
awaits what the async client returns and passes the blocking client's values
through. So one body pins the behaviour of both, and a difference between
the colours is a failing parameter, not a second test that drifted.
"""

from __future__ import annotations

import asyncio
import inspect
import ssl
import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from examples.resp import (
    AsyncClient,
    AsyncConnection,
    Client,
    Connection,
    PoolTimeout,
    PushReply,
    RedisConnectionError,
    ResponseError,
)
from examples.resp.commands import _SHAREABLE, holds_the_connection

from .conftest import RedisServer, free_port

COLOURS = ["sync", "async"]


async def v(value: Any) -> Any:
    """The value of a call in either colour."""
    return await value if inspect.isawaitable(value) else value


async def collect(iterable: Any) -> list[Any]:
    if hasattr(iterable, "__aiter__"):
        return [item async for item in iterable]
    return list(iterable)


def make_client(colour: str, server: RedisServer, **options: Any) -> Any:
    cls = Client if colour == "sync" else AsyncClient
    return cls(server.host, server.port, **options)


@pytest.fixture(params=COLOURS)
def colour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def protocol(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
async def r(colour: str, protocol: int, redis_server: RedisServer) -> AsyncIterator[Any]:
    client = make_client(colour, redis_server, protocol=protocol)
    try:
        yield client
    finally:
        await v(client.close())


@pytest.fixture
def key() -> str:
    return f"test:{uuid.uuid4().hex}"


# -- commands -----------------------------------------------------------------------


async def test_strings_set_get_mget_mset_append_strlen(r: Any, key: str) -> None:
    assert await v(r.get(key)) is None
    assert await v(r.set(key, "hello")) is True
    assert await v(r.get(key)) == b"hello"
    assert await v(r.append(key, b" world")) == 11
    assert await v(r.strlen(key)) == 11
    assert await v(r.mset({key + "a": 1, key + "b": 2.5})) is True
    assert await v(r.mget(key + "a", key + "b", key + "missing")) == [b"1", b"2.5", None]


async def test_set_options_nx_xx_ex_px(r: Any, key: str) -> None:
    assert await v(r.set(key, "a", xx=True)) is None  # no key yet: XX refuses
    assert await v(r.set(key, "a", nx=True)) is True
    assert await v(r.set(key, "b", nx=True)) is None  # exists: NX refuses
    assert await v(r.get(key)) == b"a"
    assert await v(r.set(key, "c", xx=True, ex=100)) is True
    assert 90 < await v(r.ttl(key)) <= 100
    assert await v(r.set(key, "d", px=50_000)) is True
    assert 40 < await v(r.ttl(key)) <= 50


async def test_keys_delete_exists_expire_ttl_persist(r: Any, key: str) -> None:
    await v(r.set(key, 1))
    assert await v(r.exists(key, key, key + "nope")) == 2
    assert await v(r.ttl(key)) == -1
    assert await v(r.expire(key, 100)) is True
    assert await v(r.persist(key)) is True
    assert await v(r.persist(key)) is False
    assert await v(r.keys(key + "*")) == [key.encode()]
    assert await v(r.delete(key, key + "nope")) == 1
    assert await v(r.ttl(key)) == -2
    assert await v(r.expire(key, 100)) is False


async def test_scan_walks_the_cursor_to_every_matching_key(r: Any, key: str) -> None:
    names = {f"{key}:{i}".encode() for i in range(250)}
    await v(r.mset(dict.fromkeys(names, b"x")))
    assert set(await collect(r.scan_iter(match=key + ":*", count=20))) == names
    cursor, page = await v(r.scan(0, match=key + ":*", count=10))
    assert isinstance(cursor, int) and isinstance(page, list)


async def test_counters(r: Any, key: str) -> None:
    assert await v(r.incr(key)) == 1
    assert await v(r.incrby(key, 10)) == 11
    assert await v(r.decr(key)) == 10


async def test_hashes(r: Any, key: str) -> None:
    assert await v(r.hset(key, "f", "1")) == 1
    assert await v(r.hset(key, mapping={"g": 2, "h": b"3"})) == 2
    assert await v(r.hget(key, "g")) == b"2"
    assert await v(r.hget(key, "zz")) is None
    assert await v(r.hgetall(key)) == {b"f": b"1", b"g": b"2", b"h": b"3"}
    assert await v(r.hdel(key, "f", "zz")) == 1
    assert await v(r.hgetall(key + "none")) == {}


async def test_lists(r: Any, key: str) -> None:
    assert await v(r.rpush(key, "b", "c")) == 2
    assert await v(r.lpush(key, "a")) == 3
    assert await v(r.lrange(key, 0, -1)) == [b"a", b"b", b"c"]
    assert await v(r.llen(key)) == 3
    assert await v(r.lpop(key)) == b"a"
    assert await v(r.rpop(key, 2)) == [b"c", b"b"]
    assert await v(r.lpop(key)) is None


async def test_sets(r: Any, key: str) -> None:
    assert await v(r.sadd(key, "a", "b", "a")) == 2
    assert await v(r.sismember(key, "a")) is True
    assert await v(r.sismember(key, "z")) is False
    assert await v(r.srem(key, "a")) == 1
    assert await v(r.smembers(key)) == {b"b"}


async def test_ping_echo_and_any_command_through_execute_command(r: Any, key: str) -> None:
    assert await v(r.ping()) is True
    assert await v(r.echo("hi")) == b"hi"
    await v(r.execute_command("SET", key, "12345"))
    assert await v(r.execute_command("OBJECT", "ENCODING", key)) == b"int"


async def test_flushdb_empties_only_the_selected_database(
        colour: str, redis_server: RedisServer, key: str) -> None:
    other = make_client(colour, redis_server, db=0)
    scratch = make_client(colour, redis_server, db=9)
    try:
        await v(other.set(key, 1))
        await v(scratch.set(key, 2))
        assert await v(scratch.flushdb()) is True
        assert await v(scratch.get(key)) is None
        assert await v(other.get(key)) == b"1"
    finally:
        await v(other.close())
        await v(scratch.close())


async def test_big_values_round_trip(r: Any, key: str) -> None:
    big = bytes(range(256)) * 20_000  # 5 MB: read in many chunks
    await v(r.set(key, big))
    assert await v(r.get(key)) == big


# -- errors -------------------------------------------------------------------------


async def test_server_error_is_raised_with_its_message_and_connection_stays_usable(
        r: Any, key: str) -> None:
    await v(r.set(key, "s"))
    with pytest.raises(ResponseError, match="WRONGTYPE") as info:
        await v(r.lpush(key, "x"))
    assert info.value.code == "WRONGTYPE"
    with pytest.raises(ResponseError, match="unknown command"):
        await v(r.execute_command("NOSUCHCOMMAND"))
    assert await v(r.get(key)) == b"s"


async def test_refused_connection_is_a_connection_error(colour: str) -> None:
    client = make_client(colour, RedisServer(free_port()))
    try:
        with pytest.raises(RedisConnectionError):
            await v(client.ping())
    finally:
        await v(client.close())


# -- pipelines and transactions -------------------------------------------------------


async def test_pipeline_returns_transformed_replies_in_order(r: Any, key: str) -> None:
    pipe = r.pipeline()
    pipe.set(key, 1).incr(key).get(key).hset(key + "h", "f", "v").hgetall(key + "h")
    assert len(pipe) == 5
    assert await v(pipe.execute()) == [True, 2, b"2", 1, {b"f": b"v"}]
    assert await v(pipe.execute()) == []  # the queue was emptied


async def test_pipeline_error_is_raised_after_every_reply_is_read(r: Any, key: str) -> None:
    await v(r.set(key, "s"))
    pipe = r.pipeline().lpush(key, "x").set(key + "2", "ok").get(key + "2")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await v(pipe.execute())
    # All replies were consumed: the connection is in step.
    assert await v(r.get(key + "2")) == b"ok"
    pipe = r.pipeline().lpush(key, "x").get(key + "2")
    replies = await v(pipe.execute(raise_on_error=False))
    assert isinstance(replies[0], ResponseError) and replies[1] == b"ok"


async def test_transaction_runs_as_multi_exec(r: Any, key: str) -> None:
    pipe = r.pipeline(transaction=True).incr(key).incr(key).get(key)
    assert await v(pipe.execute()) == [1, 2, b"2"]


async def test_transaction_with_a_refused_command_runs_nothing(r: Any, key: str) -> None:
    pipe = r.pipeline(transaction=True).set(key, 1).execute_command("NOSUCHCOMMAND")
    with pytest.raises(ResponseError, match="unknown command"):
        await v(pipe.execute())
    assert await v(r.get(key)) is None
    assert await v(r.ping()) is True


# -- connection setup ---------------------------------------------------------------


async def test_password_and_db_are_sent_on_connect(colour: str, start_redis: Any) -> None:
    secured = start_redis(free_port(), extra_args=("--requirepass", "s3cret"))
    secured.start()
    client = make_client(colour, secured, password="s3cret", db=3)
    anonymous = make_client(colour, secured)
    wrong = make_client(colour, secured, password="nope")
    try:
        assert await v(client.set("k", "in-db-3")) is True
        assert await v(client.get("k")) == b"in-db-3"
        with pytest.raises(ResponseError, match="NOAUTH"):
            await v(anonymous.get("k"))
        with pytest.raises(ResponseError, match=r"WRONGPASS|invalid password"):
            await v(wrong.ping())
    finally:
        for c in (client, anonymous, wrong):
            await v(c.close())


async def test_resp3_hello_and_resp2_give_the_same_python_values(
        colour: str, redis_server: RedisServer, key: str) -> None:
    clients = [make_client(colour, redis_server, protocol=p) for p in (2, 3)]
    try:
        await v(clients[0].hset(key, mapping={"a": 1}))
        await v(clients[0].sadd(key + "s", "x", "y"))
        results = [(await v(c.hgetall(key)), await v(c.smembers(key + "s")),
                    await v(c.execute_command("HELLO"))) for c in clients]
        assert results[0][:2] == results[1][:2] == ({b"a": b"1"}, {b"x", b"y"})
        assert isinstance(results[0][2], list)  # HELLO's reply: a flat list in RESP2
        assert isinstance(results[1][2], dict) and results[1][2][b"proto"] == 3  # a map
    finally:
        for c in clients:
            await v(c.close())


async def test_resp3_push_is_routed_away_never_taken_as_a_reply(
        colour: str, redis_server: RedisServer, key: str) -> None:
    cls = Connection if colour == "sync" else AsyncConnection
    conn = await v(cls.connect(redis_server.host, redis_server.port, protocol=3))
    writer = make_client(colour, redis_server)
    pushes: list[PushReply] = []
    conn.push_handler = pushes.append
    try:
        assert await v(conn.execute(("CLIENT", "TRACKING", "on"))) == b"OK"
        await v(conn.execute(("GET", key)))  # now tracked
        await v(writer.set(key, "changed"))  # the server pushes an invalidation
        # The push arrives before (or with) this reply; it must not be taken for it.
        assert await v(conn.execute(("ECHO", "mine"))) == b"mine"
        for _ in range(50):
            if pushes:
                break
            await asyncio.sleep(0.01)
            await v(conn.execute(("PING",)))
        assert pushes and pushes[0][0] == b"invalidate" and pushes[0][1] == [key.encode()]
    finally:
        await v(conn.close())
        await v(writer.close())


# -- pool ---------------------------------------------------------------------------


async def test_pool_waits_up_to_its_timeout_then_raises_pool_timeout(
        colour: str, redis_server: RedisServer) -> None:
    client = make_client(colour, redis_server, max_connections=2, auto_pipeline=False,
                         pool_timeout=0.2)
    pool = client.pool
    try:
        first = await v(pool.acquire())
        second = await v(pool.acquire())
        assert pool.size == 2
        with pytest.raises(PoolTimeout):
            await v(pool.acquire())
        await v(pool.release(first))
        assert await v(pool.acquire()) is first  # the idle one is reused, none opened
        await v(pool.release(first))
        await v(pool.release(second))
        assert pool.size == 2 and pool.idle == 2
    finally:
        await v(client.close())


def test_sync_pool_is_thread_safe_and_bounded(redis_server: RedisServer, key: str) -> None:
    client = Client(redis_server.host, redis_server.port, max_connections=3, pool_timeout=10)
    seen_sizes: list[int] = []

    def worker() -> None:
        for _ in range(200):
            client.incr(key)
            seen_sizes.append(client.pool.size)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert client.get(key) == b"1600"
        assert max(seen_sizes) <= 3
    finally:
        client.close()


async def test_async_pool_is_task_safe_and_bounded(redis_server: RedisServer, key: str) -> None:
    client = AsyncClient(redis_server.host, redis_server.port, max_connections=3,
                         auto_pipeline=False)
    sizes: list[int] = []

    async def worker() -> None:
        for _ in range(100):
            await client.incr(key)
            sizes.append(client.pool.size)

    try:
        await asyncio.gather(*(worker() for _ in range(20)))
        assert await client.get(key) == b"2000"
        assert max(sizes) <= 3
    finally:
        await client.close()


def test_unknown_parser_name_is_refused(redis_server: RedisServer) -> None:
    with pytest.raises(ValueError, match="parser must be"), \
            Client(redis_server.host, redis_server.port, parser="fast") as client:
        client.ping()


def test_auto_pipeline_is_refused_by_the_blocking_client(redis_server: RedisServer) -> None:
    with pytest.raises(ValueError, match="auto_pipeline"):
        Client(redis_server.host, redis_server.port, auto_pipeline=True)


# -- parser choice and TLS ----------------------------------------------------------


@pytest.mark.parametrize("colour", COLOURS)
@pytest.mark.parametrize("parser", ["hiredis", "auto"])
async def test_hiredis_parser_behaves_the_same(
        colour: str, parser: str, redis_server: RedisServer, key: str) -> None:
    client = make_client(colour, redis_server, parser=parser, protocol=3)
    try:
        assert await v(client.set(key, "x")) is True
        assert await v(client.hset(key + "h", mapping={"a": 1})) == 1
        assert await v(client.hgetall(key + "h")) == {b"a": b"1"}
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await v(client.lpush(key, "y"))
        assert await v(client.pipeline().get(key).incr(key + "n").execute()) == [b"x", 1]
    finally:
        await v(client.close())


@pytest.mark.parametrize("colour", COLOURS)
async def test_tls_connection_with_an_ssl_context(
        colour: str, start_redis: Any, tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(tmp_path / "key.pem")
    cert.cert_chain_pems[0].write_to_path(tmp_path / "cert.pem")
    ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    context = ssl.create_default_context()
    ca.configure_trust(context)
    server = start_redis(free_port(), port_option="--tls-port", tls=context, extra_args=(
        "--port", "0", "--tls-cert-file", str(tmp_path / "cert.pem"),
        "--tls-key-file", str(tmp_path / "key.pem"),
        "--tls-ca-cert-file", str(tmp_path / "ca.pem"), "--tls-auth-clients", "no"))
    server.start()
    client = make_client(colour, server, ssl=context)
    plain = make_client(colour, server, timeout=2)
    try:
        assert await v(client.set("k", "over tls")) is True
        assert await v(client.get("k")) == b"over tls"
        with pytest.raises((RedisConnectionError, TimeoutError)):
            await v(plain.ping())  # a TLS port does not speak plain RESP
    finally:
        await v(client.close())
        await v(plain.close())


async def test_auto_pipelined_calls_of_one_loop_iteration_go_out_in_one_write_after_the_first(
        redis_server: RedisServer) -> None:
    async with AsyncClient(redis_server.host, redis_server.port, auto_pipeline=True) as r:
        await r.ping()
        conn = r._shared
        assert conn is not None
        writes: list[bytes] = []
        transport = conn._transport
        assert transport is not None
        real_write = transport.write

        def counting_write(data: bytes | bytearray | memoryview) -> None:
            writes.append(bytes(data))
            real_write(data)

        transport.write = counting_write  # type: ignore[method-assign]
        replies = await asyncio.gather(*(r.echo(f"m{i}") for i in range(100)))
        assert replies == [f"m{i}".encode() for i in range(100)]
        # The first finds the connection idle and writes at once, in place; the
        # other 99, queued in the same iteration, go out together in one write.
        assert [w.count(b"ECHO") for w in writes] == [1, 99]


@pytest.mark.parametrize("parser", ["python", "hiredis"])
async def test_an_async_get_one_at_a_time_takes_two_turns_of_the_loop(
        parser: str, redis_server: RedisServer) -> None:
    # One turn whose poll sees the reply (the transport's callback resolves
    # the caller's future), one in which the caller resumes and sends the
    # next: what raw asyncio streams take (issue 13 section 3).
    loop = asyncio.get_running_loop()
    turns = 0
    run_once = loop._run_once  # type: ignore[attr-defined]

    def counting() -> None:
        nonlocal turns
        turns += 1
        run_once()

    async with AsyncClient(redis_server.host, redis_server.port, parser=parser) as r:
        await r.set("turns", b"v")
        loop._run_once = counting  # type: ignore[attr-defined]
        try:
            for _ in range(100):
                assert await r.get("turns") == b"v"
        finally:
            del loop._run_once  # type: ignore[attr-defined]
    # A reply split across two reads would take a third turn: not expected
    # for a few bytes on loopback, allowed here once or twice.
    assert 200 <= turns <= 203


@pytest.mark.parametrize("colour", COLOURS)
async def test_deeply_nested_server_reply_fits_the_default_limits(
        colour: str, protocol: int, redis_server: RedisServer) -> None:
    # COMMAND DOCS nests 12 levels over RESP3 in Redis 7.0: well under max_depth.
    client = make_client(colour, redis_server, protocol=protocol)
    try:
        docs = await v(client.execute_command("COMMAND", "DOCS"))
        assert len(docs) > 100
    finally:
        await v(client.close())


# -- auto-pipelining is the asyncio default; what holds a connection gets its own --------


async def test_async_client_auto_pipelines_by_default_and_the_blocking_one_cannot(
        redis_server: RedisServer) -> None:
    async with AsyncClient(redis_server.host, redis_server.port) as r:
        assert r.auto_pipeline is True
        await r.ping()
        assert r._shared is not None and r.pool.size == 0
    with Client(redis_server.host, redis_server.port) as blocking:
        assert blocking.auto_pipeline is False


async def test_a_blocking_pop_on_the_default_client_holds_up_nobody(
        redis_server: RedisServer, key: str) -> None:
    async with AsyncClient(redis_server.host, redis_server.port) as r:
        popping = asyncio.create_task(r.execute_command("BLPOP", key, 5))
        await asyncio.sleep(0.05)  # BLPOP is waiting on the server, on its own connection
        assert not popping.done()
        assert await asyncio.wait_for(r.echo("not held up"), 2) == b"not held up"
        assert r.pool.size == 1  # the pooled connection BLPOP runs on
        await r.rpush(key, "x")
        assert await asyncio.wait_for(popping, 2) == [key.encode(), b"x"]


async def test_a_transaction_on_the_default_client_runs_on_a_pooled_connection(
        redis_server: RedisServer, key: str) -> None:
    async with AsyncClient(redis_server.host, redis_server.port) as r:
        await r.ping()
        assert await r.pipeline(transaction=True).incr(key).incr(key).execute() == [1, 2]
        assert r.pool.size == 1


@pytest.mark.parametrize(
    ("args", "holds"),
    [(("GET", "k"), False), ((b"get", b"k"), False), (("blpop", "k", 0), True),
     ((b"BZPOPMIN", "k", 0), True), (("SUBSCRIBE", "c"), True), (("MULTI",), True),
     (("WATCH", "k"), True), (("WAIT", 1, 0), True),
     (("XREAD", "STREAMS", "s", "0"), False), (("XREAD", "block", 0, "STREAMS", "s", "$"), True),
     ((b"XREADGROUP", b"GROUP", b"g", b"c", b"BLOCK", 10, b"STREAMS", b"s", b">"), True),
     ((bytearray(b"BLPOP"), "k", 0), True)],
)
def test_which_commands_hold_the_connection_they_run_on(args: tuple[Any, ...],
                                                        holds: bool) -> None:
    assert holds_the_connection(args) is holds


@pytest.mark.parametrize(
    "args",
    [("GET", "k"), (b"get", b"k"), ("blpop", "k", 0), (b"BZPOPMIN", "k", 0), ("SUBSCRIBE", "c"),
     ("MULTI",), ("XREAD", "STREAMS", "s", "0"), ("XREAD", "block", 0, "STREAMS", "s", "$")],
)
def test_the_hot_paths_shortcut_knows_only_names_that_never_hold_a_connection(
        args: tuple[Any, ...]) -> None:
    # AsyncClient._call sends a name in _SHAREABLE to the shared connection
    # without asking holds_the_connection: XREAD (it depends on BLOCK) and
    # the holders must never be in it, however often they were asked about.
    for _ in range(2):
        holds_the_connection(args)
    assert (args[0] in _SHAREABLE) is (args[0] in ("GET", b"get"))


# -- pub/sub mode: a connection that subscribed never serves another command ----------
#
# SUBSCRIBE switches a connection into pub/sub mode: RESP2 answers one
# confirmation per channel (the second one used to be read by the next
# command of the pooled connection, which went back to the pool), RESP3 as
# pushes (the caller used to wait for a reply that never came). Until the
# client has a pub/sub API, the caller gets the first confirmation and the
# connection is retired: the pool closes it instead of lending it again.


async def test_a_pooled_connection_that_subscribed_never_serves_another_command(
        colour: str, protocol: int, redis_server: RedisServer, key: str) -> None:
    client = make_client(colour, redis_server, protocol=protocol, max_connections=1,
                         timeout=5, auto_pipeline=False)
    try:
        assert await v(client.execute_command("SUBSCRIBE", "ch1", "ch2")) == [
            b"subscribe", b"ch1", 1]
        assert client.pool.size == 0  # retired, not put back
        assert await v(client.set(key, "after")) is True
        assert await v(client.get(key)) == b"after"  # not ch2's confirmation
        assert client.pool.size == 1
    finally:
        await v(client.close())


@pytest.mark.parametrize("command", [("SUBSCRIBE", "c"), ("PSUBSCRIBE", "c*"), ("MONITOR",)])
async def test_a_connection_in_pub_sub_or_monitor_mode_refuses_normal_commands(
        colour: str, protocol: int, redis_server: RedisServer,
        command: tuple[str, ...]) -> None:
    cls = Connection if colour == "sync" else AsyncConnection
    conn = await v(cls.connect(redis_server.host, redis_server.port, protocol=protocol,
                               timeout=5))
    try:
        assert await v(conn.execute(command)) is not None
        assert conn.broken is not None and "mode" in conn.broken
        with pytest.raises(RedisConnectionError, match="mode"):
            await v(conn.execute(("GET", "k")))
    finally:
        await v(conn.close())
