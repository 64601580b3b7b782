"""A real ``policydesk serve`` for the tests that need a server process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tests.mail._ports import free_port

POLICYDESK = Path(sys.executable).parent / "policydesk"


@contextlib.contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[int]:
    """``policydesk serve`` with ``env`` added to this process's environment, on a free port;
    the port once it accepts connections. Its output goes to ``log``, shown if it fails."""
    port = free_port()
    full = {**os.environ, **env, "POLICYDESK_PORT": str(port)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(POLICYDESK), "serve"],
            env=full,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.1)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
