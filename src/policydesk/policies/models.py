"""Policy versions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from policydesk.db.base import Base
from policydesk.db.types import UTCDateTime

__all__ = ["PolicyVersion"]


class PolicyVersion(Base):
    """A policy file as it was activated; tickets keep the version they were opened under."""

    __tablename__ = "policy_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the text
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    activated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
