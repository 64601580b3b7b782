"""Writing the audit log (in the caller's transaction)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from policydesk.access import Staff
from policydesk.accounts.models import Contact
from policydesk.audit.models import AuditEntry

__all__ = ["record"]


def record(
    session: Session,
    *,
    action: str,
    target: str,
    now: dt.datetime,
    agent: Staff | None = None,
    contact: Contact | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=now,
        agent_id=agent.id if agent else None,
        contact_id=contact.id if contact else None,
        action=action,
        target=target,
        detail=detail or {},
    )
    session.add(entry)
    return entry
