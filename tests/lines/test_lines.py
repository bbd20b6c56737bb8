"""Chapter 0: the lines machine in memory, and both clients against the real server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from ambidex.sansio import NEED_DATA, LocalProtocolError, RemoteProtocolError
from examples.lines import (
    AsyncClient,
    Client,
    ClientConnection,
    ConnectionBrokenError,
    ServerError,
    ServerThread,
)
from examples.lines.protocol import ConnectionClosed, ErrorReply, Reply


@pytest.fixture
def server() -> Iterator[ServerThread]:
    with ServerThread() as running:
        yield running


# --- the machine, no sockets ----------------------------------------------------


def test_the_machine_turns_commands_into_lines_and_lines_into_replies() -> None:
    conn = ClientConnection()
    assert conn.send("ECHO hi") == b"ECHO hi\r\n"
    assert conn.next_event() is NEED_DATA
    for byte in b"+hi\r\n-no\r\n":  # one byte at a time: the split does not matter
        conn.receive_data(bytes([byte]))
    assert conn.next_event() == Reply("hi")
    assert conn.next_event() == ErrorReply("no")
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"")
    assert conn.next_event() == ConnectionClosed()


def test_the_machine_refuses_a_command_with_a_line_ending_in_it() -> None:
    with pytest.raises(LocalProtocolError):
        ClientConnection().send("ECHO a\nINCR b")


@pytest.mark.parametrize("wire", [b"OK\r\n", b"+\xff\r\n", b"+half a line"])
def test_the_machine_blames_the_server_for_what_is_not_a_reply(wire: bytes) -> None:
    conn = ClientConnection()
    conn.receive_data(wire)
    conn.receive_data(b"")
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


# --- both colours against the server --------------------------------------------


def test_the_blocking_client_talks_to_the_server(server: ServerThread) -> None:
    with Client.connect(server.host, server.port) as client:
        assert client.ping() == "PONG"
        assert client.echo("hello, world") == "hello, world"
        assert [client.incr("visits") for _ in range(3)] == [1, 2, 3]
        with pytest.raises(ServerError, match="unknown command 'FROB'"):
            client.command("FROB")
        assert client.ping() == "PONG"  # an error reply leaves the client usable


async def test_the_async_client_talks_to_the_server(server: ServerThread) -> None:
    async with await AsyncClient.connect(server.host, server.port) as client:
        assert await client.ping() == "PONG"
        assert await client.echo("hello, world") == "hello, world"
        assert [await client.incr("visits") for _ in range(3)] == [1, 2, 3]
        with pytest.raises(ServerError, match="unknown command 'FROB'"):
            await client.command("FROB")
        assert await client.ping() == "PONG"


def test_a_blocking_call_that_times_out_breaks_the_client_not_the_next_caller(
    server: ServerThread,
) -> None:
    with Client.connect(server.host, server.port, timeout=0.05) as client:
        with pytest.raises(TimeoutError):
            client.command("SLEEP 5")
        # The SLEEP reply is still on its way: a later call must not read it.
        with pytest.raises(ConnectionBrokenError, match="SLEEP"):
            client.ping()


async def test_an_async_call_that_times_out_breaks_the_client_not_the_next_caller(
    server: ServerThread,
) -> None:
    async with await AsyncClient.connect(server.host, server.port) as client:
        with pytest.raises(asyncio.TimeoutError):  # wait_for's is not the builtin on 3.10
            await asyncio.wait_for(client.command("SLEEP 5"), 0.05)
        with pytest.raises(ConnectionBrokenError, match="SLEEP"):
            await client.ping()


async def test_an_async_call_cancelled_at_its_write_or_its_read_breaks_the_client(
    server: ServerThread,
) -> None:
    # The two awaits in command(): the write (cancelled before it runs) and the read.
    for delay in (0, 0.05):
        async with await AsyncClient.connect(server.host, server.port) as client:
            call = asyncio.ensure_future(client.command("SLEEP 5"))
            await asyncio.sleep(delay)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            with pytest.raises(ConnectionBrokenError):
                await client.ping()


def test_a_blocking_client_whose_server_closed_says_so(server: ServerThread) -> None:
    with Client.connect(server.host, server.port) as client:
        assert client.command("QUIT") == "bye"
        # Either the read sees the end of the stream, or the OS reports the reset.
        with pytest.raises((ConnectionBrokenError, ConnectionError)):
            client.ping()


async def test_an_async_client_whose_server_closed_says_so(server: ServerThread) -> None:
    async with await AsyncClient.connect(server.host, server.port) as client:
        assert await client.command("QUIT") == "bye"
        with pytest.raises((ConnectionBrokenError, ConnectionError)):
            await client.ping()
