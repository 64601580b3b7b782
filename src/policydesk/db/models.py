"""Every table, imported in one place so that metadata and migrations see them all."""

from policydesk.accounts.models import Account, Contact
from policydesk.agents.models import Agent, ApiToken, LoginSession
from policydesk.audit.models import AuditEntry
from policydesk.db.base import Base
from policydesk.mail.models import Attachment, MailMessage
from policydesk.outbox.models import OutboxMessage
from policydesk.policies.models import PolicyVersion
from policydesk.tickets.models import Ticket, TicketEvent

__all__ = [
    "Account",
    "Agent",
    "ApiToken",
    "Attachment",
    "AuditEntry",
    "Base",
    "Contact",
    "LoginSession",
    "MailMessage",
    "OutboxMessage",
    "PolicyVersion",
    "Ticket",
    "TicketEvent",
]
