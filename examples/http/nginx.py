"""The nginx this chapter's tests and benchmark talk to: started here, stopped here.

``Nginx(directory).start()`` writes a config into ``directory`` and runs
``nginx`` from PATH (or /usr/sbin) in the foreground (``daemon off``) with its
own prefix, pid file, logs and temp paths there, on a free loopback port (and
a second one for TLS when given a certificate). What it serves:

* ``/small.txt`` (100 bytes), ``/page.txt`` (16 KiB of text, gzip-able),
  ``/big.bin`` (1 MiB) -- static files; gzip on for ``text/plain``;
* ``/redirect`` -> 302 to ``/small.txt``; ``/redirect-loop`` -> itself;
  ``/redirect-303`` -> 303 to ``/small.txt``;
* ``/missing`` -> 404; ``/bad-gateway`` -> 502 (a proxy to a port nobody
  listens on);
* ``/token?token=T`` -> ``T`` in the body and in ``X-Token``;
* ``/dav/`` -> WebDAV ``PUT``/``DELETE`` (so uploads can be read back with ``GET``);
* ``/close`` -> a response with ``Connection: close`` (keepalive off there).

Keep-alive is nginx's default (75 s, 1000 requests per connection; raised
to 100 000 here so the benchmark's connections live through a run).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["Nginx", "find_nginx", "free_port"]

SMALL = b"0123456789" * 10
PAGE = b"".join(b"line %05d of a page that compresses well\n" % i for i in range(400))[:16384]
BIG = bytes(range(256)) * 4096  # 1 MiB


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


_CONFIG = """\
{user}
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    default_type application/octet-stream;
    types {{ text/plain txt; application/octet-stream bin; }}
    keepalive_requests 100000;
    gzip on;
    gzip_types text/plain;
    gzip_min_length 1000;
    server {{
        listen 127.0.0.1:{port};
        {tls}
        root {root}/www;
        location = /redirect {{ return 302 /small.txt; }}
        location = /redirect-303 {{ return 303 /small.txt; }}
        location = /redirect-loop {{ return 302 /redirect-loop; }}
        location = /missing {{ return 404; }}
        location = /bad-gateway {{ proxy_pass http://127.0.0.1:{dead_port}; }}
        location = /token {{ add_header X-Token $arg_token; return 200 $arg_token; }}
        location = /close {{ keepalive_timeout 0; return 200 "closing"; }}
        location /dav/ {{
            dav_methods PUT DELETE;
            create_full_put_path on;
            client_max_body_size 64m;
        }}
    }}
}}
"""

_TLS = "listen 127.0.0.1:{tls_port} ssl; ssl_certificate {cert}; ssl_certificate_key {key};"


class Nginx:
    """One nginx on 127.0.0.1:``port`` (and ``tls_port`` with a certificate)."""

    def __init__(self, directory: Path, *, cert: Path | None = None,
                 key: Path | None = None) -> None:
        self.root = Path(directory)
        self.port = free_port()
        self.tls_port = free_port() if cert else None
        self._cert = cert
        self._key = key
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}"

    def start(self, timeout: float = 10.0) -> Nginx:
        binary = find_nginx()
        if binary is None:
            raise RuntimeError("nginx is not installed (apt-get install nginx)")
        www = self.root / "www"
        (www / "dav").mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        (www / "small.txt").write_bytes(SMALL)
        (www / "page.txt").write_bytes(PAGE)
        (www / "big.bin").write_bytes(BIG)
        tls = _TLS.format(tls_port=self.tls_port, cert=self._cert, key=self._key) \
            if self._cert else ""
        # Run as root (CI): the workers would drop to "nobody" and fail to read
        # a private temporary directory, so they stay root.
        user = "user root;" if os.geteuid() == 0 else ""
        config = self.root / "nginx.conf"
        config.write_text(_CONFIG.format(user=user, root=self.root, port=self.port, tls=tls,
                                         dead_port=free_port()))
        self.process = subprocess.Popen(
            [binary, "-p", str(self.root), "-c", str(config), "-e", str(self.root / "error.log"),
             "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"nginx exited at start (code {self.process.returncode}): {err}")
            if self._answers():
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"nginx on port {self.port} did not answer within {timeout} s")

    def _answers(self) -> bool:
        ports = [self.port] + ([self.tls_port] if self.tls_port else [])
        try:
            for port in ports:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    pass
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
