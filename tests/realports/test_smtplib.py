"""The stdlib's smtplib, ported unattended, sends mail through aiosmtpd.

aiosmtpd runs in the test's own event loop, so a port that blocked the loop
anywhere would not be slow: it would hang (and time out).
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session

from tests.realports._harness import Ticker, port_stdlib, strict_asyncio


class Collect:
    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.mails.append((envelope.mail_from or "", list(envelope.rcpt_tos), content))
        return "250 OK"


def test_ported_smtplib_sends_mail_and_a_large_message_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    ported, messages = port_stdlib(smtplib, tmp_path, "--defer-init-io")
    assert any("moved into SMTP.__aenter__" in m for m in messages), messages
    # The demo at the end of smtplib (sendmail() and quit() at module level) is
    # an `async def main()` run by asyncio.run: nothing left to warn about.
    assert not [m for m in messages if "__main__" in m], messages
    assert callable(ported.main)
    big = "Subject: big\r\n\r\n" + ("x" * 998 + "\r\n") * 1000  # 1 MB

    async def main() -> None:
        handler = Collect()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTPServer(handler), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with ported.SMTP("127.0.0.1", port, timeout=10) as client:
                code, _ = await client.ehlo()
                assert code == 250 and client.has_extn("size")
                refused = await client.sendmail(
                    "alice@example.org", ["bob@example.org"], "Subject: hi\r\n\r\nhello\r\n"
                )
                assert refused == {}
                async with Ticker() as ticker:
                    await client.sendmail("alice@example.org", ["carol@example.org"], big)
                assert ticker.ticks > 1
                assert (await client.noop())[0] == 250
            assert client.sock is None  # __aexit__ sent QUIT and closed
        finally:
            server.close()
            await server.wait_closed()
        assert [m[1] for m in handler.mails] == [["bob@example.org"], ["carol@example.org"]]
        assert b"hello" in handler.mails[0][2]
        assert len(handler.mails[1][2]) > 1_000_000

    strict_asyncio(main())


def test_ported_smtplib_upgrades_with_starttls(tmp_path: Path) -> None:
    ported, _ = port_stdlib(smtplib, tmp_path, "--defer-init-io")
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    async def main() -> None:
        handler = Collect()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTPServer(handler, tls_context=server_context, require_starttls=True),
            "127.0.0.1",
            0,
        )
        port = server.sockets[0].getsockname()[1]
        try:
            async with ported.SMTP("localhost", port, timeout=10) as client:
                await client.ehlo()
                assert client.has_extn("starttls")
                code, _ = await client.starttls(context=client_context)
                assert code == 220
                await client.ehlo()
                await client.sendmail("a@example.org", ["b@example.org"], "Subject: tls\r\n\r\nok")
        finally:
            server.close()
            await server.wait_closed()
        assert len(handler.mails) == 1

    strict_asyncio(main())
