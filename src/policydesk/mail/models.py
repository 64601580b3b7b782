"""Mail as the desk keeps it: every message that came in (with its raw bytes and what became of
it), and the files that came with messages or tickets."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from policydesk.db.base import Base
from policydesk.db.types import UTCDateTime

__all__ = ["Attachment", "MailMessage"]


class MailMessage(Base):
    """An inbound message, once per Message-ID however often it is delivered.

    ``outcome``: ticket (opened one), reply (joined one), quarantined (could not be taken in,
    or over the sender's rate limit: an agent looks at it), ignored (an auto-reply, bounce,
    bulk mail or our own message: recorded, never answered), refused (too large: bounced, or
    from a banned or refused account: answered with the refusal).
    """

    __tablename__ = "mail_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    synthetic_id: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(200))  # smtp, or imap:<user>@<host>/<folder>
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    from_address: Mapped[str] = mapped_column(String(320), index=True, default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(20))  # normal, auto_reply, bounce, bulk, unknown
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    #: The reply it became; None for a ticket's opening message (its ``received`` event).
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"))
    raw_sha256: Mapped[str] = mapped_column(String(64))
    raw_size: Mapped[int] = mapped_column(Integer)
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class Attachment(Base):
    """A file of a ticket: its name, type, size and SHA-256, and its bytes."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    #: The reply it came with; None when it came with the ticket's opening message.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"))
    mail_message_id: Mapped[int | None] = mapped_column(ForeignKey("mail_messages.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    content_id: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    content: Mapped[bytes] = mapped_column(LargeBinary)
