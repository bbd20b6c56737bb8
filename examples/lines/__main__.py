"""``python -m examples.lines [--port N]``: run the lines server until Ctrl-C."""

from __future__ import annotations

import argparse
import threading

from examples.lines.server import ServerThread

parser = argparse.ArgumentParser(prog="python -m examples.lines")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=7000, help="0 picks a free port")
args = parser.parse_args()
with ServerThread(args.host, args.port) as server:
    print(f"lines server on {server.host}:{server.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
