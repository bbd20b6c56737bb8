"""The example server, spoken to with raw sockets: what a client sees on the wire."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from ambidex.sansio import NEED_DATA
from examples.gibson import AsyncClient, ConnectionClosedError
from examples.gibson.protocol import (
    HEADER,
    ClientConnection,
    Code,
    Error,
    ErrorCode,
    Get,
    NotFound,
    Ok,
    Set,
    Value,
    encode_request,
)
from examples.gibson.server import ServerThread, serve


def read_replies(sock: socket.socket, count: int) -> list[tuple[int, bytes]]:
    """``count`` raw replies: (code, payload)."""
    data = b""
    replies: list[tuple[int, bytes]] = []
    while len(replies) < count:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        while len(data) >= HEADER.size:
            code, _encoding, size = HEADER.unpack_from(data)
            if len(data) < HEADER.size + size:
                break
            replies.append((code, data[HEADER.size : HEADER.size + size]))
            data = data[HEADER.size + size :]
    return replies


def test_server_answers_an_unknown_command_with_an_error_and_goes_on(
    server_thread: ServerThread,
) -> None:
    with socket.create_connection(("127.0.0.1", server_thread.port), timeout=5) as sock:
        sock.sendall(HEADER.pack(0x42, 0, 3) + b"abc" + encode_request(Get(b"k")))
        (error, found) = read_replies(sock, 2)
    assert error[0] == Code.ERROR
    assert struct.unpack_from("<H", error[1])[0] == ErrorCode.UNKNOWN_COMMAND
    assert b"0x0042" in error[1]
    assert found == (Code.NOT_FOUND, b"")


def test_server_refuses_an_oversized_request_with_too_large_and_hangs_up() -> None:
    with (
        ServerThread(max_payload=100) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock,
    ):
        sock.sendall(HEADER.pack(Code.SET, 0, 101))
        replies = read_replies(sock, 2)
        assert len(replies) == 1  # then end of file
    code, payload = replies[0]
    assert code == Code.ERROR
    assert struct.unpack_from("<H", payload)[0] == ErrorCode.TOO_LARGE
    assert b"101 bytes is over max_payload=100" in payload


def test_server_answers_pipelined_requests_in_order(server_thread: ServerThread) -> None:
    conn = ClientConnection()
    requests: list[Get | Set] = [Set(b"a", b"1"), Get(b"a"), Get(b"b"), Set(b"b", b"2"), Get(b"b")]
    with socket.create_connection(("127.0.0.1", server_thread.port), timeout=5) as sock:
        sock.sendall(conn.send_many(requests))
        replies: list[object] = []
        while len(replies) < len(requests):
            conn.receive_data(sock.recv(65536))
            while (event := conn.next_event()) is not NEED_DATA:
                replies.append(event)
    assert replies == [Ok(), Value(b"1"), NotFound(), Ok(), Value(b"2")]


def test_server_survives_a_client_that_vanishes_mid_request(server_thread: ServerThread) -> None:
    with socket.create_connection(("127.0.0.1", server_thread.port), timeout=5) as sock:
        sock.sendall(encode_request(Set(b"k", b"v" * 100))[:20])
    with socket.create_connection(("127.0.0.1", server_thread.port), timeout=5) as sock:
        sock.sendall(encode_request(Get(b"k")))
        assert read_replies(sock, 1) == [(Code.NOT_FOUND, b"")]


async def test_stopping_the_server_fails_a_connected_client_clearly() -> None:
    async with serve() as server:
        client = await AsyncClient.connect("127.0.0.1", server.port, timeout=5)
        await client.set("k", "v")
    # serve() closed every connection on the way out; the reader sees the end.
    await asyncio.wait_for(client._broken.wait(), 5)
    with pytest.raises(ConnectionClosedError, match="server closed the connection"):
        await client.get("k")
    await client.close()


def test_error_reply_event_from_raw_bytes_names_the_code() -> None:
    conn = ClientConnection()
    conn.send(Get(b"k"))
    conn.receive_data(HEADER.pack(Code.ERROR, 0, 4) + struct.pack("<H", 3) + b"no")
    assert conn.next_event() == Error(ErrorCode.TOO_LARGE, "no")
