"""An SMTP server for the tests: aiosmtpd's ``Controller`` on a loopback port that keeps
every message it receives, for tests of what Policydesk sends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.mail._ports import free_port

__all__ = ["Received", "SmtpServer", "running_smtp_server", "smtp_server"]

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One message as the server got it: the envelope and the bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes


@dataclass
class _Collector:
    """aiosmtpd's handler: accepts every message and keeps it."""

    messages: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        with self.arrived:
            self.messages.append(
                Received(envelope.mail_from or "", tuple(envelope.rcpt_tos), bytes(data))
            )
            self.arrived.notify_all()
        return "250 Message accepted"


@dataclass(frozen=True)
class SmtpServer:
    """A running server: where it listens and what it has received so far."""

    host: str
    port: int
    _collector: _Collector

    @property
    def messages(self) -> list[Received]:
        with self._collector.arrived:
            return list(self._collector.messages)

    @property
    def parsed(self) -> list[EmailMessage]:
        """The messages received so far, parsed (policy ``default``)."""
        found = []
        for received in self.messages:
            msg = message_from_bytes(received.data, policy=default)
            assert isinstance(msg, EmailMessage)
            found.append(msg)
        return found

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The messages once at least ``count`` have arrived; raises TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._collector.arrived:
            while len(self._collector.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    got = len(self._collector.messages)
                    raise TimeoutError(f"{got} of {count} messages arrived in {timeout}s")
                self._collector.arrived.wait(left)
            return list(self._collector.messages)


def running_smtp_server() -> Iterator[SmtpServer]:
    """Start the server on a free loopback port, yield it, stop it."""
    collector = _Collector()
    last: OSError | None = None
    for _attempt in range(3):  # the free port may be taken before the server binds it
        controller = Controller(collector, hostname=HOST, port=free_port())
        try:
            controller.start()
        except OSError as exc:
            last = exc
            continue
        try:
            yield SmtpServer(HOST, controller.port, collector)
        finally:
            controller.stop()
        return
    raise RuntimeError(f"the SMTP test server did not start: {last}")


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A fresh SMTP server that keeps what it receives, stopped after the test."""
    yield from running_smtp_server()
