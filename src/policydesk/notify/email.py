"""E-mail over SMTP, one connection kept open across a batch of messages."""

from __future__ import annotations

import contextlib
import datetime as dt
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formatdate

from policydesk.notify.base import Delivery, DeliveryFailed
from policydesk.settings import Settings

__all__ = ["SmtpNotifier", "build_email"]

# Headers are not folded: the standard library's folding adds a space before an encoded word
# ("EST — x" comes back as "EST  — x"); RFC 5322 allows lines of up to 998 characters.
_POLICY = SMTP.clone(max_line_length=998)


def build_email(delivery: Delivery, *, sender: str) -> EmailMessage:
    """The message as it goes on the wire. ``delivery.data`` may carry ``message_id``,
    ``in_reply_to``, ``references`` (list), ``auto_submitted``, ``ticket_id`` and ``date``
    (an aware datetime's ISO text; default: now)."""
    data = delivery.data
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = sender
    msg["To"] = delivery.recipient
    msg["Subject"] = delivery.subject
    msg["Date"] = (
        format_datetime(dt.datetime.fromisoformat(data["date"]))
        if data.get("date")
        else formatdate(usegmt=True)
    )
    if data.get("message_id"):
        msg["Message-ID"] = data["message_id"]
    if data.get("in_reply_to"):
        msg["In-Reply-To"] = data["in_reply_to"]
    if data.get("references"):
        msg["References"] = " ".join(data["references"])
    # RFC 3834: automatic messages say so, so that auto-responders do not answer them.
    msg["Auto-Submitted"] = data.get("auto_submitted", "auto-generated")
    if data.get("ticket_id") is not None:
        msg["X-Policydesk-Ticket"] = str(data["ticket_id"])
    msg["X-Policydesk-Key"] = delivery.key
    msg.set_content(delivery.body)
    return msg


class SmtpNotifier:
    channel = "email"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp: smtplib.SMTP
        if s.smtp_ssl:
            ctx = ssl.create_default_context()
            smtp = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds, context=ctx
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
        if s.smtp_user:
            password = s.smtp_password.get_secret_value() if s.smtp_password else ""
            smtp.login(s.smtp_user, password)
        return smtp

    def send(self, delivery: Delivery) -> None:
        msg = build_email(delivery, sender=self.settings.mail_from)
        for attempt in (1, 2):  # a kept connection may have been closed by the server
            try:
                if self._smtp is None:
                    self._smtp = self._connect()
                refused = self._smtp.send_message(msg)
            except smtplib.SMTPRecipientsRefused as exc:
                raise DeliveryFailed(
                    f"recipient refused: {exc.recipients}", permanent=True
                ) from None
            except smtplib.SMTPResponseException as exc:
                self.close()
                permanent = 500 <= exc.smtp_code < 600
                reason = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
                raise DeliveryFailed(reason, permanent=permanent) from None
            except (smtplib.SMTPException, OSError) as exc:
                self.close()
                if attempt == 2:
                    raise DeliveryFailed(f"SMTP: {type(exc).__name__}: {exc}") from None
                continue
            if refused:
                raise DeliveryFailed(f"recipient refused: {refused}", permanent=True)
            return

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None
