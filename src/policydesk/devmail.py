"""A mail catcher for local use: a real SMTP server on loopback that keeps every message it
receives in a Maildir and logs one line per message, so that what the desk sends can be read
without a mail provider (``policydesk serve --dev-mail``, ``policydesk mail sink``)."""

from __future__ import annotations

import logging
import mailbox
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

__all__ = ["MailSink", "start_sink"]

log = logging.getLogger("policydesk.devmail")


class MailSink:
    """The aiosmtpd handler: stores each message, then answers 250."""

    def __init__(self, folder: Path) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.maildir = mailbox.Maildir(folder, create=True)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.maildir.add(raw)
        msg = message_from_bytes(raw, policy=default)
        log.info("mail to %s: %s", ", ".join(envelope.rcpt_tos), msg.get("Subject", ""))
        return "250 OK"


def start_sink(folder: Path, *, host: str, port: int) -> Controller:
    """Start the catcher on ``host:port`` in a thread of its own; ``.stop()`` ends it."""
    controller = Controller(MailSink(folder), hostname=host, port=port)
    controller.start()
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    return controller
