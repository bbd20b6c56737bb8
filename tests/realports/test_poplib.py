"""The stdlib's poplib, ported unattended, reads mail from a small POP3 responder.

The responder (RFC 1939's USER/PASS, STAT, LIST, UIDL, RETR, TOP, DELE, NOOP,
RSET, QUIT, with dot-stuffing) runs in the test's event loop: a port that
blocked the loop would hang instead of passing.
"""

from __future__ import annotations

import asyncio
import poplib
from pathlib import Path
from typing import Any

import pytest

from tests.realports._harness import Ticker, port_stdlib, strict_asyncio

MAILS = [
    b"Subject: one\r\n\r\nhello\r\n",
    b"Subject: two\r\n\r\n.starts with a dot\r\n" + b"y" * 990 + b"\r\n" * 1,
    b"Subject: big\r\n\r\n" + (b"z" * 998 + b"\r\n") * 1200,  # 1.2 MB
]


async def pop3_responder(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    deleted: set[int] = set()
    user = None

    def send(*lines: bytes) -> None:
        writer.write(b"".join(line + b"\r\n" for line in lines))

    send(b"+OK POP3 responder ready <1.2@test>")
    while line := await reader.readline():
        command, _, argument = line.strip().partition(b" ")
        command = command.upper()
        live = [(i + 1, m) for i, m in enumerate(MAILS) if i + 1 not in deleted]
        if command == b"USER":
            user = argument
            send(b"+OK")
        elif command == b"PASS":
            send(b"+OK logged in" if (user, argument) == (b"ann", b"secret") else b"-ERR no")
        elif command == b"STAT":
            send(b"+OK %d %d" % (len(live), sum(len(m) for _, m in live)))
        elif command == b"LIST":
            send(b"+OK", *(b"%d %d" % (n, len(m)) for n, m in live), b".")
        elif command == b"UIDL":
            send(b"+OK", *(b"%d uid%d" % (n, n) for n, _ in live), b".")
        elif command in (b"RETR", b"TOP"):
            number = int(argument.split()[0])
            body = MAILS[number - 1].split(b"\r\n")[:-1]
            if command == b"TOP":
                body = body[: body.index(b"") + 1 + int(argument.split()[1])]
            stuffed = [b"." + x if x.startswith(b".") else x for x in body]
            send(b"+OK", *stuffed, b".")
        elif command == b"DELE":
            deleted.add(int(argument))
            send(b"+OK deleted")
        elif command in (b"NOOP", b"RSET"):
            if command == b"RSET":
                deleted.clear()
            send(b"+OK")
        elif command == b"QUIT":
            send(b"+OK bye")
            await writer.drain()
            break
        else:
            send(b"-ERR unknown command")
        await writer.drain()
    writer.close()


def test_ported_poplib_lists_retrieves_and_deletes_mail_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    ported, messages = port_stdlib(poplib, tmp_path, "--defer-init-io")
    assert any("moved into POP3.__aenter__" in m for m in messages), messages
    # The demo block is an `async def main()` run by asyncio.run: no warning.
    assert not [m for m in messages if "__main__" in m], messages

    async def main() -> None:
        server = await asyncio.start_server(pop3_responder, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with ported.POP3("127.0.0.1", port, timeout=10) as client:
                assert client.getwelcome().startswith(b"+OK POP3")
                await client.user("ann")
                await client.pass_("secret")
                count, size = await client.stat()
                assert (count, size) == (3, sum(len(m) for m in MAILS))
                _, listing, _ = await client.list()
                assert listing == [b"%d %d" % (i + 1, len(m)) for i, m in enumerate(MAILS)]
                _, lines, _ = await client.retr(2)
                assert lines[2] == b".starts with a dot"  # un-stuffed
                _, top, _ = await client.top(1, 0)
                assert top == [b"Subject: one", b""]
                async with Ticker() as ticker:
                    _, lines, octets = await client.retr(3)
                assert ticker.ticks > 1
                assert len(lines) == 1202 and octets > 1_200_000
                await client.dele(1)
                assert (await client.stat())[0] == 2
                await client.quit()
        finally:
            server.close()
            await server.wait_closed()

    strict_asyncio(main())


def test_the_ported_poplib_demo_runs_as_its_main(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # poplib's demo (`python poplib.py host user password`), ported into an
    # `async def main()`: it connects on POP3(host) (entered there), logs in,
    # lists and prints the messages. Its `print('   ' + line)` of a bytes line
    # raises TypeError in the sync demo too (poplib's demo predates bytes):
    # the port keeps that, after the demo has logged in and fetched message 1.
    ported, _ = port_stdlib(poplib, tmp_path, "--defer-init-io")

    async def main() -> None:
        server = await asyncio.start_server(pop3_responder, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        # The demo connects to POP3's default port: point it at the responder.
        init = ported.POP3.__init__
        monkeypatch.setattr(init, "__defaults__", (port, *init.__defaults__[1:]))
        monkeypatch.setattr("sys.argv", ["poplib.py", "127.0.0.1", "ann", "secret"])
        made: list[Any] = []
        enter = ported.POP3.__aenter__

        async def entered(self: object) -> object:
            made.append(self)
            return await enter(self)

        monkeypatch.setattr(ported.POP3, "__aenter__", entered)
        try:
            with pytest.raises(TypeError, match="concatenate str"):
                await ported.main()
            assert len(made) == 1
            await made[0].close()  # the demo stopped before its quit()
        finally:
            server.close()
            await server.wait_closed()

    strict_asyncio(main())
    printed = capsys.readouterr().out
    assert printed.startswith("b'+OK POP3 responder ready")
    assert printed.endswith("Message 1:\n")
