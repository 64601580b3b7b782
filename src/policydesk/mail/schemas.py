"""The shapes of mail records and attachments in the API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from policydesk.types import Instant

__all__ = ["AttachmentOut", "MailMessageOut", "MailMessagePage"]


class MailMessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    message_id: str
    source: str
    received_at: Instant
    from_address: str
    subject: str
    kind: str
    outcome: str
    reason: str
    ticket_id: int | None
    raw_size: int


class MailMessagePage(BaseModel):
    items: list[MailMessageOut]
    next_after: int | None


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    inline: bool
    event_id: int | None
