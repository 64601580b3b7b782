"""An agent's public reply, mailed to the ticket's requester in the ticket's thread.

The mail is queued in the outbox in the transaction that records the reply, so it goes out
once. It answers the customer's latest message (``In-Reply-To``), lists the thread so far
(``References``), and carries the ticket's tag in its subject, so the customer's answer finds
its way back to the ticket.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from policydesk.access import Staff
from policydesk.accounts.models import Contact
from policydesk.core.policy import Policy
from policydesk.mail.models import MailMessage
from policydesk.mail.threading import reply_subject
from policydesk.notify.base import Outgoing
from policydesk.notify.compose import Composer
from policydesk.outbox.models import OutboxMessage
from policydesk.tickets.models import Ticket

__all__ = ["MAX_REFERENCES", "reply_mail"]

#: The References header names at most this many messages of the thread, the newest.
MAX_REFERENCES = 20


def reply_mail(
    session: Session,
    *,
    composer: Composer,
    policy: Policy,
    ticket: Ticket,
    body: str,
    key: str,
    agent: Staff | None,
) -> Outgoing | None:
    """The e-mail carrying a reply's ``body`` to the requester, queued under ``key``; None
    when the ticket has no requester with an address."""
    requester = session.get(Contact, ticket.requester_id) if ticket.requester_id else None
    if requester is None or not requester.email:
        return None
    received = [
        (at, f"<{mid}>")
        for at, mid in session.execute(
            select(MailMessage.received_at, MailMessage.message_id).where(
                MailMessage.ticket_id == ticket.id
            )
        )
    ]
    sent = [
        (at, f"<{mid}>")
        for at, mid in session.execute(
            select(OutboxMessage.created_at, OutboxMessage.message_id).where(
                OutboxMessage.ticket_id == ticket.id,
                OutboxMessage.channel == "email",
                OutboxMessage.recipient == requester.email,
                OutboxMessage.message_id.is_not(None),
            )
        )
    ]
    thread = [mid for _, mid in sorted(received + sent)][-MAX_REFERENCES:]
    last_in = max(received)[1] if received else (thread[-1] if thread else None)
    settings = composer.settings
    return composer.to_customer(
        key=key,
        template="reply",
        context={
            "ticket": ticket,
            "subject": reply_subject(ticket.subject, ticket.id, prefix=settings.mail_tag_prefix),
            "body": body,
            "agent": agent.name if agent else settings.desk_name,
            "desk": settings.desk_name,
        },
        address=requester.email,
        ticket_id=ticket.id,
        in_reply_to=last_in,
        references=[m for m in thread if m != last_in],
        policy=policy,
        automatic=False,
    )
