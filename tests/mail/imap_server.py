"""A real IMAP4rev1 server for the tests: pymap's in-memory backend on a loopback port.

``running_imap_server()`` starts ``pymap`` (a dev dependency) in a child process with one
user and an empty INBOX, waits until it greets, and stops it afterwards; the ``imap_server``
fixture gives each test a fresh one. ``ImapServer.append`` puts a message into a mailbox the
way a mail server's delivery would, so a poller under test finds it there.
"""

from __future__ import annotations

import contextlib
import imaplib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

import pytest

from tests.mail._ports import free_port

__all__ = ["ImapServer", "imap_server", "running_imap_server"]

HOST = "127.0.0.1"
USER = "support@desk.example"
PASSWORD = "imap-test-password"
START_TIMEOUT = 20.0
#: pymap's console script, run by the test's own interpreter (no PATH lookup).
_PYMAP = "import sys; from pymap.main import main; sys.argv[0] = 'pymap'; sys.exit(main())"


@dataclass(frozen=True)
class ImapServer:
    """A running server: where it listens and the one user it knows."""

    host: str
    port: int
    user: str
    password: str

    @contextlib.contextmanager
    def client(self) -> Iterator[imaplib.IMAP4]:
        """A logged-in standard-library client; logged out afterwards."""
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            conn.login(self.user, self.password)
            yield conn
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                conn.logout()

    def append(self, raw: bytes, mailbox: str = "INBOX", flags: Iterable[str] = ()) -> None:
        """Deliver ``raw`` into ``mailbox`` (created if missing) with ``flags``."""
        with self.client() as conn:
            if mailbox != "INBOX":
                conn.create(mailbox)  # "already exists" is a NO, which is fine
            flag_list = "(" + " ".join(flags) + ")" if flags else None
            status, detail = conn.append(mailbox, flag_list, None, raw)
            if status != "OK":
                raise RuntimeError(f"APPEND to {mailbox} failed: {detail!r}")


def _greets(port: int) -> bool:
    try:
        conn = imaplib.IMAP4(HOST, port, timeout=2)
    except OSError:
        return False
    with contextlib.suppress(imaplib.IMAP4.error, OSError):
        conn.logout()
    return True


def _start(port: int, user: str, password: str, log: IO[bytes]) -> subprocess.Popen[bytes]:
    server = ["--host", HOST, "--port", str(port), "--no-tls"]
    backend = ["dict", "--demo-user", user, "--demo-password", password]
    # Its output goes to a file, not a pipe: nobody reads a pipe while tests run, and a full
    # one would stall the server.
    return subprocess.Popen(
        [sys.executable, "-c", _PYMAP, *server, *backend], stdout=log, stderr=log
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def running_imap_server(user: str = USER, password: str = PASSWORD) -> Iterator[ImapServer]:
    """Start pymap on a free loopback port, yield it once it greets, stop it afterwards."""
    failures: list[str] = []
    for _attempt in range(3):  # the free port may be taken before pymap binds it
        port = free_port()
        with tempfile.TemporaryFile() as log:
            proc = _start(port, user, password, log)
            deadline = time.monotonic() + START_TIMEOUT
            while proc.poll() is None and time.monotonic() < deadline and not _greets(port):
                time.sleep(0.05)
            if proc.poll() is None and _greets(port):
                try:
                    yield ImapServer(HOST, port, user, password)
                finally:
                    _stop(proc)
                return
            _stop(proc)
            log.seek(0)
            said = log.read().decode(errors="replace").strip()[-500:]
            failures.append(f"port {port}: exit {proc.returncode}: {said}")
    raise RuntimeError("pymap did not start: " + " | ".join(failures))


@pytest.fixture
def imap_server() -> Iterator[ImapServer]:
    """A fresh IMAP server with one user and an empty INBOX, stopped after the test."""
    with running_imap_server() as server:
        yield server
