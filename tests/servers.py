"""``tamis serve`` in a subprocess on a free loopback port, for tests over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

TAMIS = os.path.join(os.path.dirname(sys.executable), "tamis")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(
    env: dict[str, str], start_seconds: float = 30, options: tuple[str, ...] = ()
) -> Iterator[str]:
    """The base URL of a running ``tamis serve [options]``; stopped afterwards."""
    port = free_port()
    command = [TAMIS, "serve", "--host", "127.0.0.1", "--port", str(port), *options]
    server = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_seconds  # a loaded 2-core machine starts slowly
        while True:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, (
                    f"tamis serve did not start in {start_seconds} s"
                )
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(10)
