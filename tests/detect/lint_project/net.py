"""A raw-socket connection: the socket's type is known from the table's ``returns``."""

from __future__ import annotations

import socket
import threading


class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.lock = threading.Lock()

    def read(self) -> bytes:
        return self.sock.recv(4096)  # FINDING: 3 deep from app.Service.status

    def locked_send(self, data: bytes) -> None:
        with self.lock:  # FINDING: threading.Lock.__enter__, 1 deep from app.send
            self.sock.sendall(data)  # FINDING: socket.socket.sendall, 1 deep
