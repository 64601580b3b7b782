"""Audit entries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from policydesk.db.base import Base
from policydesk.db.types import UTCDateTime

__all__ = ["AuditEntry"]


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(100))  # e.g. "account:12"
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
