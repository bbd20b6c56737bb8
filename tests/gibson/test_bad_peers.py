"""Misbehaving servers: every one gives a clear error (or works), nothing hangs.

After an error, every request still waiting fails with it, none is left
waiting, and later calls say the connection is unusable and why.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from ambidex.sansio import LimitExceeded, RemoteProtocolError
from examples.gibson import AsyncClient, Client, ConnectionClosedError, ServerError
from examples.gibson.protocol import (
    HEADER,
    Code,
    Encoding,
    Error,
    ErrorCode,
    NotFound,
    Value,
    encode_reply,
)

from .conftest import Script, ScriptedServer, read_request

GARBAGE = b"\xde\xad\xbe\xef\x00\x00\x00"
HUGE_VALUE_HEADER = HEADER.pack(Code.VALUE, 0, 2**31)


def reply_after(count: int, wire: bytes, *, close: bool = False) -> Script:
    """A script: read ``count`` requests, send ``wire``, then close or go silent."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(count):
            await read_request(reader)
        writer.write(wire)
        await writer.drain()
        if not close:
            await reader.read()  # hold the connection open until the client leaves

    return script


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # read and never answer


# -- blocking client --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "error", "message"),
    [
        (GARBAGE, RemoteProtocolError, "unknown reply code 0xadde"),
        (HUGE_VALUE_HEADER, LimitExceeded, "2147483648 bytes is over max_payload"),
        (encode_reply(Value(b"abcdef"))[:9], RemoteProtocolError, "middle of a reply"),
    ],
    ids=["garbage-header", "size-over-limit", "closed-mid-reply"],
)
def test_blocking_client_names_the_peers_error_and_is_unusable_after(
    wire: bytes, error: type[Exception], message: str
) -> None:
    with ScriptedServer(reply_after(3, wire, close=True)) as server:
        client = Client.connect("127.0.0.1", server.port, timeout=5)
        with pytest.raises(error, match=message):
            client.get_many(["a", "b", "c"])
        with pytest.raises(ConnectionClosedError, match="unusable since an earlier error") as later:
            client.get("a")
        assert isinstance(later.value.__cause__, error)
        client.close()


def test_blocking_client_rejects_a_reply_to_a_request_never_sent() -> None:
    extra = encode_reply(NotFound()) + encode_reply(NotFound())
    with (
        ScriptedServer(reply_after(1, extra)) as server,
        Client.connect("127.0.0.1", server.port, timeout=5) as client,
    ):
        assert client.get("a") is None
        with pytest.raises(RemoteProtocolError):
            client.get("b")


def test_blocking_client_works_with_a_server_that_dribbles_one_byte_at_a_time() -> None:
    async def dribble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for i in range(3):
            await read_request(reader)
            for byte in encode_reply(Value(f"value-{i}".encode() * 50)):
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0)
        await reader.read()

    with (
        ScriptedServer(dribble) as server,
        Client.connect("127.0.0.1", server.port, timeout=5) as client,
    ):
        assert client.get_many(["a", "b", "c"]) == [f"value-{i}".encode() * 50 for i in range(3)]


def test_blocking_client_times_out_on_a_silent_server() -> None:
    with (
        ScriptedServer(silent) as server,
        Client.connect("127.0.0.1", server.port, timeout=5) as client,
    ):
        client.timeout = 0.2  # after the connect: under load a connect can take 0.2 s
        with pytest.raises(TimeoutError):
            client.get("a")


def test_blocking_caller_that_timed_out_keeps_its_place_and_its_reply_is_dropped() -> None:
    released = threading.Event()

    async def late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.to_thread(released.wait, 10)  # answer once the client has given up
        writer.write(encode_reply(Value(b"one")))
        await read_request(reader)
        writer.write(encode_reply(Value(b"two")))
        await writer.drain()
        await reader.read()

    with (
        ScriptedServer(late) as server,
        Client.connect("127.0.0.1", server.port, timeout=5) as client,
    ):
        client.timeout = 0.2  # after the connect: under load a connect can take 0.2 s
        with pytest.raises(TimeoutError):
            client.get("first")
        released.set()
        client.timeout = 5
        assert client.get("second") == b"two"  # not b"one"


def test_blocking_server_error_reply_raises_server_error_and_the_connection_goes_on() -> None:
    wire = encode_reply(Error(ErrorCode.INTERNAL, "disk on fire")) + encode_reply(NotFound())

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await read_request(reader)
        writer.write(wire)
        await reader.read()

    with (
        ScriptedServer(script) as server,
        Client.connect("127.0.0.1", server.port, timeout=5) as client,
    ):
        with pytest.raises(ServerError, match="INTERNAL: disk on fire") as info:
            client.get_many(["a", "b"])
        assert info.value.code is ErrorCode.INTERNAL
        assert client._error is None


def test_blocking_client_reports_the_server_closing_between_replies() -> None:
    with (
        ScriptedServer(reply_after(0, b"", close=True)) as server,
        Client.connect("127.0.0.1", server.port, timeout=5) as client,
        pytest.raises((RemoteProtocolError, ConnectionError)),
    ):
        client.get("a")


# -- asyncio client ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "error", "message"),
    [
        (GARBAGE, RemoteProtocolError, "unknown reply code 0xadde"),
        (HUGE_VALUE_HEADER, LimitExceeded, "2147483648 bytes is over max_payload"),
        (encode_reply(Value(b"abcdef"))[:9], RemoteProtocolError, "middle of a reply"),
    ],
    ids=["garbage-header", "size-over-limit", "closed-mid-reply"],
)
async def test_async_peer_error_fails_every_waiting_request_with_it(
    wire: bytes, error: type[Exception], message: str
) -> None:
    with ScriptedServer(reply_after(20, wire, close=True)) as server:
        client = await AsyncClient.connect("127.0.0.1", server.port, timeout=5)
        results = await asyncio.gather(
            *(client.get(f"k{i}") for i in range(20)), return_exceptions=True
        )
        assert all(isinstance(r, error) for r in results), results
        assert all(message in str(r) for r in results)
        assert len(client._waiters) == 0  # nobody left waiting
        with pytest.raises(ConnectionClosedError, match="unusable since an earlier error") as later:
            await client.get("again")
        assert isinstance(later.value.__cause__, error)
        await client.close()


async def test_async_reply_to_a_request_never_sent_breaks_the_connection() -> None:
    extra = encode_reply(NotFound()) + encode_reply(NotFound())
    with ScriptedServer(reply_after(1, extra)) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client:
            assert await client.get("a") is None
            await asyncio.wait_for(client._broken.wait(), 5)  # the connection fails at the error
            assert isinstance(client._error, RemoteProtocolError)
            assert "no request pending" in str(client._error)
            with pytest.raises(ConnectionClosedError):
                await client.get("b")


async def test_async_client_works_with_a_server_that_dribbles_one_byte_at_a_time() -> None:
    async def dribble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(5):
            await read_request(reader)
        for i in range(5):
            for byte in encode_reply(Value(f"value-{i}".encode() * 20)):
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0)
        await reader.read()

    with ScriptedServer(dribble) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=10) as client:
            values = await asyncio.gather(*(client.get(f"k{i}") for i in range(5)))
            assert values == [f"value-{i}".encode() * 20 for i in range(5)]


async def test_async_silent_server_times_out_every_waiting_request_and_close_is_prompt() -> None:
    with ScriptedServer(silent) as server:
        client = await AsyncClient.connect("127.0.0.1", server.port, timeout=5)
        client.timeout = 0.2  # after the connect: under load a connect can take 0.2 s
        results = await asyncio.gather(
            *(client.get(f"k{i}") for i in range(10)), return_exceptions=True
        )
        assert all(type(r) is TimeoutError for r in results), results
        assert len(client._waiters) == 10  # they keep their places: replies may still come
        await asyncio.wait_for(client.close(), 2)
        assert len(client._waiters) == 0


async def test_async_caller_that_timed_out_keeps_its_place_and_its_reply_is_dropped() -> None:
    gate = threading.Event()

    async def late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.to_thread(gate.wait, 10)
        writer.write(encode_reply(Value(b"one")))
        await read_request(reader)
        writer.write(encode_reply(Value(b"two")))
        await writer.drain()
        await reader.read()

    with ScriptedServer(late) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client:
            client.timeout = 0.2  # after the connect: under load a connect can take 0.2 s
            with pytest.raises(TimeoutError):
                await client.get("first")
            gate.set()
            client.timeout = 5
            assert await client.get("second") == b"two"  # not b"one"


async def test_async_cancelled_caller_keeps_its_place_and_its_reply_is_dropped() -> None:
    gate = threading.Event()

    async def late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.to_thread(gate.wait, 10)
        writer.write(encode_reply(Value(b"one")))
        await read_request(reader)
        writer.write(encode_reply(Value(b"two")))
        await writer.drain()
        await reader.read()

    with ScriptedServer(late) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client:
            first = asyncio.create_task(client.get("first"))
            await asyncio.sleep(0)  # the task runs up to waiting for its reply
            assert client._conn.outstanding == 1
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            gate.set()
            assert await client.get("second") == b"two"


async def test_async_server_error_reply_goes_to_its_own_caller_only() -> None:
    wire = encode_reply(Error(ErrorCode.BAD_KEY, "nope")) + encode_reply(Value(b"fine"))
    with ScriptedServer(reply_after(2, wire)) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client:
            bad, good = await asyncio.gather(
                client.get("a"), client.get("b"), return_exceptions=True
            )
            assert isinstance(bad, ServerError) and bad.code is ErrorCode.BAD_KEY
            assert good == b"fine"
            assert client._error is None


async def test_async_server_closing_while_idle_makes_the_next_call_fail_clearly() -> None:
    with ScriptedServer(reply_after(1, encode_reply(NotFound()), close=True)) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client:
            assert await client.get("a") is None
            await asyncio.wait_for(client._broken.wait(), 5)  # the connection fails at end of file
            with pytest.raises(ConnectionClosedError, match="server closed the connection"):
                await client.get("b")


def test_blocking_batch_cut_by_a_timeout_leaves_its_late_replies_to_be_dropped() -> None:
    released = threading.Event()

    async def stalls_mid_batch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(5):
            await read_request(reader)
        for i in range(3):
            writer.write(encode_reply(Value(f"batch-{i}".encode())))
        await writer.drain()
        await asyncio.to_thread(released.wait, 10)
        for i in range(3, 5):
            writer.write(encode_reply(Value(f"batch-{i}".encode())))
        await read_request(reader)
        writer.write(encode_reply(Value(b"fresh")))
        await writer.drain()
        await reader.read()

    with (
        ScriptedServer(stalls_mid_batch) as server,
        Client.connect("127.0.0.1", server.port, timeout=5) as client,
    ):
        client.timeout = 0.3  # after the connect: under load a connect can take 0.3 s
        with pytest.raises(TimeoutError):
            client.get_many([f"k{i}" for i in range(5)])
        released.set()
        client.timeout = 5
        assert client.get("fresh") == b"fresh"  # batch-3 and batch-4 read and dropped


async def test_async_bytes_before_any_request_are_reported_not_taken_for_a_reply() -> None:
    async def speaks_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(encode_reply(NotFound()))
        await writer.drain()
        await reader.read()

    with ScriptedServer(speaks_first) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client:
            await asyncio.wait_for(client._broken.wait(), 5)  # the connection fails at the error
            assert isinstance(client._error, RemoteProtocolError)
            assert "no request pending" in str(client._error)
            with pytest.raises(ConnectionClosedError, match="no request pending"):
                await client.get("k")


# -- replies nobody asked for (issue 12 item 9) ------------------------------------------


def speaks_first(sent: threading.Event) -> Script:
    """A script: send a VALUE as soon as the connection is accepted, then answer
    every request with NOT_FOUND."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(encode_reply(Value(b"stray")))
        await writer.drain()
        sent.set()
        while True:
            await read_request(reader)
            writer.write(encode_reply(NotFound()))
            await writer.drain()

    return script


def stray_after_first_reply(sent: threading.Event) -> Script:
    """A script: answer the first request, send an unasked VALUE 50 ms later,
    then answer every request with NOT_FOUND."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(encode_reply(Value(b"first")))
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(encode_reply(Value(b"STRAY")))
        await writer.drain()
        sent.set()
        while True:
            await read_request(reader)
            writer.write(encode_reply(NotFound()))
            await writer.drain()

    return script


def test_blocking_client_refuses_a_reply_sent_before_any_request() -> None:
    sent = threading.Event()
    with ScriptedServer(speaks_first(sent)) as server, Client.connect(
        "127.0.0.1", server.port, timeout=5
    ) as client:
        assert sent.wait(5)
        with pytest.raises(RemoteProtocolError, match="no request pending"):
            client.get("k")


async def test_async_client_refuses_a_reply_that_arrived_before_its_first_request() -> None:
    sent = threading.Event()
    with ScriptedServer(speaks_first(sent)) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client:
            # Block the loop on purpose: the stray bytes are in the socket, and the
            # reader task has not had a turn to see them when get() sends.
            assert sent.wait(5)
            with pytest.raises((RemoteProtocolError, ConnectionClosedError),
                               match="no request pending"):
                await client.get("k")


def test_blocking_client_refuses_a_stray_reply_that_came_after_a_real_one() -> None:
    sent = threading.Event()
    with ScriptedServer(stray_after_first_reply(sent)) as server, Client.connect(
        "127.0.0.1", server.port, timeout=5
    ) as client:
        assert client.get("k1") == b"first"
        assert sent.wait(5)
        with pytest.raises(RemoteProtocolError, match="no request pending"):
            client.get("k2")  # not b"STRAY": that reply answered nothing
        with pytest.raises(ConnectionClosedError):
            client.get("k3")


async def test_async_client_refuses_a_stray_reply_that_came_after_a_real_one() -> None:
    sent = threading.Event()
    with ScriptedServer(stray_after_first_reply(sent)) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client:
            assert await client.get("k1") == b"first"
            assert sent.wait(5)  # the loop is blocked: get() runs before the reader sees it
            with pytest.raises((RemoteProtocolError, ConnectionClosedError),
                               match="no request pending"):
                await client.get("k2")


# -- values that say they are text and are not (issue 12 item 15) ----------------------


def bad_utf8_value() -> Script:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(encode_reply(Value(b"ok \xff\xfe", Encoding.UTF8)))
            await writer.drain()

    return script


def test_blocking_get_of_a_text_value_that_is_not_utf8_is_a_protocol_error_naming_the_key(
        ) -> None:
    with ScriptedServer(bad_utf8_value()) as server, Client.connect(
        "127.0.0.1", server.port, timeout=5
    ) as client:
        with pytest.raises(RemoteProtocolError, match=r"'the-key'.*not valid UTF-8"):
            client.get("the-key")
        with pytest.raises(RemoteProtocolError, match="'second'"):
            client.get_many(["second"])


async def test_async_get_of_a_text_value_that_is_not_utf8_is_a_protocol_error_naming_the_key(
        ) -> None:
    with ScriptedServer(bad_utf8_value()) as server:
        async with await AsyncClient.connect("127.0.0.1", server.port, timeout=5) as client:
            with pytest.raises(RemoteProtocolError, match=r"'the-key'.*not valid UTF-8"):
                await client.get("the-key")
            with pytest.raises(RemoteProtocolError, match="'k2'"):
                await client.get_many(["k2"])
