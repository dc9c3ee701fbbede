"""A real server on a free port, started the way a user starts it."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import IO

import httpx2

from tests.command_line import create_key

__all__ = ["Server", "create_key", "free_port", "start_server"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running ``treaty-ledger serve`` process."""

    url: str
    process: subprocess.Popen[str]
    database: str
    log: IO[str]
    """The server's output: a file, not a pipe, which a long test would fill and so block the server."""

    def output(self) -> str:
        """Everything the server printed so far."""
        self.log.seek(0)
        return self.log.read()

    def client(self, key: str | None = None) -> httpx2.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx2.Client(base_url=self.url, headers=headers, timeout=60)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def start_server(database: str, *, workers: int = 1, env: dict[str, str] | None = None) -> Server:
    port = free_port()
    log = tempfile.TemporaryFile(mode="w+")  # closed by Server.stop
    process = subprocess.Popen(
        [sys.executable, "-m", "treaty_ledger.cli", "serve", "--port", str(port), "--workers", str(workers), "--database", database],
        stdout=log, stderr=subprocess.STDOUT, text=True, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the server exited: {log.read()}")
        try:
            if httpx2.get(f"{url}/readyz", timeout=1).status_code == 200:
                return Server(url, process, database, log)
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)  # polling a process that is starting, not waiting on the ledger
    process.kill()
    log.close()
    raise RuntimeError("the server did not become ready within 60 s")
