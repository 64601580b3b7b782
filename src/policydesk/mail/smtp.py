"""The SMTP receiver (``policydesk mail serve``): mail for the desk's addresses, taken in and
committed before ``250`` is answered. A message that cannot be stored now is answered ``451``
(the sending server keeps it and tries again); one over the size limit ``552`` before it is
read. Each message runs in a worker thread, or in the next free intake process
(``POLICYDESK_MAIL_WORKERS``, see ``policydesk.mail.intake_pool``), so that the server keeps
accepting meanwhile."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from aiosmtpd.smtp import Session as SmtpSession

from policydesk.mail.intake import Intaker
from policydesk.mail.intake_pool import IntakePool

__all__ = ["IntakeHandler", "start_receiver"]

log = logging.getLogger("policydesk.mail")


class IntakeHandler:
    """aiosmtpd's handler: refuses mail for other addresses, takes the rest in."""

    def __init__(self, intaker: Intaker, pool: IntakePool | None = None) -> None:
        self.intaker = intaker
        self.pool = pool
        self.settings = intaker.settings
        self.addresses = {a.strip().lower() for a in intaker.settings.mail_addresses}

    async def handle_RCPT(
        self,
        server: Any,
        session: SmtpSession,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.addresses and address.strip().lower() not in self.addresses:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: SmtpSession, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        # At final delivery the envelope sender becomes Return-Path (RFC 5321 4.4): "<>" marks
        # a bounce, which must never be answered.
        sender = (envelope.mail_from or "").strip().strip("<>")
        raw = b"Return-Path: <" + sender.encode() + b">\r\n" + content
        try:
            if self.pool is None:
                done = await asyncio.to_thread(self.intaker.take, raw, source="smtp")
            else:
                done = await self.pool.take(raw, source="smtp")
        except Exception:
            log.exception("a message from %s could not be stored; answered 451", envelope.mail_from)
            return "451 4.3.0 The message could not be stored now; please try again later"
        log.info("message <%s> from %s: %s %s", done.message_id, envelope.mail_from,
                 done.outcome, done.ticket_id or "")  # fmt: skip
        return f"250 2.0.0 OK: {done.outcome}"


def start_receiver(handler: IntakeHandler) -> Controller:
    """Listen on ``mail_listen_host:mail_listen_port`` in a thread; ``.stop()`` ends it."""
    s = handler.settings
    controller = Controller(
        handler,
        hostname=s.mail_listen_host,
        port=s.mail_listen_port,
        data_size_limit=s.mail_max_message_bytes,
        server_hostname=s.mail_domain,
    )
    controller.start()
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    return controller
