"""Reading the mail records (agents) and a ticket's attachments (whoever sees the ticket)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from policydesk.access import Actor, require_agent
from policydesk.errors import NotFound
from policydesk.mail.models import Attachment, MailMessage
from policydesk.tickets import service as ticket_service

__all__ = ["attachment", "attachments_of", "get_message", "list_messages"]


def list_messages(
    session: Session, *, actor: Actor, outcome: str | None, after: int | None, limit: int
) -> tuple[Sequence[MailMessage], int | None]:
    """Inbound messages, newest first (agents); ``outcome=quarantined`` is what waits for an
    agent's eyes."""
    require_agent(actor)
    query = select(MailMessage)
    if outcome is not None:
        query = query.where(MailMessage.outcome == outcome)
    if after is not None:
        query = query.where(MailMessage.id < after)
    rows = session.scalars(query.order_by(MailMessage.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].id if more and rows else None


def get_message(session: Session, *, actor: Actor, message_id: int) -> MailMessage:
    require_agent(actor)
    found = session.get(MailMessage, message_id)
    if found is None:
        raise NotFound(f"no mail message {message_id}")
    return found


def attachments_of(session: Session, ticket_id: int) -> Sequence[Attachment]:
    query = select(Attachment).where(Attachment.ticket_id == ticket_id).order_by(Attachment.id)
    return session.scalars(query).all()


def attachment(session: Session, *, actor: Actor, ticket_id: int, attachment_id: int) -> Attachment:
    """A file of a ticket the actor may see (a contact: only its own account's, RL3)."""
    ticket_service.get_ticket(session, ticket_id=ticket_id, actor=actor)
    found = session.get(Attachment, attachment_id)
    if found is None or found.ticket_id != ticket_id:
        raise NotFound(f"no attachment {attachment_id} on ticket {ticket_id}")
    return found
