"""The ``if __name__ == "__main__":`` demo block becomes ``asyncio.run(main())``.

smtplib, ftplib, poplib, nntplib end with a demo that drives the client at
module level. Ported, those calls made coroutines nothing awaited; the port
said so (a located warning per call) and left the block as it was, so
running the ported module as a script did nothing. A user porting the module
expects the script to keep working: the block's body becomes the body of an
``async def main()`` (its lines unchanged, so comments and layout stay, and
the calls in it are awaited like any coroutine's), and the module ends with
``if __name__ == "__main__": asyncio.run(main())``. An object of a class whose
``__init__`` I/O ``--defer-init-io`` moved into ``__aenter__`` is entered
where the demo makes it (``await POP3(host).__aenter__()``), which is what
constructing it did in the sync code.

Where moving the block into a function could change what it means, the
block stays as it was and each call is still a located warning: a name it
binds that module code reads as a global, a ``global`` statement, an
``else:``, or more module code after it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from ambidex._rules import DEFAULT_TABLE
from ambidex.codegen._to_async import to_async

CLIENT = '''\
import socket


class Client:
    def __init__(self, host, port):
        self.address = (host, port)

    def connect(self):
        self.sock = socket.create_connection(self.address)

    def ask(self, line):
        self.sock.sendall(line + b"\\n")
        return self.sock.recv(100)

    def close(self):
        self.sock.close()
'''

DEMO = '''

if __name__ == '__main__':
    import sys
    # the demo: one question
    c = Client("127.0.0.1", int(sys.argv[1]))
    c.connect()
    print(c.ask(b"hello").decode())
    for answer in [c.ask(b"again")]:
        print(answer.decode())
    c.close()
'''

EAGER = CLIENT.replace(
    "        self.address = (host, port)\n",
    "        self.address = (host, port)\n        self.connect()\n",
)
"""The client connects in ``__init__``: ported with ``--defer-init-io``."""
EAGER_DEMO = DEMO.replace("    c.connect()\n", "")


def port(source: str, *, defer_init_io: bool = False) -> tuple[str, list[str], list[str]]:
    result = to_async(
        {"client.py": source}, table=DEFAULT_TABLE, renames={}, defer_init_io=defer_init_io
    )
    errors = [str(d) for d in result.diagnostics if d.error]
    warnings = [str(d) for d in result.diagnostics if not d.error]
    return result.outputs["client.py"], errors, warnings


def test_the_main_block_becomes_an_async_main_run_by_asyncio_run() -> None:
    output, errors, warnings = port(CLIENT + DEMO)
    assert errors == []
    assert not [w for w in warnings if "__main__" in w], warnings
    assert output.endswith(textwrap.dedent('''\
        async def main():
            import sys
            # the demo: one question
            c = Client("127.0.0.1", int(sys.argv[1]))
            await c.connect()
            print((await c.ask(b"hello")).decode())
            for answer in [await c.ask(b"again")]:
                print(answer.decode())
            await c.close()


        if __name__ == '__main__':
            asyncio.run(main())
        '''))
    assert output.startswith("import asyncio\n")


def test_a_deferred_class_made_in_the_main_block_is_entered_there() -> None:
    output, errors, _ = port(EAGER + EAGER_DEMO, defer_init_io=True)
    assert errors == []
    assert '    c = await Client("127.0.0.1", int(sys.argv[1])).__aenter__()\n' in output
    assert output.endswith("    asyncio.run(main())\n")


def test_the_ported_main_runs_as_a_script(tmp_path: Path) -> None:
    # A one-shot server in a subprocess answering each line; the ported module
    # runs as a script with RuntimeWarning as an error.
    output, errors, _ = port(EAGER + EAGER_DEMO, defer_init_io=True)
    assert errors == []
    script = tmp_path / "client.py"
    script.write_text(output)
    server = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent('''\
            import socket, sys
            listener = socket.create_server(("127.0.0.1", 0))
            print(listener.getsockname()[1], flush=True)
            conn, _ = listener.accept()
            with conn, conn.makefile("rb") as lines:
                for line in lines:
                    conn.sendall(b"you said " + line.strip())
            ''')],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert server.stdout is not None
        port_number = server.stdout.readline().strip()
        ran = subprocess.run(
            [sys.executable, "-W", "error::RuntimeWarning", str(script), port_number],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    finally:
        server.wait(timeout=30)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "you said hello\nyou said again\n"


def test_a_main_block_binding_a_name_module_code_reads_stays_and_is_reported() -> None:
    source = EAGER + textwrap.dedent('''\


        def report():
            return verbose


        if __name__ == "__main__":
            verbose = True
            Client("h", 1).ask(b"x")
        ''')
    output, errors, warnings = port(source, defer_init_io=True)
    assert errors == []
    assert '\nif __name__ == "__main__":\n    verbose = True\n' in output
    assert "async def main" not in output
    assert [w.split(": ", 1)[0] for w in warnings if "__main__" in w] == ["client.py:26:5"]


def test_a_main_block_followed_by_module_code_stays_and_is_reported() -> None:
    source = CLIENT + DEMO + "\nLATE = 1\n"
    output, errors, warnings = port(source)
    assert errors == []
    assert "async def main" not in output
    assert len([w for w in warnings if "__main__" in w]) == 4


def test_a_deferred_class_made_in_a_function_outside_with_is_entered_there() -> None:
    # ftplib's test(): `ftp = FTP(host)`, then ftp.login(): with --defer-init-io
    # the constructor no longer connects, so the ported test() used an object
    # that never connected, exit 0, no word at the call.
    source = EAGER + textwrap.dedent('''\


        def fetch(port):
            c = Client("127.0.0.1", port)
            answer = c.ask(b"x")
            with Client("127.0.0.1", port) as d:
                d.ask(b"y")
            return answer
        ''')
    output, errors, _ = port(source, defer_init_io=True)
    assert errors == []
    assert '    c = await Client("127.0.0.1", port).__aenter__()\n' in output
    assert '    async with Client("127.0.0.1", port) as d:\n' in output


def test_a_deferred_object_made_at_import_time_is_a_located_warning() -> None:
    # Nothing can enter it there: `CLIENT = Client(...)` at module level made a
    # connected client in the sync code and an unconnected one in the port,
    # exit 0, no word. Now said, with its place (an error with --strict).
    source = EAGER + '\n\nSHARED = Client("127.0.0.1", 1)\n'
    output, errors, warnings = port(source, defer_init_io=True)
    assert errors == []
    found = [w for w in warnings if "SHARED" in w or "never entered" in w]
    assert [w.split(": ", 1)[0] for w in found] == ["client.py:20:10"]
    assert "Client.__aenter__" in found[0]
    assert 'SHARED = Client("127.0.0.1", 1)\n' in output
