"""The stdlib's imaplib, ported unattended, talks to a small IMAP4rev1 responder.

The responder (CAPABILITY, LOGIN, SELECT, SEARCH, FETCH with a literal, NOOP,
LOGOUT) runs in the test's own event loop: a port that blocked the loop would
hang rather than pass. The large FETCH makes the literal path (``read(n)`` on
the socket's file) cross many receives.
"""

from __future__ import annotations

import asyncio
import imaplib
from pathlib import Path

from tests.realports._harness import Ticker, port_stdlib, strict_asyncio

MESSAGES = [
    b"Subject: one\r\n\r\nhello\r\n",
    b"Subject: big\r\n\r\n" + (b"z" * 998 + b"\r\n") * 1500,  # 1.5 MB
]


async def imap_responder(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"* OK IMAP4rev1 test responder ready\r\n")
    while line := await reader.readline():
        tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
        command, _, argument = rest.partition(b" ")
        command = command.upper()
        if command == b"CAPABILITY":
            writer.write(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n")
        elif command == b"LOGIN":
            if [a.strip(b"\"") for a in argument.split()] != [b"ann", b"secret"]:
                writer.write(tag + b" NO bad credentials\r\n")
                continue
        elif command == b"SELECT":
            writer.write(b"* %d EXISTS\r\n* 0 RECENT\r\n" % len(MESSAGES))
            writer.write(tag + b" OK [READ-WRITE] SELECT completed\r\n")
            await writer.drain()
            continue
        elif command == b"SEARCH":
            numbers = b" ".join(b"%d" % (i + 1) for i in range(len(MESSAGES)))
            writer.write(b"* SEARCH " + numbers + b"\r\n")
        elif command == b"FETCH":
            number = int(argument.split()[0])
            body = MESSAGES[number - 1]
            writer.write(b"* %d FETCH (RFC822 {%d}\r\n" % (number, len(body)) + body + b")\r\n")
        elif command == b"LOGOUT":
            writer.write(b"* BYE logging out\r\n" + tag + b" OK LOGOUT completed\r\n")
            await writer.drain()
            break
        elif command != b"NOOP":
            writer.write(tag + b" BAD unknown command\r\n")
            await writer.drain()
            continue
        writer.write(tag + b" OK " + command + b" completed\r\n")
        await writer.drain()
    writer.close()


def test_ported_imaplib_logs_in_selects_searches_and_fetches_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    ported, messages = port_stdlib(imaplib, tmp_path, "--defer-init-io")
    assert any("moved into IMAP4.__aenter__" in m for m in messages), messages

    async def main() -> None:
        server = await asyncio.start_server(imap_responder, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with ported.IMAP4("127.0.0.1", port, timeout=10) as client:
                assert "IMAP4REV1" in client.capabilities
                assert (await client.login("ann", "secret"))[0] == "OK"
                typ, data = await client.select("INBOX")
                assert (typ, data) == ("OK", [b"2"])
                typ, data = await client.search(None, "ALL")
                assert data == [b"1 2"]
                typ, data = await client.fetch("1", "(RFC822)")
                assert data[0][1] == MESSAGES[0]
                async with Ticker() as ticker:
                    typ, data = await client.fetch("2", "(RFC822)")
                assert ticker.ticks > 1
                assert data[0][1] == MESSAGES[1]
                assert (await client.noop())[0] == "OK"
                assert (await client.logout())[0] == "BYE"
        finally:
            server.close()
            await server.wait_closed()

    strict_asyncio(main())
